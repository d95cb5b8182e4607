import { Socket } from "node:net";
import { StreamState, YamuxStream } from "@chainsafe/libp2p-yamux/stream";
import { type ConnectionGater, InvalidParametersError, type MultiaddrConnection } from "@libp2p/interface";
import { InvalidMessageLengthError, LengthPrefixedDecoder } from "@libp2p/utils";

/**
 * Three per-frame costs of the libp2p stack, removed at the prototypes of the classes that have them. Each
 * frame the node sends is one step's messages to one peer, so at moderate load — where steps are small —
 * these costs were paid per handful of transfers. 1 and 2 were measured on a 4-node devnet at 200
 * transfers/s (docs/benchmarks.md, "Per-frame costs at moderate load"): write syscalls per node ≈ 2,100/s
 * → ≈ 1,140/s, and 7–11 % less CPU per transfer in paired runs.
 *
 * 1. Yamux window updates. `@chainsafe/libp2p-yamux` (8.0.x) answers every received data frame with a
 *    window-update frame, so each frame the node sends costs a second, empty frame back: its own noise
 *    encryption, two socket writes, a read, a decryption and a dispatch on both nodes. The yamux
 *    specification leaves the timing to the receiver; like hashicorp/yamux (the reference implementation), a
 *    stream here sends the update once at least half of its receive window is used. The sender is never
 *    blocked by it: it still has the other half of the window, and the update restores the whole window.
 *    Streams still opening (SYN/ACK to send) and paused streams go through the library's logic unchanged.
 *
 * 2. Length-prefixed decoding without a thrown error per read. `LengthPrefixedDecoder.decode` (noise's
 *    framing of every encrypted message) loops until its length decoder throws a `RangeError` on the empty
 *    remainder, so every socket read ended in an exception — a stack trace captured from optimised frames,
 *    ≈ 4 % of a node's CPU at 200 transfers/s. The replacement stops when the buffer is empty and behaves
 *    the same otherwise (tested against the library's own decoder on random splits).
 *
 * 3. One socket write per Noise message: see `tuneConnectionWrites`.
 *
 * `applyStreamTuning()` (1 and 2, whose classes their packages export) is idempotent and runs before the
 * node's libp2p is created; 3 runs from the connection gater (`gaterTuningWrites`).
 */
let applied = false;

