/**
 * One node's inbox for the committee messages of every shared account it hosts — the discipline a real
 * node must apply: a FIFO per account, bounded (`perAccount` messages; an arrival beyond it is dropped and
 * counted against that account), and service round-robin across the accounts that have something queued,
 * one message per turn. A flooding account therefore fills only its own FIFO, and every other account
 * waits at most one message per busy account per turn, whatever the flood's rate.
 */
export class NodeInbox<T> {
  private readonly perAccount: number;
  private readonly queues = new Map<number, Fifo<T>>();
  /** Accounts with something queued, in service order. */
  private readonly turns: Fifo<number> = new Fifo();
  private queued = 0;
  /** account → arrivals dropped because its FIFO was full. */
  readonly dropped = new Map<number, number>();

  constructor(perAccount: number) {
    if (!(Number.isSafeInteger(perAccount) && perAccount >= 1)) throw new RangeError("perAccount ≥ 1");
    this.perAccount = perAccount;
  }

  get size(): number {
    return this.queued;
  }

  /** Queues `item` for `account`; false (and counted) when that account's FIFO is full. */
  offer(account: number, item: T): boolean {
    let queue = this.queues.get(account);
    if (queue === undefined) {
      queue = new Fifo();
      this.queues.set(account, queue);
    }
    if (queue.size >= this.perAccount) {
      this.dropped.set(account, (this.dropped.get(account) ?? 0) + 1);
      return false;
    }
    if (queue.size === 0) this.turns.push(account);
    queue.push(item);
    this.queued++;
    return true;
  }

  /** The next message in round-robin order across accounts, or undefined when empty. */
  take(): { readonly account: number; readonly item: T } | undefined {
    const account = this.turns.shift();
    if (account === undefined) return undefined;
    const queue = this.queues.get(account)!;
    const item = queue.shift()!;
    this.queued--;
    if (queue.size > 0) this.turns.push(account);
    return { account, item };
  }
}

/** An array-backed FIFO with O(1) amortised push and shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
