import { sha256 } from "@noble/hashes/sha2.js";
import {
  type SharedAuthorizationJson,
  sharedAuthorizationFromJson,
  sharedAuthorizationToJson,
} from "../kshared/sharedAuthorizationJson.ts";
import { AddressVersion, decodeAddress } from "./address.ts";
import { fromHex, toHex } from "./bytes.ts";
import { ErrorCode, TallyError } from "./errors.ts";
import { isRecord } from "./jsonShape.ts";
import { SIGNATURE_BYTES } from "./limits.ts";
import {
  assembleSharedTransfer,
  type EncodedTransfer,
  encodeTransfer,
  encodeTransferBody,
  type Transfer,
  type UnsignedTransfer,
} from "./transfer.ts";

/**
 * The HTTP view of a transfer: amounts as decimal strings, ids and signature as lowercase hex. A
 * single-key source has `signature`; a shared source has `authorization` instead.
 */
export interface TransferJson {
  version: number;
  network: string;
  source: string;
  seq: number;
  outputs: { to: string; amount: string }[];
  deps: string[];
  memo?: string;
  signature?: string;
  authorization?: SharedAuthorizationJson;
}

const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,38})$/;
const TRANSFER_KEYS = new Set([
  "version",
  "network",
  "source",
  "seq",
  "outputs",
  "deps",
  "memo",
  "signature",
  "authorization",
]);
const OUTPUT_KEYS = new Set(["to", "amount"]);

export function transferToJson(t: Transfer): TransferJson {
  const json: TransferJson = {
    version: t.version,
    network: t.network,
    source: t.source,
    seq: t.seq,
    outputs: t.outputs.map((o) => ({ to: o.to, amount: o.amount.toString() })),
    deps: [...t.deps],
  };
  if (t.memo !== undefined && t.memo !== "") json.memo = t.memo;
  if (t.sharedAuthorization === undefined) json.signature = toHex(t.signature);
  else json.authorization = sharedAuthorizationToJson(t.sharedAuthorization);
  return json;
}

function invalid(message: string): TallyError {
  return new TallyError(ErrorCode.InvalidField, message);
}

export function parseAmount(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !DECIMAL_RE.test(value)) {
    throw invalid(`${field}: a decimal string without sign or leading zeros`);
  }
  return BigInt(value);
}

/** Reads the unsigned fields; unknown keys are an error so that typos never go unnoticed. */
export function unsignedTransferFromJson(json: unknown): UnsignedTransfer {
  if (!isRecord(json)) throw invalid("transfer must be a JSON object");
  for (const key of Object.keys(json)) {
    if (!TRANSFER_KEYS.has(key)) throw invalid(`unknown field "${key}"`);
  }
  const { version, network, source, seq, outputs, deps, memo } = json;
  if (typeof version !== "number") throw invalid("version: a number");
  if (typeof network !== "string") throw invalid("network: a string");
  if (typeof source !== "string") throw invalid("source: an address string");
  if (typeof seq !== "number") throw invalid("seq: a number");
  if (!Array.isArray(outputs)) throw invalid("outputs: an array");
  if (deps !== undefined && !Array.isArray(deps)) throw invalid("deps: an array of ids");
  if (memo !== undefined && typeof memo !== "string") throw invalid("memo: a string");
  const parsedOutputs = outputs.map((o: unknown, i: number) => {
    if (!isRecord(o)) throw invalid(`outputs[${i}]: an object {to, amount}`);
    for (const key of Object.keys(o))
      if (!OUTPUT_KEYS.has(key)) throw invalid(`outputs[${i}]: unknown field "${key}"`);
    if (typeof o.to !== "string") throw invalid(`outputs[${i}].to: an address string`);
    return { to: o.to, amount: parseAmount(o.amount, `outputs[${i}].amount`) };
  });
  return {
    version,
    network,
    source,
    seq,
    outputs: parsedOutputs,
    deps: (deps ?? []) as string[],
    memo: memo === "" ? undefined : memo,
  };
}

/** Parses the JSON view into the canonical encoding; every rule of the binary format applies. */
export function transferFromJson(json: unknown): EncodedTransfer {
  const unsigned = unsignedTransferFromJson(json);
  const { signature: signatureHex, authorization } = json as Record<string, unknown>;
  const source = decodeAddress(unsigned.source);
  if (source.version === AddressVersion.SharedAccount) {
    if (signatureHex !== undefined) {
      throw invalid("signature: a shared source is authorized by `authorization`, not a signature");
    }
    const body = encodeTransferBody(unsigned);
    const statement = { account: source.key, seq: unsigned.seq, transferId: sha256(body) };
    return assembleSharedTransfer(unsigned, body, sharedAuthorizationFromJson(authorization, statement));
  }
  if (authorization !== undefined) {
    throw invalid("authorization: only a shared source has one; this source signs");
  }
  if (typeof signatureHex !== "string") throw invalid("signature: hex string");
  const signature = fromHex(signatureHex, SIGNATURE_BYTES, "signature");
  return encodeTransfer({ ...unsigned, signature });
}
