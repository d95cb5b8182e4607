import { ActionDriver, type ImmediateActionSink } from "../../broadcast/actionDriver.ts";
import { instanceRef } from "../../broadcast/instance/instanceId.ts";
import type { PayloadMessage } from "../../broadcast/messageCodec.ts";
import type {
  BroadcastEvent,
  BroadcastMessage,
  BroadcastProtocol,
  PayloadInfo,
  SubmitOutcome,
} from "../../broadcast/types.ts";
import type { PeerId } from "../../core/peerId.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import type { Admission, Ledger, TransferStatusChange } from "../../ledger/ledger.ts";
import type { RejectionReason } from "../../ledger/store.ts";
import { answerStatus, type StatusIdentity } from "../../protocols/status/statusProtocol.ts";
import { WatermarkSummary } from "../../protocols/status/watermarkSummary.ts";
import { CatchUp, type CatchUpAction, type CatchUpOptions } from "../../protocols/sync/catchUp.ts";
import { SenderIndex } from "../../protocols/sync/senderIndex.ts";
import { CommitmentLog, type LoadedCommitments } from "../../storage/commitmentLog.ts";
import type { BatchOp } from "../../storage/database.ts";
import type { LoadedSubmissions } from "../../storage/submittedLog.ts";
import type { AheadLimits } from "./aheadSubmissions.ts";
import type { NodeAction, NodeEvent, SubmitResult } from "./nodeEvents.ts";
import { OwnSubmissions } from "./ownSubmissions.ts";
import { type ParkedIntroduction, ParkedIntroductions, type ParkingLimits } from "./parkedIntroductions.ts";
import type { PayloadInspector, PeerPayloadChecks } from "./payloadInspector.ts";
import { type AdmissionCounters, FORGERIES_PER_STEP, noAdmissions } from "./peerPayloadAdmission.ts";
import type { SubmissionTracker } from "./submissionTracker.ts";

export interface NodeCoreOptions {
  readonly broadcast: BroadcastProtocol;
  readonly ledger: Ledger;
  readonly inspector: PayloadInspector;
  /** What the status protocol says about this node besides its watermarks. */
  readonly identity: StatusIdentity;
  /** The ledger store's writes since the last call (the ledger is synchronous over an in-memory working set). */
  readonly takeLedgerWrites: () => BatchOp[];
  /** Called with a rejection the ledger raised for a delivered transfer (a bug or a byzantine majority). */
  readonly onLedgerRefusal?: (id: string, reason: string) => void;
  /** Bounds on introductions held back until they can be judged; defaults in `PARKING_DEFAULTS`. */
  readonly parking?: ParkingLimits;
  /** Bounds on a wallet's submissions held until their seq is the next; defaults in `AHEAD_DEFAULTS`. */
  readonly ahead?: AheadLimits;
  /** How often pending submissions the broadcast dropped are offered again; default `REOFFER_SWEEP_MS`. */
  readonly reofferSweepMs?: number;
  /** Catch-up's sample, threshold and bounds; without it the node never catches up (tests of other parts). */
  readonly catchUp?: CatchUpOptions;
  /** Transfer signatures checked so far (the authorizer's count), for metrics. */
  readonly signatureChecks?: () => number;
}

/**
 * The node's decisions, without I/O: which transfers to introduce, what the broadcast says to do, what the
 * ledger decides on delivery, what to persist, whom to answer. The shell (tallyNode.ts) feeds it events and
 * carries out the actions it returns under the contract written on `NodeAction`: all writes of a step are made
 * durable before anything of that step leaves the node.
 */
