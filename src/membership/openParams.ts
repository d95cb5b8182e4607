/**
 * The sampler of an open network's nodes, shared by the node (src/node/membershipSetup.ts) and the sampler
 * simulation so that what is measured is what runs: 100 slots (a node keeps ≤ 100 peers connected for its
 * samples; the broadcast draws its samples with replacement from them — at 32 slots the spread of views was too
 * wide for the broadcast's parameters, docs/membership.md), 2 slots reseeded per round, 10,000 identities
 * remembered (≤ ~4 KiB each with the decoded copy: ≤ ~40 MB).
 */
export const OPEN_VIEW_SIZE = 100;
export const OPEN_RESETS_PER_ROUND = 2;
export const OPEN_MAX_RECORDS = 10_000;
