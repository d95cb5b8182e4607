import { ErrorCode, TallyError } from "../core/errors.ts";
import { encodeTransferBatch } from "../core/transferBatch.ts";
import type { ApplyBook } from "./applyBook.ts";
import { depIndexOf, type SignedWorkload } from "./benchWorkload.ts";
import { KeepAliveClient } from "./keepAliveClient.ts";
import { PrerequisiteTracker } from "./prerequisites.ts";

export interface LoadOptions {
  /** Transfers per `POST /v1/transfers:batch` (1..1,000). */
  readonly batch: number;
  /** At most this many batch requests awaiting their answer, over all nodes. */
  readonly inFlight: number;
  /** Open loop at this many transfers/s; absent: saturation. */
  readonly rate?: number | undefined;
}

/** A node's "busy" answer: the transfer was not taken, so its account sends it again. */
const RETRY_CODE = "PENDING_FULL";
/**
 * The node has not applied the transfer's dep. The driver sends a transfer only once its dep is applied on
 * every node, so this should not happen; if it does it is counted and the transfer sent again a little later.
 */
const UNKNOWN_DEPENDENCY_CODE = "UNKNOWN_DEPENDENCY";
const UNKNOWN_DEPENDENCY_RETRY_MS = 100;
/**
 * How often each node is sent what has come due for it in the open loop. The nodes' turns are staggered
 * across the tick (with 4 nodes, one every 2.5 ms), as independent clients would be, rather than all at once.
 */
const OPEN_LOOP_TICK_MS = 10;

/**
 * Submits a pre-signed workload to the nodes' `POST /v1/transfers:batch` (binary bodies, or JSON when the
 * workload carries JSON). Account i is pinned to node i mod N and, as a wallet, has at most one transfer in
 * flight: its next seq is sent once the previous one is settled (applied on every node, or refused) and its
 * dep, if it has one, is applied on every node (see `PrerequisiteTracker`). Nodes park a peer's transfer that
 * is ahead of its account's applied seq only 16 deep per account, so a bench that ran seqs ahead would
 * measure dropped introductions.
 *
 * Saturation: a node gets a batch whenever `batch` of its accounts are ready (or it has none pending and
 * some are ready), within `inFlight` requests. Open loop: transfers come due at `rate`/s, each node's 1/N
 * share of them; every 10 ms, at its own turn, a node is sent what came due for it since its last turn, from
 * its ready accounts, as one request (more only beyond `batch`). What cannot be sent because every account
 * is busy is owed (`late`) and sent at a later turn as accounts free up. Refused transfers are counted by
 * code; one refused as "busy" is sent again. A request that fails outright (connection, non-200) fails the
 * run.
 */
export class LoadDriver {
  /** Transfers POSTed at least once. */
  submitted = 0;
  /** Of those, transfers that reference a dep. */
  submittedWithDeps = 0;
  retried = 0;
  /** Transfers a node refused with UNKNOWN_DEPENDENCY although every node had reported the dep applied. */
  unknownDependencyRetried = 0;
  /** Some account used up its pre-signed transfers. */
  ranDry = false;
  readonly refused: Record<string, number> = {};
  /** Transfers a node took (answered without a code), and of those, the ones settled since. */
  private accepted = 0;
  private acceptedSettled = 0;
  private failure: Error | undefined;
  private stopped = true;
  private requestsPending = 0;
  private readonly pendingPerNode: number[];
  private startedAt = 0;
  /** Open loop: transfers sent so far from each node's share of what came due. */
  private readonly dueSentPerNode: number[];
  /** Open loop: turns taken so far, over all nodes (turn t is node t mod N's). */
  private turns = 0;
  private firstNode = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly prerequisites: PrerequisiteTracker;
  /** Per node: transfers whose prerequisites are met, not yet sent (one per account at most), oldest first. */
  private readonly ready: number[][];
  private readonly clients: KeepAliveClient[];
  private idle: (() => void) | undefined;
  private readonly apis: readonly string[];
  private readonly workload: SignedWorkload;
  private readonly book: ApplyBook;
  private readonly options: LoadOptions;
  private readonly now: () => number;

  constructor(
    apis: readonly string[],
    workload: SignedWorkload,
    book: ApplyBook,
    options: LoadOptions,
    now: () => number,
  ) {
    this.apis = apis;
    this.workload = workload;
    this.book = book;
    this.options = options;
    this.now = now;
    this.prerequisites = new PrerequisiteTracker(workload);
    this.ready = apis.map(() => []);
    for (const index of this.prerequisites.initial()) this.release(index);
    this.pendingPerNode = apis.map(() => 0);
    this.dueSentPerNode = apis.map(() => 0);
    this.clients = apis.map((api) => new KeepAliveClient(api, options.inFlight));
  }

  /** Why submission failed, if it did. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /**
   * Open loop: transfers due by now and not sent — those waiting for their node's next turn (at most a tick's
   * share) and those no free account could take.
   */
  get late(): number {
    if (this.options.rate === undefined) return 0;
    let late = 0;
    for (let node = 0; node < this.apis.length; node++) late += Math.max(0, this.owed(node));
    return late;
  }

  start(): void {
    this.stopped = false;
    this.startedAt = this.now();
    if (this.options.rate === undefined) this.pump();
    else this.timer = setInterval(() => this.takeTurns(), Math.max(1, this.turnMs()));
  }

  /**
   * Transfers some node took and that are not yet applied on every node nor rejected: each holds its
   * account's next seq on the nodes. A transfer answered "busy" is not among them (no node holds it).
   */
  get unsettled(): number {
    return this.accepted - this.acceptedSettled;
  }

