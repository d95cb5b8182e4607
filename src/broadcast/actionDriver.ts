/**
 * The one driver of a broadcast mode's actions (types.ts): the node, the simulator and the test harness hand
 * it the lists `handle` and `restore` return and a sink that does the I/O; it carries each list out in order
 * and keeps the durability contract, so no copy of that contract lives in a driver of its own.
 *
 * The contract, as kept here: an outbound action (`send`, `serveFromStore`, `submitResult`) is handed to
 * the sink only once every `persist` carried out before it — in its own list or an earlier one — is durable.
 * Later lists count too: a subscription may replay an ECHO whose persist is still in the write buffer.
 * `deliver` goes to the sink at once (the node applies it in memory and queues its writes with the rest).
 *
 * Two kinds of sink:
 *
 * - `durability: "immediate"` — `persist` is durable when it returns (the simulator, where nothing is ever
 *   lost; the harness, appending to an in-memory log). Nothing is ever held: every action reaches the sink
 *   inside `carryOut`, with no allocation, and `flush` is a no-op.
 * - `durability: "batched"` — `persist` only collects (the node: one LevelDB batch for a whole inbox batch).
 *   After a persist, outbound actions are held, in order. The caller ends a batch with `await flush()`: the
 *   driver awaits the sink's `flush` (one fsynced write of everything collected), then hands the held
 *   actions to the sink. Outbound actions before the first persist go at once.
 *
 * The node's use, per inbox batch:
 *
 *     for (const item of batch) driver.carryOut(broadcast.handle(item.event), item);
 *     await driver.flush(); // sink.flush writes the collected ops; then held sends leave, results resolve
 *
 * A list carried out while a flush is in flight is held behind it (its persists may miss that write; its
 * sends may reveal state whose persist is in it). If the sink's `flush` rejects, nothing held is released
 * and the driver keeps holding; the node should stop, as its memory is ahead of its disk.
 *
 * `carryOut`'s `count` cuts a list short: a crash after its first `count` actions (the test harness).
 */

import type { PeerId } from "../core/peerId.ts";
import type {
  BroadcastAction,
  BroadcastMessage,
  Commitment,
  Digest,
  InstanceRef,
  SubmitOutcome,
} from "./types.ts";

/** One method per action type; `context` is whatever the caller passed to `carryOut` with the list. */
interface ActionHandlers<C> {
  persist(context: C, commitment: Commitment): void;
  send(context: C, to: readonly PeerId[], message: BroadcastMessage): void;
  deliver(context: C, instance: InstanceRef, digest: Digest, payload: Uint8Array): void;
  submitResult(
    context: C,
    outcome: SubmitOutcome,
    instance: InstanceRef | undefined,
    digest: Digest | undefined,
  ): void;
  serveFromStore(context: C, to: PeerId, instance: InstanceRef, digest: Digest): void;
}

/** `persist` is durable when it returns. */
export interface ImmediateActionSink<C> extends ActionHandlers<C> {
  readonly durability: "immediate";
}

/** `persist` collects; `flush` makes everything collected durable at once. */
export interface BatchedActionSink<C> extends ActionHandlers<C> {
  readonly durability: "batched";
  /**
   * Makes durable everything collected before the call (take the collected writes synchronously, before
   * the first `await`: persists collected during the write belong to the next flush).
   */
  flush(): Promise<void>;
}

export type ActionSink<C> = ImmediateActionSink<C> | BatchedActionSink<C>;

export class ActionDriver<C> {
  private readonly sink: ActionSink<C>;
  /** Outbound actions waiting for durability, and the context each came with (parallel arrays). */
  private readonly heldActions: BroadcastAction[] = [];
  private readonly heldContexts: C[] = [];
  /** A persist was collected that no flush begun since covers. */
  private unflushed = false;
  private flushesInFlight = 0;
  /** Flushes run one after another; the next waits for this one. */
  private lastFlush: Promise<void> = Promise.resolve();

  constructor(sink: ActionSink<C>) {
    this.sink = sink;
  }

  /** Outbound actions held until a flush completes. Always 0 for an immediate sink. */
  get held(): number {
    return this.heldActions.length;
  }

  /** Carries out the first `count` actions of `actions` (all by default), in order. */
  carryOut(actions: readonly BroadcastAction[], context: C, count = actions.length): void {
    const sink = this.sink;
    const end = Math.min(count, actions.length);
    for (let k = 0; k < end; k++) {
      const action = actions[k]!;
      switch (action.type) {
        case "persist":
          sink.persist(context, action.commitment);
          if (sink.durability === "batched") this.unflushed = true;
          break;
        case "deliver":
          sink.deliver(context, action.instance, action.digest, action.payload);
          break;
        default:
          if (this.unflushed || this.flushesInFlight > 0 || this.heldActions.length > 0) {
            this.heldActions.push(action);
            this.heldContexts.push(context);
          } else this.emit(action, context);
      }
    }
  }

  /**
   * Batched sinks: makes every persist carried out so far durable (the sink's `flush`), then hands the
   * actions held behind them to the sink. Resolves once they are handed over. Immediate sinks: nothing to do.
   */
  flush(): Promise<void> {
    if (this.sink.durability === "immediate") return Promise.resolve();
    const sink = this.sink;
    this.flushesInFlight++;
    const run = this.lastFlush.then(() => this.flushOnce(sink));
    this.lastFlush = run.catch(() => undefined);
    return run;
  }

  private async flushOnce(sink: BatchedActionSink<C>): Promise<void> {
    // Everything held now follows persists this write covers; what arrives during it waits behind it.
    const covered = this.heldActions.length;
    this.unflushed = false;
    try {
      await sink.flush();
    } catch (e) {
      this.unflushed = true;
      throw e;
    } finally {
      this.flushesInFlight--;
    }
    this.release(covered);
    // Held only because the write was in flight, with no persist since: nothing holds it back now.
    if (!this.unflushed && this.flushesInFlight === 0) this.release(this.heldActions.length);
  }

  private release(count: number): void {
    const actions = this.heldActions.splice(0, count);
    const contexts = this.heldContexts.splice(0, count);
    for (let k = 0; k < actions.length; k++) this.emit(actions[k]!, contexts[k]!);
  }

  private emit(action: BroadcastAction, context: C): void {
    const sink = this.sink;
    switch (action.type) {
      case "send":
        sink.send(context, action.to, action.message);
        break;
      case "serveFromStore":
        sink.serveFromStore(context, action.to, action.instance, action.digest);
        break;
      case "submitResult":
        sink.submitResult(context, action.outcome, action.instance, action.digest);
        break;
      default:
        break;
    }
  }
}
