import { instanceRef } from "../../broadcast/instance/instanceId.ts";
import type { InspectPayload, PayloadInfo } from "../../broadcast/types.ts";
import { BoundedCache } from "../../core/boundedCache.ts";
import { ErrorCode } from "../../core/errors.ts";
import { decodeTransfer, type EncodedTransfer } from "../../core/transfer.ts";
import type { Authorizer } from "../../ledger/authorization.ts";

/** Payloads in flight at once are far fewer: the live-instance caps of the broadcast modes are 10,000. */
export const INSPECT_CACHE_ENTRIES = 10_000;

/**
 * Why the node drops an introduction whatever its signature (`PeerPayloadChecks.dropsUnchecked`): echo
 * admission refuses it on every correct node (`"refused"`); the broadcast took another payload for its
 * instance and would drop this twin (`"unneeded"`); or it would be parked and the node holds it parked
 * already (`"parkedAlready"`) or has no room to park it (`"unparkable"`).
 */
export type UncheckedDrop = "refused" | "unneeded" | "parkedAlready" | "unparkable";

/**
 * What a peer's payload is to this node before the broadcast sees it (`judgePeerPayload`): a valid transfer's
 * verdict; `"settled"`, for the slot this node has already resolved or holds, whatever the signature; an
 * `UncheckedDrop` the caller gave; `"forged"`, a signature that does not verify, which no correct node
 * relays; `"invalid"`, anything else a correct node must not echo (undecodable, another network, an
 * authorization this version does not know).
 */
export type PeerPayloadVerdict = PayloadInfo | "settled" | UncheckedDrop | "forged" | "invalid";

/** What `judgePeerPayload` asks the node before checking a signature. */
export interface PeerPayloadChecks {
  /** The ledger has resolved (source, seq), or holds a transfer for it. */
  readonly slotTaken: (source: string, seq: number) => boolean;
  /** For an introduction (SEND, gossip): why the node would drop it whatever its signature, if it would. */
  readonly dropsUnchecked?: (encoded: EncodedTransfer) => UncheckedDrop | undefined;
}

/**
 * A payload judged valid: the verdict the broadcast reads (this record is the `PayloadInfo` it gets), the bytes
 * that confirm a later payload with the same key is the same payload, and the decoded transfer until delivery
 * takes it. One record and one table entry per payload.
 */
interface Judged extends PayloadInfo {
  readonly payload: Uint8Array;
  /** Taken at delivery: afterwards only the verdict is kept, for copies that arrive late. */
  encoded: EncodedTransfer | undefined;
}

/**
 * The table's key: 30 bits of the payload's last four bytes, which belong to its signature (or a shared
 * account's certificate, which ends with one) — random-looking to anyone who cannot sign for the account. A
 * small integer key is hashed and compared without building a string of the payload (a latin1 key of a
 * 170-byte payload cost ≈ 0.5 µs per lookup, this ≈ 0.2 µs with the byte comparison). The table holds the
 * payload itself (a peer message's own copy, or a submission's encoding), not a string copy of it. A hit still
 * compares every byte, so a key collision, by chance or by grinding one's own signatures, is a miss and never
 * another payload's verdict.
 */
function verdictKey(payload: Uint8Array): number {
  const n = payload.length;
  if (n < 4) return n;
  return (
    ((payload[n - 4]! << 22) ^ (payload[n - 3]! << 14) ^ (payload[n - 2]! << 6) ^ payload[n - 1]!) &
    0x3fff_ffff
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.length === b.length && Buffer.compare(a, b) === 0);
}

/**
 * The broadcast's validity check for transfers: decodable, this network, authorized by the source. Gossip
 * brings each payload from several neighbours, so the exact bytes already judged valid are recognised by one
 * hash-map lookup instead of being decoded again; a payload inspected on arrival is not decoded again on
 * delivery either, and a wallet's submission, decoded and checked by the node already, is not decoded again
 * when the broadcast inspects its encoding. The table is bounded (oldest evicted).
 */
export class PayloadInspector {
  private readonly network: string;
  private readonly authorizer: Authorizer;
  private readonly judged: BoundedCache<number, Judged>;
  /**
   * The last payload judged, by identity: the node inspects a peer's payload before admission, then the
   * broadcast inspects the same object again — the second look costs no key building. Payload bytes are never
   * mutated once received (the channel layer hands each message its own copy).
   */
  private last: Judged | undefined;