  /**
   * A transfer a node took is settled: `applied` on every node, or rejected. Its account may send its next
   * seq, and (when applied) the account it paid may send the transfer that references it.
   */
  settled(index: number, applied: boolean): void {
    this.acceptedSettled++;
    this.freeAfter(index, applied);
  }

  private freeAfter(index: number, applied: boolean): void {
    if (!this.prerequisites.settled(index, applied, (n) => this.release(n))) this.ranDry = true;
    if (this.options.rate === undefined) this.pump();
  }

  /** Stops sending and waits for the requests still awaiting an answer. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.requestsPending > 0) await new Promise<void>((r) => (this.idle = r));
    for (const client of this.clients) client.close();
  }

  /** Transfer `index` may be sent: queue it for its account's node. */
  private release(index: number): void {
    this.ready[(index % this.workload.accounts) % this.apis.length]!.push(index);
  }

  /** Open loop: of node `node`'s share of the transfers due by now (1/N of them), those not yet sent. */
  private owed(node: number): number {
    const n = this.apis.length;
    const due = Math.floor(((this.now() - this.startedAt) / 1000) * (this.options.rate ?? 0));
    // Node k's share: the transfers numbered k, k + N, k + 2N, … of the `due` so far (none while due ≤ k).
    return Math.floor((due - node - 1) / n) + 1 - this.dueSentPerNode[node]!;
  }

  /**
   * Open loop: takes every turn that has come (one every 10 ms / N since the start; a late timer, or more
   * nodes than milliseconds in a tick, makes it several at once).
   */
  private takeTurns(): void {
    const due = Math.floor((this.now() - this.startedAt) / this.turnMs()) + 1;
    for (; this.turns < due; this.turns++) this.sendDue(this.turns % this.apis.length);
  }

  /** Open loop: the time between two nodes' turns (the tick shared by the nodes). */
  private turnMs(): number {
    return OPEN_LOOP_TICK_MS / this.apis.length;
  }

  /** Open loop: node `node`'s turn; it is sent what came due for it, in as few requests as fit. */
  private sendDue(node: number): void {
    if (this.stopped || this.failure !== undefined) return;
    const ready = this.ready[node]!;
    let owed = this.owed(node);
    while (owed > 0 && ready.length > 0 && this.requestsPending < this.options.inFlight) {
      const indices = ready.splice(0, Math.min(this.options.batch, owed));
      this.dueSentPerNode[node]! += indices.length;
      owed -= indices.length;
      this.post(node, indices);
    }
  }

  /** Saturation: each node is sent a batch whenever `batch` of its accounts are ready (see the class comment). */
  private pump(): void {
    if (this.stopped || this.failure !== undefined) return;
    const { batch, inFlight } = this.options;
    // Start from a different node each time, so no node's batches always go first.
    this.firstNode = (this.firstNode + 1) % this.apis.length;
    for (let k = 0; k < this.apis.length; k++) {
      const node = (this.firstNode + k) % this.apis.length;
      const ready = this.ready[node]!;
      while (this.requestsPending < inFlight && ready.length > 0) {
        if (ready.length < batch && this.pendingPerNode[node]! > 0) break;
        this.post(node, ready.splice(0, batch));
      }
    }
  }

  private post(node: number, indices: number[]): void {
    const { json, bytes } = this.workload;
    // Binary unless the workload was signed for JSON (`--submit json`).
    const body =
      json === undefined
        ? encodeTransferBatch(indices.map((i) => bytes[i]!))
        : `{"transfers":[${indices.map((i) => json[i]).join(",")}]}`;
    const contentType = json === undefined ? "application/octet-stream" : "application/json";
    const at = this.now();
    for (const i of indices) this.book.submitted(i, at);
    this.submitted += indices.length;
    for (const i of indices) if (depIndexOf(this.workload, i) >= 0) this.submittedWithDeps++;
    this.requestsPending++;
    this.pendingPerNode[node]!++;
    this.clients[node]!.request("POST", "/v1/transfers:batch", contentType, body, (error, answer) => {
      if (error !== undefined || answer === undefined) this.fail(`${this.apis[node]}: ${error?.message}`);
      else if (answer.status === 200) this.answered(node, indices, answer.body.toString("utf8"));
      else
        this.fail(
          `${this.apis[node]} answered ${answer.status} to a batch: ${answer.body.toString("utf8", 0, 200)}`,
        );
      this.requestDone(node);
    });
  }

  private answered(node: number, indices: readonly number[], text: string): void {
    const { results } = JSON.parse(text) as { results: { code?: string }[] };
    for (const [k, result] of results.entries()) {
      if (result.code === undefined) {
        this.accepted++;
        continue;
      }
      const index = indices[k]!;
      if (result.code === RETRY_CODE || result.code === UNKNOWN_DEPENDENCY_CODE) {
        // Not taken: sent again, so it counts once in `submitted`.
        this.submitted--;
        if (depIndexOf(this.workload, index) >= 0) this.submittedWithDeps--;
        if (result.code === RETRY_CODE) {
          this.retried++;
          this.ready[node]!.push(index);
        } else {
          this.unknownDependencyRetried++;
          setTimeout(() => {
            this.ready[node]!.push(index);
            if (this.options.rate === undefined) this.pump();
          }, UNKNOWN_DEPENDENCY_RETRY_MS).unref();
        }
        continue;
      }
      this.refused[result.code] = (this.refused[result.code] ?? 0) + 1;
      this.book.refused(index);
      this.freeAfter(index, false);
    }
  }

  private requestDone(node: number): void {
    this.requestsPending--;
    this.pendingPerNode[node]!--;
    if (this.stopped && this.requestsPending === 0) this.idle?.();
    else if (this.options.rate === undefined) this.pump();
  }

  private fail(message: string): void {
    if (!this.stopped) this.failure ??= new TallyError(ErrorCode.BenchFailed, message);
  }
}
