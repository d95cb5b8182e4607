/**
 * Hard limits of the transfer format. They bound what a decoder may allocate for one
 * untrusted message, and they are part of the consensus rules: changing one is a format change.
 */
export const TRANSFER_FORMAT_VERSION = 1;
/** Network ids are short ASCII names such as "tally-devnet". */
export const MAX_NETWORK_ID_BYTES = 32;
export const NETWORK_ID_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Enough for payroll-style fan-out while keeping a transfer under ~4 KiB of outputs. */
export const MAX_OUTPUTS = 64;
/** Deps beyond this stay unreferenced and can be consumed by the account's next transfer. */
export const MAX_DEPS = 256;
export const MAX_MEMO_BYTES = 128;
/** Amounts are unsigned 128-bit integers; the genesis supply must also fit, so sums never overflow it. */
export const MAX_AMOUNT = (1n << 128n) - 1n;
/** Sequence numbers stay exact as JavaScript numbers. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;
export const SIGNATURE_BYTES = 64;
export const TRANSFER_ID_BYTES = 32;
