import { performance } from "node:perf_hooks";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { EncodedTransfer } from "../core/transfer.ts";
import type { TransferStatusChange } from "../ledger/ledger.ts";
import type { BatchOp } from "../storage/database.ts";
import type { NodeCore } from "./core/nodeCore.ts";
import type { NodeAction, NodeEvent, SubmissionRefusal, SubmitResult } from "./core/nodeEvents.ts";
import type { DurableReads } from "./durableReads.ts";
import type { GroupCommit } from "./groupCommit.ts";

/**
 * Submissions waiting for a step; beyond it `submit` answers PENDING_FULL (the API's 429). Timer and
 * connection events are few and always queued.
 */
export const MAX_WAITING_SUBMISSIONS = 10_000;

/** Where one step's wall time went, in ms: what a transfer waits at each hop through a node. */
export interface StepTiming {
  /** The group commit's wait before the step (groupCommit.ts), timer lateness included. */
  readonly waitMs: number;
  /** The core handling the step's events, and its writes gathered. */
  readonly handleMs: number;
  /** The fsynced LevelDB write. */
  readonly writeMs: number;
  /** Messages handed to the transport, announcements and answers. */
  readonly sendMs: number;
}

export interface ProcessingLoopOptions {
  readonly core: NodeCore;
  /** Events handled per step: bounds a step's latency while amortising its write. */
  readonly maxEventsPerStep: number;
  readonly groupCommit: GroupCommit;
  readonly durableReads: DurableReads;
  /** Peers' messages admitted and waiting in the channel layer. */
  readonly peerBacklog: () => number;
  /** Up to `max` of the peers' waiting messages, round-robin across peers. */
  readonly takePeerEvents: (max: number, nowMs: number) => NodeEvent[];
  /** Writes the step's ops as one atomic, fsynced batch; resolves once they are durable. */
  readonly commit: (writes: BatchOp[]) => Promise<void>;
  /** Sends the durable step's messages (its actions but writes, announcements and answers: the shell picks). */
  readonly send: (actions: readonly NodeAction[]) => void;
  /** Announces one status change of the durable step. */
  readonly announce: (change: TransferStatusChange) => void;
  /** Tells the API's clients of a submission the durable step rejected for them (no ledger verdict). */
  readonly refused?: (refusal: SubmissionRefusal) => void;
  /** A step failed (its write, most likely): memory is ahead of disk and the node must stop. */
  readonly onFailure: (error: unknown) => void;
  /** Told where each completed step's time went (the node's metrics). */
  readonly onStep?: (timing: StepTiming) => void;
}

/**
 * The node's processing loop: its own events (submissions, timers, connection changes) wait in an inbox and
 * peers' messages in the channel layer; a step takes a batch of both through the core, commits every write
 * of the step as ONE fsynced LevelDB batch, and only then sends the step's messages, announces its status
 * changes and answers its submitters. So nothing the node told a peer or a client can be lost by a crash.
 * Group commit (groupCommit.ts) spaces small steps on a busy node.
 */
export class ProcessingLoop {
  private readonly options: ProcessingLoopOptions;
  private inbox: NodeEvent[] = [];
  private readonly waitingSubmitters = new Map<number, (result: SubmitResult) => void>();
  private nextTicket = 1;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(options: ProcessingLoopOptions) {
    this.options = options;
  }

  /** Queues one of the node's own events; ignored once the loop is closed. */
  enqueue(event: NodeEvent): void {
    if (this.closed) return;
    this.inbox.push(event);
    this.kick();
  }

  /** Hands a transfer to the core in the next step; resolves with the core's answer once that step is durable. */
  submit(encoded: EncodedTransfer): Promise<SubmitResult> {
    if (this.closed) throw new TallyError(ErrorCode.PendingFull, "node is not running");
    if (this.waitingSubmitters.size >= MAX_WAITING_SUBMISSIONS)
      throw new TallyError(ErrorCode.PendingFull, "node is busy: too many submissions waiting; retry later");
    return new Promise<SubmitResult>((resolve) => {
      const ticket = this.nextTicket++;
      this.waitingSubmitters.set(ticket, resolve);
      this.enqueue({ type: "submit", encoded, ticket, nowMs: Date.now() });
    });
  }

