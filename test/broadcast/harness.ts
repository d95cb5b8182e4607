/**
 * A seeded in-memory network for the broadcast state machines: every message in flight sits in one pool
 * and the next one delivered is picked by a seeded PRNG, so each seed is one reproducible adversarial
 * schedule. Correct nodes run the real protocol (`BrachaBroadcast` unless `SimOptions.protocol` says
 * otherwise, e.g. `ContagionBroadcast`) behind the node's action driver (src/broadcast/actionDriver.ts: persist
 * before later sends); Byzantine nodes run the strategies below instead. The adversary may also hold back
 * messages (`hold`), which models its control of the schedule (thesis §4.2, assumption 4).
 */

import { createHash } from "node:crypto";
import { ActionDriver } from "../../src/broadcast/actionDriver.ts";
import { BrachaBroadcast, type BrachaOptions } from "../../src/broadcast/bracha/bracha.ts";
import { instanceKey } from "../../src/broadcast/instance/instanceId.ts";
import {
  type BroadcastAction,
  type BroadcastEvent,
  type BroadcastMessage,
  type BroadcastProtocol,
  type Commitment,
  type Digest,
  type InspectPayload,
  type InstanceRef,
  MESSAGE_KINDS,
  type MessageKind,
  type SubmitOutcome,
} from "../../src/broadcast/types.ts";
import type { PeerId } from "../../src/core/peerId.ts";
import type { RandomSource } from "../../src/core/random.ts";
import { seededRandom } from "../../src/sim/prng.ts";

// The simulator's seeded PRNG (mulberry32), so a harness seed means the same stream as a `tally sim` seed.
export { seededRandom };

export function randomInt(random: RandomSource, maxExclusive: number): number {
  return Math.floor(random() * maxExclusive);
}

// ── test payloads: JSON standing in for signed transfers ─────────────────────────────────────────────

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `signed: false` plays a transfer with a bad signature: well-formed, but inspect must reject it. */
export function testPayload(source: string, seq: number, body: string, signed = true): Uint8Array {
  return encoder.encode(JSON.stringify({ source, seq, body, signed }));
}

export function digestOf(payload: Uint8Array): Digest {
  return createHash("sha256").update(payload).digest("hex");
}

export const inspectTestPayload: InspectPayload = (payload) => {
  try {
    const value = JSON.parse(decoder.decode(payload)) as {
      source?: unknown;
      seq?: unknown;
      signed?: unknown;
    };
    if (value.signed !== true || typeof value.source !== "string" || typeof value.seq !== "number")
      return null;
    return { instance: { source: value.source, seq: value.seq }, digest: digestOf(payload) };
  } catch {
    return null;
  }
};

// ── nodes ────────────────────────────────────────────────────────────────────────────────────────────

/**
 * silent: never sends. equivocate: introduces conflicting payloads (`equivocate`) and answers pulls with the
 * other one. forge: ECHO/READY for digests nobody holds and for instances that do not exist. readyFlood:
 * READYs for bogus digests of every instance it sees (and, through `floodIntroduce`, for a payload no correct
 * node was given).
 */
export type ByzantineStrategy = "silent" | "equivocate" | "forge" | "readyFlood";

export interface Envelope {
  readonly from: PeerId;
  readonly to: PeerId;
  readonly message: BroadcastMessage;
}

/** Everything a correct node did, across restarts: the evidence the properties are checked against. */
export class CorrectNode {
  readonly id: PeerId;
  protocol: BroadcastProtocol;
  /** The durable commitment log the driver appends to on `persist`. */
  readonly durable: Commitment[] = [];
  /** The ledger's store: survives restarts, answers `serveFromStore`, backs `isSettled`. */
  readonly store = new Map<string, { digest: Digest; payload: Uint8Array }>();
  readonly deliveries = new Map<string, Digest[]>();
  readonly echoesSent = new Map<string, Set<Digest>>();
  readonly readiesSent = new Map<string, Set<Digest>>();
  readonly sent: Record<MessageKind, number>;
  readonly submitOutcomes: SubmitOutcome[] = [];
  /** Global step at which this node crashes (mid-action-list) and restarts from `durable`. */
  crashAtStep: number | undefined;
  restarts = 0;

