import { ActionDriver } from "../broadcast/actionDriver.ts";
import { instanceKey } from "../broadcast/instance/instanceId.ts";
import type {
  BroadcastEvent,
  BroadcastMessage,
  BroadcastProtocol,
  Digest,
  InstanceRef,
} from "../broadcast/types.ts";
import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import { randomIndex } from "../sampling/randomDraw.ts";
import { ByzantineAdversary } from "./adversary.ts";
import type { Adversary, AdversaryNetwork } from "./adversaryNetwork.ts";
import { EventQueue } from "./eventQueue.ts";
import type { LatencyModel } from "./latency.ts";
import { childSeed, seededRandom, shuffled } from "./prng.ts";
import { type SimulationResult, type SimulationTotals, summarize } from "./simulationTotals.ts";
import {
  inspectSyntheticPayload,
  syntheticDigest,
  syntheticPayload,
  syntheticSource,
} from "./syntheticPayload.ts";

export { ADVERSARIES, type Adversary, type AttackReport, SIM_ADVERSARIES } from "./adversaryNetwork.ts";
export type { SimulationResult } from "./simulationTotals.ts";

/** What a protocol factory gets to build one correct node's state machine. */
export interface NodeContext {
  readonly self: PeerId;
  readonly members: readonly PeerId[];
  readonly random: RandomSource;
  readonly inspect: typeof inspectSyntheticPayload;
  /** The node's "ledger watermark": instances it already delivered. */
  readonly isSettled: (instance: InstanceRef) => boolean;
}

export interface ProtocolFactory {
  readonly name: "contagion" | "bracha";
  create(context: NodeContext): BroadcastProtocol;
  /** Events a node needs at time 0 (e.g. contagion's subscriptions); none for Bracha. */
  startEvents?(nowMs: number): BroadcastEvent[];
}

export interface SimulationOptions {
  readonly nodes: number;
  /** Fraction of byzantine nodes, chosen uniformly at random. */
  readonly byzantine: number;
  readonly adversary: Adversary;
  readonly protocol: ProtocolFactory;
  readonly broadcasts: number;
  readonly seed: number;
  readonly latency: LatencyModel;
  /** Mean one-way latency, to express latency in hops. */
  readonly meanLatencyMs: number;
  /** Simulated time between two broadcasts; they overlap when it is shorter than one broadcast. */
  readonly intervalMs: number;
  /** Under `equivocate`, every `equivocateEvery`-th broadcast has a byzantine source (default 2: half; 1 = all). */
  readonly equivocateEvery?: number;
  readonly payloadBytes?: number;
  /** Period of timer ticks (payload-pull retries, stall sweeps). */
  readonly tickMs?: number;
  /** Stop after this much simulated time even if messages are in flight. */
  readonly maxSimulatedMs?: number;
  /**
   * The widest window whose deliveries may be taken receiver by receiver (eventQueue.ts), for the CPU cache:
   * must not exceed the latency model's shortest delay. Default 1 ms. The simulation narrows it to divide
   * the tick period and the broadcast interval, so timers fall on window starts and run before anything
   * else of their window.
   */
  readonly windowMs?: number;
  /**
   * Exactly these nodes are Byzantine, instead of ⌊f·N⌋ drawn from the seed (the sampler simulation, whose
   * adversary also controls extra identities). Given or not, `byzantine` is the fraction reported.
   */
  readonly byzantineIndices?: readonly number[];
  /** Simulate only this shard of the broadcasts (see shardedRun.ts); the network is the same in every shard. */
  readonly shard?: SimulationShard;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Broadcasts b with b mod `count` = `index`: one worker thread's part of a run. */
export interface SimulationShard {
  readonly index: number;
  readonly count: number;
}

/**
 * The simulator's own timeline entries. A message delivery is the message itself, queued with the receiver
 * as its group and the sender as its tag (eventQueue.ts); these are the rest, with a tag of −1.
 */
const INTRODUCE = 1;
const FEED = 2;
const TICK = 3;

class TimerEvent {
  readonly type: number;
  /** INTRODUCE: the broadcast's index; FEED: the adversary's token. */
  readonly index: number;

