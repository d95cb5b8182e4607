import type { PeerId } from "../../core/peerId.ts";
import type { RandomSource } from "../../core/random.ts";
import type { SamplingOracle } from "../../sampling/samplingOracle.ts";
import type { DeliveredLog } from "../instance/deliveredLog.ts";
import type { LiveInstances } from "../instance/liveInstances.ts";
import type { OwnCommitmentIndex } from "../instance/ownCommitments.ts";
import type { Retransmissions } from "../instance/retransmissions.ts";
import type { BroadcastAction, Digest } from "../types.ts";
import { type ContagionCounters, countedSend } from "./contagionCounters.ts";
import type { ContagionInstance, OwnCommitments } from "./contagionInstance.ts";
import type { SampledLayers } from "./contagionLayers.ts";
import type { ContagionParams } from "./contagionParams.ts";
import type { Subscriptions } from "./contagionSubscriptions.ts";

export interface InstanceProgressOptions {
  readonly params: ContagionParams;
  readonly oracle: SamplingOracle;
  readonly random: RandomSource;
  readonly pullRetryMs: number;
  readonly layers: SampledLayers;
  readonly subscriptions: Subscriptions;
  readonly live: LiveInstances<ContagionInstance>;
  readonly committed: OwnCommitmentIndex<OwnCommitments>;
  readonly delivered: DeliveredLog;
  /** Every commitment starts (or keeps) its instance's re-send schedule; delivery ends it. */
  readonly retransmissions: Retransmissions;
  readonly count: ContagionCounters;
}

/**
 * The protocol steps of one instance once something changed in it (a vote, a payload, a re-weighing):
 * gossip and echo the first payload, become ready, deliver, or pull the payload a decision lacks. Each
 * commitment is queued as a `persist` before the send that announces it.
 */
export class InstanceProgress {
  private readonly options: InstanceProgressOptions;
  private readonly params: ContagionParams;
  private readonly oracle: SamplingOracle;
  private readonly committed: OwnCommitmentIndex<OwnCommitments>;
  private readonly live: LiveInstances<ContagionInstance>;
  private readonly count: ContagionCounters;

  constructor(options: InstanceProgressOptions) {
    this.options = options;
    this.params = options.params;
    this.oracle = options.oracle;
    this.committed = options.committed;
    this.live = options.live;
    this.count = options.count;
  }

  /** Moves an instance forward after anything changed in it: ready, then deliver or pull. */
  progress(inst: ContagionInstance, nowMs: number, out: BroadcastAction[]): void {
    inst.examined = true;
    // With no other member, this node's own echo and readiness are the whole system's. An open network's
    // node that knows nobody yet is not alone, only isolated: it waits.
    const alone = this.oracle.mayGrow !== true && this.oracle.size === 0;
    // Samples of a view still filling cover part of the network: no decision until they settle.
    if (this.options.layers.settled) this.decide(inst, alone, nowMs, out);
    const decided = inst.decided;
    const payload = decided === undefined ? undefined : inst.payloads.get(decided);
    if (decided !== undefined && payload !== undefined) {
      // Ready on delivery: this node drops the instance now, so it would never again tell its subscribers —
      // and D̂ READYs from D mean the digest is spreading anyway. It cannot help a digest nobody delivers.
      if (!this.isReadyFor(inst, decided)) this.commitReady(inst, decided, nowMs, out);
      this.deliver(inst, decided, payload, nowMs, out);
      return;
    }
    this.ensurePull(inst, nowMs, out);
  }

  /** Echo-delivery, contagion and delivery: the threshold decisions, on this node's current samples. */
  private decide(inst: ContagionInstance, alone: boolean, nowMs: number, out: BroadcastAction[]): void {
    const { Ehat, Rhat, Dhat } = this.params;
    const own = this.committed.get(inst.key);
    // Echo-delivery (Algorithm 8, line 44), which makes this node ready (Algorithm 9, line 33).
    const echoed = own?.echo;
    if (echoed !== undefined && !own!.ready.has(echoed) && (alone || inst.echoes.weight(echoed) >= Ehat)) {
      this.commitReady(inst, echoed, nowMs, out);
    }
    // Contagion (Algorithm 9, line 52): possibly for several digests.
    for (const digest of inst.readies.digests()) {
      if (inst.readies.readyWeight(digest) >= Rhat && !this.isReadyFor(inst, digest)) {
        this.commitReady(inst, digest, nowMs, out);
      }
    }
    // Delivery (Algorithm 9, line 58): the first digest to reach D̂ is the one, for good.
    if (inst.decided === undefined) {
      if (alone) inst.decided = echoed !== undefined && this.isReadyFor(inst, echoed) ? echoed : undefined;
      else {
        for (const digest of inst.readies.digests()) {
          if (inst.readies.deliveryWeight(digest) >= Dhat) {
            inst.decided = digest;
            break;
          }
        }
      }
    }
  }

