import { ErrorCode, TallyError } from "../core/errors.ts";
import { MAX_DEPS } from "../core/limits.ts";
import { type EncodedTransfer, type Transfer, transferTotal } from "../core/transfer.ts";
import type { GenesisBalance } from "../genesis/genesis.ts";
import type { Authorizer } from "./authorization.ts";
import { SlotIndex } from "./slotIndex.ts";
import type {
  AccountRecord,
  LedgerStatus,
  LedgerStore,
  RejectionReason,
  TransferStatusRecord,
} from "./store.ts";

export interface LedgerOptions {
  /**
   * How far past an account's next seq a wallet may submit (the submit path only). Correct wallets wait for
   * each transfer to apply before signing the next, so only a misbehaving owner ever needs more than a few.
   * A delivered transfer is never refused for its seq: other nodes applied it, so this one must too.
   */
  maxSeqLookahead?: number;
}

/** How `assess` looks up deps that are not unreferenced payments (see there). */
type DepLookup = "every" | "memoryOnly" | "untilMissing";

/**
 * Whether this node may echo a transfer a peer introduced (`admission`), from what it knows now:
 *  - `admit`: it is the account's next seq and would apply here;
 *  - `later`: this node cannot tell yet (a predecessor or a dep is not resolved here, or a dep's status is not
 *    in memory: admission reads no disk); ask again once one of `awaiting` (account addresses and transfer ids)
 *    is resolved;
 *  - `never`: it would be rejected on every correct node (the verdict depends only on the account's resolved
 *    history and the deps' verdicts, which are the same everywhere), so nobody needs this node's echo.
 */
export type Admission =
  | { readonly kind: "admit" }
  | { readonly kind: "later"; readonly awaiting: readonly string[] }
  | { readonly kind: "never"; readonly code: ErrorCode; readonly message: string };

export interface LedgerGenesis {
  readonly network: string;
  readonly balances: readonly GenesisBalance[];
}

export interface TransferStatusChange {
  readonly id: string;
  readonly source: string;
  readonly seq: number;
  readonly status: LedgerStatus;
  readonly reason?: RejectionReason | undefined;
}

export interface AccountView {
  readonly address: string;
  readonly balance: bigint;
  /** Seq the owner's next transfer must carry. */
  readonly nextSeq: number;
  /** Applied incoming transfers the owner has not referenced yet: the deps of its next transfer. */
  readonly pendingDeps: string[];
}

type Assessment =
  | { readonly kind: "apply"; readonly depSum: bigint }
  | { readonly kind: "wait"; readonly missingDeps: readonly string[] }
  | { readonly kind: "reject"; readonly code: ErrorCode; readonly message: string };

const WAITING_STATUS: TransferStatusRecord = { status: "delivered" };
const EMPTY_ACCOUNT: AccountRecord = { seq: 0, spendable: 0n, unreferencedTotal: 0n };

/**
 * Algorithm 5 of the thesis, for client-owned accounts. Transfers arrive from secure broadcast
 * (`deliver`) in any order; a transfer is resolved once it is its account's next seq and all its
 * deps are resolved, and the verdict depends only on its causal past, so every correct node
 * reaches the same one:
 *  - applied iff every dep is an applied transfer paying the source that no earlier transfer of
 *    the source referenced, and spendable + Σ deps ≥ Σ outputs;
 *  - rejected otherwise. A rejected transfer still consumes its seq: it was signed by the owner,
 *    and letting the account continue is the only deterministic alternative to freezing it.
 * Bad signatures never occupy a seq: anyone can forge those, so they are refused outright.
 */
export class Ledger {
  readonly network: string;
  private readonly store: LedgerStore;
  private readonly authorizer: Authorizer;
  private readonly maxSeqLookahead: number;
  /** Waiting transfers by (source, seq): at most one per slot. */
  private readonly waitingBySlot = new SlotIndex();
  /** Dep id → waiting transfers that need it. */
  private readonly waitersByDep = new Map<string, Set<string>>();

  constructor(
    genesis: LedgerGenesis,
    store: LedgerStore,
    authorizer: Authorizer,
    options: LedgerOptions = {},
  ) {
    this.network = genesis.network;
    this.store = store;
    this.authorizer = authorizer;
    this.maxSeqLookahead = options.maxSeqLookahead ?? 64;
    for (const { address, amount } of genesis.balances) {
      if (store.getAccount(address) === undefined) {
        store.putAccount(address, { seq: 0, spendable: amount, unreferencedTotal: 0n });
      }
    }
    // After a restart: rebuild the waiting indexes, then resolve whatever became resolvable.
    const waiting = [...store.listWaiting()];
    for (const encoded of waiting) {
      this.waitingBySlot.set(encoded.transfer.source, encoded.transfer.seq, encoded.id);
    }
    this.resolve(waiting.map((e) => e.id));
  }

