import type { Digest, InstanceRef } from "../broadcast/types.ts";
import type { RandomSource } from "../core/random.ts";
import { randomIndex } from "../sampling/randomDraw.ts";
import type { AttackContext } from "./adversaryNetwork.ts";
import { seededRandom, shuffled } from "./prng.ts";
import { syntheticDigest, syntheticPayload } from "./syntheticPayload.ts";

/**
 * How much later than its own side's READYs a node hears those of the other side, in mean latencies: long
 * enough for each side to settle on its own readiness first (the outcomes stop changing beyond ~5).
 */
const CROSS_SIDE_DELAY_HOPS = 20;
/** Feeding paces itself to reach every correct node within about this many mean latencies. */
const FEED_STEPS = 200;

/** Which payload a correct node was fed: m, m′, or none yet. */
const M = 0;
const M_PRIME = 1;
const UNFED = -1;
type Side = typeof M | typeof M_PRIME;

/**
 * One broadcast with an equivocating source: the optimal adversary against consistency of thesis §4.4.3,
 * with the schedule and the Byzantine votes the consistency bound allows it (docs/analysis.md §3.2–3.4).
 *
 * 1. Feed m to random correct nodes, a few per mean latency, each with the ECHOs for m of the Byzantine
 *    nodes it sampled, until the first correct node becomes *ready* for m, i.e. echo-delivers it: nobody can
 *    be ready sooner, no READY for m exists yet. The adversary sees that READY go out.
 * 2. Then, at once: feed m′ to every correct node not fed yet, with the Byzantine ECHOs and READYs for m′ it
 *    counts, and send the Byzantine READYs for m to the nodes fed m. Every correct node hears Byzantine
 *    votes only for the payload it was fed.
 * 3. Schedule: correct nodes' gossip relays of the instance are never delivered (otherwise m reaches
 *    everyone within a few hops and there is nothing to split; a legal schedule, as a delay past the end of
 *    the run, and nobody lacks a payload for it: every node is fed one and pulls any other it needs), and
 *    every READY for the other side's digest is delayed by CROSS_SIDE_DELAY_HOPS. Each node hears its own
 *    side's readiness first, so it delivers its side's digest whenever that one reaches D̂ in its delivery
 *    sample at all: which of two digests a node delivers is the scheduler's choice (thesis §4.5.3). The
 *    delays are finite, so every READY arrives and totality is judged fairly.
 *
 * The consistency bound covers every such strategy: it looks at no correct node's samples, only at which
 * nodes subscribed to Byzantine nodes, and at messages in flight. Bracha gets the same attack with SENDs
 * instead of gossip (and has no relays to withhold).
 */
export class Equivocation {
  private readonly instance: InstanceRef;
  private readonly context: AttackContext;
  private readonly token: number;
  private readonly digests: readonly [Digest, Digest];
  private readonly payloads: readonly [Uint8Array, Uint8Array];
  private readonly random: RandomSource;
  /** Per node index: M, M_PRIME or UNFED. */
  private readonly fed: Int8Array;
  private readonly unfed: number[];
  private readonly perStep: number;
  /** Whether the first correct node became ready for m, and m′ went out. */
  private switchedToSecond = false;
  private fedM = 0;

  constructor(context: AttackContext, instance: InstanceRef, source: number, token: number) {
    const { network } = context;
    this.context = context;
    this.instance = instance;
    this.token = token;
    this.digests = [syntheticDigest(source, instance.seq, M), syntheticDigest(source, instance.seq, M_PRIME)];
    this.payloads = [
      syntheticPayload(source, instance.seq, M, network.payloadBytes),
      syntheticPayload(source, instance.seq, M_PRIME, network.payloadBytes),
    ];
    // Its own stream, a function of the run's seed and the instance: the choices of the attack on one
    // broadcast do not depend on which other broadcasts are simulated with it.
    this.random = seededRandom(
      (Math.imul(network.seed ^ 0x5bd1e995, 0x9e3779b1) ^
        Math.imul(source + 1, 0x85ebca6b) ^
        Math.imul(instance.seq, 0xc2b2ae35)) >>>
        0,
    );
    this.fed = new Int8Array(network.correct.length + network.byzantine.length).fill(UNFED);
    this.unfed = shuffled(network.correct, this.random);
    this.perStep = Math.max(1, Math.ceil(network.correct.length / FEED_STEPS));
  }

  get switched(): boolean {
    return this.switchedToSecond;
  }

  /** Correct nodes fed m. */
  get fedWithM(): number {
    return this.fedM;
  }

  start(): void {
    this.wake();
  }

  /** Phase 1: the next few nodes get m, and the timer is set for the ones after. */
  wake(): void {
    if (this.switchedToSecond) return;
    for (let i = 0; i < this.perStep && this.unfed.length > 0; i++) this.feed(this.unfed.pop()!, M);
    if (this.unfed.length > 0) this.context.network.wakeAfter(this.context.network.meanLatencyMs, this.token);
  }

  /**
   * A correct node sends a READY for `digest` to `to`: how long to hold it back. The first READY for m is
   * the signal to switch.
   */
  holdReadyMs(to: number, digest: Digest): number {
    if (!this.switchedToSecond) {
      if (digest !== this.digests[M]) return 0;
      this.switchToSecond();
    }
    const side = this.fed[to]!;
    if (side === UNFED || digest === this.digests[side]) return 0;
    return CROSS_SIDE_DELAY_HOPS * this.context.network.meanLatencyMs;
  }

  /** Phase 2. */
  private switchToSecond(): void {
    const { network } = this.context;
    this.switchedToSecond = true;
    for (const target of network.correct) if (this.fed[target] === M) this.backWithReadies(target, M);
    for (const target of this.unfed.splice(0)) {
      this.feed(target, M_PRIME);
      this.backWithReadies(target, M_PRIME);
    }
  }

  /** Hands `target` one payload from a random Byzantine node, with the Byzantine ECHOs it counts. */
  private feed(target: number, side: Side): void {
    const { network, send, reaches } = this.context;
    this.fed[target] = side;
    if (side === M) this.fedM++;
    const payload = this.payloads[side];
    const introducer = network.byzantine[randomIndex(this.random, network.byzantine.length)]!;
    send(
      introducer,
      target,
      network.protocol === "bracha" ? { kind: "send", payload } : { kind: "gossip", payload },
    );
    for (const byzantine of network.byzantine) {
      if (reaches(byzantine, target, "echo")) {
        send(byzantine, target, { kind: "echo", instance: this.instance, digest: this.digests[side] });
      }
    }
  }

  private backWithReadies(target: number, side: Side): void {
    const { network, send, reaches } = this.context;
    for (const byzantine of network.byzantine) {
      if (reaches(byzantine, target, "ready")) {
        send(byzantine, target, { kind: "ready", instance: this.instance, digest: this.digests[side] });
      }
    }
  }
}
