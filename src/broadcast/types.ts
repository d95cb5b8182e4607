/**
 * The vocabulary shared by every broadcast mode: the deterministic Bracha mode (`bracha.ts`) and the
 * probabilistic contagion mode (Algorithms 6–9 of the thesis, `contagion.ts`). A mode is a sans-I/O state
 * machine: the driver (the libp2p node, the simulator, a test) feeds it events and carries out the actions
 * it returns, in order. It owns no socket, clock or randomness; `nowMs` arrives on every event and
 * randomness is injected at construction.
 */

import type { PeerId } from "../core/peerId.ts";

/** What `inspect` says a payload hashes to: the transfer id (SHA-256, lowercase hex) for real transfers. */
export type Digest = string;

/** One broadcast instance: the `seq`-th outgoing transfer of account `source` (multi-shot = one per seq). */
export interface InstanceRef {
  readonly source: string;
  readonly seq: number;
}

export interface PayloadInfo {
  readonly instance: InstanceRef;
  readonly digest: Digest;
}

/**
 * Decodes and authenticates an opaque payload (the node: transfer decode + signature check, cached by id).
 * Returns null for anything a correct node must not echo. Called on untrusted bytes; must never throw.
 */
export type InspectPayload = (payload: Uint8Array) => PayloadInfo | null;

/** The three sampled layers of the contagion mode, each with its own subscription (thesis Alg. 6, 8, 9). */
export type SubscriptionLayer = "gossip" | "echo" | "ready";
export const SUBSCRIPTION_LAYERS: readonly SubscriptionLayer[] = ["gossip", "echo", "ready"];

/**
 * Wire messages. Only `send`, `gossip` and `payload` carry payload bytes; ECHO/READY/REQUEST name the
 * instance and digest only, so their cost does not grow with the transfer size. The contagion mode adds
 * `gossip` and the per-node subscription messages; Bracha drops them (and contagion drops `send`).
 */
export type BroadcastMessage =
  /** Initial dissemination by the node that introduces a payload (a wallet submitted it there). */
  | { readonly kind: "send"; readonly payload: Uint8Array }
  /** "I saw this payload first for this instance and will never echo another." */
  | { readonly kind: "echo"; readonly instance: InstanceRef; readonly digest: Digest }
  /** "Enough of the system committed to this digest; I will never ready another." */
  | { readonly kind: "ready"; readonly instance: InstanceRef; readonly digest: Digest }
  /** Payload pull: "send me the payload that hashes to this digest". */
  | { readonly kind: "request"; readonly instance: InstanceRef; readonly digest: Digest }
  /** The answer to a `request`; accepted only if it hashes to the digest that is being pulled. */
  | { readonly kind: "payload"; readonly payload: Uint8Array }
  /** Contagion: a payload relayed once by every node to its gossip neighbours (Algorithm 6). */
  | { readonly kind: "gossip"; readonly payload: Uint8Array }
  /**
   * Contagion: "you are in my `layer` sample" — GossipSubscribe, EchoSubscribe or ReadySubscribe. One per
   * peer and layer however often the peer was drawn; the receiver adds the sender to its subscribers (for
   * gossip: to its neighbours, reciprocating the link) and replays its current state of live instances.
   */
  | { readonly kind: "subscribe"; readonly layer: SubscriptionLayer }
  /** Contagion: "you left my `layer` sample" (it was refreshed): stop sending me that layer's messages. */
  | { readonly kind: "unsubscribe"; readonly layer: SubscriptionLayer };

/** The messages that name an instance and a digest only (a node may batch them on the wire). */
export type VoteMessage = Extract<BroadcastMessage, { kind: "echo" | "ready" | "request" }>;

export type MessageKind = BroadcastMessage["kind"];
/** The kinds the Bracha mode speaks, and counts. */
export const MESSAGE_KINDS: readonly MessageKind[] = ["send", "echo", "ready", "request", "payload"];
/** The kinds the contagion mode speaks, and counts (`send` is Bracha's introduction; contagion gossips). */
export const CONTAGION_MESSAGE_KINDS: readonly MessageKind[] = [
  "gossip",
  "echo",
  "ready",
  "request",
  "payload",
  "subscribe",
  "unsubscribe",
];

