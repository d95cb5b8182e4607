import { sha256 } from "@noble/hashes/sha2.js";
import { isValidAddress } from "../../core/address.ts";
import { fromHex, toHex } from "../../core/bytes.ts";
import { ErrorCode, TallyError } from "../../core/errors.ts";
import { TRANSFER_ID_BYTES } from "../../core/limits.ts";
import type { EncodedTransfer } from "../../core/transfer.ts";
import { sodiumVerifier } from "../../crypto/ed25519Sodium.ts";
import { Committee } from "../../kshared/committee.ts";
import type { CommitteeAction, CommitteeRecord } from "../../kshared/committeeTypes.ts";
import type { RetentionRules } from "../../kshared/recordRetention.ts";
import { requestDigestOfHash } from "../../kshared/requestDigest.ts";
import type { BatchOp } from "../../storage/database.ts";
import { proposalRecords } from "../../storage/proposalRecords.ts";
import { ProposalBook } from "./proposalBook.ts";
import type { HostedAccount } from "./sharedHosting.ts";
import { bodySeq, buildBody, certifiedTransfer } from "./transferBodies.ts";

/** What a hosted committee reads from its node's ledger. */
export interface AccountReader {
  account(address: string): Promise<{ balance: bigint; nextSeq: number; pendingDeps: string[] }>;
  /** A transfer's status here, if the node knows it. */
  transfer(id: string): Promise<{ status: string } | undefined>;
}

interface PendingPayment {
  /** Its storage key: kept when the payment is rebuilt for a later seq. */
  readonly slot: number;
  readonly to: string;
  readonly amount: bigint;
  readonly memo?: string | undefined;
  /** The current body's transfer id (the proposal id), this owner's request digest of it, and its seq. */
  id: string;
  digest: string;
  seq: number;
  body: Uint8Array;
}

/** Own proposals waiting for a seq, per account: beyond it POST answers PENDING_FULL. */
export const MAX_PENDING_PROPOSALS = 256;

/**
 * One hosted shared account: its Committee, and this owner's proposals. Only the oldest pending proposal
 * is in the committee at a time (one request per owner keeps every owner's queue short); when a seq is
 * decided, every pending proposal built for it (or before) is rebuilt for the next seq — a new body,
 * hence a new id; the old one is `superseded`.
 */
export class HostedCommittee {
  readonly account: HostedAccount;
  readonly committee: Committee;
  /** Storage ops for the book and pending proposals; the driver writes them in its next batch. */
  readonly writes: BatchOp[] = [];
  readonly book: ProposalBook;
  private readonly network: string;
  private readonly pending: PendingPayment[] = [];
  private nextSlot = 0;
  private submittedId: string | undefined;
  /** How the driver compacts this committee's stored records (src/kshared/recordRetention.ts). */
  readonly retention: RetentionRules;
  /** Proposal bodies to submit: the driver runs each through the committee, stamping the time. */
  readonly outbox: Uint8Array[] = [];

  constructor(account: HostedAccount, network: string, firstSeq: number) {
    this.account = account;
    this.network = network;
    this.book = new ProposalBook(account.idHex, (op) => this.writes.push(op));
    const isExpired = (seq: number, body: Uint8Array) => (bodySeq(account, network, body) ?? -1) < seq;
    this.committee = new Committee({
      account: account.id,
      owners: account.definition.owners,
      self: account.self,
      sign: (m) => account.signer.sign(m),
      verifier: sodiumVerifier,
      firstSeq,
      // A body must name the instance's seq: a decided body naming another could never be applied.
      isProposable: (seq, body) => bodySeq(account, network, body) === seq,
      isExpired,
    });
    this.retention = { firstSeq, isExpired };
  }

  /**
   * The stored book and pending proposals (before `restore`). The pending ones are consistent with the
   * committee's records: a decision's pending-proposal changes are written in the same batch as its record.
   */
  reload(stored: Awaited<ReturnType<typeof proposalRecords.load>>): void {
    this.book.reload(stored.entries);
    for (const { slot, payment } of stored.payments) {
      const { to, memo, id, seq } = payment;
      const body = fromHex(payment.body, undefined, "stored proposal body");
      const digest = toHex(
        requestDigestOfHash(this.account.self, fromHex(id, TRANSFER_ID_BYTES, "stored proposal id")),
      );
      this.pending.push({ slot, to, amount: BigInt(payment.amount), memo, id, digest, seq, body });
      this.nextSlot = Math.max(this.nextSlot, slot + 1);
    }
  }

  /** After `restore` and its actions: the oldest pending proposal goes to the committee again. */
  resubmit(): void {
    this.submittedId = undefined;
    this.submitHead();
  }

  takeWrites(): BatchOp[] {
    return this.writes.splice(0);
  }

  restore(records: CommitteeRecord[]): CommitteeAction[] {
    return this.committee.restore(records);
  }

