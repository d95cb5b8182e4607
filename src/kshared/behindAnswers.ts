import type { CommitteeMessage, OwnerIndex } from "./committeeTypes.ts";
import type { Instance } from "./roundState.ts";

/**
 * Answers to an owner that times out a round this owner has left: it restarted in a lower round (a restart
 * resumes in the highest round the owner itself spoke in, and owners spoke in different ones), or it missed
 * what moved the others on. Without an answer it waits for a timeout certificate of its round that nobody
 * ahead will ever sign again, and the seq stalls for good. The answer is what moved us on: our entry
 * certificate if it closed that round, and our own timeout of that round (kept for the rounds a restart
 * keeps). At most one answer per owner per `gapMs`; one entry per owner (≤ k).
 */
export class BehindAnswers {
  private readonly gapMs: number;
  private readonly answeredAt = new Map<OwnerIndex, number>();

  constructor(gapMs: number) {
    this.gapMs = gapMs;
  }

  answer(inst: Instance, to: OwnerIndex, round: number, nowMs: number): CommitteeMessage[] {
    const last = this.answeredAt.get(to);
    if (last !== undefined && nowMs - last < this.gapMs) return [];
    this.answeredAt.set(to, nowMs);
    const out: CommitteeMessage[] = [];
    if (inst.entry?.round === round) out.push({ kind: "timeoutCertificate", certificate: inst.entry });
    const signed = inst.own.timeout(round);
    if (signed !== undefined) out.push({ kind: "timeout", ...signed });
    return out;
  }
}