  constructor(type: number, index: number) {
    this.type = type;
    this.index = index;
  }
}

interface BroadcastRecord {
  readonly instance: InstanceRef;
  readonly key: string;
  readonly byzantineSource: boolean;
  /** The digest a correct introducer submitted (validity: every correct node delivers it); none if Byzantine. */
  readonly digest: Digest | undefined;
  introducedAt: number;
  /** Its position in `records`: the token of the adversary's timer for it (FEED events). */
  readonly index: number;
}

const VOTE_WIRE_BYTES = 74;

/** Bytes a message takes on the wire (see messageCodec.ts), without encoding it. */
function wireBytes(message: BroadcastMessage): number {
  if ("payload" in message) return 1 + message.payload.length;
  if ("digest" in message) return VOTE_WIRE_BYTES;
  return 1;
}

function isSubscription(message: BroadcastMessage): boolean {
  return message.kind === "subscribe" || message.kind === "unsubscribe";
}

/**
 * A discrete-event simulation of one broadcast protocol at scale: the real state machines of
 * src/broadcast, N of them in one process, a seeded latency model between every pair, and an adversary
 * controlling the byzantine nodes. Everything is a function of the seed.
 */
export class Simulation {
  private readonly options: SimulationOptions;
  private random: RandomSource;
  private readonly ids: PeerId[];
  private readonly indexOf = new Map<PeerId, number>();
  private readonly byzantine: boolean[];
  private readonly correctIndices: number[];
  private readonly byzantineIndices: number[];
  private readonly protocols: (BroadcastProtocol | undefined)[];
  private readonly delivered: Map<string, { digest: Digest; at: number; payload: Uint8Array }>[];
  private readonly sentMessages: Float64Array;
  private readonly sentBytes: Float64Array;
  private readonly kindCounts: Record<string, number> = {};
  private readonly indexCache = new WeakMap<readonly PeerId[], readonly number[]>();
  /** Runs the byzantine nodes and schedules the network against the correct ones (adversary.ts). */
  private readonly adversary: ByzantineAdversary;
  private readonly queue: EventQueue<BroadcastMessage | TimerEvent>;
  /** Carries out a correct node's actions; the context is the node's index. */
  private readonly driver: ActionDriver<number>;
  private readonly records: BroadcastRecord[] = [];
  private now = 0;
  private messages = 0;
  private setupMessages = 0;
  /** (correct node, instance) pairs delivered a second time: the driver must never deliver twice. */
  private doubleDeliveries = 0;
  private readonly payloadBytes: number;
  private readonly tickMs: number;

  constructor(options: SimulationOptions) {
    // Deliveries are taken receiver by receiver within each window (eventQueue.ts): exact while the window
    // is no longer than the shortest delay, which the caller vouches for.
    this.queue = new EventQueue({
      grouped: true,
      windowMs: alignedWindowMs(options.windowMs ?? 1, options.tickMs ?? 250, options.intervalMs),
    });
    if (options.nodes < 4) throw new RangeError("a simulation needs at least 4 nodes");
    if (options.byzantine < 0 || options.byzantine >= 0.5)
      throw new RangeError("byzantine fraction must be in [0, 0.5)");
    this.options = options;
    this.random = seededRandom(options.seed);
    this.payloadBytes = options.payloadBytes ?? 180;
    this.tickMs = options.tickMs ?? 250;
    const n = options.nodes;
    this.ids = Array.from({ length: n }, (_, i) => `n${i}`);
    for (const [i, id] of this.ids.entries()) this.indexOf.set(id, i);
    this.byzantine = new Array(n).fill(false);
    const byzantineCount = Math.floor(options.byzantine * n);
    const positions = Array.from({ length: n }, (_, i) => i);
    const chosen = shuffled(positions, this.random).slice(0, byzantineCount);
    for (const i of options.byzantineIndices ?? chosen) this.byzantine[i] = true;
    this.correctIndices = [];
    this.byzantineIndices = [];
    for (let i = 0; i < n; i++) (this.byzantine[i] ? this.byzantineIndices : this.correctIndices).push(i);
    this.delivered = Array.from({ length: n }, () => new Map());
    this.sentMessages = new Float64Array(n);
    this.sentBytes = new Float64Array(n);
    this.protocols = this.ids.map((self, i) => {
      if (this.byzantine[i]) return undefined;
      const delivered = this.delivered[i]!;
      return options.protocol.create({
        self,
        members: this.ids,
        random: seededRandom(childSeed(this.random)),
        inspect: inspectSyntheticPayload,
        isSettled: (instance) => delivered.has(instanceKey(instance)),
      });
    });
    this.adversary = new ByzantineAdversary(options.adversary, this.adversaryNetwork());
    this.driver = new ActionDriver<number>({
      // Nothing is ever lost in a simulation: a persist is durable at once, and so nothing waits for one.
      durability: "immediate",
      persist: () => {},
      send: (i, to, message) => {
        for (const peer of this.indicesOf(to)) this.post(i, peer, message);
      },
      deliver: (i, instance, digest, payload) => {
        const key = instanceKey(instance);
        const delivered = this.delivered[i]!;
        if (delivered.has(key)) {
          // Counted, and the first delivery kept: that is the one the node's ledger would have applied.
          this.doubleDeliveries++;
          return;
        }
        delivered.set(key, { digest, at: this.now, payload });
      },
      // Nobody waits for the answer to a simulated submission.
      submitResult: () => {},
      serveFromStore: (i, to, instance, digest) => {
        const stored = this.delivered[i]!.get(instanceKey(instance));
        if (stored?.digest === digest)
          this.post(i, this.indexOf.get(to)!, { kind: "payload", payload: stored.payload });
      },
    });
  }

