/**
 * M shared accounts on H simulated nodes. Each node serves the committee messages of every account it
 * hosts through one `AccountInbox` (src/kshared/accountInbox.ts: per-account FIFOs, round-robin) at
 * `messagesPerMs`; every message crosses the wire codec, with a uniform one-way delay. Ticks (round
 * timers) and a wallet's submissions are local and do not use the inbox. Every random draw of an account
 * (its keys, workload, message delays) comes from its own stream, so an account sees the same draws
 * whether or not the bad accounts are present.
 */

import { toHex } from "../../core/bytes.ts";
import type { RandomSource } from "../../core/random.ts";
import { sodiumVerifier } from "../../crypto/ed25519Sodium.ts";
import { AccountInbox } from "../../kshared/accountInbox.ts";
import { Committee } from "../../kshared/committee.ts";
import { decodeCommitteeMessage, encodeCommitteeMessage } from "../../kshared/committeeCodec.ts";
import type { CommitteeAction, CommitteeEvent, OwnerIndex } from "../../kshared/committeeTypes.ts";
import { childSeed, seededRandom, shuffled } from "../prng.ts";
import { simAccountKeys } from "./accountKeys.ts";
import { type FaultCounters, type FaultyOwner, faultyOwner, newFaultCounters } from "./faultyOwners.ts";
import { SharedFifoInbox } from "./fifoInbox.ts";
import type { KsharedSimSpec } from "./ksharedSimSpec.ts";
import { Timeline } from "./timeline.ts";

/** A round timer tick every 100 ms: a tenth of the base round timeout, as committee.ts asks. */
const TICK_MS = 100;
/** The faulty owner of a bad account. */
const FAULTY_OWNER: OwnerIndex = 0;

interface Delivery {
  readonly to: OwnerIndex;
  readonly from: OwnerIndex;
  readonly bytes: Uint8Array;
}

interface SimNode {
  readonly inbox: AccountInbox<number, Delivery> | SharedFifoInbox<Delivery>;
  serving: boolean;
  processed: number;
}

/** What one account saw: its decisions and the latency of each of its owners' own proposals. */
export interface AccountOutcome {
  readonly account: number;
  readonly bad: boolean;
  /** Seqs decided by the account's first correct owner before the workload ended. */
  decisionsInWindow: number;
  decisionsTotal: number;
  readonly latenciesMs: number[];
  submitted: number;
  /** Arrivals for this account dropped by full per-account inbox FIFOs, over all its nodes. */
  inboxDropped: number;
  /** Equivocation proofs its correct owners hold. */
  evidence: number;
  /** Highest round any correct owner entered: > 0 means some round timed out. */
  maxRoundsEntered: number;
}

interface SimAccount {
  readonly index: number;
  readonly id: Uint8Array;
  readonly bad: boolean;
  readonly random: RandomSource;
  readonly hosts: readonly number[];
  readonly committees: Committee[];
  readonly faulty: ReadonlyMap<OwnerIndex, FaultyOwner>;
  readonly correctOwners: readonly OwnerIndex[];
  /** digest (hex) → submit time and submitter. */
  readonly submissions: Map<string, { readonly atMs: number; readonly owner: OwnerIndex }>;
  readonly outcome: AccountOutcome;
}

export interface WorldTotals {
  readonly messagesSent: number;
  readonly messagesProcessed: number;
  readonly messagesDropped: number;
  readonly faults: FaultCounters;
}

export class KsharedWorld {
  private readonly spec: KsharedSimSpec;
  private readonly timeline = new Timeline();
  private readonly nodes: SimNode[];
  private readonly accounts: SimAccount[] = [];
  private readonly serviceMs: number;
  private readonly faults = newFaultCounters();
  private sent = 0;