  get waitingCount(): number {
    return this.waitingBySlot.size;
  }

  /**
   * The submit path's early answer: throws the TallyError a wallet should see (bad signature, stale or
   * conflicting seq, a seq too far ahead, a dep this node does not know as an applied transfer paying the
   * source, insufficient funds) before the transfer is broadcast. A transfer past the next seq passes once its
   * deps are known: it waits for its predecessor, which the wallet may already have submitted.
   */
  precheck(encoded: EncodedTransfer): void {
    if (this.statusOfTransfer(encoded) !== undefined) return;
    this.checkAdmissible(encoded);
    const t = encoded.transfer;
    const account = this.accountRecord(t.source);
    if (t.seq > account.seq + this.maxSeqLookahead) {
      throw new TallyError(
        ErrorCode.SeqTooFarAhead,
        `seq ${t.seq} is more than ${this.maxSeqLookahead} past the account's next seq ${account.seq + 1}`,
        { id: encoded.id },
      );
    }
    // The first dep that is not an unreferenced payment decides: at most one status read per transfer, so a
    // batch of transfers naming made-up deps costs one read each, not one per dep (up to MAX_DEPS).
    const verdict = this.assess(t, account, "untilMissing");
    if (
      verdict.kind === "reject" &&
      (t.seq === account.seq + 1 || verdict.code !== ErrorCode.InsufficientFunds)
    ) {
      throw new TallyError(verdict.code, verdict.message, { id: encoded.id });
    }
    if (t.deps.length === 0 && account.spendable + account.unreferencedTotal === 0n) {
      // Past the next seq only its predecessors could fund it, and they have nothing to reference either.
      throw new TallyError(
        ErrorCode.InsufficientFunds,
        "the account has no balance and the transfer no deps",
        {
          id: encoded.id,
        },
      );
    }
    if (verdict.kind === "wait") {
      // Accepting it would park it on every node until the deps apply, which for a made-up id is forever.
      throw new TallyError(
        ErrorCode.UnknownDependency,
        `dep ${verdict.missingDeps[0]} is not a transfer applied here that pays this account; retry once it is`,
        { id: encoded.id, deps: verdict.missingDeps },
      );
    }
  }

  /**
   * Whether to echo a transfer a peer introduced (see `Admission`). Only the account's next seq is admitted,
   * so a peer can make this node hold out-of-order state only through transfers the network delivered. The
   * caller has checked the network. The verdict does not depend on the signature, so the node asks before it
   * checks one: a transfer every correct node refuses costs no signature check.
   */
  admission(encoded: EncodedTransfer): Admission {
    // Already held: the broadcast recognises the instance as settled by itself.
    if (this.statusOfTransfer(encoded) !== undefined) return { kind: "admit" };
    const t = encoded.transfer;
    const account = this.accountRecord(t.source);
    if (t.seq <= account.seq) {
      return { kind: "never", code: ErrorCode.StaleSeq, message: `seq ${t.seq} is already resolved` };
    }
    const occupant = this.waitingBySlot.get(t.source, t.seq);
    if (occupant !== undefined) {
      return {
        kind: "never",
        code: ErrorCode.SeqConflict,
        message: `${occupant} was delivered for seq ${t.seq}`,
      };
    }
    if (t.seq !== account.seq + 1) return { kind: "later", awaiting: [t.source] };
    // Deps are judged from memory alone: a peer may send any number of transfers naming up to MAX_DEPS made-up
    // ids, and a disk read per id would make each such payload cost hundreds of reads before its signature is
    // checked. A dep this node holds no status for in memory is awaited. An admissible dep is an unreferenced
    // payment, always in memory, so no transfer that would apply is held back; one naming a dep resolved long
    // ago (which every correct node rejects) is parked until the parking timeout instead of refused. Either
    // way it is not echoed.
    const verdict = this.assess(t, account, "memoryOnly");
    if (verdict.kind === "wait") return { kind: "later", awaiting: verdict.missingDeps };
    if (verdict.kind === "reject") return { kind: "never", code: verdict.code, message: verdict.message };
    return { kind: "admit" };
  }

