/**
 * Fair shares of the REST API between client addresses. At most `maxActive` requests are handled at once;
 * past that, requests wait in one FIFO per client address and free places go to the waiting addresses in
 * turn, so a client flooding the API waits behind its own requests while another address's request takes
 * the next free place. A client with `maxQueuedPerClient` requests waiting is refused more (429) at once,
 * and so is a new address once `maxWaitingClients` addresses have requests waiting: a flood's memory is
 * bounded per address and in all. Nothing is reserved: alone, one client may use every place.
 *
 * No clock and no I/O: the server calls `enter` when a request arrives, `leave` when it ends (answered or
 * aborted), and `abandon` for a waiting request whose connection closed.
 */

export interface ClientGateLimits {
  /** Requests handled at once, all clients together. */
  readonly maxActive: number;
  /** Requests of one client address waiting for a place. */
  readonly maxQueuedPerClient: number;
  /** Client addresses with requests waiting. */
  readonly maxWaitingClients: number;
}

export const CLIENT_GATE_DEFAULTS: ClientGateLimits = {
  maxActive: 64,
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
    if (this.active < this.limits.maxActive && this.queues.size === 0) {
      this.active++;
      return { kind: "admitted" };
    }
    let queue = this.queues.get(client);
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

  /** An admitted request ended: its place goes to the next waiting address in turn. */
  leave(): void {
    if (this.active === 0) throw new Error("ClientGate.leave without an admitted request");
    this.active--;
    while (this.active < this.limits.maxActive && this.queues.size > 0) {
      const queue = this.nextTurn();
      if (this.queues.get(queue.client) !== queue) {
        this.staleTurns--; // emptied by `abandon` since it was queued
        continue;
      }
      const ticket = queue.waiting.shift()!;
      if (queue.waiting.length === 0) this.queues.delete(queue.client);
      else this.turns.push(queue); // back of the line
      this.active++;
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
