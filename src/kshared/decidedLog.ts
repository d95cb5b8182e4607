import { toHex } from "../core/bytes.ts";
import { COMMITTEE_BOUNDS } from "./committeeOptions.ts";
import type { Certificate, CommitteeAction, OwnerIndex, SignedRequest } from "./committeeTypes.ts";

/**
 * What the committee remembers of decided seqs: the last 64 commit certificates (to answer an owner stuck on
 * one), and the last 4,096 decided digests (so a replayed request is never ordered twice). Late answers are
 * rate-limited per owner.
 */
export class DecidedLog {
  private readonly digests = new Set<string>();
  private readonly certificates = new Map<number, Certificate>();
  private readonly answeredAt = new Map<OwnerIndex, number>();

  has(digest: Uint8Array): boolean {
    return this.digests.has(toHex(digest));
  }

  remember(certificate: Certificate): void {
    this.certificates.set(certificate.seq, certificate);
    for (const seq of this.certificates.keys()) {
      if (this.certificates.size <= COMMITTEE_BOUNDS.decidedCertificatesKept) break;
      this.certificates.delete(seq);
    }
    this.digests.add(toHex(certificate.digest));
    for (const digest of this.digests) {
      if (this.digests.size <= COMMITTEE_BOUNDS.decidedDigestsKept) break;
      this.digests.delete(digest);
    }
  }

  /** The certificate to send `to`, who is still on `seq`; undefined if unknown or answered within `gapMs`. */
  lateAnswer(to: OwnerIndex, seq: number, nowMs: number, gapMs: number): Certificate | undefined {
    const certificate = this.certificates.get(seq);
    if (certificate === undefined) return undefined;
    const last = this.answeredAt.get(to);
    if (last !== undefined && nowMs - last < gapMs) return undefined;
    this.answeredAt.set(to, nowMs);
    return certificate;
  }
}

/** The `decided` action for a certificate and the request it names (null if its bytes were never seen). */
export function decidedAction(
  certificate: Certificate,
  request: SignedRequest | null | undefined,
): Extract<CommitteeAction, { type: "decided" }> {
  const { seq, digest } = certificate;
  return {
    type: "decided",
    seq,
    digest,
    certificate,
    proposal: request?.proposal,
    requester: request?.owner,
  };
}
