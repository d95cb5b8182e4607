import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamState, YamuxStream } from "@chainsafe/libp2p-yamux/stream";
import { LengthPrefixedDecoder } from "@libp2p/utils";
import fc from "fast-check";
import {
  applyStreamTuning,
  decodeWithoutThrowing as replacementDecode,
  windowUpdateDue,
} from "../../src/p2p/streamTuning.ts";

type DecoderInit = NonNullable<ConstructorParameters<typeof LengthPrefixedDecoder>[0]>;
/** The library's byte list, as its decoder hands it to a length decoder. */
type ByteList = Parameters<NonNullable<DecoderInit["lengthDecoder"]>>[0];
type Decode = (this: LengthPrefixedDecoder, buf: Uint8Array) => Generator<ByteList>;
// The library's own decoder, kept before anything replaces it: the reference the replacement must match.
const libraryDecode = LengthPrefixedDecoder.prototype.decode as unknown as Decode;
const decodeWithoutThrowing = replacementDecode as unknown as Decode;

/** Noise's framing: a 2-byte big-endian length, a `RangeError` while fewer than 2 bytes are there. */
function uint16Length(data: ByteList): number {
  if (data.byteLength < 2) throw new RangeError("Could not decode int16BE");
  const at = (i: number) => (data instanceof Uint8Array ? data[i]! : data.get(i));
  return (at(0) << 8) | at(1);
}
uint16Length.bytes = 2;

function uint16Frame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(2 + message.length);
  frame[0] = message.length >> 8;
  frame[1] = message.length & 0xff;
  frame.set(message, 2);
  return frame;
}

function varintFrame(message: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = message.length;
  do {
    prefix.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Uint8Array.from([...prefix, ...message]);
}

/** Feeds `chunks` to a fresh decoder through `decode`; returns the messages, or the error's name. */
function run(
  decode: Decode,
  noise: boolean,
  chunks: Uint8Array[],
  lengthCalls?: number[],
): string[] | string {
  const decoder = new LengthPrefixedDecoder(
    noise
      ? {
          lengthDecoder: (data: ByteList) => {
            lengthCalls?.push(data.byteLength);
            return uint16Length(data);
          },
          encodingLength: () => 2,
          maxDataLength: 1000,
        }
      : { maxDataLength: 1000 },
  );
  const out: string[] = [];
  try {
    for (const chunk of chunks)
      for (const m of decode.call(decoder, chunk)) out.push(Buffer.from(m.subarray()).toString("hex"));
  } catch (e) {
    return (e as Error).name;
  }
  return out;
}

const YAMUX_DATA = 0;
const YAMUX_WINDOW_UPDATE = 1;
const WINDOW = 256 * 1024;

/** A real yamux stream, established, whose outgoing frames are recorded instead of sent. */
function recordingStream(): { stream: YamuxStream; updates: number[] } {
  const updates: number[] = [];
  const log = Object.assign(() => {}, { trace() {}, error() {}, enabled: false });
  const init = {
    id: "1",
    streamId: 1,
    direction: "inbound",
    state: StreamState.Established,
    log,
    getRTT: () => -1,
    initialStreamWindowSize: WINDOW,
    maxStreamWindowSize: WINDOW,
    sendFrame: (header: { type: number; length: number }) => {
      if (header.type === YAMUX_WINDOW_UPDATE) updates.push(header.length);
      return true;
    },
  };
  const stream = new YamuxStream(init as unknown as ConstructorParameters<typeof YamuxStream>[0]);
  return { stream, updates };
}

/** Hands `count` data frames of `bytes` each to the stream, as its muxer does. */
function receive(stream: YamuxStream, count: number, bytes: number): void {
  const handle = (stream as unknown as { handleData(frame: unknown): void }).handleData.bind(stream);
  for (let i = 0; i < count; i++) {
    handle({
      header: { type: YAMUX_DATA, flag: 0, streamID: 1, length: bytes },
      data: new Uint8Array(bytes),
    });
  }
}

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

describe("stream tuning", () => {
  it("sends a yamux window update once half the receive window is used, and at once while opening", () => {
    const window = 256 * 1024;
    const open = { state: StreamState.Established, recvWindow: window };
    assert.equal(windowUpdateDue({ ...open, recvWindowCapacity: window - 600 }), false, "one small frame");
    assert.equal(windowUpdateDue({ ...open, recvWindowCapacity: window / 2 + 1 }), false);
    assert.equal(windowUpdateDue({ ...open, recvWindowCapacity: window / 2 }), true, "half used");
    assert.equal(windowUpdateDue({ ...open, recvWindowCapacity: 0 }), true, "window exhausted");
    for (const state of [
      StreamState.Init,
      StreamState.SYNReceived,
      StreamState.SYNSent,
      StreamState.Paused,
    ]) {
      assert.equal(
        windowUpdateDue({ state, recvWindow: window, recvWindowCapacity: window - 600 }),
        true,
        `state ${StreamState[state]} keeps the library's own logic`,
      );
    }
  });

  it("a yamux stream answers ten small frames with one window update after tuning, ten before", () => {
    // Before: the library's own rule, one update per data frame.
    const before = recordingStream();
    receive(before.stream, 10, 600);
    assert.deepEqual(before.updates, Array(10).fill(600));

    applyStreamTuning();
    const after = recordingStream();
    receive(after.stream, 10, 600);
    assert.deepEqual(after.updates, [], "6,000 of a 262,144-byte window: no update yet");
    receive(after.stream, 1, WINDOW / 2 - 6_000);
    assert.deepEqual(after.updates, [WINDOW / 2], "half the window used: one update restores all of it");
    receive(after.stream, 1, WINDOW - 1);
    assert.deepEqual(after.updates, [WINDOW / 2, WINDOW - 1], "the sender was never blocked");
  });

  it("decodes length-prefixed messages exactly as the library does, on any split of the bytes", () => {
    const message = fc.uint8Array({ minLength: 0, maxLength: 40 });
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(message, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 4 })),
        (noise, messages, cuts, garbage) => {
          const frames = messages.map(noise ? uint16Frame : varintFrame);
          const bytes = Buffer.concat([...frames, ...(garbage === null ? [] : [garbage])]);
          const chunks = split(bytes, cuts);
          assert.deepEqual(run(decodeWithoutThrowing, noise, chunks), run(libraryDecode, noise, chunks));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("refuses a message longer than the limit as the library does", () => {
    const tooLong = uint16Frame(new Uint8Array(1001));
    assert.equal(run(decodeWithoutThrowing, true, [tooLong]), "InvalidMessageLengthError");
    assert.equal(run(libraryDecode, true, [tooLong]), "InvalidMessageLengthError");
  });

  it("never asks the length decoder about an empty buffer, so a read of whole frames throws nothing", () => {
    const frames = Buffer.concat([uint16Frame(Uint8Array.of(1, 2, 3)), uint16Frame(Uint8Array.of(4))]);
    const calls: number[] = [];
    assert.deepEqual(run(decodeWithoutThrowing, true, [frames, frames], calls), [
      "010203",
      "04",
      "010203",
      "04",
    ]);
    assert.ok(!calls.includes(0), `length decoder called on ${JSON.stringify(calls)}`);
    const libraryCalls: number[] = [];
    run(libraryDecode, true, [frames, frames], libraryCalls);
    assert.equal(libraryCalls.filter((n) => n === 0).length, 2, "the library's decoder throws once per read");
  });
});