interface WindowedStream {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

export function applyStreamTuning(): void {
  if (applied) return;
  applied = true;

  const stream = YamuxStream.prototype as unknown as { sendWindowUpdate(this: WindowedStream): void };
  const sendWindowUpdate = stream.sendWindowUpdate;
  stream.sendWindowUpdate = function (this: WindowedStream): void {
    if (!windowUpdateDue(this)) return;
    sendWindowUpdate.call(this);
  };

  const decoder = LengthPrefixedDecoder.prototype as unknown as {
    decode(this: DecoderFields, buf: Uint8Array | ByteList): Generator<ByteList, void, undefined>;
  };
  decoder.decode = decodeWithoutThrowing;
}

/** Whether a yamux stream should send its window update now (see the module comment, 1). */
export function windowUpdateDue(stream: WindowedStream): boolean {
  if (stream.state !== StreamState.Established) return true;
  return stream.recvWindow - stream.recvWindowCapacity >= stream.recvWindow / 2;
}

/** What the replacement uses of the decoder's `Uint8ArrayList` buffer. */
interface ByteList {
  readonly byteLength: number;
  append(buf: Uint8Array | ByteList): void;
  sublist(begin: number, end: number): ByteList;
  consume(bytes: number): void;
}

/** The fields of `LengthPrefixedDecoder` the replacement reads (public in the library's JavaScript). */
interface DecoderFields {
  buffer: ByteList;
  maxBufferSize: number;
  maxDataLength: number;
  lengthDecoder(data: ByteList): number;
  encodingLength(length: number): number;
}

/**
 * Appends `buf` and yields every complete length-prefixed message. A length prefix cut short (or an empty
 * buffer) ends the loop — the library's decoder learns that from a thrown `RangeError`; this one asks
 * first when the buffer is empty, which is how nearly every read ends.
 */
export function* decodeWithoutThrowing(
  this: DecoderFields,
  buf: Uint8Array | ByteList,
): Generator<ByteList, void, undefined> {
  this.buffer.append(buf);
  if (this.buffer.byteLength > this.maxBufferSize) {
    throw new InvalidParametersError(
      `Buffer length limit exceeded - ${this.buffer.byteLength}/${this.maxBufferSize}`,
    );
  }
  while (this.buffer.byteLength > 0) {
    let length: number;
    try {
      length = this.lengthDecoder(this.buffer);
    } catch (err) {
      if (err instanceof RangeError) return; // a prefix split across reads: wait for the rest
      throw err;
    }
    if (length < 0 || length > this.maxDataLength)
      throw new InvalidMessageLengthError("Invalid message length");
    const prefix = this.encodingLength(length);
    if (this.buffer.byteLength < prefix + length) return;
    const message = this.buffer.sublist(prefix, prefix + length);
    this.buffer.consume(prefix + length);
    if (message.byteLength > 0) yield message;
  }
}

/** What the replacement uses of `@libp2p/tcp`'s connection class. */
interface SocketConnection {
  readonly socket: Socket;
  sendData(data: Iterable<Uint8Array>): unknown;
}

const corkedClasses = new WeakSet<object>();

/**
 * One socket write per Noise message. `@libp2p/tcp`'s connection hands each buffer it is given to its own
 * `socket.write`, and Noise gives it every message as two buffers: the 2-byte length and the ciphertext.
 * So each frame a node sent was two `write(2)` calls and two loopback segments, and the receiver often woke
 * and read twice. Here `sendData` runs with the socket corked: Node hands what it wrote to the kernel as one
 * `writev` when it is uncorked at the end of the call, which changes no byte and no order on the wire.
 * Measured with `node bench/p2p.bench.ts` (one frame per message, docs/performance-log.md, "Session 30"):
 * ≈ 1.3× the frames per second.
 *
 * The class is not exported, so its prototype is reached through the first TCP connection the gater sees,
 * before a byte of the handshake is written; later connections find it done. A connection of another kind
 * (no `net.Socket`, or no `sendData` of its own class) is left alone.
 */
export function tuneConnectionWrites(maConn: MultiaddrConnection): void {
  if (!((maConn as Partial<SocketConnection>).socket instanceof Socket)) return;
  const proto = Object.getPrototypeOf(maConn) as SocketConnection | null;
  if (proto === null || corkedClasses.has(proto)) return;
  corkedClasses.add(proto);
  if (!Object.hasOwn(proto, "sendData")) return;
  const sendData = proto.sendData;
  proto.sendData = function (this: SocketConnection, data: Iterable<Uint8Array>): unknown {
    this.socket.cork();
    try {
      return sendData.call(this, data);
    } finally {
      this.socket.uncork();
    }
  };
}

/**
 * `gater` (allow-all when absent) with `tuneConnectionWrites` run on every raw connection it is asked
 * about, inbound and outbound, before its own answer.
 */
export function gaterTuningWrites(gater: ConnectionGater = {}): ConnectionGater {
  return {
    ...gater,
    denyInboundConnection: (maConn) => {
      tuneConnectionWrites(maConn);
      return gater.denyInboundConnection?.(maConn) ?? false;
    },
    denyOutboundConnection: (peerId, maConn) => {
      tuneConnectionWrites(maConn);
      return gater.denyOutboundConnection?.(peerId, maConn) ?? false;
    },
    denyOutboundEncryptedConnection: (peerId, maConn) => {
      tuneConnectionWrites(maConn);
      return gater.denyOutboundEncryptedConnection?.(peerId, maConn) ?? false;
    },
  };
}