  run(): SimulationResult {
    const started = performance.now();
    const totals = this.runTotals();
    return summarize(totals, (performance.now() - started) / 1000);
  }

  /** Runs the simulation; its raw sums (which shards of one run merge). */
  runTotals(): SimulationTotals {
    const { broadcasts, intervalMs, shard } = this.options;
    this.adversary.begin();
    for (const i of this.correctIndices) {
      for (const event of this.options.protocol.startEvents?.(0) ?? []) this.handle(i, event);
    }
    if (shard !== undefined && shard.count > 1) {
      // Same network in every shard (built above from the seed); each shard's schedule is its own.
      this.random = seededRandom((this.options.seed + Math.imul(0x9e3779b9, shard.index + 1)) >>> 0);
    }
    for (let b = 0; b < broadcasts; b++) {
      if (shard !== undefined && b % shard.count !== shard.index) continue;
      this.queue.push((b + 1) * intervalMs, new TimerEvent(INTRODUCE, b));
    }
    this.queue.push(this.tickMs, new TimerEvent(TICK, -1));
    const maxMs = this.options.maxSimulatedMs ?? (broadcasts + 1) * intervalMs + 120_000;
    let lastProgress = performance.now();
    while (this.queue.size > 0) {
      const time = this.queue.peekTime()!;
      if (time > maxMs) break;
      const event = this.queue.pop()!;
      // Each event at its own time: within a window, receivers take turns, each in time order.
      this.now = time;
      const from = this.queue.lastTag;
      if (from >= 0) this.dispatch(this.queue.lastGroup, from, event as BroadcastMessage);
      else {
        const timer = event as TimerEvent;
        if (timer.type === INTRODUCE) this.introduce(timer.index);
        else if (timer.type === FEED) this.adversary.wake(timer.index);
        else this.tick();
      }
      if (this.options.onProgress !== undefined && (this.messages & 0xffff) === 0) {
        const t = performance.now();
        if (t - lastProgress > 500) {
          lastProgress = t;
          this.options.onProgress(
            Math.min(time, maxMs),
            Math.max(this.lastIntroduction(), 1) + this.options.meanLatencyMs * 20,
          );
        }
      }
    }
    return this.totals();
  }

  private lastIntroduction(): number {
    return this.options.broadcasts * this.options.intervalMs;
  }

  private introduce(b: number): void {
    const seq = b + 1;
    const equivocate = this.adversary.equivocates && b % (this.options.equivocateEvery ?? 2) === 0;
    const source = b;
    const instance = { source: syntheticSource(source), seq };
    const record: BroadcastRecord = {
      instance,
      key: instanceKey(instance),
      byzantineSource: equivocate,
      digest: equivocate ? undefined : syntheticDigest(source, seq, 0),
      introducedAt: this.now,
      index: this.records.length,
    };
    this.records.push(record);
    if (equivocate) {
      this.adversary.equivocate(instance, source, record.index);
      return;
    }
    const introducer = this.correctIndices[randomIndex(this.random, this.correctIndices.length)]!;
    this.handle(introducer, {
      type: "submit",
      payload: syntheticPayload(source, seq, 0, this.payloadBytes),
      nowMs: this.now,
    });
    this.adversary.introduced(instance, source);
  }

  /** What the adversary may see and do: byzantine nodes' sends, and timers. */
  private adversaryNetwork(): AdversaryNetwork {
    return {
      protocol: this.options.protocol.name,
      correct: this.correctIndices,
      byzantine: this.byzantineIndices,
      seed: this.options.seed,
      meanLatencyMs: this.options.meanLatencyMs,
      payloadBytes: this.payloadBytes,
      now: () => this.now,
      send: (from, to, message) => this.post(from, to, message),
      wakeAfter: (delayMs, token) => this.queue.push(this.now + delayMs, new TimerEvent(FEED, token)),
    };
  }

  private tick(): void {
    let pulling = false;
    for (const i of this.correctIndices) {
      this.handle(i, { type: "tick", nowMs: this.now });
      if (!pulling && this.protocols[i]!.stats().pullingInstances > 0) pulling = true;
    }
    // Keep time moving while messages are in flight or someone still retries a payload pull.
    if (this.queue.size > 0 || pulling) this.queue.push(this.now + this.tickMs, new TimerEvent(TICK, -1));
  }