  /**
   * A transfer delivered by secure broadcast. Returns every status change it caused (itself and
   * any waiting transfers it unblocked), or [] for a duplicate. Throws (recording nothing) only for
   * transfers no correct broadcast delivers (another network, a bad signature, a second transfer for a
   * slot); never for this node's own state: however far ahead its seq or however many wait, the rest of
   * the network applied it, so it waits here until it can be resolved.
   */
  deliver(encoded: EncodedTransfer): TransferStatusChange[] {
    if (this.statusOfTransfer(encoded) !== undefined) return [];
    this.checkAdmissible(encoded);
    const t = encoded.transfer;
    const account = this.accountRecord(t.source);
    if (t.seq === account.seq + 1) {
      // The common case: its account's next seq. If it resolves now it never enters the waiting set (no
      // "delivered" status or marker written only to be replaced in the same step); the same verdict, in
      // the same order, as through `resolve`.
      const verdict = this.assess(t, account);
      if (verdict.kind !== "wait") {
        const changes = [this.settle(encoded, account, verdict)];
        for (const change of this.resolve(this.wokenBy(t, encoded.id))) changes.push(change);
        return changes;
      }
    }
    this.store.putWaiting(encoded);
    this.waitingBySlot.set(t.source, t.seq, encoded.id);
    // Its own verdict, if it resolved at once, replaces "delivered" in first place; the rest follow in order.
    const changes: TransferStatusChange[] = [
      { id: encoded.id, source: t.source, seq: t.seq, status: "delivered" },
    ];
    for (const change of this.resolve([encoded.id])) {
      if (change.id === encoded.id) changes[0] = change;
      else changes.push(change);
    }
    return changes;
  }

  account(address: string): AccountView {
    const record = this.accountRecord(address);
    return {
      address,
      balance: record.spendable + record.unreferencedTotal,
      nextSeq: record.seq + 1,
      pendingDeps: this.store.listUnreferenced(address, MAX_DEPS),
    };
  }

  /** The seq of the account's last resolved outgoing transfer (0 before the first): `account().nextSeq − 1`. */
  watermarkOf(address: string): number {
    return this.accountRecord(address).seq;
  }

  /** True once (source, seq) is resolved or held by a waiting transfer: the broadcast may forget it. */
  isSlotTaken(source: string, seq: number): boolean {
    return seq <= this.accountRecord(source).seq || this.waitingBySlot.has(source, seq);
  }

  /**
   * Every known account with its watermark: the seq of its last resolved outgoing transfer (0 before
   * the first). O(accounts): for building the status summary and the sender index once at start-up.
   */
  *accountWatermarks(): Iterable<[address: string, seq: number]> {
    for (const [address, record] of this.store.listAccounts()) yield [address, record.seq];
  }

  status(id: string): TransferStatusRecord | undefined {
    return this.store.getStatus(id);
  }

  /**
   * `status(encoded.id)`, answered from memory while the transfer's slot is open: a status exists only for a
   * transfer that is waiting (it holds its slot) or resolved (its seq is at most the account's), so a new
   * transfer — the common case on every path — costs no store lookup beyond the account.
   */
  statusOfTransfer(encoded: EncodedTransfer): TransferStatusRecord | undefined {
    const t = encoded.transfer;
    if (t.seq > this.accountRecord(t.source).seq) {
      return this.waitingBySlot.get(t.source, t.seq) === encoded.id ? WAITING_STATUS : undefined;
    }
    return this.store.getStatus(encoded.id);
  }

  private accountRecord(address: string): AccountRecord {
    return this.store.getAccount(address) ?? EMPTY_ACCOUNT;
  }

  /** Rules that decide whether a transfer may take its slot at all. */
  private checkAdmissible(encoded: EncodedTransfer): void {
    const t = encoded.transfer;
    if (t.network !== this.network) {
      throw new TallyError(
        ErrorCode.WrongNetwork,
        `transfer is for network "${t.network}", this is "${this.network}"`,
      );
    }
    this.authorizer.authorize(encoded);
    const account = this.accountRecord(t.source);
    if (t.seq <= account.seq) {
      throw new TallyError(ErrorCode.StaleSeq, `seq ${t.seq} of this account is already resolved`, {
        id: encoded.id,
      });
    }
    const occupant = this.waitingBySlot.get(t.source, t.seq);
    if (occupant !== undefined && occupant !== encoded.id) {
      throw new TallyError(
        ErrorCode.SeqConflict,
        `another transfer (${occupant}) holds seq ${t.seq} of this account`,
        {
          id: encoded.id,
        },
      );
    }
  }

