import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeEnvelope } from "../../src/channels/envelope.ts";
import { bindHandler } from "../../src/channels/protocolHandler.ts";
import { gossipSpec, makeChannels, syncSpec } from "./helpers.ts";

describe("protocol handlers", () => {
  it("hand each kind's decoded body to its callback, and turn a bad body into a badRequest reply", () => {
    const channels = makeChannels();
    const seen: string[] = [];
    const gossip = bindHandler({
      spec: gossipSpec(),
      onMessage: (from: string, n: unknown) => `${from} says ${String(n)}`,
    });
    const sync = bindHandler({
      spec: syncSpec(),
      onRequest: (from: string, id: number, body: unknown) => {
        seen.push(`${from} asks #${id} (${(body as Uint8Array).length} bytes)`);
        return undefined;
      },
    });
    const handlers = new Map([gossip, sync].map((h) => [h.spec.code, h]));
    channels.offer("A", channels.encodeMessage("broadcast", 7), 0);
    channels.offer(
      "A",
      encodeEnvelope({
        protocolCode: 3,
        version: 2,
        kind: "request",
        requestId: 5,
        body: Uint8Array.of(1, 2),
      }),
      0,
    );
    // The counter codec wants 4 bytes: this body is hostile.
    channels.offer(
      "B",
      encodeEnvelope({ protocolCode: 1, version: 1, kind: "message", requestId: 0, body: Uint8Array.of(9) }),
      0,
    );
    const outs: unknown[] = [];
    let actions = 0;
    for (const item of channels.take(10, 0)) {
      const result = handlers.get(item.protocol.code)!.handle(channels, item, 0);
      if (result.out !== undefined) outs.push(result.out);
      actions += result.actions?.length ?? 0;
    }
    assert.deepEqual(outs, ["A says 7"]);
    assert.deepEqual(seen, ["A asks #5 (2 bytes)"]);
    assert.equal(actions, 0, "a bad one-way message is scored, not answered");
    assert.equal(channels.peerStats(0).find((p) => p.peer === "B")!.counters.dropped.malformed, 1);
    assert.ok(channels.peerStats(0).find((p) => p.peer === "B")!.score < 0);
  });
});
