import { ErrorCode, TallyError } from "../../core/errors.ts";

/** An intent may be signed up to 30 s ahead of the node's clock (clock skew)… */
export const INTENT_MAX_AHEAD_MS = 30_000;
/** …and is refused 120 s after it was issued: its signature need only be remembered that long. */
export const INTENT_LIFETIME_MS = 120_000;
/** Signatures remembered at once; beyond, new intents are refused with PENDING_FULL until some expire. */
export const MAX_REMEMBERED_INTENTS = 10_000;

/**
 * Replay protection for proposal intents without persistence (sans-I/O: the caller passes `nowMs`). An
 * intent is accepted once, within its window; intents issued before this node started are refused, so a
 * restart (which forgets the signatures seen) cannot reopen a window: a client just signs again.
 */
export class IntentGuard {
  private readonly startedAtMs: number;
  /** signature hex → when its window ends (issuedAtMs + lifetime). */
  private readonly seen = new Map<string, number>();

  constructor(nodeStartedAtMs: number) {
    this.startedAtMs = nodeStartedAtMs;
  }

  get remembered(): number {
    return this.seen.size;
  }

  /** Accepts (and remembers) a verified intent's signature, or throws the TallyError to answer with. */
  admit(signatureHex: string, issuedAtMs: number, nowMs: number): void {
    if (
      issuedAtMs < this.startedAtMs ||
      issuedAtMs > nowMs + INTENT_MAX_AHEAD_MS ||
      nowMs > issuedAtMs + INTENT_LIFETIME_MS
    )
      throw new TallyError(
        ErrorCode.SharedStaleIntent,
        `intent issued at ${issuedAtMs} is outside this node's window (started ${this.startedAtMs}, now ${nowMs}): sign it again`,
      );
    if (this.seen.has(signatureHex))
      throw new TallyError(
        ErrorCode.SharedIntentReplayed,
        "this intent was already proposed: sign a new one",
      );
    if (this.seen.size >= MAX_REMEMBERED_INTENTS) this.forgetEnded(nowMs);
    if (this.seen.size >= MAX_REMEMBERED_INTENTS)
      throw new TallyError(ErrorCode.PendingFull, "too many recent intents remembered: try again shortly");
    this.seen.set(signatureHex, issuedAtMs + INTENT_LIFETIME_MS);
  }

  /** An ended window's intent is refused as stale, so its signature need not be kept. */
  private forgetEnded(nowMs: number): void {
    for (const [signature, endsAtMs] of this.seen) if (endsAtMs < nowMs) this.seen.delete(signature);
  }
}
