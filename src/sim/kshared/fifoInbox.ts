/**
 * The inbox a node must NOT have, kept to show what fairness buys (`--inbox fifo`): one FIFO shared by
 * every account the node hosts, bounded in total, so a flooding account's messages queue ahead of
 * everyone's and its overflow drops anyone's.
 */
export class SharedFifoInbox<T> {
  private readonly capacity: number;
  private items: { readonly account: number; readonly item: T }[] = [];
  private head = 0;
  readonly dropped = new Map<number, number>();

  constructor(capacity: number) {
    if (!(Number.isSafeInteger(capacity) && capacity >= 1)) throw new RangeError("capacity ≥ 1");
    this.capacity = capacity;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  offer(account: number, item: T): boolean {
    if (this.size >= this.capacity) {
      this.dropped.set(account, (this.dropped.get(account) ?? 0) + 1);
      return false;
    }
    this.items.push({ account, item });
    return true;
  }

  take(): { readonly account: number; readonly item: T } | undefined {
    if (this.head >= this.items.length) return undefined;
    const next = this.items[this.head]!;
    this.head++;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return next;
  }
}