  constructor(
    id: PeerId,
    createProtocol: (node: CorrectNode) => BroadcastProtocol,
    kinds: readonly MessageKind[] = MESSAGE_KINDS,
  ) {
    this.id = id;
    this.sent = zeroCounts(kinds);
    this.protocol = createProtocol(this);
  }
}

class ByzantineNode {
  readonly id: PeerId;
  readonly strategy: ByzantineStrategy;
  /** Equivocation: the other payload, per digest, handed out to anyone who pulls. */
  readonly decoys = new Map<Digest, Uint8Array>();
  readonly forged = new Set<string>();

  constructor(id: PeerId, strategy: ByzantineStrategy) {
    this.id = id;
    this.strategy = strategy;
  }
}

type SimNode = CorrectNode | ByzantineNode;

export interface SimOptions {
  readonly n: number;
  readonly seed: number;
  /** Node index → strategy; every other node is correct. */
  readonly byzantine?: ReadonlyMap<number, ByzantineStrategy>;
  readonly bracha?: Partial<BrachaOptions>;
  readonly tickEverySteps?: number;
  /**
   * Builds a correct node's protocol (default: Bracha with `bracha` options). `random` is a seed stream
   * drawn from the network's PRNG, `ids` the member list.
   */
  readonly protocol?: (
    node: CorrectNode,
    context: { readonly ids: readonly PeerId[]; readonly random: RandomSource },
  ) => BroadcastProtocol;
  /** The message kinds the protocol speaks (for per-node send counts); default Bracha's. */
  readonly messageKinds?: readonly MessageKind[];
  /** How Byzantine introducers push payloads: Bracha's `send` (default) or contagion's `gossip`. */
  readonly payloadKind?: "send" | "gossip";
  /** Byzantine nodes see every submitted payload (an omniscient adversary), not only what reaches them. */
  readonly adversarySeesSubmissions?: boolean;
}

export const SIM_PULL_RETRY_MS = 100;

export class SimNetwork {
  readonly ids: readonly PeerId[];
  readonly nodes: readonly SimNode[];
  readonly random: RandomSource;
  nowMs = 0;
  steps = 0;
  private readonly pool: Envelope[] = [];
  private readonly byId = new Map<PeerId, SimNode>();
  private readonly tickEverySteps: number;
  private readonly restartProtocol: (node: CorrectNode) => void;
  private readonly payloadKind: "send" | "gossip";
  private readonly adversarySeesSubmissions: boolean;
  /** Messages the adversary holds back while `hold` says so; `release` puts them in flight. */
  private readonly held: Envelope[] = [];
  hold: ((envelope: Envelope) => boolean) | undefined;
  /** Messages the network loses (the transport is at-most-once): true drops the envelope for good. */
  lose: ((envelope: Envelope) => boolean) | undefined;
  /** The nodes' driver, the node's own; the durable log is in memory, so a persist is durable at once. */
  private readonly driver = new ActionDriver<CorrectNode>({
    durability: "immediate",
    persist: (node, commitment) => node.durable.push(commitment),
    send: (node, to, message) => {
      for (const peer of to) this.post(node.id, peer, message);
      this.recordSend(node, message, to.length);
    },
    deliver: (node, instance, digest, payload) => {
      const key = instanceKey(instance);
      node.deliveries.set(key, [...(node.deliveries.get(key) ?? []), digest]);
      if (digestOf(payload) !== digest) throw new Error("delivered payload/digest mismatch");
      node.store.set(key, { digest, payload });
    },
    submitResult: (node, outcome) => node.submitOutcomes.push(outcome),
    serveFromStore: (node, to, instance, digest) => {
      const stored = node.store.get(instanceKey(instance));
      if (stored?.digest === digest) {
        this.post(node.id, to, { kind: "payload", payload: stored.payload });
        node.sent.payload++;
      }
    },
  });

