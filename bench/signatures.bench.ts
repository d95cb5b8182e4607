/**
 * Single-thread ed25519 verify rate of each SignatureVerifier, on valid signatures over
 * transfer-sized messages. Usage: node bench/signatures.bench.ts [seconds-per-verifier]
 */
import { randomBytes } from "node:crypto";
import { generateSecretKey, nobleVerifier, publicKeyOf, sign } from "../src/crypto/ed25519Noble.ts";
import { sodiumVerifier } from "../src/crypto/ed25519Sodium.ts";
import type { SignatureVerifier } from "../src/crypto/signatureVerifier.ts";

const distinctInputs = 256;
const messageBytes = 200;
const secondsPerVerifier = Number(process.argv[2] ?? 3);

const inputs = Array.from({ length: distinctInputs }, () => {
  const secretKey = generateSecretKey();
  const message = randomBytes(messageBytes);
  return { signature: sign(message, secretKey), message, publicKey: publicKeyOf(secretKey) };
});

function measure(verifier: SignatureVerifier): number {
  // Warm up the JIT before timing.
  for (const { signature, message, publicKey } of inputs) verifier.verify(signature, message, publicKey);
  let verified = 0;
  const started = performance.now();
  const deadline = started + secondsPerVerifier * 1000;
  while (performance.now() < deadline) {
    for (const { signature, message, publicKey } of inputs) {
      if (!verifier.verify(signature, message, publicKey))
        throw new Error(`${verifier.name} rejected a valid signature`);
    }
    verified += inputs.length;
  }
  return verified / ((performance.now() - started) / 1000);
}

for (const verifier of [sodiumVerifier, nobleVerifier]) {
  const perSecond = measure(verifier);
  console.log(
    `${verifier.name.padEnd(14)} ${Math.round(perSecond).toString().padStart(7)} verifies/s (1 thread)`,
  );
}
