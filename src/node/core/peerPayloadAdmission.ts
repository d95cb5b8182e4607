/**
 * Forged payloads a peer may make this node check in one step. No correct node relays a payload it has not
 * verified, so a peer that forged this many is banned once the step's actions are carried out: five
 * `forgedPayload` events reach the channel layer's ban threshold, and a sixth makes up for what the score
 * decays between them. Until then the rest of its payloads in the step are dropped unchecked, however many a
 * batch or the step held.
 */
export const FORGERIES_PER_STEP = 6;

/** What became of payloads peers sent (SEND, gossip; pulled ones in the last two), for metrics and tests. */
export interface AdmissionCounters {
  /** Handed to the broadcast: the account's next seq, applicable here. */
  admitted: number;
  /** Held back until a predecessor or a dep is resolved here. */
  parked: number;
  /** Not held back: a parking bound was reached (the broadcast may still deliver it by votes and a pull). */
  parkingFull: number;
  /** Rejected on every correct node if delivered, so not echoed: stale or conflicting seq, bad dep, no funds. */
  refused: number;
  /** Any payload (also a pulled one) for a slot this node resolved or holds: dropped, its signature unchecked. */
  settled: number;
  /**
   * An introduction for an instance the broadcast took another payload for, and does not need this one for
   * (a twin: not ready for, decided or pulled): dropped unchecked, as the broadcast would drop it.
   */
  unneeded: number;
  /** Any payload whose signature fails: dropped, its sender scored. */
  forged: number;
  /** Any payload from a peer that forged `FORGERIES_PER_STEP` in this step: dropped unchecked. */
  afterForgeries: number;
}

export function noAdmissions(): AdmissionCounters {
  return {
    admitted: 0,
    parked: 0,
    parkingFull: 0,
    refused: 0,
    unneeded: 0,
    settled: 0,
    forged: 0,
    afterForgeries: 0,
  };
}