  /** `cacheEntries`: payloads remembered as judged valid (tests turn the table over with fewer). */
  constructor(network: string, authorizer: Authorizer, cacheEntries = INSPECT_CACHE_ENTRIES) {
    this.network = network;
    this.authorizer = authorizer;
    this.judged = new BoundedCache(cacheEntries);
  }

  /** Never throws: null for anything a correct node must not echo. */
  readonly inspect: InspectPayload = (payload) => {
    const verdict = this.judge(payload, undefined);
    return typeof verdict === "string" ? null : verdict;
  };

  /**
   * `inspect` for a payload a peer sent, before the broadcast sees it, with the answers the node acts on. A
   * payload for a slot this node has resolved or holds, and an introduction the node would drop anyway, cost
   * no signature check: replaying old transfers, which anyone may copy, sending transfers from fresh unfunded
   * keys, or signing one's own for seqs far ahead, would otherwise cost this node one check each (≈ 50 µs)
   * and leave nothing to blame the sender for.
   * A signature that does not verify is `"forged"`, for the node to score its sender. A payload judged valid
   * before answers as before, from the table.
   */
  judgePeerPayload(payload: Uint8Array, checks: PeerPayloadChecks): PeerPayloadVerdict {
    return this.judge(payload, checks);
  }

  /** The payload as a transfer if `inspect` judges it valid (decodable, this network, authorized), else null. */
  decodeValid(payload: Uint8Array): EncodedTransfer | null {
    const judged = this.judge(payload, undefined);
    if (typeof judged === "string") return null;
    return judged.encoded ?? decodeTransfer(payload);
  }

  /**
   * Records a transfer the node decoded and checked itself (a wallet's submission) as judged, so the
   * broadcast's `inspect` of its encoding finds it without decoding it again. Checked here all the same:
   * another network's transfer or a bad signature is not recorded (the authorizer remembers what it verified,
   * so a submission costs no second signature check).
   */
  recordDecoded(encoded: EncodedTransfer): void {
    if (encoded.transfer.network !== this.network) return;
    try {
      this.authorizer.authorize(encoded);
    } catch {
      return;
    }
    this.record(encoded.bytes, encoded);
  }

  /** The delivered payload as a transfer: the one decoded when it was judged, if that was recently. */
  takeDecoded(digest: string, payload: Uint8Array): EncodedTransfer {
    const judged = this.find(payload);
    const encoded = judged?.digest === digest ? judged.encoded : undefined;
    if (encoded === undefined) return decodeTransfer(payload);
    judged!.encoded = undefined;
    return encoded;
  }

  /** With `checks`, a payload they settle or refuse is answered so before its authorization is checked. */
  private judge(
    payload: Uint8Array,
    checks: PeerPayloadChecks | undefined,
  ): Judged | Exclude<PeerPayloadVerdict, PayloadInfo> {
    const known = this.find(payload);
    if (known !== undefined) {
      this.last = known;
      return known;
    }
    let encoded: EncodedTransfer;
    try {
      encoded = decodeTransfer(payload);
    } catch {
      return "invalid";
    }
    const t = encoded.transfer;
    if (t.network !== this.network) return "invalid";
    // None of these is recorded: the table holds verdicts, and these payloads have none.
    if (checks !== undefined) {
      if (checks.slotTaken(t.source, t.seq)) return "settled";
      const drop = checks.dropsUnchecked?.(encoded);
      if (drop !== undefined) return drop;
    }
    try {
      this.authorizer.authorize(encoded);
    } catch (e) {
      return (e as { code?: unknown }).code === ErrorCode.BadSignature ? "forged" : "invalid";
    }
    return this.record(payload, encoded);
  }

  private find(payload: Uint8Array): Judged | undefined {
    const last = this.last;
    if (last !== undefined && last.payload === payload) return last;
    const known = this.judged.get(verdictKey(payload));
    return known !== undefined && sameBytes(known.payload, payload) ? known : undefined;
  }

  private record(payload: Uint8Array, encoded: EncodedTransfer): Judged {
    const instance = instanceRef(encoded.transfer.source, encoded.transfer.seq);
    const judged: Judged = { instance, digest: encoded.id, payload, encoded };
    // A key already held by other bytes (a 30-bit collision) now names these: the other payload is merely
    // judged again if it comes back.
    this.judged.set(verdictKey(payload), judged);
    this.last = judged;
    return judged;
  }
}
