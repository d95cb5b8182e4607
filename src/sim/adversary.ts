import { instanceKey } from "../broadcast/instance/instanceId.ts";
import {
  type BroadcastMessage,
  type InstanceRef,
  type MessageKind,
  SUBSCRIPTION_LAYERS,
  type SubscriptionLayer,
} from "../broadcast/types.ts";
import type { Adversary, AdversaryNetwork, AttackContext, AttackReport } from "./adversaryNetwork.ts";
import { Equivocation } from "./equivocation.ts";
import {
  inspectSyntheticPayload,
  syntheticDigest,
  syntheticPayload,
  syntheticSourceNumber,
} from "./syntheticPayload.ts";

/** The variant of a synthetic payload nobody ever builds: `ready-flood` votes for its digest. */
const BOGUS_VARIANT = 0xbad;

/**
 * The Byzantine nodes of a simulation, run by one adversary (thesis §4.2: coordinated, controls the
 * schedule, never sees a correct node's randomness). It learns from the simulator only what such an
 * adversary can: messages sent to its own nodes (which correct nodes subscribed to them, in which layer), and
 * every message in flight, since it schedules the network. Strategies:
 *
 * - `silent`: Byzantine nodes never answer anything.
 * - `equivocate`: a Byzantine source hands out two payloads m and m′ of one instance (equivocation.ts).
 * - `ready-flood`: as each broadcast is introduced, every Byzantine node sends an ECHO and a READY for one
 *   digest nobody holds a payload for to every correct node that counts its votes — its subscribers under
 *   contagion, everyone under Bracha. Unprompted: Byzantine nodes subscribe to nobody, so under contagion
 *   no vote ever reaches them to react to. All Byzantine nodes push the same digest, so it weighs their
 *   whole share of every sample.
 * - `subscribe-first`: at the start, before any correct node's subscription lands, every Byzantine node
 *   subscribes to every correct node in every layer (gossip, echo, ready) — the schedule holds the correct
 *   nodes' own subscriptions back until the last Byzantine one has arrived. Otherwise silent: a subscriber
 *   that takes a slot and never votes is what crowding costs the correct nodes most. Under contagion it makes
 *   each correct node send every relay, ECHO and READY to the Byzantine nodes too.
 *
 * Under `equivocate` and `ready-flood` Byzantine nodes also answer payload pulls (with the payload asked
 * for), so a correct node that needs a payload is never starved by them alone.
 */
export class ByzantineAdversary {
  private readonly strategy: Adversary;
  private readonly network: AdversaryNetwork;
  /** Per layer, per Byzantine node: the correct nodes that subscribed to it. */
  private readonly subscribers = {
    echo: new Map<number, Set<number>>(),
    ready: new Map<number, Set<number>>(),
  };
  private readonly sent: Partial<Record<MessageKind, number>> = {};
  private readonly context: AttackContext;
  /** Equivocated instances: by key, by the simulator's timer token, and by the ref objects correct nodes send. */
  private readonly attacks = new Map<string, Equivocation>();
  private readonly attacksByToken = new Map<number, Equivocation>();
  private readonly attackOfRef = new WeakMap<InstanceRef, Equivocation | null>();
  private relaysWithheld = 0;
  private readiesDelayed = 0;
  /** Under `subscribe-first`: when the last Byzantine subscription lands; correct ones are held until then. */
  private subscriptionsLandAt = 0;
  private subscriptionsHeld = 0;

  constructor(strategy: Adversary, network: AdversaryNetwork) {
    this.strategy = strategy;
    this.network = network;
    this.context = {
      network,
      send: (from, to, message) => this.send(from, to, message),
      reaches: (byzantine, target, layer) =>
        network.protocol === "bracha" || this.subscribers[layer].get(byzantine)?.has(target) === true,
    };
  }

  /** Whether broadcasts may get a Byzantine source: the strategy equivocates and has nodes to do it with. */
  get equivocates(): boolean {
    return this.strategy === "equivocate" && this.network.byzantine.length > 0;
  }

  /**
   * Whether messages to Byzantine nodes must reach `receive` at all: not when the strategy ignores every one
   * of them (the simulator then counts them as sent and drops them — millions per broadcast under
   * `subscribe-first` at N = 10,000).
   */
  get listens(): boolean {
    return this.strategy !== "subscribe-first";
  }

  /** The run begins: called before any correct node starts (and subscribes). */
  begin(): void {
    if (this.strategy !== "subscribe-first" || this.network.protocol !== "contagion") return;
    for (const layer of SUBSCRIPTION_LAYERS) {
      // One message object per layer, shared by every send (the simulator queues references).
      const message: BroadcastMessage = { kind: "subscribe", layer };
      for (const byzantine of this.network.byzantine) {
        for (const target of this.network.correct) {
          const landsAt = this.send(byzantine, target, message);
          if (landsAt > this.subscriptionsLandAt) this.subscriptionsLandAt = landsAt;
        }
      }
    }
  }