export class NodeCore {
  readonly broadcast: BroadcastProtocol;
  readonly ledger: Ledger;
  readonly submissions: SubmissionTracker;
  /** Per-account watermarks, kept in step with the ledger's verdicts (O(1) per verdict) for status answers. */
  readonly watermarks: WatermarkSummary;
  /** The accounts that have sent, by status bucket in address order: what sync's `watermarks` lists. */
  readonly senders: SenderIndex;
  /** Fetches what peers resolved and this node missed (docs/catch-up.md). */
  readonly catchUp: CatchUp | undefined;
  private readonly identity: StatusIdentity;
  private readonly inspector: PayloadInspector;
  private readonly takeLedgerWrites: () => BatchOp[];
  private readonly onLedgerRefusal: (id: string, reason: string) => void;
  private readonly parked: ParkedIntroductions;
  /** Introductions a verdict of this step may have unblocked; judged again before the step ends. */
  private readonly woken: ParkedIntroduction[] = [];
  readonly admission: AdmissionCounters = noAdmissions();
  /** Forged payloads per peer in this step (`FORGERIES_PER_STEP`); empty but for a step with a forgery. */
  private readonly forgeriesThisStep = new Map<PeerId, number>();
  private readonly signatureChecks: () => number;
  /**
   * The broadcast's actions become this step's node actions. The driver sees an immediate sink: a persist is a
   * `write` of the same step, and the shell's contract (every write of a step is durable before any of its
   * sends, and steps run one after another) is what makes it durable before anything after it leaves.
   */
  private readonly driver: ActionDriver<NodeAction[]>;
  /** The broadcast's promises, durable in step records (commitmentLog.ts); taken by `finishStep`. */
  private readonly commitments = new CommitmentLog();
  /** Transfers the API accepted, until delivered (ownSubmissions.ts). */
  private readonly own: OwnSubmissions;
  /** The outcome of the submission being handled, reported by the driver's `submitResult`. */
  private lastOutcome: SubmitOutcome | undefined;

  constructor(options: NodeCoreOptions) {
    this.broadcast = options.broadcast;
    this.ledger = options.ledger;
    this.inspector = options.inspector;
    this.identity = options.identity;
    const watermarks = [...options.ledger.accountWatermarks()];
    this.watermarks = WatermarkSummary.fromWatermarks(watermarks);
    this.senders = SenderIndex.fromWatermarks(watermarks);
    this.takeLedgerWrites = options.takeLedgerWrites;
    this.onLedgerRefusal = options.onLedgerRefusal ?? (() => {});
    this.parked = new ParkedIntroductions(options.parking);
    this.signatureChecks = options.signatureChecks ?? (() => 0);
    this.driver = new ActionDriver(this.broadcastSink());
    this.own = new OwnSubmissions({
      ledger: options.ledger,
      ahead: options.ahead,
      sweepMs: options.reofferSweepMs,
      toBroadcast: (encoded, nowMs, out) => {
        this.inspector.recordDecoded(encoded);
        return this.runBroadcast({ type: "submit", payload: encoded.bytes, nowMs }, out) ?? "invalid";
      },
      isLive: (encoded) =>
        this.broadcast.holdsPayload(instanceRef(encoded.transfer.source, encoded.transfer.seq), encoded.id),
    });
    this.submissions = this.own.tracker;
    const ledger = options.ledger;
    this.catchUp =
      options.catchUp === undefined
        ? undefined
        : new CatchUp(
            {
              seqSumOf: (bucket) => this.watermarks.seqSumOf(bucket),
              watermarkOf: (address) => ledger.watermarkOf(address),
              isSlotTaken: (address, seq) => ledger.isSlotTaken(address, seq),
            },
            options.catchUp,
          );
  }

  /** Introductions held back until this node can judge them. */
  get parkedCount(): number {
    return this.parked.size;
  }

  /** A wallet's submissions held until their seq is the account's next. */
  get heldAheadCount(): number {
    return this.own.heldAheadCount;
  }

  /** The API's submissions offered to the broadcast again after it had evicted them, since start. */
  get reofferedCount(): number {
    return this.own.reoffered;
  }

  /** Held submissions given up since start: past their timeout, or their place given to another account's. */
  get droppedAheadCount(): number {
    return this.own.dropped;
  }

  /** The API's submissions rejected since start because no correct node will echo them. */
  get refusedCount(): number {
    return this.own.refused;
  }

  /** Transfer signatures this node has checked since it started. */
  get checkedSignatures(): number {
    return this.signatureChecks();
  }

  /** The status a client sees: the ledger's, or ours for transfers still being broadcast or superseded. */
  statusOf(id: string): "pending" | "delivered" | "applied" | "rejected" | undefined {
    return this.ledger.status(id)?.status ?? this.submissions.statusOf(id);
  }

  /** `statusOf(encoded.id)` without a store lookup for a transfer whose slot is still open. */
  private statusOfEncoded(
    encoded: EncodedTransfer,
  ): "pending" | "delivered" | "applied" | "rejected" | undefined {
    return this.ledger.statusOfTransfer(encoded)?.status ?? this.submissions.statusOf(encoded.id);
  }

