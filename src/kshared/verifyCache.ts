import { toHex } from "../core/bytes.ts";
import type { SignatureVerifier } from "../crypto/signatureVerifier.ts";

/**
 * Remembers signatures that verified, so a vote seen alone and again inside a certificate (or a
 * certificate re-sent on every timeout) costs one ed25519 check. Only successes are cached, keyed by the
 * exact (public key, message, signature); at `maxEntries` the cache starts over (a bound, not an LRU).
 */
export function cachingVerifier(inner: SignatureVerifier, maxEntries: number): SignatureVerifier {
  const verified = new Set<string>();
  return {
    name: `${inner.name}+cache`,
    verify(signature, message, publicKey) {
      const key = `${toHex(publicKey)}:${toHex(signature)}:${toHex(message)}`;
      if (verified.has(key)) return true;
      if (!inner.verify(signature, message, publicKey)) return false;
      if (verified.size >= maxEntries) verified.clear();
      verified.add(key);
      return true;
    },
  };
}