  constructor(options: SimOptions) {
    this.random = seededRandom(options.seed);
    this.tickEverySteps = options.tickEverySteps ?? 25;
    this.payloadKind = options.payloadKind ?? "send";
    this.adversarySeesSubmissions = options.adversarySeesSubmissions ?? false;
    this.ids = Array.from({ length: options.n }, (_, i) => `n${i}`);
    const custom = options.protocol;
    const brachaFactory = (node: CorrectNode) =>
      new BrachaBroadcast({
        self: node.id,
        members: this.ids,
        inspect: inspectTestPayload,
        random: seededRandom(Math.floor(this.random() * 2 ** 32)),
        pullRetryMs: SIM_PULL_RETRY_MS,
        // Off unless a test turns it on: harness time is one ms per message step, not wall time.
        retransmitInitialMs: 0,
        // The ledger's watermark: what this node's store holds is settled, across restarts.
        isSettled: (instance) => node.store.has(instanceKey(instance)),
        ...options.bracha,
      });
    const protocolFactory =
      custom === undefined
        ? brachaFactory
        : (node: CorrectNode) =>
            custom(node, { ids: this.ids, random: seededRandom(Math.floor(this.random() * 2 ** 32)) });
    this.nodes = this.ids.map((id, i) => {
      const strategy = options.byzantine?.get(i);
      return strategy === undefined
        ? new CorrectNode(id, protocolFactory, options.messageKinds)
        : new ByzantineNode(id, strategy);
    });
    for (const node of this.nodes) this.byId.set(node.id, node);
    this.restartProtocol = (node) => {
      node.protocol = protocolFactory(node);
      this.apply(node, node.protocol.restore(node.durable), false);
      // Its peers' transports saw the connection drop and come back (Bracha ignores both events).
      for (const other of this.correct) {
        if (other === node) continue;
        this.handle(other, { type: "peerDown", peer: node.id, nowMs: this.nowMs });
        this.handle(other, { type: "peerUp", peer: node.id, nowMs: this.nowMs });
      }
    };
  }

  get correct(): CorrectNode[] {
    return this.nodes.filter((node): node is CorrectNode => node instanceof CorrectNode);
  }

  get byzantine(): ByzantineNode[] {
    return this.nodes.filter((node): node is ByzantineNode => node instanceof ByzantineNode);
  }

  /** A wallet hands `payload` to correct node `index`. */
  submit(index: number, payload: Uint8Array): void {
    const node = this.nodes[index];
    if (!(node instanceof CorrectNode)) throw new Error(`node ${index} is not correct`);
    this.handle(node, { type: "submit", payload, nowMs: this.nowMs });
    if (!this.adversarySeesSubmissions) return;
    for (const byzantine of this.byzantine) {
      this.byzantineReceive(byzantine, {
        from: node.id,
        to: byzantine.id,
        message: { kind: this.payloadKind, payload },
      });
    }
  }

  /** Tells every correct node to start (contagion draws its samples and subscribes; Bracha ignores it). */
  start(): void {
    for (const node of this.correct) this.handle(node, { type: "start", nowMs: this.nowMs });
  }

  /** Hands correct node `index` any event (peerDown, peerUp, …) at the current time. */
  event(index: number, event: BroadcastEvent): void {
    const node = this.nodes[index];
    if (!(node instanceof CorrectNode)) throw new Error(`node ${index} is not correct`);
    this.handle(node, event);
  }

  /** Puts a message in flight as if `from` sent it (the adversary speaking for its nodes). */
  inject(from: PeerId, to: PeerId, message: BroadcastMessage): void {
    this.post(from, to, message);
  }

  /** Puts every held message in flight. */
  release(): void {
    for (const envelope of this.held.splice(0)) this.pool.push(envelope);
  }

  get inFlight(): number {
    return this.pool.length;
  }

  /**
   * A Byzantine node introduces two payloads for one instance: A to the first `split` correct nodes (default:
   * half of them), B to the rest, and votes (ECHO and READY) for whichever payload each one got.
   */
  equivocate(index: number, instance: InstanceRef, split?: number): void {
    this.coordinatedEquivocate([index], instance, split);
  }

