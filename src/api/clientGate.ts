/**
 * Fair shares of the REST API between client addresses. At most `maxActive` requests are handled at once, and
 * at most `maxActivePerClient` of one address, so one address never holds every place (not even with requests
 * that hold theirs as long as they can, e.g. bodies sent a byte at a time): another address's request always
 * finds one free or takes the next. Past that, requests wait in one FIFO per client address and free places go
 * to the waiting addresses in turn, so a client flooding the API waits behind its own requests. A client with
 * `maxQueuedPerClient` requests waiting is refused more (429) at once, and so is a new address once
 * `maxWaitingClients` addresses have requests waiting: a flood's memory is bounded per address and in all.
 *
 * No clock and no I/O: the server calls `enter` when a request arrives, `leave` when its handling ends, and
 * `abandon` for a waiting request whose connection closed.
 */

export interface ClientGateLimits {
  /** Requests handled at once, all clients together. */
  readonly maxActive: number;
  /** Requests of one client address handled at once. */
  readonly maxActivePerClient: number;
  /** Requests of one client address waiting for a place. */
  readonly maxQueuedPerClient: number;
  /** Client addresses with requests waiting. */
  readonly maxWaitingClients: number;
}

export const CLIENT_GATE_DEFAULTS: ClientGateLimits = {
  maxActive: 64,
  maxActivePerClient: 32,
  // A client's concurrent requests each hold a connection (fetch opens one per request in flight), so this
  // matches the per-address connection cap (clientLimits.ts), and the total is bounded by the connection cap.
  maxQueuedPerClient: 1_024,
  maxWaitingClients: 1_024,
};

/** A request waiting for a place; `admit` runs when it gets one. */
export interface WaitingRequest {
  readonly admit: () => void;
}

export type GateEntry =
  | { readonly kind: "admitted" }
  | { readonly kind: "waiting"; readonly ticket: WaitingRequest }
  | { readonly kind: "refused"; readonly reason: "clientQueueFull" | "tooManyClients" };

/** One client address's waiting requests; in `turns` exactly once while it is the address's live queue. */
interface ClientQueue {
  readonly client: string;
  readonly waiting: WaitingRequest[];
}

export class ClientGate {
  private readonly limits: ClientGateLimits;
  private active = 0;
  /** Requests being handled per address (only addresses with some). */
  private readonly activeOf = new Map<string, number>();
  /** The live queue of each address with requests waiting. */
  private readonly queues = new Map<string, ClientQueue>();
  /** Queues in turn order from `turnHead`: the head gets the next free place. Emptied ones are skipped. */
  private turns: ClientQueue[] = [];
  private turnHead = 0;
  /** Entries of `turns` whose queue was emptied by `abandon`: dropped once they outnumber the address bound. */
  private staleTurns = 0;

  constructor(limits: ClientGateLimits = CLIENT_GATE_DEFAULTS) {
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be an integer ≥ 1`);
    }
    this.limits = limits;
  }

  /** Requests being handled now. */
  get activeCount(): number {
    return this.active;
  }

  /** Requests waiting for a place, all clients together (O(waiting addresses)). */
  get waitingCount(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.waiting.length;
    return n;
  }

  /** A request of `client` arrived: admitted now, waiting (its `admit` runs later), or refused. */
  enter(client: string, admit: () => void): GateEntry {
    let queue = this.queues.get(client);
    // Nobody of this address waits (or it would go first), and there is a place it may take.
    if (queue === undefined && this.active < this.limits.maxActive && this.mayTakePlace(client)) {
      this.take(client);
      return { kind: "admitted" };
    }
    if (queue === undefined) {
      if (this.queues.size >= this.limits.maxWaitingClients)
        return { kind: "refused", reason: "tooManyClients" };
      queue = { client, waiting: [] };
      this.queues.set(client, queue);
      this.turns.push(queue);
    } else if (queue.waiting.length >= this.limits.maxQueuedPerClient) {
      return { kind: "refused", reason: "clientQueueFull" };
    }
    const ticket: WaitingRequest = { admit };
    queue.waiting.push(ticket);
    return { kind: "waiting", ticket };
  }

  /**
   * A request of `client` that was admitted has been handled: its place goes to the next waiting address in
   * turn that may take one (an address at `maxActivePerClient` keeps its turn for later).
   */
  leave(client: string): void {
    const held = this.activeOf.get(client) ?? 0;
    if (held === 0) throw new Error(`ClientGate.leave: ${client} has no request being handled`);
    this.active--;
    if (held > 1) this.activeOf.set(client, held - 1);
    else this.activeOf.delete(client);
    // Each live queue is visited at most once per free place: past that, everyone waiting is at its cap.
    let visits = this.queues.size;
    while (this.active < this.limits.maxActive && this.queues.size > 0 && visits > 0) {
      const queue = this.nextTurn();
      if (this.queues.get(queue.client) !== queue) {
        this.staleTurns--; // emptied by `abandon` since it was queued
        continue;
      }
      visits--;
      if (!this.mayTakePlace(queue.client)) {
        this.turns.push(queue); // at its cap: its turn comes back when one of its own requests ends
        continue;
      }
      const ticket = queue.waiting.shift()!;
      if (queue.waiting.length === 0) this.queues.delete(queue.client);
      else this.turns.push(queue); // back of the line
      this.take(queue.client);
      visits = this.queues.size;
      ticket.admit();
    }
  }

  /** A waiting request's connection closed before it got a place: it stops waiting. */
  abandon(client: string, ticket: WaitingRequest): void {
    const queue = this.queues.get(client);
    const at = queue?.waiting.indexOf(ticket) ?? -1;
    if (queue === undefined || at < 0) return;
    queue.waiting.splice(at, 1);
    if (queue.waiting.length > 0) return;
    this.queues.delete(client);
    // Its entry in `turns` stays and is skipped when reached; a new request of the address gets a new queue.
    // Arrive-and-close cycles while no place frees would grow `turns`, so stale entries are swept past a bound.
    if (++this.staleTurns > this.limits.maxWaitingClients) {
      this.turns = this.turns.slice(this.turnHead).filter((q) => this.queues.get(q.client) === q);
      this.turnHead = 0;
      this.staleTurns = 0;
    }
  }

  /** Entries in the turn order, live and stale: at most 2 × maxWaitingClients + 1 (for tests). */
  get turnEntries(): number {
    return this.turns.length - this.turnHead;
  }

  private mayTakePlace(client: string): boolean {
    return (this.activeOf.get(client) ?? 0) < this.limits.maxActivePerClient;
  }

  private take(client: string): void {
    this.active++;
    this.activeOf.set(client, (this.activeOf.get(client) ?? 0) + 1);
  }

  private nextTurn(): ClientQueue {
    const queue = this.turns[this.turnHead++]!;
    // Drop the consumed prefix now and then, so the array does not grow with every turn taken.
    if (this.turnHead >= 1_024 && this.turnHead * 2 >= this.turns.length) {
      this.turns = this.turns.slice(this.turnHead);
      this.turnHead = 0;
    }
    return queue;
  }
}
