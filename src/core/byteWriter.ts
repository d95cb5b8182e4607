/**
 * The big-endian writer beside ByteReader, for the encoders (committee messages and signing bytes, sync
 * messages): fields are appended to one growing buffer and `finish` returns exactly the bytes written, as a
 * fresh array the caller owns. It checks nothing — an encoder validates its fields first — so, like a
 * DataView, it keeps the low bits of an out-of-range integer. Methods chain.
 */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(Math.max(1, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  u8(value: number): this {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
    return this;
  }

  u16(value: number): this {
    const at = this.reserve(2);
    this.view.setUint16(at, value);
    return this;
  }

  u32(value: number): this {
    const at = this.reserve(4);
    this.view.setUint32(at, value);
    return this;
  }

  /** A safe integer (or bigint) as 64 bits; a fraction throws, as BigInt does. */
  u64(value: number | bigint): this {
    const big = BigInt(value);
    const at = this.reserve(8);
    this.view.setBigUint64(at, big);
    return this;
  }

  bytes(bytes: Uint8Array): this {
    // Reserve first: it may replace `buf`.
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
    return this;
  }

  /** The bytes written so far, copied. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** Room for `n` more bytes; returns where they go. */
  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(2 * this.buf.length, at + n));
      grown.set(this.buf.subarray(0, at));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = at + n;
    return at;
  }
}
