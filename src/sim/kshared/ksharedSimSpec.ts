/**
 * A simulation of many k-shared accounts at once, as plain data: M accounts of k owners each, the owners
 * hosted on H simulated nodes, every node serving the committee messages of all the accounts it hosts
 * through one fair inbox with a processing budget. B accounts have one faulty owner.
 */

export const KSHARED_FAULTS = ["equivocate", "silent", "flood"] as const;
/**
 * - equivocate: the node's equivocating owner (kshared/equivocatingOwner.ts): as the leader of a fresh
 *   round it proposes two requests (one to the first ⌈n/2⌉ of the others, one to the rest, then the second to
 *   the first group too) and prepares both: evidence at the correct owners, a round timeout.
 * - silent: one owner sends nothing at all.
 * - flood: one owner sends 100 messages for each one its committee asks it to send (the extra 99 are
 *   signed requests from a pool of junk proposals).
 */
export type KsharedFault = (typeof KSHARED_FAULTS)[number];

export const KSHARED_INBOXES = ["fair", "fifo"] as const;
/** fair: per-account FIFOs served round-robin (what the node must do); fifo: one shared FIFO (a control). */
export type KsharedInbox = (typeof KSHARED_INBOXES)[number];

export interface KsharedSimSpec {
  /** M: shared accounts. */
  readonly accounts: number;
  /** H: simulated nodes; each account's k owners sit on k distinct nodes chosen by the seed. */
  readonly nodes: number;
  /** k: owners per account (committee size). */
  readonly k: number;
  /** B: accounts whose committee has one faulty owner (the first B of a seeded shuffle). */
  readonly bad: number;
  readonly fault: KsharedFault;
  /** Simulated seconds of workload; the run then drains for `drainSeconds` with no new proposals. */
  readonly seconds: number;
  readonly seed: number;
  /** Proposals per second per account, from owners chosen at random (a Poisson stream). */
  readonly proposalsPerSecond: number;
  /** Committee messages a node processes per simulated millisecond, across all accounts it hosts. */
  readonly messagesPerMs: number;
  /** Messages a node's inbox holds per account; beyond it, that account's newest arrivals are dropped. */
  readonly inboxPerAccount: number;
  /** fifo: one shared FIFO of inboxPerAccount × hosted accounts (a control that shows what fairness buys). */
  readonly inbox: KsharedInbox;
  /** One-way delay, uniform in [minLatencyMs, maxLatencyMs]. */
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly drainSeconds: number;
  /** The flooder's send multiplier (100 = 100× a correct owner's rate). */
  readonly floodFactor: number;
}

export const KSHARED_SIM_DEFAULTS: KsharedSimSpec = {
  accounts: 50,
  nodes: 20,
  k: 4,
  bad: 5,
  fault: "flood",
  seconds: 10,
  seed: 1,
  proposalsPerSecond: 4,
  messagesPerMs: 1,
  inboxPerAccount: 128,
  inbox: "fair",
  minLatencyMs: 1,
  maxLatencyMs: 20,
  drainSeconds: 5,
  floodFactor: 100,
};

/** Why a spec cannot run, or undefined if it can. */
export function ksharedSpecProblem(spec: KsharedSimSpec): string | undefined {
  if (spec.k < 1 || spec.k > 32) return "k must be in 1..32";
  if (spec.nodes < spec.k) return "nodes must be at least k (an account's owners sit on distinct nodes)";
  if (spec.accounts < 1) return "accounts must be at least 1";
  if (spec.bad < 0 || spec.bad >= spec.accounts) return "bad must be in 0..accounts−1";
  if (!(spec.seconds > 0)) return "seconds must be positive";
  if (!(spec.messagesPerMs > 0)) return "messagesPerMs must be positive";
  if (!(spec.minLatencyMs >= 0 && spec.maxLatencyMs >= spec.minLatencyMs)) return "bad latency range";
  return undefined;
}
