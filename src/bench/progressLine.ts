/** Where progress goes: stderr in the CLI. `isTTY` picks one rewritten line over a line every few seconds. */
export interface ProgressSink {
  readonly isTTY: boolean;
  write(text: string): void;
}

/** A non-terminal gets a line this often, so a log stays short. */
const LOG_EVERY_MS = 5_000;

/** The run's progress on one line: elapsed, transfers submitted, and applied/s over the last interval. */
export class ProgressLine {
  private readonly sink: ProgressSink | undefined;
  private readonly read: () => { submitted: number; applied: number };
  private startMs = 0;
  private lastMs = 0;
  private lastApplied = 0;
  private open = false;

  constructor(sink: ProgressSink | undefined, read: () => { submitted: number; applied: number }) {
    this.sink = sink;
    this.read = read;
  }

  start(nowMs: number): void {
    this.startMs = nowMs;
    this.lastMs = nowMs;
    this.lastApplied = 0;
  }

  tick(nowMs: number): void {
    if (this.sink === undefined || this.startMs === 0) return;
    if (!this.sink.isTTY && nowMs - this.lastMs < LOG_EVERY_MS) return;
    const { submitted, applied } = this.read();
    const rate = ((applied - this.lastApplied) * 1000) / Math.max(1, nowMs - this.lastMs);
    this.lastMs = nowMs;
    this.lastApplied = applied;
    const line = `bench ${((nowMs - this.startMs) / 1000).toFixed(0).padStart(4)} s  submitted ${submitted.toLocaleString("en-US").padStart(9)}  applied/s ${Math.round(rate).toLocaleString("en-US").padStart(7)}`;
    if (this.sink.isTTY) {
      this.sink.write(`\r${line}\x1b[K`);
      this.open = true;
    } else this.sink.write(`${line}\n`);
  }

  /** Ends a rewritten line so what follows starts on its own line. */
  finish(): void {
    if (this.open) this.sink?.write("\n");
    this.open = false;
  }
}
