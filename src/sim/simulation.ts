import { instanceKey } from "../broadcast/instanceId.ts";
import type {
  BroadcastAction,
  BroadcastEvent,
  BroadcastMessage,
  BroadcastProtocol,
  Digest,
  InstanceRef,
  PeerId,
  RandomSource,
} from "../broadcast/types.ts";
import { EventQueue } from "./eventQueue.ts";
import type { LatencyModel } from "./latency.ts";
import { childSeed, randomIndex, seededRandom } from "./prng.ts";
import {
  inspectSyntheticPayload,
  syntheticDigest,
  syntheticPayload,
  syntheticSource,
} from "./syntheticPayload.ts";

export const ADVERSARIES = ["silent", "equivocate", "ready-flood"] as const;
export type Adversary = (typeof ADVERSARIES)[number];

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
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SimulationResult {
  readonly nodes: number;
  readonly byzantine: number;
  readonly protocol: string;
  readonly adversary: Adversary;
  readonly broadcasts: number;
  readonly seed: number;
  /**
   * Sent by correct nodes, per node per broadcast: mean over correct nodes and the busiest one. Sample
   * subscriptions are one-off (samples are reused across broadcasts) and reported in `setupMessagesPerNode`.
   */
  readonly messagesPerNodePerBroadcast: { readonly mean: number; readonly max: number };
  readonly bytesPerNodePerBroadcast: { readonly mean: number; readonly max: number };
  readonly setupMessagesPerNode: number;
  /** Per correct node per broadcast, by message kind (subscriptions: per node, once). */
  readonly messagesByKind: Readonly<Record<string, number>>;
  /** From introduction to delivery, over (correct node, correct-source broadcast) pairs. */
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  readonly latencyHops: { readonly p50: number; readonly p99: number };
  readonly violations: { readonly validity: number; readonly consistency: number; readonly totality: number };
  readonly deliveredFraction: number;
  readonly simulatedMessages: number;
  readonly simulatedMs: number;
  readonly messagesPerSecond: number;
  readonly wallSeconds: number;
}

/** Timeline entries share one shape (one hidden class), which keeps the event loop monomorphic. */
const DELIVERY = 0;
const INTRODUCE = 1;
const FEED = 2;
const TICK = 3;

class TimelineEvent {
  readonly type: number;
  /** DELIVERY: receiver and sender indices; INTRODUCE/FEED: broadcast or record index in `to`. */
  readonly to: number;
  readonly from: number;
  readonly message: BroadcastMessage | undefined;

  constructor(type: number, to: number, from = -1, message?: BroadcastMessage) {
    this.type = type;
    this.to = to;
    this.from = from;
    this.message = message;
  }
}

interface BroadcastRecord {
  readonly instance: InstanceRef;
  readonly key: string;
  readonly byzantineSource: boolean;
  introducedAt: number;
  /** Equivocation: correct nodes not yet fed a payload, and whether the switch to m′ happened. */
  unfed?: number[];
  switched?: boolean;
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
  private readonly random: RandomSource;
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
  /** Correct nodes that subscribed to each byzantine node: the only ones its votes can reach usefully. */
  private readonly subscribers = new Map<number, Set<number>>();
  private readonly queue = new EventQueue<TimelineEvent>();
  private readonly records: BroadcastRecord[] = [];
  private readonly recordByKey = new Map<string, BroadcastRecord>();
  private now = 0;
  private messages = 0;
  private setupMessages = 0;
  private readonly payloadBytes: number;
  private readonly tickMs: number;

  constructor(options: SimulationOptions) {
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
    for (const i of shuffled(n, this.random).slice(0, byzantineCount)) this.byzantine[i] = true;
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
  }

