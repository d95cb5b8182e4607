/**
 * Key prefixes of the node's LevelDB. Numbers are never reused: a retired bucket keeps its number
 * commented out here, so an old database can never be misread by new code.
 */
export const Bucket = {
  meta: "00",
  ledgerAccount: "01",
  ledgerStatus: "02",
  transferBody: "03",
  ledgerUnreferenced: "04",
  ledgerWaiting: "05",
  /** One key per commitment (source/seq/kind), before the commitment log; read once at start to migrate. */
  legacyCommitment: "06",
  /** address/first position → a chunk of the account's incoming history entries (accountHistory.ts). */
  accountHistory: "07",
  /** One key per transfer the API accepted, before the submitted-transfer log; read once at start to migrate. */
  submitted: "08",
  /** source/first seq → ids of the account's resolved transfers from that seq on: what catch-up serves (bySeqIndex.ts). */
  outgoingBySeq: "09",
  /** shared account id (hex)/counter → one k-shared committee record this node's owner persisted. */
  committeeRecord: "10",
  /** shared account id (hex)/"b"|"p"/counter → a proposal-book entry / a pending proposal of this node's owner. */
  sharedProposal: "11",
  /** record number → one processing step's broadcast commitments (commitmentLog.ts). */
  commitmentLog: "12",
  /** record number → the transfers one step resolved since the last checkpoint of buckets 04, 07, 09 (stepJournal.ts). */
  stepJournal: "13",
  /** record number → the transfers the API accepted in one processing step and not yet delivered (submittedLog.ts). */
  submittedLog: "14",
  /** transfer id → a submission the API holds until its seq is within reach of the account's next (heldSubmissions.ts). */
  heldSubmission: "15",
} as const;
export type Bucket = (typeof Bucket)[keyof typeof Bucket];

/** Keys are `bucket/part/part…`; parts never contain "/" (addresses, hex ids, decimal numbers). */
export function key(bucket: Bucket, ...parts: readonly (string | number)[]): string {
  // Concatenation, not `[bucket, ...parts].join("/")`: two arrays per key on paths that build several per transfer.
  let out: string = bucket;
  for (let i = 0; i < parts.length; i++) out += `/${parts[i]}`;
  return out;
}

/** The key range of one bucket (optionally under a sub-prefix), for iteration. */
export function range(bucket: Bucket, ...parts: readonly string[]): { gte: string; lt: string } {
  const prefix = `${[bucket, ...parts].join("/")}/`;
  return { gte: prefix, lt: `${prefix}\uffff` };
}

/** Fixed-width decimal so lexicographic key order is numeric order. */
export function sortableNumber(n: number): string {
  return n.toString().padStart(16, "0");
}