  /** Pre-checks and queues a payment; returns its proposal id. */
  async propose(
    reader: AccountReader,
    to: string,
    amount: bigint,
    memo: string | undefined,
  ): Promise<string> {
    if (!isValidAddress(to)) throw new TallyError(ErrorCode.InvalidAddress, `not an address: ${to}`);
    if (amount <= 0n) throw new TallyError(ErrorCode.InvalidField, "amount must be positive");
    if (this.pending.length >= MAX_PENDING_PROPOSALS)
      throw new TallyError(ErrorCode.PendingFull, "too many proposals pending for this account");
    const view = await reader.account(this.account.address);
    const committed = this.pending.reduce((sum, p) => sum + p.amount, 0n);
    if (view.balance < committed + amount)
      throw new TallyError(
        ErrorCode.InsufficientFunds,
        `balance ${view.balance} does not cover ${amount} beyond ${committed} already proposed`,
      );
    const slot = this.nextSlot++;
    const payment: PendingPayment = {
      slot,
      to,
      amount,
      memo,
      id: "",
      digest: "",
      seq: 0,
      body: new Uint8Array(0),
    };
    this.build(payment, view);
    this.pending.push(payment);
    this.submitHead();
    return payment.id;
  }

  /**
   * Deps only when every decided transfer of the account is applied here (ledger nextSeq = committee
   * seq): otherwise a dep the previous seq consumed could be named twice.
   */
  private build(payment: PendingPayment, view: { nextSeq: number; pendingDeps: string[] } | undefined): void {
    const seq = this.committee.currentSeq;
    const deps = view !== undefined && view.nextSeq === seq ? view.pendingDeps.slice(0, 64) : [];
    const body = buildBody(this.account, this.network, seq, payment, deps);
    payment.body = body;
    payment.seq = seq;
    const hash = sha256(body);
    payment.id = toHex(hash);
    payment.digest = toHex(requestDigestOfHash(this.account.self, hash));
    this.book.add(payment.id, seq, payment.to, payment.amount);
    const { to, memo, id } = payment;
    const stored = {
      to,
      amount: payment.amount.toString(),
      ...(memo !== undefined ? { memo } : {}),
      id,
      seq,
    };
    this.writes.push(
      proposalRecords.putPayment(this.account.idHex, payment.slot, { ...stored, body: toHex(body) }),
    );
  }

  private submitHead(): void {
    const head = this.pending[0];
    if (head === undefined || head.id === this.submittedId) return;
    this.submittedId = head.id;
    this.outbox.push(head.body);
  }

  /**
   * A seq was decided: the certified transfer (if this owner saw the body) for the node to submit, and
   * every pending proposal for that seq or earlier rebuilt for the next one.
   */
  onDecided(action: Extract<CommitteeAction, { type: "decided" }>): EncodedTransfer | undefined {
    // The decided digest names its requester, so it is ours exactly when it is one of our requests' digests.
    // Two owners' identical payments (same seq, payee, amount, memo) are one body but two requests: only the
    // requester's is made; the other's is rebuilt below for the next seq, so it is not lost.
    const digest = toHex(action.digest);
    const at = this.pending.findIndex((p) => p.digest === digest);
    const made = at >= 0 ? this.pending.splice(at, 1)[0] : undefined;
    if (made !== undefined) {
      this.book.set(made.id, "decided", { transferId: made.id });
      this.writes.push(proposalRecords.delPayment(this.account.idHex, made.slot));
    }
    for (const payment of this.pending) {
      if (payment.seq > action.seq || payment.seq >= this.committee.currentSeq) continue;
      const old = payment.id;
      this.build(payment, undefined);
      // One owner's two identical payments share an id: the made one keeps the entry.
      if (old !== made?.id) this.book.supersede(old, payment.id);
    }
    this.submitHead();
    // Our own request decided from a certificate alone: its bytes are still ours to submit.
    const proposal = action.proposal ?? made?.body;
    const requester = action.requester ?? (made !== undefined ? this.account.self : undefined);
    if (proposal === undefined || requester === undefined) return undefined;
    try {
      return certifiedTransfer(proposal, {
        definition: this.account.definition,
        requester,
        certificate: action.certificate,
      });
    } catch {
      return undefined;
    }
  }

  /**
   * At start: the ledger's verdict on every proposal the book still has open. The book learns verdicts from
   * the node's events, and its writes go with the committee's next batch, so a crash right after an
   * `applied` event, or a transfer the node applied while this committee was still loading, would otherwise
   * leave a paid proposal `decided` for good: no event for it comes again.
   */
  async reconcile(reader: AccountReader): Promise<void> {
    for (const id of this.book.unresolved()) {
      const status = (await reader.transfer(id))?.status;
      if (status === "applied" || status === "rejected") this.onResolved(id, status);
    }
  }

  /** The ledger resolved one of this account's transfers. */
  onResolved(id: string, status: "applied" | "rejected"): void {
    if (this.book.has(id)) this.book.set(id, status, { transferId: id });
  }
}
