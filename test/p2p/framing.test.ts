import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import {
  decodeFramePayload,
  encodedMessageBytes,
  encodeFrameOf,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  validateFrameLimits,
} from "../../src/p2p/framing.ts";

const LIMIT = 1 << 20;

function decodeAll(bytes: Uint8Array, cuts: number[], maxFrameBytes = LIMIT): Uint8Array[][] {
  const decoder = new FrameDecoder(maxFrameBytes);
  const frames: Uint8Array[][] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.push(bytes.subarray(prev, cut), (payload) => frames.push(decodeFramePayload(payload, LIMIT)));
    prev = cut;
  }
  assert.equal(decoder.bufferedBytes, 0);
  return frames;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

describe("framing", () => {
  it("round-trips a batch, header is u32be payload length", () => {
    const msgs = [
      Uint8Array.of(1),
      new Uint8Array(127).fill(2),
      new Uint8Array(128).fill(3),
      new Uint8Array(20000),
    ];
    const frame = encodeFrameOf(msgs);
    const payloadBytes = msgs.reduce((n, m) => n + encodedMessageBytes(m.length), 0);
    assert.equal(frame.length, FRAME_HEADER_BYTES + payloadBytes);
    assert.equal(Buffer.from(frame).readUInt32BE(0), payloadBytes);
    assert.deepEqual(
      decodeAll(frame, []).map((f) => f.map((m) => [...m])),
      [msgs.map((m) => [...m])],
    );
  });

  it("reassembles frames from arbitrary chunk boundaries", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (batches, rawCuts) => {
          const bytes = concat(batches.map((b) => encodeFrameOf(b)));
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const got = decodeAll(bytes, cuts).map((f) => f.map((m) => [...m]));
          assert.deepEqual(
            got,
            batches.map((b) => b.map((m) => [...m])),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects an oversized frame from its header alone", () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    const decoder = new FrameDecoder(1024);
    decoder.push(header.subarray(0, 3), () => assert.fail("no frame expected"));
    assert.throws(
      () => decoder.push(header.subarray(3), () => assert.fail("no frame expected")),
      (e) => isTallyError(e, ErrorCode.FrameTooLarge),
    );
  });

  it("rejects empty frames and malformed payloads", () => {
    const violations: [string, Uint8Array, ErrorCode][] = [
      ["empty frame", Uint8Array.of(0, 0, 0, 0), ErrorCode.MalformedFrame],
      ["empty message", Uint8Array.of(0, 0, 0, 1, 0), ErrorCode.MalformedFrame],
      ["truncated length", Uint8Array.of(0, 0, 0, 1, 0x80), ErrorCode.MalformedFrame],
      ["non-minimal length", Uint8Array.of(0, 0, 0, 3, 0x81, 0x00, 7), ErrorCode.MalformedFrame],
      ["message overruns frame", Uint8Array.of(0, 0, 0, 2, 5, 1), ErrorCode.MalformedFrame],
      ["5-byte length", Uint8Array.of(0, 0, 0, 5, 0x80, 0x80, 0x80, 0x80, 0x01), ErrorCode.MessageTooLarge],
    ];
    for (const [name, bytes, code] of violations) {
      assert.throws(
        () => decodeAll(bytes, []),
        (e) => isTallyError(e, code),
        name,
      );
    }
  });

  it("enforces maxMessageBytes and delivers nothing from a bad frame", () => {
    const frame = encodeFrameOf([Uint8Array.of(1), new Uint8Array(100)]);
    assert.throws(
      () => decodeFramePayload(frame.subarray(FRAME_HEADER_BYTES), 99),
      (e) => isTallyError(e, ErrorCode.MessageTooLarge),
    );
  });

  it("validates limits", () => {
    assert.throws(() => validateFrameLimits({ maxFrameBytes: 1000, maxMessageBytes: 1000 }));
    validateFrameLimits({ maxFrameBytes: 1002, maxMessageBytes: 1000 });
  });
});
