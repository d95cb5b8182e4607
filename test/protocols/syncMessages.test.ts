import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { isTallyError } from "../../src/core/errors.ts";
import {
  decodeSyncRequest,
  decodeSyncResponse,
  encodeSyncRequest,
  encodeSyncResponse,
  type SyncRequest,
  type SyncResponse,
} from "../../src/protocols/sync/syncMessages.ts";
import { testKey } from "../support/fixtures.ts";

const A = testKey(1).address;
const B = testKey(2).address;

describe("sync messages", () => {
  it("round-trip every request and response kind", () => {
    const requests: SyncRequest[] = [
      { kind: "watermarks", buckets: [0, 5, 63] },
      { kind: "watermarks", buckets: [7], after: A },
      { kind: "digests", source: A, fromSeq: 1, count: 64 },
      { kind: "bodies", source: B, fromSeq: 2 ** 40, count: 16 },
    ];
    for (const r of requests) assert.deepEqual(decodeSyncRequest(encodeSyncRequest(r)), r);
    const responses: SyncResponse[] = [
      {
        kind: "watermarks",
        entries: [
          [A, 3],
          [B, 1],
        ],
        more: true,
      },
      { kind: "digests", ids: ["ab".repeat(32), "01".repeat(32)] },
      { kind: "bodies", bodies: [Uint8Array.of(1, 2, 3), new Uint8Array(0)] },
    ];
    for (const r of responses) assert.deepEqual(decodeSyncResponse(encodeSyncResponse(r)), r);
  });

  it("refuse out-of-bound counts, unordered buckets and trailing bytes", () => {
    assert.throws(() => encodeSyncRequest({ kind: "digests", source: A, fromSeq: 1, count: 65 }));
    assert.throws(() => decodeSyncRequest(Uint8Array.of(1, 2, 5, 5, 0)));
    const ok = encodeSyncRequest({ kind: "watermarks", buckets: [1] });
    assert.throws(() => decodeSyncRequest(Uint8Array.of(...ok, 0)));
  });

  it("random bytes raise only TallyError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const decode of [decodeSyncRequest, decodeSyncResponse]) {
          try {
            decode(bytes);
          } catch (e) {
            assert.ok(isTallyError(e), String(e));
          }
        }
      }),
    );
  });
});
