/**
 * A driver's periodic timers: unref'd (they never keep the process alive), silent once stopped, and cleared
 * together on stop.
 */
export class IntervalTimers {
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;

  every(ms: number, run: () => void): void {
    const timer = setInterval(() => {
      if (!this.stopped) run();
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