  /**
   * The verdict for a transfer that is its account's next seq. A dep that is not an unreferenced payment of the
   * source is looked up in the store (memory, then disk); with `memoryOnly` in its memory alone; with
   * `untilMissing` as usual, but the first dep found missing ends the assessment (it is the only one listed).
   */
  private assess(t: Transfer, account: AccountRecord, lookup: DepLookup = "every"): Assessment {
    let depSum = 0n;
    const missingDeps: string[] = [];
    for (const dep of t.deps) {
      const amount = this.store.getUnreferenced(t.source, dep);
      if (amount !== undefined) {
        depSum += amount;
        continue;
      }
      const depRecord = lookup === "memoryOnly" ? this.store.heldStatus(dep) : this.store.getStatus(dep);
      if (depRecord !== undefined && depRecord.status !== "delivered") {
        return {
          kind: "reject",
          code: ErrorCode.InvalidDependency,
          message: `dep ${dep} is ${depRecord.status === "rejected" ? "a rejected transfer" : "not an unreferenced transfer paying this account"}`,
        };
      }
      missingDeps.push(dep);
      if (lookup === "untilMissing") break;
    }
    if (missingDeps.length > 0) return { kind: "wait", missingDeps };
    const total = transferTotal(t);
    if (account.spendable + depSum < total) {
      return {
        kind: "reject",
        code: ErrorCode.InsufficientFunds,
        message: `outputs total ${total}, spendable with deps is ${account.spendable + depSum}`,
      };
    }
    return { kind: "apply", depSum };
  }

  /** Resolves the given waiting transfers and, transitively, everything they unblock. */
  private resolve(start: readonly string[]): TransferStatusChange[] {
    const changes: TransferStatusChange[] = [];
    const work = [...start];
    while (work.length > 0) {
      const id = work.pop()!;
      const encoded = this.store.getWaiting(id);
      if (encoded === undefined) continue;
      const t = encoded.transfer;
      const account = this.accountRecord(t.source);
      if (t.seq !== account.seq + 1) continue; // its predecessor will wake it
      const verdict = this.assess(t, account);
      if (verdict.kind === "wait") {
        for (const dep of verdict.missingDeps) {
          let waiters = this.waitersByDep.get(dep);
          if (waiters === undefined) {
            waiters = new Set();
            this.waitersByDep.set(dep, waiters);
          }
          waiters.add(id);
        }
        continue;
      }
      changes.push(this.settle(encoded, account, verdict));
      this.forgetWaiting(t, id);
      for (const woken of this.wokenBy(t, id)) work.push(woken);
    }
    return changes;
  }

  /** Applies or rejects a transfer that is its account's next seq, per its verdict. */
  private settle(
    encoded: EncodedTransfer,
    account: AccountRecord,
    verdict: Exclude<Assessment, { kind: "wait" }>,
  ): TransferStatusChange {
    const { id, transfer: t } = encoded;
    if (verdict.kind === "apply") {
      this.apply(encoded, account, verdict.depSum);
      return { id, source: t.source, seq: t.seq, status: "applied" };
    }
    const reason = { code: verdict.code, message: verdict.message };
    this.store.putResolved(encoded, "rejected", reason);
    this.store.putAccount(t.source, { ...account, seq: t.seq });
    return { id, source: t.source, seq: t.seq, status: "rejected", reason };
  }

  /** The waiting transfers a resolved transfer may unblock: its account's successor, and those awaiting it. */
  private wokenBy(t: Transfer, id: string): string[] {
    const woken: string[] = [];
    const successor = this.waitingBySlot.get(t.source, t.seq + 1);
    if (successor !== undefined) woken.push(successor);
    const waiters = this.waitersByDep.get(id);
    if (waiters !== undefined) {
      this.waitersByDep.delete(id);
      for (const waiter of waiters) woken.push(waiter);
    }
    return woken;
  }

  private apply(encoded: EncodedTransfer, account: AccountRecord, depSum: bigint): void {
    const t = encoded.transfer;
    for (const dep of t.deps) this.store.deleteUnreferenced(t.source, dep);
    this.store.putAccount(t.source, {
      seq: t.seq,
      spendable: account.spendable + depSum - transferTotal(t),
      unreferencedTotal: account.unreferencedTotal - depSum,
    });
    for (const output of t.outputs) {
      const recipient = this.accountRecord(output.to);
      this.store.putAccount(output.to, {
        ...recipient,
        unreferencedTotal: recipient.unreferencedTotal + output.amount,
      });
      this.store.putUnreferenced(output.to, encoded.id, output.amount);
    }
    this.store.putResolved(encoded, "applied");
  }

  private forgetWaiting(t: Transfer, id: string): void {
    this.waitingBySlot.delete(t.source, t.seq);
    for (const dep of t.deps) {
      const waiters = this.waitersByDep.get(dep);
      waiters?.delete(id);
      if (waiters?.size === 0) this.waitersByDep.delete(dep);
    }
  }
}
