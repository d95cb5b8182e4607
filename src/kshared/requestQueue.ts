import { toHex } from "../core/bytes.ts";
import type { OwnerIndex, SignedRequest } from "./committeeTypes.ts";

/**
 * Pending requests, one bounded FIFO per requesting owner. The leader picks round-robin across owners,
 * starting after the owner whose request was decided last (a cursor every correct owner derives from the
 * decided sequence alike), so an owner flooding requests only lengthens its own queue: another owner's head
 * request is proposed within k − 1 decisions of reaching the leader.
 */
export class RequestQueue {
  private readonly queues: SignedRequest[][];
  private readonly queued = new Set<string>();
  private readonly maxPerOwner: number;
  /** The owner whose request was decided last: the leaders' shared round-robin cursor. */
  private lastDecidedOwner: OwnerIndex;

  constructor(owners: number, maxPerOwner: number) {
    this.queues = Array.from({ length: owners }, () => []);
    this.maxPerOwner = maxPerOwner;
    this.lastDecidedOwner = owners - 1;
  }

  /** A request was decided: forget it, and move the cursor past its owner (when known). */
  decided(digest: Uint8Array, owner: OwnerIndex | undefined): void {
    this.remove(digest);
    if (owner !== undefined) this.lastDecidedOwner = owner;
  }

  has(digest: Uint8Array): boolean {
    return this.queued.has(toHex(digest));
  }

  /** False if already queued or the owner's queue is full. */
  add(request: SignedRequest): "added" | "duplicate" | "full" {
    const key = toHex(request.digest);
    if (this.queued.has(key)) return "duplicate";
    const queue = this.queues[request.owner]!;
    if (queue.length >= this.maxPerOwner) return "full";
    queue.push(request);
    this.queued.add(key);
    return "added";
  }

  remove(digest: Uint8Array): void {
    const key = toHex(digest);
    if (!this.queued.delete(key)) return;
    for (const queue of this.queues) {
      const at = queue.findIndex((r) => toHex(r.digest) === key);
      if (at >= 0) {
        queue.splice(at, 1);
        return;
      }
    }
  }

  find(digest: Uint8Array): SignedRequest | undefined {
    const key = toHex(digest);
    if (!this.queued.has(key)) return undefined;
    for (const queue of this.queues) {
      const found = queue.find((r) => toHex(r.digest) === key);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * The oldest request passing `usable` of the first owner after the last decided request's owner
   * (cyclically) that has one.
   */
  next(usable: (request: SignedRequest) => boolean = () => true): SignedRequest | undefined {
    const k = this.queues.length;
    for (let step = 1; step <= k; step++) {
      const found = this.queues[(this.lastDecidedOwner + step) % k]!.find(usable);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Drops every queued request `expired` says can never be proposed again. */
  purge(expired: (request: SignedRequest) => boolean): void {
    for (const queue of this.queues) {
      for (let i = queue.length - 1; i >= 0; i--) {
        if (!expired(queue[i]!)) continue;
        this.queued.delete(toHex(queue[i]!.digest));
        queue.splice(i, 1);
      }
    }
  }

  ownQueue(owner: OwnerIndex): readonly SignedRequest[] {
    return this.queues[owner]!;
  }

  get size(): number {
    return this.queued.size;
  }
}