export type BroadcastEvent =
  /** A wallet handed this node a payload to introduce. */
  | { readonly type: "submit"; readonly payload: Uint8Array; readonly nowMs: number }
  | {
      readonly type: "message";
      readonly from: PeerId;
      readonly message: BroadcastMessage;
      readonly nowMs: number;
    }
  /** Timer: drives payload-pull retries and stalled-instance eviction. A period of ~pullRetryMs/4 is plenty. */
  | { readonly type: "tick"; readonly nowMs: number }
  /**
   * The driver is ready to send (after `restore`, once the transport is up). Contagion draws its samples and
   * subscribes to the sampled peers; it also starts by itself on its first other event. Bracha ignores it.
   */
  | { readonly type: "start"; readonly nowMs: number }
  /**
   * The transport lost every connection to `peer`. Contagion replaces the peer in its samples if it stays
   * down for a grace period (a fresh draw, a new subscription); Bracha ignores it.
   */
  | { readonly type: "peerDown"; readonly peer: PeerId; readonly nowMs: number }
  /**
   * The transport (re)connected to `peer`. Contagion cancels a pending replacement and, if the peer is still
   * sampled, subscribes again: a peer that restarted forgot its subscribers. Bracha ignores it.
   */
  | { readonly type: "peerUp"; readonly peer: PeerId; readonly nowMs: number };

/** A promise the node made to the network; it must survive a crash so a restart never contradicts it. */
export interface Commitment {
  readonly instance: InstanceRef;
  readonly kind: "echo" | "ready";
  readonly digest: Digest;
}

export type SubmitOutcome =
  /** Introduced: this node echoed it and sent it to every member (contagion: to its gossip neighbours). */
  | "accepted"
  /** This node already echoed exactly this payload for the instance. */
  | "duplicate"
  /** The instance is already delivered (by this digest or another; see `deliveredDigest`). */
  | "delivered"
  /** This node already echoed a different payload for the instance: a double spend. */
  | "conflict"
  /** `inspect` rejected the payload. */
  | "invalid"
  /** The live-instance table is full; retry later. */
  | "full";

/**
 * Actions, to be carried out in list order. Ordering contract: a `send` may be transmitted only after every
 * `persist` handed out before it — in its own list or an earlier one — is durable (a later list may replay a
 * commitment whose persist is still being written, e.g. to a new subscriber). `actionDriver.ts` is the one
 * driver that keeps this contract. A crash that loses an unpersisted commitment is harmless because the send it
 * guards never left; a commitment persisted but not sent is re-announced by `restore`.
 */
export type BroadcastAction =
  | { readonly type: "persist"; readonly commitment: Commitment }
  | { readonly type: "send"; readonly to: readonly PeerId[]; readonly message: BroadcastMessage }
  /** Exactly once per instance. Source order per account is the ledger's job (it buffers by seq). */
  | {
      readonly type: "deliver";
      readonly instance: InstanceRef;
      readonly digest: Digest;
      readonly payload: Uint8Array;
    }
  /** The answer to a `submit` event. */
  | {
      readonly type: "submitResult";
      readonly outcome: SubmitOutcome;
      readonly instance?: InstanceRef;
      readonly digest?: Digest;
    }
  /**
   * A peer pulls a payload this node delivered so long ago that it no longer keeps the bytes in memory: the
   * driver should look it up in its store (the ledger) and, if found, send `{kind: "payload"}` to `to`.
   * Already rate-limited per peer by the state machine.
   */
  | {
      readonly type: "serveFromStore";
      readonly to: PeerId;
      readonly instance: InstanceRef;
      readonly digest: Digest;
    };

/** Why an incoming message or submission was ignored; each reason is a counter. */
export type DropReason =
  /** ECHO/READY/anything from a peer outside the member list. */
  | "nonMember"
  /** Contagion: an ECHO or READY from a peer outside the sample it would count in. */
  | "notSampled"
  /** Contagion: a subscription beyond the layer's subscriber cap. */
  | "subscribersFull"
  /** Structurally invalid instance or digest. */
  | "malformed"
  /** `inspect` returned null. */
  | "invalidPayload"
  /** The peer already voted (ECHO or READY) in this instance; only its first digest counts. */
  | "duplicateVote"
  /** The instance is already delivered or settled. */
  | "settled"
  /** The live-instance table is full. */
  | "liveFull"
  /** The peer already opened (by votes) or introduced (by payloads) its share of live instances. */
  | "peerQuota"
  /** The payload's source account already has its share of live instances. */
  | "accountQuota"
  /** The peer exceeded its payload-answer budget. */
  | "rateLimited"
  /** A `payload` message nobody here is pulling. */
  | "unsolicitedPayload"
  /** A valid payload for a digest this node neither echoed nor needs. */
  | "unneededPayload"
  /** A `request` for a payload this node does not hold. */
  | "notHeld";