  /** Starts stepping unless a step runs or is due (peers' messages were admitted, say). */
  kick(): void {
    if (this.running === undefined && !this.closed) this.running = this.run();
  }

  /**
   * Takes no more events and drops the inbox's; resolves when the step in flight (if any) has finished, its
   * write durable. Events not yet taken were never acknowledged to anyone, so nothing is lost.
   */
  close(): Promise<void> {
    this.closed = true;
    this.inbox = [];
    return this.running ?? Promise.resolve();
  }

  private hasWork(): boolean {
    return this.inbox.length > 0 || this.options.peerBacklog() > 0;
  }

  private async run(): Promise<void> {
    const { groupCommit, maxEventsPerStep, peerBacklog, takePeerEvents } = this.options;
    // Yield once so a burst of arriving messages lands in the same step.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      while (this.hasWork() && !this.closed) {
        const decidedAt = performance.now();
        const wait = groupCommit.delayMs(this.inbox.length + peerBacklog(), Date.now());
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        groupCommit.stepStarted(Date.now());
        const waitMs = performance.now() - decidedAt;
        // The node's own events take at most half a step while peers have messages waiting, so a flood of
        // submissions cannot starve the broadcast; peers' messages are taken round-robin across peers, so a
        // flooding peer gets its share and no more.
        const own = peerBacklog() > 0 ? Math.ceil(maxEventsPerStep / 2) : maxEventsPerStep;
        const events = this.inbox.splice(0, own);
        events.push(...takePeerEvents(maxEventsPerStep - events.length, Date.now()));
        await this.step(events, waitMs);
        // A whole turn before the next step: readers released by the write read durable state first
        // (durableReads.ts), and the API and the network get their turn under load.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (e) {
      // A failed LevelDB write leaves memory ahead of disk; continuing could contradict what peers were told.
      this.closed = true;
      this.options.onFailure(e);
    } finally {
      this.running = undefined;
      if (this.hasWork() && !this.closed) this.running = this.run();
    }
  }

  /**
   * One step over `events`, which it takes: the array is emptied once they are handled. The step's frame and
   * its caller's keep the array until the step ends, after the fsync; emptied, it no longer keeps the decoded
   * messages alive through the write, so a collection in that window finds them dead.
   */
  private async step(events: NodeEvent[], waitMs: number): Promise<void> {
    const { core, durableReads } = this.options;
    const startedAt = performance.now();
    const writes: BatchOp[] = [];
    const after: NodeAction[] = [];
    let handledAt = startedAt;
    durableReads.hold();
    try {
      for (const event of events) {
        for (const action of core.handle(event)) {
          if (action.type === "write") writes.push(...action.ops);
          else after.push(action);
        }
      }
      events.length = 0;
      for (const op of core.finishStep()) writes.push(op); // a step may write thousands of keys: no spread
      handledAt = performance.now();
      // One atomic, durable write for the whole step, before anything of it leaves the node or is read.
      await this.options.commit(writes);
    } finally {
      // On a failed step (its write, or a fault in the core) the node stops (onFailure); readers are let go
      // to find the API closing rather than wait for a write that will never come.
      durableReads.release();
    }
    const writtenAt = performance.now();
    this.options.send(after);
    for (const action of after) {
      if (action.type === "announce") this.options.announce(action.change);
      else if (action.type === "refused") this.options.refused?.(action.refusal);
      else if (action.type === "submitted") {
        const resolve = this.waitingSubmitters.get(action.ticket);
        this.waitingSubmitters.delete(action.ticket);
        resolve?.(action.result);
      }
    }
    this.options.onStep?.({
      waitMs,
      handleMs: handledAt - startedAt,
      writeMs: writtenAt - handledAt,
      sendMs: performance.now() - writtenAt,
    });
  }
}
