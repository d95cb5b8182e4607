import sodium from "sodium-native";
import { decodeAddress } from "../core/address.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { decodeTransfer } from "../core/transfer.ts";

/** Signatures timed per measurement: ≈ 0.1–0.3 s of one core on this kind of machine. */
export const VERIFY_SAMPLE = 4_000;

/** One signature check, its buffers prepared so only libsodium is on the clock. */
export interface VerifyInput {
  readonly signature: Buffer;
  readonly body: Buffer;
  readonly publicKey: Buffer;
}

/** Up to `VERIFY_SAMPLE` of the workload's canonical transfers, spread over it, ready to verify. */
export function verifySample(encodings: readonly Uint8Array[]): VerifyInput[] {
  const step = Math.max(1, Math.floor(encodings.length / VERIFY_SAMPLE));
  const inputs: VerifyInput[] = [];
  for (let i = 0; i < encodings.length && inputs.length < VERIFY_SAMPLE; i += step) {
    const { transfer, body } = decodeTransfer(encodings[i]!);
    inputs.push({
      signature: Buffer.from(transfer.signature),
      body: Buffer.from(body),
      publicKey: Buffer.from(decodeAddress(transfer.source).key),
    });
  }
  return inputs;
}

/**
 * CPU µs this process spends per libsodium `crypto_sign_verify_detached` over `inputs` — the one check a
 * node must make per transfer, so a node's CPU per transfer divided by it is the node's cost in signature
 * checks, a figure that moves far less than either with the speed of a shared machine's hour.
 */
export function verifyMicros(inputs: readonly VerifyInput[]): number {
  if (inputs.length === 0) return Number.NaN;
  let valid = 0;
  const start = process.cpuUsage();
  for (const { signature, body, publicKey } of inputs) {
    if (sodium.crypto_sign_verify_detached(signature, body, publicKey)) valid++;
  }
  const used = process.cpuUsage(start);
  if (valid !== inputs.length) {
    throw new TallyError(
      ErrorCode.BenchIncomplete,
      `${inputs.length - valid} bench signatures did not verify`,
    );
  }
  return (used.user + used.system) / inputs.length;
}
