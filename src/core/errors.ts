/**
 * Errors as data: every failure a user or a peer can trigger carries a stable string code,
 * so the API can map it to an HTTP status and a wallet can branch on it without parsing prose.
 */
export const ErrorCode = {
  // Decoding of untrusted bytes / JSON
  MalformedEncoding: "MALFORMED_ENCODING",
  UnsupportedVersion: "UNSUPPORTED_VERSION",
  LimitExceeded: "LIMIT_EXCEEDED",
  NonCanonical: "NON_CANONICAL",
  InvalidField: "INVALID_FIELD",
  // Addresses
  InvalidAddress: "INVALID_ADDRESS",
  // Genesis / configuration
  InvalidGenesis: "INVALID_GENESIS",
  InvalidConfig: "INVALID_CONFIG",
  // Ledger
  WrongNetwork: "WRONG_NETWORK",
  BadSignature: "BAD_SIGNATURE",
  UnsupportedAuthorization: "UNSUPPORTED_AUTHORIZATION",
  PendingFull: "PENDING_FULL",
  SeqConflict: "SEQ_CONFLICT",
  StaleSeq: "STALE_SEQ",
  SeqTooFarAhead: "SEQ_TOO_FAR_AHEAD",
  InsufficientFunds: "INSUFFICIENT_FUNDS",
  UnknownDependency: "UNKNOWN_DEPENDENCY",
  InvalidDependency: "INVALID_DEPENDENCY",
  // p2p layer: key file, wire format (raised on bytes a peer sent; the transport resets the stream)
  KeyFileInsecure: "P2P_KEY_FILE_INSECURE",
  KeyFileInvalid: "P2P_KEY_FILE_INVALID",
  FrameTooLarge: "P2P_FRAME_TOO_LARGE",
  MessageTooLarge: "P2P_MESSAGE_TOO_LARGE",
  MalformedFrame: "P2P_MALFORMED_FRAME",
  DrainTimeout: "P2P_DRAIN_TIMEOUT",
  InvalidOption: "P2P_INVALID_OPTION",
  InvalidPeer: "P2P_INVALID_PEER",
  NotStarted: "P2P_NOT_STARTED",
  // channels: protocol envelopes inside frames, protocol registry, channel options
  ChannelMalformedEnvelope: "CHANNEL_MALFORMED_ENVELOPE",
  ChannelMalformedBody: "CHANNEL_MALFORMED_BODY",
  ChannelInvalidProtocol: "CHANNEL_INVALID_PROTOCOL",
  ChannelDuplicateProtocol: "CHANNEL_DUPLICATE_PROTOCOL",
  ChannelUnknownProtocol: "CHANNEL_UNKNOWN_PROTOCOL",
  ChannelInvalidOption: "CHANNEL_INVALID_OPTION",
  // p2p admission: bans and the global cap on buffered inbound frame bytes
  PeerBanned: "P2P_PEER_BANNED",
  InboundBufferFull: "P2P_INBOUND_BUFFER_FULL",
  // wallet: keystore files, passphrases, and what the wallet refuses to sign on its node's word
  WalletKeystoreInvalid: "WALLET_KEYSTORE_INVALID",
  WalletKeystoreInsecure: "WALLET_KEYSTORE_INSECURE",
  WalletWrongPassphrase: "WALLET_WRONG_PASSPHRASE",
  WalletNetworkMismatch: "WALLET_NETWORK_MISMATCH",
  WalletUntrustedDependency: "WALLET_UNTRUSTED_DEPENDENCY",
  // membership: signed node records of an open network (raised on bytes a peer sent)
  NodeRecordMalformed: "MEMBERSHIP_RECORD_MALFORMED",
  // testing faults (`--testing-faults`): the partition control's request body
  TestingInvalidPartition: "TESTING_INVALID_PARTITION",
  // API paging: an account history cursor that is not one this node hands out
  InvalidCursor: "INVALID_CURSOR",
  // storage: a data dir written by a newer version, in a layout this one cannot read correctly
  StorageFormatUnsupported: "STORAGE_FORMAT_UNSUPPORTED",
  // node: it stopped itself on a failure it cannot go on from (a write that did not reach the disk)
  NodeFailed: "NODE_FAILED",
  // kshared: committee messages of a k-shared account (raised on bytes a peer sent)
  KsharedMalformedMessage: "KSHARED_MALFORMED_MESSAGE",
  // kshared: what the ledger refuses in a shared account's transfer (its definition, its owners' certificate)
  SharedDefinitionMismatch: "SHARED_DEFINITION_MISMATCH",
  SharedInvalidCertificate: "SHARED_INVALID_CERTIFICATE",
  // kshared CLI: the keystore's key is not one of the shared account's owners
  SharedNotOwner: "SHARED_NOT_OWNER",
  // kshared proposals over REST: the owner's signed intent (bad signature, outside its window, seen before)
  SharedBadIntent: "SHARED_BAD_INTENT",
  SharedStaleIntent: "SHARED_STALE_INTENT",
  SharedIntentReplayed: "SHARED_INTENT_REPLAYED",
  // bench: the ingest benchmark's workload did not all apply or did not all reach disk (a bug, never load)
  BenchIncomplete: "BENCH_INCOMPLETE",
  // bench: the devnet benchmark could not measure (a node or its event stream went away, a node refused the load)
  BenchFailed: "BENCH_FAILED",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class TallyError extends Error {
  readonly code: ErrorCode;
  /** Structured context for logs; never needed to understand the message. */
  readonly meta: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, meta?: Record<string, unknown>) {
    super(message);
    this.name = "TallyError";
    this.code = code;
    this.meta = meta;
  }
}

export function isTallyError(e: unknown, code?: ErrorCode): e is TallyError {
  return e instanceof TallyError && (code === undefined || e.code === code);
}