  /** Handles one event; the actions are in the order the shell must carry them out (see `NodeAction`). */
  handle(event: NodeEvent): NodeAction[] {
    const out: NodeAction[] = [];
    switch (event.type) {
      case "submit":
        this.submit(event.encoded, event.ticket, event.nowMs, out);
        break;
      case "reintroduce":
        this.own.reintroduce(event.encoded, event.nowMs, out);
        break;
      case "peerMessage": {
        const { from, message, nowMs } = event;
        if (message.kind === "send" || message.kind === "gossip" || message.kind === "payload")
          this.peerPayload(from, message, nowMs, out);
        else if (message.kind === "votes")
          for (const vote of message.votes)
            this.runBroadcast({ type: "message", from, message: vote, nowMs }, out);
        else if (message.kind === "payloads")
          for (const item of message.items) this.peerPayload(from, item, nowMs, out);
        else this.runBroadcast({ type: "message", from, message, nowMs }, out);
        break;
      }
      case "statusRequest": {
        const response = answerStatus(event.request, { ...this.identity, watermarks: this.watermarks });
        out.push({ type: "respondStatus", to: event.from, requestId: event.requestId, response });
        break;
      }
      case "storedBody":
        if (event.encoded !== undefined)
          out.push({
            type: "send",
            to: [event.to],
            message: { kind: "payload", payload: event.encoded.bytes },
          });
        break;
      case "tick":
        this.parked.expire(event.nowMs);
        this.own.tick(event.nowMs, out);
        this.runBroadcast(event, out);
        if (this.catchUp !== undefined) this.carryOutCatchUp(this.catchUp.tick(event.nowMs), out);
        break;
      case "peerStatus":
        this.catchUp?.onStatus(event.from, event.snapshot, event.nowMs);
        break;
      case "syncAnswer":
        if (this.catchUp !== undefined)
          this.carryOutCatchUp(this.catchUp.onAnswer(event.ask, event.from, event.response), out);
        break;
      case "syncFailed":
        if (this.catchUp !== undefined)
          this.carryOutCatchUp(this.catchUp.onFailed(event.ask, event.from), out);
        break;
      case "peerUp":
      case "peerDown":
        if (event.type === "peerUp") this.catchUp?.peerUp(event.peer);
        else this.catchUp?.peerDown(event.peer);
        this.runBroadcast(event, out);
        break;
      default:
        this.runBroadcast(event, out);
    }
    const nowMs = "nowMs" in event ? event.nowMs : 0;
    // Either may resolve transfers (a delivery within the step), which may wake or advance more.
    while (this.woken.length > 0 || this.own.hasAdvanced) {
      const entry = this.woken.shift();
      if (entry !== undefined)
        this.introduce(entry.from, entry.message, entry.encoded.bytes, nowMs, out, entry);
      else this.own.releaseNext(nowMs, out);
    }
    return out;
  }

  /**
   * The step's writes gathered across its events rather than emitted by each: the ledger's (one write per key
   * however often the step changed it) and the commitment log's record. Call once after the step's last
   * event; they go in the step's batch with its `write` actions.
   */
  finishStep(): BatchOp[] {
    this.forgeriesThisStep.clear();
    const writes = this.takeLedgerWrites();
    for (const op of this.commitments.take()) writes.push(op);
    for (const op of this.own.take()) writes.push(op);
    return writes;
  }

  /** Transfers catch-up accepted go the way of a broadcast delivery: the ledger checks signature, deps, order. */
  private carryOutCatchUp(actions: readonly CatchUpAction[], out: NodeAction[]): void {
    for (const action of actions) {
      if (action.type === "deliver") this.deliver(action.encoded.id, action.encoded.bytes, out);
      else if (action.type === "request")
        out.push({ type: "syncAsk", ask: action.ask, to: action.to, request: action.request });
      else out.push(action);
    }
  }

  /**
   * Takes over the commitments persisted before a restart; returns the broadcast's actions to restore
   * (already durable, so sent at once). Call once, before the first event.
   */
  restore(loaded: LoadedCommitments): NodeAction[] {
    const out: NodeAction[] = [];
    const unsettled = this.commitments.restore(loaded, (i) => this.ledger.isSlotTaken(i.source, i.seq));
    this.driver.carryOut(this.broadcast.restore(unsettled), out);
    return out;
  }

  /**
   * Takes over the transfers the API accepted before a restart and had not seen delivered; returns them, for
   * the shell to `reintroduce`. Call once, before the first event, after `restore`.
   */
  restoreSubmitted(loaded: LoadedSubmissions): EncodedTransfer[] {
    return this.own.restore(loaded);
  }

