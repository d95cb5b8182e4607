/**
 * The vocabulary shared by every broadcast mode: the deterministic Bracha mode (`bracha.ts`) and the
 * probabilistic contagion mode (Algorithms 6–9 of the thesis, a later issue). A mode is a sans-I/O state
 * machine: the driver (the libp2p node, the simulator, a test) feeds it events and carries out the actions
 * it returns, in order. It owns no socket, clock or randomness; `nowMs` arrives on every event and
 * randomness is injected at construction.
 */

/** A member's peer id, exactly as the p2p layer spells it. */
export type PeerId = string;

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

/** A uniform float in [0, 1); seeded in tests and the simulator, crypto-backed in the node. */
export type RandomSource = () => number;

/**
 * Wire messages. Only `send` and `payload` carry payload bytes; ECHO/READY/REQUEST name the instance and
 * digest only, so their cost does not grow with the transfer size. The contagion mode adds per-node
 * subscription messages (gossip/echo/ready samples); the codec should reserve tags for them.
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
  | { readonly kind: "payload"; readonly payload: Uint8Array };

export type MessageKind = BroadcastMessage["kind"];
export const MESSAGE_KINDS: readonly MessageKind[] = ["send", "echo", "ready", "request", "payload"];

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
  | { readonly type: "tick"; readonly nowMs: number };

/** A promise the node made to the network; it must survive a crash so a restart never contradicts it. */
export interface Commitment {
  readonly instance: InstanceRef;
  readonly kind: "echo" | "ready";
  readonly digest: Digest;
}

export type SubmitOutcome =
  /** Introduced: this node echoed it and sent it to every member. */
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
 * `persist` that precedes it in the same list is durable (the simplest correct driver awaits each `persist`
 * before moving on). Sends that precede the first persist need not wait. A crash that loses an unpersisted
 * commitment is harmless because the send it guards never left; a commitment persisted but not sent is
 * re-announced by `restore`.
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
  /** The peer already opened its share of live instances without a payload. */
  | "peerQuota"
  /** The peer exceeded its payload-answer budget. */
  | "rateLimited"
  /** A `payload` message nobody here is pulling. */
  | "unsolicitedPayload"
  /** A valid payload for a digest this node neither echoed nor needs. */
  | "unneededPayload"
  /** A `request` for a payload this node does not hold. */
  | "notHeld";

export interface BroadcastCounters {
  /** Messages sent, counted per recipient. */
  readonly sent: Readonly<Record<MessageKind, number>>;
  readonly received: Readonly<Record<MessageKind, number>>;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly delivered: number;
  readonly pullsStarted: number;
  readonly pullRetries: number;
  readonly stalledEvicted: number;
}

export interface BroadcastStats {
  /** Undelivered instances holding votes and payloads. */
  readonly liveInstances: number;
  /** Live instances waiting for a payload they must deliver. */
  readonly pullingInstances: number;
  /** Undelivered instances this node committed to (live or evicted as stalled). */
  readonly committedInstances: number;
  readonly deliveredRecords: number;
}

/** The interface both modes implement; the node, the simulator and tests depend only on this. */
export interface BroadcastProtocol {
  readonly mode: "bracha" | "contagion";
  handle(event: BroadcastEvent): BroadcastAction[];
  /**
   * Reloads the commitments the driver persisted before a restart. Call once, before the first event.
   * Returns sends that re-announce them (already durable, so no `persist` precedes them).
   */
  restore(commitments: Iterable<Commitment>): BroadcastAction[];
  /** The digest this node delivered for an instance, while it is still in the bounded delivered record. */
  deliveredDigest(instance: InstanceRef): Digest | undefined;
  counters(): BroadcastCounters;
  stats(): BroadcastStats;
}