/** Each mode reports the message kinds it speaks and the drop reasons that apply to it. */
export interface BroadcastCounters {
  /** Messages sent, counted per recipient. */
  readonly sent: Readonly<Partial<Record<MessageKind, number>>>;
  readonly received: Readonly<Partial<Record<MessageKind, number>>>;
  readonly dropped: Readonly<Partial<Record<DropReason, number>>>;
  readonly delivered: number;
  readonly pullsStarted: number;
  readonly pullRetries: number;
  readonly stalledEvicted: number;
  /** Re-sends of an undelivered instance's commitments (retransmission, docs/broadcast.md). */
  readonly retransmissions: number;
  /** Answers to a late or repeated vote, SEND, gossip or request from a peer that fell behind. */
  readonly lateAnswers: number;
  /** Contagion: sampled peers replaced by a fresh draw (down past the grace period, or scheduled refresh). */
  readonly samplesReplaced?: number;
  /** Contagion: unsubscribes sent to members whose messages of a layer this node does not sample them in. */
  readonly staleSendersTold?: number;
}

export interface BroadcastStats {
  /** Undelivered instances holding votes and payloads. */
  readonly liveInstances: number;
  /** Live instances waiting for a payload they must deliver. */
  readonly pullingInstances: number;
  /** Undelivered instances this node committed to (live or evicted as stalled). */
  readonly committedInstances: number;
  readonly deliveredRecords: number;
  /** Contagion: distinct peers per layer that this node samples, and that subscribed to it. */
  readonly sampledPeers?: Readonly<Record<SubscriptionLayer, number>>;
  /**
   * Contagion: the largest share of a sample's draws held by departed peers (down, or whose record expired
   * after they were reached). Past an eighth, the samples are held as they are (docs/broadcast.md, "Refresh").
   */
  readonly departedShare?: number;
  readonly subscribers?: Readonly<Record<SubscriptionLayer, number>>;
}

/** The interface both modes implement; the node, the simulator and tests depend only on this. */
export interface BroadcastProtocol {
  readonly mode: "bracha" | "contagion";
  handle(event: BroadcastEvent): BroadcastAction[];
  /**
   * Reloads the commitments the driver persisted before a restart. Call once, before the first event.
   * Returns sends that re-announce them (already durable, so no `persist` precedes them). Contagion returns
   * none: it learns its subscribers again as they re-subscribe, and replays the commitments to each.
   */
  restore(commitments: Iterable<Commitment>): BroadcastAction[];
  /** The digest this node delivered for an instance, while it is still in the bounded delivered record. */
  deliveredDigest(instance: InstanceRef): Digest | undefined;
  /**
   * Whether an undelivered instance already holds this payload: another copy of it (gossip brings one from
   * each neighbour) would change nothing, so the driver may skip its own checks of the copy.
   */
  holdsPayload(instance: InstanceRef, digest: Digest): boolean;
  /**
   * Whether a payload with this digest, were it valid, would be taken for the instance: false for a twin once
   * this node holds or echoed another payload for it, unless this node is ready for, decided or is pulling this
   * digest (the broadcast drops such a payload, `unneededPayload`). The driver may drop one unchecked.
   */
  wantsPayload(instance: InstanceRef, digest: Digest): boolean;
  /**
   * Whether the peers `isUp` reports reachable are enough for this node's own broadcasts to complete: each
   * threshold this node must reach to deliver (Bracha's echo and delivery quorums; contagion's Ê in its echo
   * sample and D̂ in its delivery sample, by multiplicity) can be met by them. A readiness probe, not a
   * guarantee: reachable peers may still be Byzantine.
   */
  quorumsReachable(isUp: (peer: PeerId) => boolean): boolean;
  /** The distinct peers of each sample this node draws now (sampled modes only). */
  samplePeers?(): BroadcastSamples;
  /** False while this node takes no decision because its samples' view is still filling (open networks). */
  samplesSettled?(): boolean;
  counters(): BroadcastCounters;
  stats(): BroadcastStats;
}

/** Distinct peers per layer of a sampled broadcast: gossip neighbours drawn, echo, ready and delivery samples. */
export interface BroadcastSamples {
  readonly gossip: readonly PeerId[];
  readonly echo: readonly PeerId[];
  readonly ready: readonly PeerId[];
  readonly delivery: readonly PeerId[];
}
