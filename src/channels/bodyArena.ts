/**
 * Where admitted message bodies are copied out of their frame. One `new Uint8Array` per message costs a
 * backing-store allocation (~200 ns plus its share of garbage collection: the largest single cost of the
 * channel path in bench/channels.bench.ts); copying into a shared chunk costs a view (~25 ns).
 *
 * Why copy at all: a body kept as a view into the frame it arrived in would keep that frame's buffer alive —
 * up to a 1 MiB frame for one kept 200-byte payload, and a frame whose other messages were refused costs the
 * peer nothing. Nobody writes into a frame after it was decoded (we own it), so the copy is about retention,
 * not aliasing.
 *
 * The bound this keeps: a chunk holds only admitted bodies, so while items wait in the inbox the memory is the
 * charged bytes plus one partly filled chunk; afterwards a body that the node keeps (a payload in an instance)
 * keeps at most its chunk, `CHUNK_BYTES`, alive — the same trade as Node's own 8 KiB Buffer pool. Bodies
 * larger than `MAX_SHARED_BODY_BYTES` get a buffer of their own, so a large kept body pins nothing else.
 */
export const CHUNK_BYTES = 4096;
export const MAX_SHARED_BODY_BYTES = 512;

export class BodyArena {
  private chunk = new Uint8Array(0);
  private used = 0;

  /** A copy of `view` that shares no memory with it. */
  copy(view: Uint8Array): Uint8Array {
    const n = view.length;
    if (n > MAX_SHARED_BODY_BYTES) return view.slice();
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(CHUNK_BYTES);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    out.set(view);
    this.used += n;
    return out;
  }
}