  private dispatch(to: number, from: number, message: BroadcastMessage): void {
    if (this.byzantine[to]) {
      this.adversary.receive(to, from, message);
      return;
    }
    this.handle(to, { type: "message", from: this.ids[from]!, message, nowMs: this.now });
  }

  private handle(i: number, event: BroadcastEvent): void {
    this.driver.carryOut(this.protocols[i]!.handle(event), i);
  }

  /** Recipient lists are usually the same few arrays (a node's samples): translate each once. */
  private indicesOf(peers: readonly PeerId[]): readonly number[] {
    let indices = this.indexCache.get(peers);
    if (indices === undefined) {
      indices = peers.map((p) => this.indexOf.get(p)!);
      if (peers.length > 4) this.indexCache.set(peers, indices);
    }
    return indices;
  }

  /** Queues a message; returns when it arrives (Infinity: never). */
  private post(from: number, to: number, message: BroadcastMessage): number {
    if (from === to) return this.now;
    if (!this.byzantine[from]) {
      this.kindCounts[message.kind] = (this.kindCounts[message.kind] ?? 0) + 1;
      // Subscriptions set up samples reused by every broadcast: reported apart, not per broadcast.
      if (isSubscription(message)) this.setupMessages++;
      else {
        this.sentMessages[from]! += 1;
        this.sentBytes[from]! += wireBytes(message);
      }
    }
    // The adversary schedules the network: it may delay a correct node's message, or never deliver it.
    const heldMs = this.byzantine[from] ? 0 : this.adversary.holdMs(to, message);
    if (heldMs === Number.POSITIVE_INFINITY) return heldMs;
    this.messages++;
    // Sent and counted, but an adversary that ignores everything its nodes receive need not be handed it.
    if (this.byzantine[to] && !this.adversary.listens) return Number.POSITIVE_INFINITY;
    const arrival = this.now + heldMs + this.options.latency(this.random);
    this.queue.push(arrival, message, to, from);
    return arrival;
  }

  private totals(): SimulationTotals {
    const latencies: number[] = [];
    let validity = 0;
    let consistency = 0;
    let totality = 0;
    let deliveredPairs = 0;
    for (const record of this.records) {
      const digests = new Set<Digest>();
      let count = 0;
      let other = false;
      for (const i of this.correctIndices) {
        const d = this.delivered[i]!.get(record.key);
        if (d === undefined) continue;
        count++;
        digests.add(d.digest);
        if (record.digest !== undefined && d.digest !== record.digest) other = true;
        if (!record.byzantineSource) latencies.push(d.at - record.introducedAt);
      }
      deliveredPairs += count;
      const all = count === this.correctIndices.length;
      // Validity: every correct node delivered, and what it delivered is what the correct introducer submitted.
      if (!record.byzantineSource && (!all || other)) validity++;
      if (digests.size > 1) consistency++;
      if (count > 0 && !all) totality++;
    }
    const messagesByKind: Record<string, number> = {};
    const setupByKind: Record<string, number> = {};
    for (const [kind, count] of Object.entries(this.kindCounts)) {
      (kind === "subscribe" || kind === "unsubscribe" ? setupByKind : messagesByKind)[kind] = count;
    }
    return {
      nodes: this.options.nodes,
      byzantine: this.options.byzantine,
      protocol: this.options.protocol.name,
      adversary: this.options.adversary,
      seed: this.options.seed,
      meanLatencyMs: this.options.meanLatencyMs,
      correctNodes: this.correctIndices.length,
      broadcasts: this.records.length,
      sentMessages: Float64Array.from(this.correctIndices, (i) => this.sentMessages[i]!),
      sentBytes: Float64Array.from(this.correctIndices, (i) => this.sentBytes[i]!),
      messagesByKind,
      setupByKind,
      latencies: Float64Array.from(latencies),
      violations: { validity, consistency, totality },
      doubleDeliveries: this.doubleDeliveries,
      deliveredPairs,
      // Subscriptions are only ever sent by correct nodes, and never held back.
      simulatedMessages: this.messages - this.setupMessages,
      setupMessages: this.setupMessages,
      subscriptionsRefused: this.correctIndices.reduce(
        (sum, i) => sum + (this.protocols[i]!.counters().dropped.subscribersFull ?? 0),
        0,
      ),
      simulatedMs: this.now,
      attack: this.adversary.report(),
    };
  }
}

/** The largest window ≤ `widestMs` dividing both timer periods (1 ms unless all are whole milliseconds). */
function alignedWindowMs(widestMs: number, tickMs: number, intervalMs: number): number {
  const whole = [Math.floor(widestMs), tickMs, intervalMs];
  if (whole.some((ms) => !Number.isSafeInteger(ms) || ms < 1)) return 1;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return whole.reduce(gcd);
}