  /**
   * Byzantine nodes `indices` equivocate together: the first introduces payload A to the first `split` correct
   * nodes (default: half of them) and B to the rest, every one of them votes (ECHO and READY) towards each
   * correct node for the payload that node got, and answers pulls with the other payload. With N = 3f+2 and
   * f liars, each half is f+1 correct nodes plus f liars: enough for a bare-majority echo quorum ⌈(N+1)/2⌉
   * and for delivery (2f+1) on both sides, but short of Bracha's ⌈(N+f+1)/2⌉.
   */
  coordinatedEquivocate(
    indices: readonly number[],
    instance: InstanceRef,
    split?: number,
  ): { a: Digest; b: Digest } {
    const liars = indices.map((index) => {
      const node = this.nodes[index];
      if (!(node instanceof ByzantineNode)) throw new Error(`node ${index} is not byzantine`);
      return node;
    });
    const introducer = liars[0]!.id;
    const a = testPayload(instance.source, instance.seq, `A from ${introducer}`);
    const b = testPayload(instance.source, instance.seq, `B from ${introducer}`);
    for (const liar of liars) {
      liar.decoys.set(digestOf(a), b);
      liar.decoys.set(digestOf(b), a);
    }
    const correct = this.correct;
    const firstPart = split ?? Math.floor(correct.length / 2);
    correct.forEach((target, i) => {
      const payload = i < firstPart ? a : b;
      const digest = digestOf(payload);
      this.post(introducer, target.id, { kind: this.payloadKind, payload });
      for (const liar of liars) {
        this.post(liar.id, target.id, { kind: "echo", instance, digest });
        this.post(liar.id, target.id, { kind: "ready", instance, digest });
      }
    });
    return { a: digestOf(a), b: digestOf(b) };
  }

  /**
   * A Byzantine introducer hands payload A to every correct node (a correct-looking introduction) while every
   * Byzantine node floods READYs for a conflicting, validly signed payload B that no correct node ever
   * echoes, and serves B to anyone who pulls it: contagion must not carry B anywhere.
   */
  floodIntroduce(index: number, instance: InstanceRef): { a: Digest; b: Digest } {
    const node = this.nodes[index];
    if (!(node instanceof ByzantineNode)) throw new Error(`node ${index} is not byzantine`);
    const a = testPayload(instance.source, instance.seq, `A from ${node.id}`);
    const b = testPayload(instance.source, instance.seq, `B from ${node.id}`);
    for (const byzantine of this.byzantine) byzantine.decoys.set(digestOf(b), b);
    for (const target of this.correct) this.post(node.id, target.id, { kind: this.payloadKind, payload: a });
    for (const byzantine of this.byzantine) {
      for (const target of this.correct) {
        this.post(byzantine.id, target.id, { kind: "ready", instance, digest: digestOf(b) });
      }
    }
    return { a: digestOf(a), b: digestOf(b) };
  }

  /** Delivers messages in seeded random order until nothing is in flight and no pull is pending. */
  run(maxSteps = 5_000_000): void {
    let idleRounds = 0;
    while (this.steps < maxSteps) {
      if (this.pool.length === 0) {
        const pulling = this.correct.some((node) => node.protocol.stats().pullingInstances > 0);
        if (!pulling || idleRounds++ > 100) return;
        this.nowMs += SIM_PULL_RETRY_MS;
        this.tickAll();
        continue;
      }
      idleRounds = 0;
      this.step();
    }
    throw new Error(`no quiescence after ${maxSteps} steps`);
  }

  /** Delivers one message in flight, picked at random; false if none is. */
  step(): boolean {
    if (this.pool.length === 0) return false;
    const i = randomInt(this.random, this.pool.length);
    const envelope = this.pool[i]!;
    this.pool[i] = this.pool[this.pool.length - 1]!;
    this.pool.pop();
    this.steps++;
    this.nowMs++;
    this.dispatch(envelope);
    if (this.steps % this.tickEverySteps === 0) this.tickAll();
    return true;
  }

  /** Lets `ms` of time pass with nothing in flight, then ticks every correct node (timers fire). */
  advance(ms: number): void {
    this.nowMs += ms;
    this.tickAll();
  }

  private tickAll(): void {
    for (const node of this.correct) this.handle(node, { type: "tick", nowMs: this.nowMs });
  }

  private dispatch(envelope: Envelope): void {
    const node = this.byId.get(envelope.to)!;
    if (node instanceof CorrectNode) {
      this.handle(node, {
        type: "message",
        from: envelope.from,
        message: envelope.message,
        nowMs: this.nowMs,
      });
    } else {
      this.byzantineReceive(node, envelope);
    }
  }

  private handle(node: CorrectNode, event: BroadcastEvent): void {
    const crash = node.crashAtStep !== undefined && this.steps >= node.crashAtStep;
    this.apply(node, node.protocol.handle(event), crash);
  }