  /**
   * Takes a valid payload into the instance. The first one this node accepts (and can echo) is its gossip
   * delivery: relayed once to the gossip neighbours but the sender, then echoed (Algorithm 6's dispatch,
   * Algorithm 8 line 31). The payload goes out first: it needs no commitment, so the echo's persist does not
   * hold it back.
   */
  acceptPayload(
    inst: ContagionInstance,
    digest: Digest,
    payload: Uint8Array,
    from: PeerId | undefined,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    this.live.acceptPayload(inst, digest, payload, nowMs);
    const echoed = this.committed.get(inst.key)?.echo;
    if (inst.first !== undefined || (echoed !== undefined && echoed !== digest)) return;
    inst.first = digest;
    const neighbours = this.options.layers.gossip.neighbours();
    countedSend(
      this.count,
      out,
      from === undefined ? neighbours : neighbours.filter((peer) => peer !== from),
      {
        kind: "gossip",
        payload,
      },
    );
    if (echoed === undefined) this.commitEcho(inst, digest, nowMs, out);
  }

  /** A payload is kept if it can be this node's first, or if it is one this node must deliver or serve. */
  wantsPayload(inst: ContagionInstance | undefined, key: string, digest: Digest): boolean {
    const own = this.committed.get(key);
    const canBeFirst = inst?.first === undefined && (own?.echo === undefined || own.echo === digest);
    return (
      canBeFirst ||
      own?.ready.has(digest) === true ||
      inst?.decided === digest ||
      inst?.pull?.digest === digest
    );
  }

  /** Asks the next candidate for the pulled payload, and sets the retry deadline. */
  askForPayload(inst: ContagionInstance, nowMs: number, out: BroadcastAction[]): void {
    const pull = inst.pull!;
    const candidates = new Set([
      ...inst.readies.votersFor(pull.digest),
      ...inst.echoes.votersFor(pull.digest),
    ]);
    const peer = pull.nextPeer([...candidates], this.options.random);
    if (peer !== undefined) {
      countedSend(this.count, out, [peer], { kind: "request", instance: inst.ref, digest: pull.digest });
    }
    pull.deadlineMs = nowMs + this.options.pullRetryMs;
  }

  /**
   * Pull the payload of the decided digest, or else of a digest this node is ready for: a ready node is a
   * candidate other pullers ask, and when readiness spread by contagion beyond the nodes that hold the
   * payload, each ready node fetching it is what guarantees every puller eventually finds it.
   */
  private ensurePull(inst: ContagionInstance, nowMs: number, out: BroadcastAction[]): void {
    let target: Digest | undefined;
    if (inst.decided !== undefined && !inst.payloads.has(inst.decided)) target = inst.decided;
    else {
      for (const digest of this.committed.get(inst.key)?.ready ?? []) {
        if (!inst.payloads.has(digest)) {
          target = digest;
          break;
        }
      }
    }
    if (target === undefined || inst.pull?.digest === target) return;
    this.live.startPull(inst, target);
    this.askForPayload(inst, nowMs, out);
  }

  private commitEcho(inst: ContagionInstance, digest: Digest, nowMs: number, out: BroadcastAction[]): void {
    this.committed.of(inst.key, inst.ref).echo = digest;
    this.options.retransmissions.schedule(inst.key, nowMs);
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "echo", digest } });
    const message = { kind: "echo", instance: inst.ref, digest } as const;
    countedSend(this.count, out, this.options.subscriptions.echo.list(), message);
  }

  private commitReady(inst: ContagionInstance, digest: Digest, nowMs: number, out: BroadcastAction[]): void {
    this.committed.of(inst.key, inst.ref).ready.add(digest);
    this.options.retransmissions.schedule(inst.key, nowMs);
    out.push({ type: "persist", commitment: { instance: inst.ref, kind: "ready", digest } });
    const message = { kind: "ready", instance: inst.ref, digest } as const;
    countedSend(this.count, out, this.options.subscriptions.ready.list(), message);
  }

  private deliver(
    inst: ContagionInstance,
    digest: Digest,
    payload: Uint8Array,
    nowMs: number,
    out: BroadcastAction[],
  ): void {
    out.push({ type: "deliver", instance: inst.ref, digest, payload });
    this.options.delivered.record(inst.key, digest, payload, nowMs);
    this.committed.delete(inst.key);
    this.options.retransmissions.cancel(inst.key, nowMs);
    this.live.drop(inst);
    this.count.delivered++;
  }

  private isReadyFor(inst: ContagionInstance, digest: Digest): boolean {
    return this.committed.get(inst.key)?.ready.has(digest) === true;
  }
}