  /** `withBad`: false leaves the bad accounts out entirely (the baseline). */
  constructor(spec: KsharedSimSpec, withBad: boolean) {
    this.spec = spec;
    this.serviceMs = 1 / spec.messagesPerMs;
    // Placement, bad set and per-account seeds are drawn in full either way, so both runs agree on them.
    const master = seededRandom(spec.seed);
    const allNodes = Array.from({ length: spec.nodes }, (_, i) => i);
    const placements = Array.from({ length: spec.accounts }, () =>
      shuffled(allNodes, master).slice(0, spec.k),
    );
    this.nodes = allNodes.map((node) => {
      const hosted = placements.filter((hosts) => hosts.includes(node)).length;
      const inbox =
        spec.inbox === "fair"
          ? new AccountInbox<number, Delivery>(spec.inboxPerAccount)
          : new SharedFifoInbox<Delivery>(spec.inboxPerAccount * Math.max(1, hosted));
      return { inbox, serving: false, processed: 0 };
    });
    const seeds = Array.from({ length: spec.accounts }, () => childSeed(master));
    const badSet = new Set(
      shuffled(
        Array.from({ length: spec.accounts }, (_, i) => i),
        master,
      ).slice(0, spec.bad),
    );
    for (let a = 0; a < spec.accounts; a++) {
      const bad = badSet.has(a);
      if (bad && !withBad) continue;
      this.accounts.push(this.newAccount(a, bad, placements[a]!, seeds[a]!));
    }
  }

  private newAccount(index: number, bad: boolean, hosts: readonly number[], seed: number): SimAccount {
    const random = seededRandom(seed);
    const { id, keys } = simAccountKeys(this.spec.k, random);
    const owners = keys.map((key) => key.publicKey);
    const committees = keys.map(
      (key, self) =>
        new Committee({ account: id, owners, self, sign: (m) => key.sign(m), verifier: sodiumVerifier }),
    );
    const faulty = new Map<OwnerIndex, FaultyOwner>();
    if (bad) {
      const sign = (m: Uint8Array) => keys[FAULTY_OWNER]!.sign(m);
      const ctx = {
        account: id,
        self: FAULTY_OWNER,
        k: this.spec.k,
        sign,
        floodFactor: this.spec.floodFactor,
      };
      faulty.set(FAULTY_OWNER, faultyOwner(this.spec.fault, ctx, this.faults));
    }
    const correctOwners = keys.map((_, i) => i).filter((i) => !faulty.has(i));
    const outcome: AccountOutcome = {
      account: index,
      bad,
      decisionsInWindow: 0,
      decisionsTotal: 0,
      latenciesMs: [],
      submitted: 0,
      inboxDropped: 0,
      evidence: 0,
      maxRoundsEntered: 0,
    };
    const account: SimAccount = {
      index,
      id,
      bad,
      random,
      hosts,
      committees,
      faulty,
      correctOwners,
      submissions: new Map(),
      outcome,
    };
    for (let owner = 0; owner < this.spec.k; owner++) {
      const tick = (): void => {
        this.handle(account, owner, { type: "tick", nowMs: this.timeline.nowMs });
        this.timeline.at(this.timeline.nowMs + TICK_MS, tick);
      };
      this.timeline.at(TICK_MS * random(), tick);
    }
    this.scheduleNextProposal(account, 0);
    return account;
  }

  /** A Poisson stream of proposals from the account's correct owners, until the workload ends. */
  private scheduleNextProposal(account: SimAccount, fromMs: number): void {
    const gapMs = (-Math.log(1 - account.random()) / this.spec.proposalsPerSecond) * 1000;
    const atMs = fromMs + gapMs;
    if (atMs >= this.spec.seconds * 1000) return;
    const owner = account.correctOwners[Math.floor(account.random() * account.correctOwners.length)]!;
    this.timeline.at(atMs, () => {
      const n = account.outcome.submitted++;
      const proposal = new TextEncoder().encode(`account ${account.index} owner ${owner} proposal #${n}`);
      this.handle(account, owner, { type: "submit", proposal, nowMs: this.timeline.nowMs }, (digest) =>
        account.submissions.set(digest, { atMs: this.timeline.nowMs, owner }),
      );
      this.scheduleNextProposal(account, atMs);
    });
  }