  /**
   * The answer to a submission that needs no processing step: a transfer already known, or one the ledger's
   * precheck refuses (bad signature, used seq, unknown deps, no funds…). Pure and synchronous, so the shell
   * answers a flood of hopeless submissions without queueing them behind (or ahead of) peers' messages. The
   * shell calls it through `NodeReadModel`, which loads the statuses it needs from disk first, asynchronously.
   */
  quickAnswer(encoded: EncodedTransfer): SubmitResult | undefined {
    const known = this.statusOfEncoded(encoded);
    if (known !== undefined) return { ok: true, id: encoded.id, status: known };
    try {
      this.ledger.precheck(encoded);
    } catch (e) {
      return { ok: false, error: reasonOf(e) };
    }
    return undefined;
  }

  private submit(encoded: EncodedTransfer, ticket: number, nowMs: number, out: NodeAction[]): void {
    const answer = this.quickAnswer(encoded);
    if (answer !== undefined) {
      out.push({ type: "submitted", ticket, result: answer });
      return;
    }
    out.push({ type: "submitted", ticket, result: this.own.submit(encoded, nowMs, out) });
  }

  /**
   * A payload a peer sent (alone or as an item of a batch). Judged here first, for what the broadcast cannot
   * tell, so that only a payload that can change something here costs a signature check: one for a slot this
   * node has resolved or holds changes nothing; an introduction echo admission refuses is never echoed; a
   * twin of the payload the broadcast took for its instance would be dropped by it; one admission would park
   * is dropped if this node holds it parked already or has no room to park it. One whose
   * signature fails comes from a peer that forged or corrupted it, since a correct node relays only payloads
   * it verified: its sender is scored, and cut off for the rest of the step (docs/security.md).
   */
  private peerPayload(from: PeerId, item: PayloadMessage, nowMs: number, out: NodeAction[]): void {
    this.checkedAdmission = undefined;
    const forgeries = this.forgeriesThisStep.size === 0 ? 0 : (this.forgeriesThisStep.get(from) ?? 0);
    if (forgeries >= FORGERIES_PER_STEP) {
      this.admission.afterForgeries++;
      return;
    }
    this.introducer = from;
    const verdict = this.inspector.judgePeerPayload(
      item.payload,
      item.kind === "payload" ? this.pulledChecks : this.introductionChecks,
    );
    if (verdict === "settled") {
      this.admission.settled++;
    } else if (verdict === "refused") {
      this.admission.refused++;
    } else if (verdict === "parkedAlready") {
      this.admission.parked++;
    } else if (verdict === "unparkable") {
      this.admission.parkingFull++;
    } else if (verdict === "unneeded") {
      this.admission.unneeded++;
    } else if (verdict === "forged") {
      this.admission.forged++;
      this.forgeriesThisStep.set(from, forgeries + 1);
      out.push({ type: "penalize", peer: from, event: "forgedPayload", why: "a payload's signature fails" });
    } else if (item.kind === "payload") {
      // Pulled for a decided instance: delivery never depends on admission.
      this.runBroadcast({ type: "message", from, message: item, nowMs }, out);
    } else {
      this.introduce(from, item, item.payload, nowMs, out, undefined, verdict);
    }
  }

  private readonly pulledChecks: PeerPayloadChecks = {
    slotTaken: (source, seq) => this.ledger.isSlotTaken(source, seq),
  };

  private readonly introductionChecks: PeerPayloadChecks = {
    slotTaken: this.pulledChecks.slotTaken,
    dropsUnchecked: (encoded) => {
      const admission = this.ledger.admission(encoded);
      this.checkedAdmission = { encoded, admission };
      if (admission.kind === "never") return "refused";
      if (admission.kind === "admit") {
        // A twin of a payload the broadcast took for the instance: it would drop this one unchecked as well.
        const t = encoded.transfer;
        return this.broadcast.wantsPayload(instanceRef(t.source, t.seq), encoded.id) ? undefined : "unneeded";
      }
      // Parked copies are verified ones: another copy of the same transfer adds nothing but what it awaits.
      if (this.parked.reindex(encoded.id, admission.awaiting)) return "parkedAlready";
      return this.parked.hasRoom(this.introducer!, encoded.transfer.source) ? undefined : "unparkable";
    },
  };

  /** The peer whose payload `peerPayload` is judging, for `introductionChecks`' parking bounds. */
  private introducer: PeerId | undefined;

  /**
   * Echo admission as `introductionChecks` found it for the payload `peerPayload` is judging, for `introduce` to
   * take instead of asking the ledger again; nothing changes the ledger in between. Cleared by every
   * `peerPayload`, so it never outlives the payload it was found for.
   */
  private checkedAdmission: { encoded: EncodedTransfer; admission: Admission } | undefined;

