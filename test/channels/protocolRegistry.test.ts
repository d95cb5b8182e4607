import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolRegistry } from "../../src/channels/protocolRegistry.ts";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { gossipSpec, syncSpec } from "./helpers.ts";

describe("protocol registry", () => {
  it("lists {id, version} by code and looks up by code and id", () => {
    const reg = new ProtocolRegistry([syncSpec(), gossipSpec()]);
    assert.deepEqual(reg.list(), [
      { id: "broadcast", version: 1 },
      { id: "sync", version: 2 },
    ]);
    assert.equal(reg.byCode(3)?.id, "sync");
    assert.equal(reg.byId("broadcast")?.code, 1);
    assert.equal(reg.byCode(2), undefined);
    assert.throws(
      () => reg.require("nope"),
      (e) => isTallyError(e, ErrorCode.ChannelUnknownProtocol),
    );
  });

  it("rejects duplicate codes and duplicate ids", () => {
    const dup = (e: unknown) => isTallyError(e, ErrorCode.ChannelDuplicateProtocol);
    assert.throws(() => new ProtocolRegistry([gossipSpec(), syncSpec({ code: 1 })]), dup);
    assert.throws(() => new ProtocolRegistry([gossipSpec(), syncSpec({ id: "broadcast" })]), dup);
  });

  it("rejects invalid specs", () => {
    const bad = [
      gossipSpec({ code: 0 }),
      gossipSpec({ code: 256 }),
      gossipSpec({ version: -1 }),
      gossipSpec({ id: "Broadcast" }),
      gossipSpec({
        budget: {
          member: { maxQueuedMessages: 0, maxQueuedBytes: 1, maxMessagesPerSecond: 1 },
          stranger: { maxQueuedMessages: 1, maxQueuedBytes: 1, maxMessagesPerSecond: 1 },
        },
      }),
      gossipSpec({ message: undefined }),
      syncSpec({ request: { ...syncSpec().request!, timeoutMs: 0 } }),
      syncSpec({ request: { ...syncSpec().request!, maxOutstandingPerPeer: 0 } }),
    ];
    for (const spec of bad) {
      assert.throws(
        () => new ProtocolRegistry([spec]),
        (e) => isTallyError(e, ErrorCode.ChannelInvalidProtocol),
      );
    }
  });
});
