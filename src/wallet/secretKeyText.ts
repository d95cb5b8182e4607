import { fromHex } from "../core/bytes.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { addressOfSecretKey } from "./keystore.ts";

/** A secret key brought into a keystore, and what a version-1 keystore remembered of its seqs. */
export interface ImportedKey {
  readonly secretKey: Uint8Array;
  readonly lastSignedSeq: number;
  readonly lastSignedId?: string | undefined;
}

/**
 * Reads what `tally wallet import` accepts: the 32-byte ed25519 seed as 64 hex characters (what
 * `tally wallet export --show-secret` prints), or a whole version-1 (plaintext) keystore, whose seq record
 * is carried over so the migrated wallet keeps refusing to sign a seq twice.
 */
export function parseSecretKeyText(text: string): ImportedKey {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) {
    return { secretKey: fromHex(trimmed.toLowerCase(), 32, "secret key"), lastSignedSeq: 0 };
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    throw invalid();
  }
  if (json?.version !== 1 || typeof json.secretKey !== "string" || !/^[0-9a-f]{64}$/.test(json.secretKey)) {
    throw invalid();
  }
  const secretKey = fromHex(json.secretKey, 32, "secret key");
  if (addressOfSecretKey(secretKey) !== json.address) {
    throw new TallyError(
      ErrorCode.WalletKeystoreInvalid,
      "the version-1 keystore's address does not match its key",
    );
  }
  const seq = json.lastSignedSeq;
  return {
    secretKey,
    lastSignedSeq: typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 0 ? seq : 0,
    lastSignedId: typeof json.lastSignedId === "string" ? json.lastSignedId : undefined,
  };
}

function invalid(): TallyError {
  return new TallyError(
    ErrorCode.WalletKeystoreInvalid,
    "expected a secret key as 64 hex characters, or a version-1 Tally keystore",
  );
}