  /**
   * Echo admission for a payload a peer introduced: the broadcast sees it only once the ledger says it is the
   * account's next seq and would apply. One this node cannot judge yet is parked and judged again when the
   * ledger resolves what it awaits; one that every correct node would reject is not echoed at all (the same on
   * every correct node, so it can never gather an echo quorum and needs no state anywhere). Payloads pulled
   * for a decided instance bypass this: delivery never depends on admission.
   */
  private introduce(
    from: PeerId,
    message: BroadcastMessage,
    payload: Uint8Array,
    nowMs: number,
    out: NodeAction[],
    parked: ParkedIntroduction | undefined,
    /** `judgePeerPayload`'s verdict on a payload as it arrives (not on a parked one's return). */
    verdict?: PayloadInfo | "invalid",
  ): void {
    // Gossip brings each payload from several neighbours. One the broadcast already holds (admitted with an
    // earlier copy, submitted here, or pulled for a decided instance) changes nothing there: no ledger check.
    if (
      verdict !== undefined &&
      verdict !== "invalid" &&
      this.broadcast.holdsPayload(verdict.instance, verdict.digest)
    ) {
      this.runBroadcast({ type: "message", from, message, nowMs }, out);
      return;
    }
    const encoded = parked?.encoded ?? this.inspector.decodeValid(payload);
    const checked = this.checkedAdmission;
    this.checkedAdmission = undefined;
    // Invalid bytes go to the broadcast, which counts and drops them like any other.
    const admission: Admission =
      encoded === null
        ? { kind: "admit" }
        : parked === undefined && checked?.encoded === encoded
          ? checked.admission
          : this.ledger.admission(encoded);
    if (admission.kind === "admit") {
      this.admission.admitted++;
      this.runBroadcast({ type: "message", from, message, nowMs }, out);
    } else if (admission.kind === "never") {
      this.admission.refused++;
    } else if (
      this.parked.park(
        { from, message, encoded: encoded!, parkedAtMs: parked?.parkedAtMs ?? nowMs },
        admission.awaiting,
      )
    ) {
      if (parked === undefined) this.admission.parked++;
    } else {
      this.admission.parkingFull++;
    }
  }

  /** Runs one broadcast event; returns the outcome if it was a submission. */
  private runBroadcast(event: BroadcastEvent, out: NodeAction[]): SubmitOutcome | undefined {
    this.lastOutcome = undefined;
    this.driver.carryOut(this.broadcast.handle(event), out);
    return this.lastOutcome;
  }

  private broadcastSink(): ImmediateActionSink<NodeAction[]> {
    return {
      durability: "immediate",
      persist: (_out, commitment) => this.commitments.add(commitment),
      send: (out, to, message) => out.push({ type: "send", to, message }),
      serveFromStore: (out, to, _instance, digest) => out.push({ type: "readBody", to, digest }),
      deliver: (out, _instance, digest, payload) => this.deliver(digest, payload, out),
      submitResult: (_out, outcome) => {
        this.lastOutcome = outcome;
      },
    };
  }

  private deliver(digest: string, payload: Uint8Array, out: NodeAction[]): void {
    const encoded = this.inspector.takeDecoded(digest, payload);
    const t = encoded.transfer;
    this.own.onDelivered(t.source, t.seq, encoded.id);
    let changes: TransferStatusChange[] = [];
    try {
      changes = this.ledger.deliver(encoded);
    } catch (e) {
      // The ledger keeps every delivered transfer it cannot resolve yet; it refuses only what no correct
      // broadcast delivers (a second transfer for a slot, a bad signature), so this is a bug or a byzantine
      // majority, and it recorded nothing.
      this.onLedgerRefusal(encoded.id, (e as Error).message);
    }
    // The ledger now holds the slot, so `isSettled` keeps the instance closed: the commitments can go.
    if (this.ledger.isSlotTaken(t.source, t.seq)) this.commitments.settle(t.source, t.seq);
    for (const change of changes) {
      // A verdict (applied or rejected) resolves the account's next seq: its watermark moves by one.
      if (change.status !== "delivered") {
        this.watermarks.advance(change.source, change.seq - 1, change.seq);
        if (change.seq === 1) this.senders.add(change.source);
        // Its account's next transfer, and transfers naming it as a dep, may now be judged.
        this.woken.push(...this.parked.wake(change.source), ...this.parked.wake(change.id));
        this.own.onResolved(change.source);
      }
      out.push({ type: "announce", change });
    }
  }
}

function reasonOf(e: unknown): RejectionReason {
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string")
    return { code: code as RejectionReason["code"], message: (e as Error).message };
  throw e;
}