  /**
   * Carries out a node's actions through the shared driver. A crash cuts the list at a random point (after a
   * persist but before its send, say) and restarts the node from its durable log.
   */
  private apply(node: CorrectNode, actions: readonly BroadcastAction[], crash: boolean): void {
    const cut = crash ? randomInt(this.random, actions.length + 1) : actions.length;
    this.driver.carryOut(actions, node, cut);
    if (crash) {
      node.crashAtStep = undefined;
      node.restarts++;
      this.restartProtocol(node);
    }
  }

  private recordSend(node: CorrectNode, message: BroadcastMessage, copies: number): void {
    node.sent[message.kind] = (node.sent[message.kind] ?? 0) + copies;
    if (message.kind !== "echo" && message.kind !== "ready") return;
    const votes = message.kind === "echo" ? node.echoesSent : node.readiesSent;
    const key = instanceKey(message.instance);
    let digests = votes.get(key);
    if (digests === undefined) {
      digests = new Set();
      votes.set(key, digests);
    }
    digests.add(message.digest);
  }

  private post(from: PeerId, to: PeerId, message: BroadcastMessage): void {
    const envelope = { from, to, message };
    if (this.lose?.(envelope)) return;
    if (this.hold?.(envelope)) this.held.push(envelope);
    else this.pool.push(envelope);
  }

  private byzantineReceive(node: ByzantineNode, { from, message }: Envelope): void {
    switch (node.strategy) {
      case "silent":
        return;
      case "equivocate":
        // Answers pulls with the other payload: a valid signature, the wrong digest.
        if (message.kind === "request") {
          const decoy = node.decoys.get(message.digest);
          if (decoy !== undefined) this.post(node.id, from, { kind: "payload", payload: decoy });
        }
        return;
      case "forge": {
        if (message.kind === "request") {
          const fake = testPayload(message.instance.source, message.instance.seq, `forged by ${node.id}`);
          this.post(node.id, from, { kind: "payload", payload: fake });
          return;
        }
        const instance =
          "payload" in message ? inspectTestPayload(message.payload)?.instance : this.instanceOf(message);
        // Its own ghosts, echoed back by another forger, would otherwise breed ghosts forever.
        if (instance === undefined || instance.source.startsWith("ghost-")) return;
        if (node.forged.has(instanceKey(instance))) return;
        node.forged.add(instanceKey(instance));
        // Votes for a digest nobody holds a payload for, plus votes for an instance that does not exist, each
        // repeated: f forgers × 3 copies reach 2f+1 if a receiver ever counted a peer twice.
        const ghost = { source: `ghost-${node.id}`, seq: node.forged.size };
        for (const to of this.ids) {
          if (to === node.id) continue;
          const digest = digestOf(encoder.encode(`forged ${to}`));
          for (let copy = 0; copy < 3; copy++) {
            this.post(node.id, to, { kind: "echo", instance, digest });
            this.post(node.id, to, { kind: "ready", instance, digest });
            this.post(node.id, to, { kind: "echo", instance: ghost, digest });
            this.post(node.id, to, { kind: "ready", instance: ghost, digest });
          }
        }
        return;
      }
      case "readyFlood": {
        if (message.kind === "request") {
          const decoy = node.decoys.get(message.digest);
          if (decoy !== undefined) this.post(node.id, from, { kind: "payload", payload: decoy });
          return;
        }
        const instance =
          "payload" in message ? inspectTestPayload(message.payload)?.instance : this.instanceOf(message);
        if (instance === undefined || node.forged.has(instanceKey(instance))) return;
        node.forged.add(instanceKey(instance));
        // Three bogus digests per instance (a peer's READYs count for a few digests at most), each twice.
        const digests = [0, 1, 2].map((i) => digestOf(encoder.encode(`flood ${node.id} ${i}`)));
        for (const to of this.ids) {
          if (to === node.id) continue;
          for (const digest of digests) {
            for (let copy = 0; copy < 2; copy++) this.post(node.id, to, { kind: "ready", instance, digest });
          }
        }
        return;
      }
    }
  }

  private instanceOf(message: BroadcastMessage): InstanceRef | undefined {
    return "instance" in message ? message.instance : undefined;
  }
}

export function zeroCounts(kinds: readonly MessageKind[] = MESSAGE_KINDS): Record<MessageKind, number> {
  return Object.fromEntries(kinds.map((kind) => [kind, 0])) as Record<MessageKind, number>;
}
