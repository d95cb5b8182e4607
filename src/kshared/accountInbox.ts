import { Fifo } from "../channels/fifo.ts";

/** An optional second bound per account, in bytes, for items whose size varies widely. */
export interface AccountInboxByteBound<T> {
  /** Bytes an account's FIFO may hold; an arrival that would pass it is dropped (and counted). */
  readonly perAccount: number;
  readonly sizeOf: (item: T) => number;
}

/**
 * One node's inbox for the committee messages of every shared account it hosts: a FIFO per account,
 * bounded (`perAccount` items, and optionally bytes; an arrival beyond either is dropped and counted
 * against that account), served round-robin across the accounts that have something queued, one item per
 * turn. A flooding account therefore fills only its own FIFO, and every other account waits at most one
 * item per busy account per turn, whatever the flood's rate. `K` is the account key (the node uses its
 * address, the simulator an index).
 */
export class AccountInbox<K, T> {
  private readonly perAccount: number;
  private readonly byteBound: AccountInboxByteBound<T> | undefined;
  private readonly queues = new Map<K, { readonly items: Fifo<T>; bytes: number }>();
  /** Accounts with something queued, in service order. */
  private readonly turns = new Fifo<K>();
  private queued = 0;
  private readonly drops = new Map<K, number>();

  constructor(perAccount: number, byteBound?: AccountInboxByteBound<T>) {
    if (!(Number.isSafeInteger(perAccount) && perAccount >= 1)) throw new RangeError("perAccount ≥ 1");
    if (byteBound !== undefined && !(Number.isSafeInteger(byteBound.perAccount) && byteBound.perAccount >= 1))
      throw new RangeError("byteBound.perAccount ≥ 1");
    this.perAccount = perAccount;
    this.byteBound = byteBound;
  }

  /** Items queued, over all accounts. */
  get size(): number {
    return this.queued;
  }

  /** Items queued for `account`. */
  queuedFor(account: K): number {
    return this.queues.get(account)?.items.size ?? 0;
  }

  /** account → arrivals dropped because its FIFO was full (accounts that never dropped are absent). */
  get dropped(): ReadonlyMap<K, number> {
    return this.drops;
  }

  /** Queues `item` for `account`; false (and counted against `account`) when its FIFO is full. */
  offer(account: K, item: T): boolean {
    let queue = this.queues.get(account);
    if (queue === undefined) {
      queue = { items: new Fifo<T>(), bytes: 0 };
      this.queues.set(account, queue);
    }
    const bytes = this.byteBound?.sizeOf(item) ?? 0;
    const overBytes = this.byteBound !== undefined && queue.bytes + bytes > this.byteBound.perAccount;
    if (queue.items.size >= this.perAccount || overBytes) {
      this.drops.set(account, (this.drops.get(account) ?? 0) + 1);
      return false;
    }
    if (queue.items.size === 0) this.turns.push(account);
    queue.items.push(item);
    queue.bytes += bytes;
    this.queued++;
    return true;
  }

  /** The next item in round-robin order across accounts, or undefined when empty. */
  take(): { readonly account: K; readonly item: T } | undefined {
    if (this.turns.size === 0) return undefined;
    const account = this.turns.shift() as K;
    const queue = this.queues.get(account)!;
    const item = queue.items.shift() as T;
    this.queued--;
    if (queue.items.size > 0) {
      if (this.byteBound !== undefined) queue.bytes -= this.byteBound.sizeOf(item);
      this.turns.push(account);
    } else {
      // An idle account keeps no state but its drop count: the key set stays the accounts that are busy.
      this.queues.delete(account);
    }
    return { account, item };
  }
}