  /** A broadcast with a correct source was just introduced. */
  introduced(instance: InstanceRef, source: number): void {
    if (this.strategy !== "ready-flood") return;
    const digest = syntheticDigest(source, instance.seq, BOGUS_VARIANT);
    for (const byzantine of this.network.byzantine) {
      for (const layer of ["echo", "ready"] as const) {
        for (const target of this.countingNodes(byzantine, layer)) {
          this.send(byzantine, target, { kind: layer, instance, digest });
        }
      }
    }
  }

  /** A broadcast with a Byzantine source: the attack starts now; `token` names its timer. */
  equivocate(instance: InstanceRef, source: number, token: number): void {
    const attack = new Equivocation(this.context, instance, source, token);
    this.attacks.set(instanceKey(instance), attack);
    this.attacksByToken.set(token, attack);
    attack.start();
  }

  /** An attack's timer fired. */
  wake(token: number): void {
    this.attacksByToken.get(token)?.wake();
  }

  /**
   * The schedule: how long past its latency a message a correct node sends to `to` is held back, Infinity
   * for never. Held: gossip relays of equivocated instances, for good, and READYs for the other side's
   * digest of an equivocated instance (equivocation.ts). Everything else flows as the latency model says.
   */
  holdMs(to: number, message: BroadcastMessage): number {
    if (message.kind === "subscribe" && this.network.now() < this.subscriptionsLandAt) {
      this.subscriptionsHeld++;
      return this.subscriptionsLandAt - this.network.now();
    }
    if (this.attacks.size === 0) return 0;
    if (message.kind === "gossip") {
      const info = inspectSyntheticPayload(message.payload);
      if (info === null || !this.attacks.has(instanceKey(info.instance))) return 0;
      this.relaysWithheld++;
      return Number.POSITIVE_INFINITY;
    }
    if (message.kind !== "ready") return 0;
    const attack = this.attackOf(message.instance);
    if (attack === undefined) return 0;
    const held = attack.holdReadyMs(to, message.digest);
    if (held > 0) this.readiesDelayed++;
    return held;
  }

  /** A message reached Byzantine node `self`. */
  receive(self: number, from: number, message: BroadcastMessage): void {
    if (this.strategy === "silent" || this.strategy === "subscribe-first") return;
    if (message.kind === "subscribe" || message.kind === "unsubscribe") {
      this.track(self, from, message.layer, message.kind === "subscribe");
      return;
    }
    if (message.kind !== "request") return;
    const source = syntheticSourceNumber(message.instance);
    if (source === undefined) return;
    for (const variant of [0, 1]) {
      if (syntheticDigest(source, message.instance.seq, variant) === message.digest) {
        const payload = syntheticPayload(source, message.instance.seq, variant, this.network.payloadBytes);
        this.send(self, from, { kind: "payload", payload });
      }
    }
  }

  report(): AttackReport {
    const attacks = [...this.attacks.values()];
    const switched = attacks.filter((attack) => attack.switched);
    return {
      byzantineMessages: { ...this.sent },
      equivocations: attacks.length,
      switches: switched.length,
      fedBeforeSwitch: switched.reduce((sum, a) => sum + a.fedWithM, 0) / Math.max(1, switched.length),
      relaysWithheld: this.relaysWithheld,
      readiesDelayed: this.readiesDelayed,
      subscriptionsHeld: this.subscriptionsHeld,
    };
  }

  private send(from: number, to: number, message: BroadcastMessage): number {
    this.sent[message.kind] = (this.sent[message.kind] ?? 0) + 1;
    return this.network.send(from, to, message);
  }

  private track(self: number, from: number, layer: SubscriptionLayer, subscribed: boolean): void {
    if (layer === "gossip") return;
    let set = this.subscribers[layer].get(self);
    if (set === undefined) {
      set = new Set();
      this.subscribers[layer].set(self, set);
    }
    if (subscribed) set.add(from);
    else set.delete(from);
  }

  /** The correct nodes that count `byzantine`'s ECHOs (or READYs). */
  private countingNodes(byzantine: number, layer: "echo" | "ready"): Iterable<number> {
    if (this.network.protocol === "bracha") return this.network.correct;
    return this.subscribers[layer].get(byzantine) ?? [];
  }

  /** Correct nodes reuse one ref object per instance for all their sends: look each up once. */
  private attackOf(instance: InstanceRef): Equivocation | undefined {
    let attack = this.attackOfRef.get(instance);
    if (attack === undefined) {
      attack = this.attacks.get(instanceKey(instance)) ?? null;
      this.attackOfRef.set(instance, attack);
    }
    return attack ?? undefined;
  }
}
