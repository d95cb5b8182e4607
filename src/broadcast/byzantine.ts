/**
 * TESTING ONLY: byzantine behaviours a devnet node can be told to adopt (`tally devnet up --byzantine K
 * --strategy NAME`), so testers can watch correct nodes stay consistent. A decorator over any
 * `BroadcastProtocol`: sans-I/O like the modes it wraps, randomness injected.
 *
 * - `silent`: takes part in nothing — every outgoing message is dropped (it still applies what it
 *   delivers, so its API keeps answering).
 * - `forge`: behaves correctly, and for every instance it hears about also sends ECHO and READY for a
 *   random digest nobody has a payload for.
 * - `equivocate`: when handed two conflicting transfers for one (account, seq) — a tester submits both
 *   to this node — relays and echoes the first to one half of the members and the second to the other.
 */

import type { PeerId } from "../core/peerId.ts";
import type { RandomSource } from "../core/random.ts";
import type {
  BroadcastAction,
  BroadcastCounters,
  BroadcastEvent,
  BroadcastMessage,
  BroadcastProtocol,
  BroadcastStats,
  Commitment,
  Digest,
  InspectPayload,
  InstanceRef,
} from "./types.ts";

export const BYZANTINE_STRATEGIES = ["silent", "forge", "equivocate"] as const;
export type ByzantineStrategy = (typeof BYZANTINE_STRATEGIES)[number];

export function isByzantineStrategy(value: string): value is ByzantineStrategy {
  return (BYZANTINE_STRATEGIES as readonly string[]).includes(value);
}

export interface ByzantineOptions {
  readonly strategy: ByzantineStrategy;
  readonly self: PeerId;
  readonly members: readonly PeerId[];
  readonly inspect: InspectPayload;
  readonly random: RandomSource;
  /** Instances remembered (to forge or equivocate once each); oldest forgotten first. */
  readonly maxTrackedInstances?: number;
}

export class ByzantineBroadcast implements BroadcastProtocol {
  readonly mode: BroadcastProtocol["mode"];
  private readonly inner: BroadcastProtocol;
  private readonly options: ByzantineOptions;
  private readonly others: readonly PeerId[];
  private readonly halves: readonly [readonly PeerId[], readonly PeerId[]];
  private readonly maxTracked: number;
  /** Instance key → digest of the first payload submitted here (equivocate) or `true` (forge). */
  private readonly tracked = new Map<string, Digest | true>();

  constructor(inner: BroadcastProtocol, options: ByzantineOptions) {
    this.inner = inner;
    this.mode = inner.mode;
    this.options = options;
    this.others = options.members.filter((m) => m !== options.self);
    const middle = Math.ceil(this.others.length / 2);
    this.halves = [this.others.slice(0, middle), this.others.slice(middle)];
    this.maxTracked = options.maxTrackedInstances ?? 10_000;
  }

  handle(event: BroadcastEvent): BroadcastAction[] {
    switch (this.options.strategy) {
      case "silent":
        return this.inner.handle(event).filter((a) => a.type !== "send" && a.type !== "serveFromStore");
      case "forge":
        return [...this.inner.handle(event), ...this.forgeFor(event)];
      case "equivocate":
        return this.equivocate(event);
    }
  }

  restore(commitments: Iterable<Commitment>): BroadcastAction[] {
    return this.inner.restore(commitments);
  }
  deliveredDigest(instance: InstanceRef): Digest | undefined {
    return this.inner.deliveredDigest(instance);
  }
  holdsPayload(instance: InstanceRef, digest: Digest): boolean {
    return this.inner.holdsPayload(instance, digest);
  }
  wantsPayload(instance: InstanceRef, digest: Digest): boolean {
    return this.inner.wantsPayload(instance, digest);
  }

  quorumsReachable(isUp: (peer: PeerId) => boolean): boolean {
    return this.inner.quorumsReachable(isUp);
  }
  samplesSettled(): boolean {
    return this.inner.samplesSettled?.() ?? true;
  }

  counters(): BroadcastCounters {
    return this.inner.counters();
  }
  stats(): BroadcastStats {
    return this.inner.stats();
  }

  private forgeFor(event: BroadcastEvent): BroadcastAction[] {
    if (event.type !== "message") return [];
    const instance = instanceOf(event.message, this.options.inspect);
    if (instance === undefined || !this.track(instanceKey(instance), true)) return [];
    const digest = this.randomDigest();
    return [
      { type: "send", to: this.others, message: { kind: "echo", instance, digest } },
      { type: "send", to: this.others, message: { kind: "ready", instance, digest } },
    ];
  }

  private equivocate(event: BroadcastEvent): BroadcastAction[] {
    if (event.type !== "submit") return this.inner.handle(event);
    const info = this.options.inspect(event.payload);
    if (info === null) return this.inner.handle(event);
    const key = instanceKey(info.instance);
    const first = this.tracked.get(key);
    if (first === undefined || first === info.digest) {
      this.track(key, info.digest);
      // The first twin goes only to the first half: every member of it gets the payload directly.
      const [halfA] = this.halves;
      const actions = this.inner
        .handle(event)
        .map((a) => (a.type === "send" ? { ...a, to: a.to.filter((p) => halfA.includes(p)) } : a));
      return [{ type: "send", to: halfA, message: this.payloadMessage(event.payload) }, ...actions];
    }
    // The second twin goes to the other half, with this node's (second) echo and ready for it.
    const [, halfB] = this.halves;
    const { instance, digest } = info;
    return [
      { type: "send", to: halfB, message: this.payloadMessage(event.payload) },
      { type: "send", to: halfB, message: { kind: "echo", instance, digest } },
      { type: "send", to: halfB, message: { kind: "ready", instance, digest } },
      { type: "submitResult", outcome: "accepted", instance, digest },
    ];
  }

  /** Bracha introduces a payload with SEND; contagion only accepts payloads by gossip. */
  private payloadMessage(payload: Uint8Array): BroadcastMessage {
    return this.mode === "contagion" ? { kind: "gossip", payload } : { kind: "send", payload };
  }

  /** Remembers an instance; false if it was already tracked. */
  private track(key: string, value: Digest | true): boolean {
    if (this.tracked.has(key)) return false;
    if (this.tracked.size >= this.maxTracked) this.tracked.delete(this.tracked.keys().next().value!);
    this.tracked.set(key, value);
    return true;
  }

  private randomDigest(): Digest {
    let hex = "";
    for (let i = 0; i < 8; i++)
      hex += Math.floor(this.options.random() * 2 ** 32)
        .toString(16)
        .padStart(8, "0");
    return hex;
  }
}

function instanceOf(message: BroadcastMessage, inspect: InspectPayload): InstanceRef | undefined {
  if ("instance" in message) return message.instance;
  if ("payload" in message) return inspect(message.payload)?.instance;
  return undefined;
}

function instanceKey(instance: InstanceRef): string {
  return `${instance.source}:${instance.seq}`;
}
