import type { TallyError } from "./errors.ts";

/**
 * A bounds-checked big-endian reader for the strict decoders (transfers, status and sync messages): every read
 * states what it reads before touching the buffer, and a short or overlong input is the decoder's own typed
 * error. `bytes` returns a view; a caller that keeps it past the input's life copies it.
 */
export class ByteReader {
  private offset = 0;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private readonly malformed: (message: string) => TallyError;

  constructor(buf: Uint8Array, malformed: (message: string) => TallyError) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.malformed = malformed;
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  u8(what: string): number {
    return this.view.getUint8(this.advance(1, what));
  }

  u16(what: string): number {
    return this.view.getUint16(this.advance(2, what));
  }

  u32(what: string): number {
    return this.view.getUint32(this.advance(4, what));
  }

  u64(what: string): bigint {
    return this.view.getBigUint64(this.advance(8, what));
  }

  bytes(n: number, what: string): Uint8Array {
    const at = this.advance(n, what);
    return this.buf.subarray(at, at + n);
  }

  /** The input must end here: one spelling per value. */
  end(): void {
    if (this.remaining !== 0) throw this.malformed(`${this.remaining} trailing bytes`);
  }

  private advance(n: number, what: string): number {
    if (this.remaining < n)
      throw this.malformed(`truncated: ${what} needs ${n} bytes, ${this.remaining} left`);
    const at = this.offset;
    this.offset += n;
    return at;
  }
}