  run(): SimulationResult {
    const started = performance.now();
    const { broadcasts, intervalMs } = this.options;
    for (const i of this.correctIndices) {
      for (const event of this.options.protocol.startEvents?.(0) ?? []) this.handle(i, event);
    }
    for (let b = 0; b < broadcasts; b++)
      this.queue.push((b + 1) * intervalMs, new TimelineEvent(INTRODUCE, b));
    this.queue.push(this.tickMs, new TimelineEvent(TICK, -1));
    const maxMs = this.options.maxSimulatedMs ?? (broadcasts + 1) * intervalMs + 120_000;
    let lastProgress = performance.now();
    while (this.queue.size > 0) {
      const time = this.queue.peekTime()!;
      if (time > maxMs) break;
      const event = this.queue.pop()!;
      this.now = time;
      if (event.type === DELIVERY) this.dispatch(event.to, event.from, event.message!);
      else if (event.type === INTRODUCE) this.introduce(event.to);
      else if (event.type === FEED) this.feedNext(this.records[event.to]!);
      else this.tick();
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
    return this.result((performance.now() - started) / 1000);
  }

  private lastIntroduction(): number {
    return this.options.broadcasts * this.options.intervalMs;
  }

  private introduce(b: number): void {
    const seq = b + 1;
    const equivocate =
      this.options.adversary === "equivocate" &&
      this.byzantineIndices.length > 0 &&
      b % (this.options.equivocateEvery ?? 2) === 0;
    const source = b;
    const instance = { source: syntheticSource(source), seq };
    const record: BroadcastRecord = {
      instance,
      key: instanceKey(instance),
      byzantineSource: equivocate,
      introducedAt: this.now,
    };
    this.records.push(record);
    this.recordByKey.set(record.key, record);
    if (!equivocate) {
      const introducer = this.correctIndices[randomIndex(this.random, this.correctIndices.length)]!;
      this.handle(introducer, {
        type: "submit",
        payload: syntheticPayload(source, seq, 0, this.payloadBytes),
        nowMs: this.now,
      });
      return;
    }
    record.unfed = shuffled(this.correctIndices.length, this.random).map((i) => this.correctIndices[i]!);
    this.feedNext(record);
  }

  /**
   * The optimal strategy against consistency (thesis §4.4.3): hand m to random correct nodes one at a
   * time until one of them delivers, then hand m′ to every node not fed yet. Byzantine nodes vote for
   * whichever payload the receiver was fed.
   */
  private feedNext(record: BroadcastRecord): void {
    const unfed = record.unfed!;
    if (unfed.length === 0) return;
    if (record.switched) {
      for (const target of unfed.splice(0)) this.feed(record, target, 1);
      return;
    }
    this.feed(record, unfed.pop()!, 0);
    this.queue.push(
      this.now + this.options.meanLatencyMs,
      new TimelineEvent(FEED, this.records.indexOf(record)),
    );
  }

  private feed(record: BroadcastRecord, target: number, variant: number): void {
    const source = Number(record.instance.source.slice("account-".length));
    const payload = syntheticPayload(source, record.instance.seq, variant, this.payloadBytes);
    const digest = syntheticDigest(source, record.instance.seq, variant);
    const attacker = this.byzantineIndices[randomIndex(this.random, this.byzantineIndices.length)]!;
    this.post(attacker, target, { kind: "send", payload });
    for (const b of this.byzantineIndices) {
      if (this.options.protocol.name !== "bracha" && !this.subscribers.get(b)?.has(target)) continue;
      this.post(b, target, { kind: "echo", instance: record.instance, digest });
      this.post(b, target, { kind: "ready", instance: record.instance, digest });
    }
  }

  private tick(): void {
    let pulling = false;
    for (const i of this.correctIndices) {
      this.handle(i, { type: "tick", nowMs: this.now });
      if (!pulling && this.protocols[i]!.stats().pullingInstances > 0) pulling = true;
    }
    // Keep time moving while messages are in flight or someone still retries a payload pull.
    if (this.queue.size > 0 || pulling) this.queue.push(this.now + this.tickMs, new TimelineEvent(TICK, -1));
  }

  private dispatch(to: number, from: number, message: BroadcastMessage): void {
    if (this.byzantine[to]) {
      this.byzantineReceive(to, from, message);
      return;
    }
    this.handle(to, { type: "message", from: this.ids[from]!, message, nowMs: this.now });
  }

  private handle(i: number, event: BroadcastEvent): void {
    const protocol = this.protocols[i]!;
    this.apply(i, protocol.handle(event));
  }

  private apply(i: number, actions: readonly BroadcastAction[]): void {
    for (const action of actions) {
      switch (action.type) {
        case "send":
          for (const to of this.indicesOf(action.to)) this.post(i, to, action.message);
          break;
        case "deliver":
          this.onDeliver(i, action.instance, action.digest, action.payload);
          break;
        case "serveFromStore": {
          const stored = this.delivered[i]!.get(instanceKey(action.instance));
          if (stored?.digest === action.digest) {
            this.post(i, this.indexOf.get(action.to)!, { kind: "payload", payload: stored.payload });
          }
          break;
        }
        default:
          // persist: durable at once in a simulation; submitResult: nobody waits.
          break;
      }
    }
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

  private onDeliver(i: number, instance: InstanceRef, digest: Digest, payload: Uint8Array): void {
    const key = instanceKey(instance);
    this.delivered[i]!.set(key, { digest, at: this.now, payload });
    const record = this.recordByKey.get(key);
    if (record?.byzantineSource && !record.switched) record.switched = true;
  }

  private post(from: number, to: number, message: BroadcastMessage): void {
    if (from === to) return;
    if (!this.byzantine[from]) {
      this.kindCounts[message.kind] = (this.kindCounts[message.kind] ?? 0) + 1;
      // Subscriptions set up samples reused by every broadcast: reported apart, not per broadcast.
      if (isSubscription(message)) this.setupMessages++;
      else {
        this.sentMessages[from]! += 1;
        this.sentBytes[from]! += wireBytes(message);
      }
    }
    this.messages++;
    this.queue.push(
      this.now + this.options.latency(this.random),
      new TimelineEvent(DELIVERY, to, from, message),
    );
  }

  private byzantineReceive(to: number, from: number, message: BroadcastMessage): void {
    if (this.options.adversary === "silent") return;
    if (isSubscription(message)) {
      let subs = this.subscribers.get(to);
      if (subs === undefined) {
        subs = new Set();
        this.subscribers.set(to, subs);
      }
      subs.add(from);
      return;
    }
    if (message.kind === "request") {
      // Answer pulls (with the payload asked for): starving pullers would only help correctness checks.
      const record = this.recordByKey.get(instanceKey(message.instance));
      if (record === undefined) return;
      const source = Number(record.instance.source.slice("account-".length));
      for (const variant of [0, 1]) {
        if (syntheticDigest(source, record.instance.seq, variant) === message.digest) {
          this.post(to, from, {
            kind: "payload",
            payload: syntheticPayload(source, record.instance.seq, variant, this.payloadBytes),
          });
        }
      }
      return;
    }
    if (this.options.adversary === "ready-flood" && "instance" in message) {
      // Votes for a digest nobody has, once per (byzantine node, instance, receiver).
      const record = this.recordByKey.get(instanceKey(message.instance));
      if (record === undefined || this.flooded.has(`${to}:${record.key}`)) return;
      this.flooded.add(`${to}:${record.key}`);
      const digest = `f${to.toString(16)}`.padEnd(64, "f");
      const targets =
        this.options.protocol.name === "bracha" ? this.correctIndices : [...(this.subscribers.get(to) ?? [])];
      for (const target of targets) {
        this.post(to, target, { kind: "echo", instance: record.instance, digest });
        this.post(to, target, { kind: "ready", instance: record.instance, digest });
      }
    }
  }

  private readonly flooded = new Set<string>();

  private result(wallSeconds: number): SimulationResult {
    const broadcasts = Math.max(1, this.records.length);
    const perNode = this.correctIndices.map((i) => this.sentMessages[i]! / broadcasts);
    const perNodeBytes = this.correctIndices.map((i) => this.sentBytes[i]! / broadcasts);
    const latencies: number[] = [];
    let validity = 0;
    let consistency = 0;
    let totality = 0;
    let deliveredPairs = 0;
    for (const record of this.records) {
      const digests = new Set<Digest>();
      let count = 0;
      for (const i of this.correctIndices) {
        const d = this.delivered[i]!.get(record.key);
        if (d === undefined) continue;
        count++;
        digests.add(d.digest);
        if (!record.byzantineSource) latencies.push(d.at - record.introducedAt);
      }
      deliveredPairs += count;
      const all = count === this.correctIndices.length;
      if (!record.byzantineSource && !all) validity++;
      if (digests.size > 1) consistency++;
      if (count > 0 && !all) totality++;
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) =>
      latencies.length === 0
        ? 0
        : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return {
      nodes: this.options.nodes,
      byzantine: this.options.byzantine,
      protocol: this.options.protocol.name,
      adversary: this.options.adversary,
      broadcasts: this.records.length,
      seed: this.options.seed,
      messagesPerNodePerBroadcast: { mean: mean(perNode), max: Math.max(...perNode) },
      bytesPerNodePerBroadcast: { mean: mean(perNodeBytes), max: Math.max(...perNodeBytes) },
      setupMessagesPerNode: this.setupMessages / this.correctIndices.length,
      messagesByKind: Object.fromEntries(
        Object.entries(this.kindCounts).map(([k, v]) => [
          k,
          v / this.correctIndices.length / (k.includes("subscribe") ? 1 : broadcasts),
        ]),
      ),
      latencyMs: { p50: pct(0.5), p99: pct(0.99) },
      latencyHops: {
        p50: pct(0.5) / this.options.meanLatencyMs,
        p99: pct(0.99) / this.options.meanLatencyMs,
      },
      violations: { validity, consistency, totality },
      deliveredFraction: deliveredPairs / (broadcasts * this.correctIndices.length),
      simulatedMessages: this.messages,
      simulatedMs: this.now,
      messagesPerSecond: this.messages / Math.max(wallSeconds, 1e-9),
      wallSeconds,
    };
  }
}

function shuffled(n: number, random: RandomSource): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