  /** Runs the workload and the drain; returns per-account outcomes and totals. */
  run(): { readonly accounts: AccountOutcome[]; readonly totals: WorldTotals } {
    this.timeline.runUntil((this.spec.seconds + this.spec.drainSeconds) * 1000);
    for (const account of this.accounts) {
      const { outcome } = account;
      for (const host of account.hosts)
        outcome.inboxDropped += this.nodes[host]!.inbox.dropped.get(account.index) ?? 0;
      for (const owner of account.correctOwners) {
        const committee = account.committees[owner]!;
        outcome.evidence += committee.counters().equivocations;
        outcome.maxRoundsEntered = Math.max(outcome.maxRoundsEntered, committee.counters().roundsEntered);
      }
    }
    let processed = 0;
    let dropped = 0;
    for (const node of this.nodes) {
      processed += node.processed;
      for (const count of node.inbox.dropped.values()) dropped += count;
    }
    return {
      accounts: this.accounts.map((a) => a.outcome),
      totals: {
        messagesSent: this.sent,
        messagesProcessed: processed,
        messagesDropped: dropped,
        faults: this.faults,
      },
    };
  }

  /** Feeds one event to one owner's committee and carries out its actions (through its fault, if any). */
  private handle(
    account: SimAccount,
    owner: OwnerIndex,
    event: CommitteeEvent,
    onAccepted?: (digestHex: string) => void,
  ): void {
    let actions = account.committees[owner]!.handle(event);
    const fault = account.faulty.get(owner);
    if (fault !== undefined) actions = fault(actions);
    for (const action of actions) this.carryOut(account, owner, action, onAccepted);
  }

  private carryOut(
    account: SimAccount,
    owner: OwnerIndex,
    action: CommitteeAction,
    onAccepted?: (digestHex: string) => void,
  ): void {
    // persist: the simulated disk is instant and never fails, so records need not be kept.
    if (action.type === "send") {
      const bytes = encodeCommitteeMessage(action.message);
      const to =
        action.to === "all" ? account.committees.map((_, i) => i).filter((i) => i !== owner) : action.to;
      for (const recipient of to) this.transmit(account, owner, recipient, bytes);
    } else if (action.type === "submitResult") {
      if (action.outcome === "accepted") onAccepted?.(toHex(action.digest));
    } else if (action.type === "decided") {
      this.recordDecision(account, owner, action.digest);
    }
  }

  private recordDecision(account: SimAccount, owner: OwnerIndex, digest: Uint8Array): void {
    const nowMs = this.timeline.nowMs;
    if (owner === account.correctOwners[0]) {
      account.outcome.decisionsTotal++;
      if (nowMs <= this.spec.seconds * 1000) account.outcome.decisionsInWindow++;
    }
    const submission = account.submissions.get(toHex(digest));
    if (submission !== undefined && submission.owner === owner) {
      account.outcome.latenciesMs.push(nowMs - submission.atMs);
      account.submissions.delete(toHex(digest));
    }
  }

  private transmit(account: SimAccount, from: OwnerIndex, to: OwnerIndex, bytes: Uint8Array): void {
    this.sent++;
    const { minLatencyMs, maxLatencyMs } = this.spec;
    const delayMs = minLatencyMs + account.random() * (maxLatencyMs - minLatencyMs);
    const host = account.hosts[to]!;
    this.timeline.at(this.timeline.nowMs + delayMs, () => {
      const node = this.nodes[host]!;
      if (node.inbox.offer(account.index, { to, from, bytes }) && !node.serving) this.serve(host);
    });
  }

  /** Takes the node's next message (round-robin across accounts) and handles it `serviceMs` later. */
  private serve(host: number): void {
    const node = this.nodes[host]!;
    const next = node.inbox.take();
    if (next === undefined) {
      node.serving = false;
      return;
    }
    node.serving = true;
    this.timeline.at(this.timeline.nowMs + this.serviceMs, () => {
      node.processed++;
      const account = this.accountByIndex(next.account);
      const { to, from, bytes } = next.item;
      const message = decodeCommitteeMessage(bytes);
      this.handle(account, to, { type: "message", from, message, nowMs: this.timeline.nowMs });
      this.serve(host);
    });
  }

  private accountByIndex(index: number): SimAccount {
    // Accounts are pushed in index order, with the baseline's bad ones left out.
    let lo = 0;
    let hi = this.accounts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.accounts[mid]!.index < index) lo = mid + 1;
      else hi = mid;
    }
    return this.accounts[lo]!;
  }
}
