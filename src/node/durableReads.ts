/**
 * Keeps the API from showing state that is not yet on disk. A processing step changes the core's memory first
 * and writes it (one fsynced batch) afterwards; while that write is in flight, readers wait for it. The loop
 * must yield a whole event-loop turn (setImmediate) between `release` and its next step: released readers are
 * microtasks, so they all run — and read exactly the durable state — before the next step changes memory.
 */
export class DurableReads {
  private pending: { readonly promise: Promise<void>; readonly release: () => void } | undefined;

  /** The step's changes are in memory and not yet durable. */
  hold(): void {
    if (this.pending !== undefined) return;
    let release: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.pending = { promise, release };
  }

  /** The step's write is durable (or the node is stopping): readers may go on. */
  release(): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.release();
  }

  /** Resolves when what a reader would see is durable; at once when nothing is in flight. */
  async settled(): Promise<void> {
    if (this.pending !== undefined) await this.pending.promise;
  }
}
