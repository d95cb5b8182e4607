/**
 * The committee's wire format: one kind byte, then fixed-width big-endian fields. Strict: one spelling per
 * message (flags are 0/1, phases 1/2, signer sets a bitmap so order and duplicates cannot vary), every
 * length bounded before allocation, no trailing bytes. Decoding checks shape only; signatures and
 * membership are the committee's checks.
 */

import { ByteReader } from "../core/byteReader.ts";
import { ByteWriter } from "../core/byteWriter.ts";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { SIGNATURE_BYTES } from "../core/limits.ts";
import { DIGEST_BYTES, MAX_ROUND } from "./certificate.ts";
import type {
  Certificate,
  CommitteeMessage,
  SignedRequest,
  TimeoutCertificate,
  TimeoutVote,
  Vote,
  VotePhase,
} from "./committeeTypes.ts";
import { MAX_OWNERS } from "./quorum.ts";

/** The largest proposal the codec accepts (the committee's default bound). */
export const MAX_WIRE_PROPOSAL_BYTES = 64 * 1024;

const KIND_BYTE = {
  request: 1,
  propose: 2,
  vote: 3,
  timeout: 4,
  certificate: 5,
  timeoutCertificate: 6,
} as const;
const PHASE_BYTE: Readonly<Record<VotePhase, number>> = { prepare: 1, commit: 2 };

function malformed(message: string): TallyError {
  return new TallyError(ErrorCode.KsharedMalformedMessage, `kshared message: ${message}`);
}

function bitmap(indices: readonly number[]): number {
  let bits = 0;
  for (const i of indices) bits |= 1 << i;
  return bits >>> 0;
}

function indicesOf(bits: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < MAX_OWNERS; i++) if ((bits >>> i) & 1) out.push(i);
  return out;
}

function fixed(w: ByteWriter, b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what}: ${n} bytes`);
  w.bytes(b);
}

function writeRequest(w: ByteWriter, r: SignedRequest): void {
  w.u8(r.owner);
  w.u32(r.proposal.length);
  w.bytes(r.proposal);
  fixed(w, r.digest, DIGEST_BYTES, "digest");
  fixed(w, r.signature, SIGNATURE_BYTES, "signature");
}

function writeVote(w: ByteWriter, v: Vote): void {
  w.u8(PHASE_BYTE[v.phase]);
  w.u64(v.seq);
  w.u32(v.round);
  fixed(w, v.digest, DIGEST_BYTES, "digest");
  w.u8(v.voter);
  fixed(w, v.signature, SIGNATURE_BYTES, "signature");
}

function writeTimeoutVote(w: ByteWriter, v: TimeoutVote): void {
  w.u64(v.seq);
  w.u32(v.round);
  w.u32((v.highPrepareRound ?? -1) + 1);
  w.u8(v.voter);
  fixed(w, v.signature, SIGNATURE_BYTES, "signature");
}

/** phase u8 ‖ len(account) u8 ‖ account ‖ seq u64 ‖ round u32 ‖ digest(32) ‖ signer bitmap u32 ‖ 64-byte signatures, ascending signer. */
function writeCertificate(w: ByteWriter, c: Certificate): void {
  w.u8(PHASE_BYTE[c.phase]);
  w.u8(c.account.length);
  w.bytes(c.account);
  w.u64(c.seq);
  w.u32(c.round);
  fixed(w, c.digest, DIGEST_BYTES, "digest");
  w.u32(bitmap(c.signers));
  for (const s of c.signatures) fixed(w, s, SIGNATURE_BYTES, "signature");
}

function writeOptionalCertificate(w: ByteWriter, c: Certificate | null): void {
  w.u8(c === null ? 0 : 1);
  if (c !== null) writeCertificate(w, c);
}

/** seq u64 ‖ round u32 ‖ voter bitmap u32 ‖ per voter ascending: (highPrepareRound+1) u32 ‖ signature ‖ optional highPrepare. */
function writeTimeoutCertificate(w: ByteWriter, c: TimeoutCertificate): void {
  w.u64(c.seq);
  w.u32(c.round);
  w.u32(bitmap(c.votes.map((v) => v.voter)));
  for (const v of c.votes) {
    w.u32((v.highPrepareRound ?? -1) + 1);
    fixed(w, v.signature, SIGNATURE_BYTES, "signature");
  }
  writeOptionalCertificate(w, c.highPrepare);
}

export function encodeCommitteeMessage(m: CommitteeMessage): Uint8Array {
  const w = new ByteWriter();
  w.u8(KIND_BYTE[m.kind]);
  switch (m.kind) {
    case "request":
      writeRequest(w, m.request);
      break;
    case "propose":
      w.u64(m.seq);
      w.u32(m.round);
      writeRequest(w, m.request);
      writeOptionalCertificate(w, m.justify);
      w.u8(m.entry === null ? 0 : 1);
      if (m.entry !== null) writeTimeoutCertificate(w, m.entry);
      break;
    case "vote":
      writeVote(w, m.vote);
      break;
    case "timeout":
      writeTimeoutVote(w, m.vote);
      writeOptionalCertificate(w, m.highPrepare);
      break;
    case "certificate":
      writeCertificate(w, m.certificate);
      break;
    case "timeoutCertificate":
      writeTimeoutCertificate(w, m.certificate);
      break;
  }
  return w.finish();
}

export function encodeCertificate(c: Certificate): Uint8Array {
  const w = new ByteWriter();
  writeCertificate(w, c);
  return w.finish();
}

// ── decoding ─────────────────────────────────────────────────────────────────────────────────────────

function copy(r: ByteReader, n: number, what: string): Uint8Array {
  return Uint8Array.from(r.bytes(n, what));
}

function seq(r: ByteReader): number {
  const v = r.u64("seq");
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed("seq beyond 2^53 − 1");
  return Number(v);
}

function round(r: ByteReader): number {
  const v = r.u32("round");
  if (v > MAX_ROUND) throw malformed("round out of range");
  return v;
}

function owner(r: ByteReader): number {
  const v = r.u8("owner");
  if (v >= MAX_OWNERS) throw malformed("owner index ≥ 32");
  return v;
}

function phase(r: ByteReader): VotePhase {
  const v = r.u8("phase");
  if (v === 1) return "prepare";
  if (v === 2) return "commit";
  throw malformed("unknown phase");
}

function flag(r: ByteReader, what: string): boolean {
  const v = r.u8(what);
  if (v > 1) throw malformed(`${what}: flag must be 0 or 1`);
  return v === 1;
}

function highRound(r: ByteReader, roundOfVote: number): number | null {
  const v = r.u32("highPrepareRound");
  if (v === 0) return null;
  if (v - 1 > roundOfVote) throw malformed("highPrepareRound after the timeout's round");
  return v - 1;
}

function readRequest(r: ByteReader): SignedRequest {
  const requester = owner(r);
  const length = r.u32("proposal length");
  if (length > MAX_WIRE_PROPOSAL_BYTES) throw malformed("proposal too large");
  return {
    owner: requester,
    proposal: copy(r, length, "proposal"),
    digest: copy(r, DIGEST_BYTES, "digest"),
    signature: copy(r, SIGNATURE_BYTES, "signature"),
  };
}

function readVote(r: ByteReader): Vote {
  return {
    phase: phase(r),
    seq: seq(r),
    round: round(r),
    digest: copy(r, DIGEST_BYTES, "digest"),
    voter: owner(r),
    signature: copy(r, SIGNATURE_BYTES, "signature"),
  };
}

function readTimeoutVote(r: ByteReader): TimeoutVote {
  const s = seq(r);
  const rd = round(r);
  return {
    seq: s,
    round: rd,
    highPrepareRound: highRound(r, rd),
    voter: owner(r),
    signature: copy(r, SIGNATURE_BYTES, "signature"),
  };
}

function readCertificate(r: ByteReader): Certificate {
  const p = phase(r);
  const accountLength = r.u8("account length");
  if (accountLength === 0) throw malformed("empty account");
  const account = copy(r, accountLength, "account");
  const s = seq(r);
  const rd = round(r);
  const digest = copy(r, DIGEST_BYTES, "digest");
  const signers = indicesOf(r.u32("signers"));
  const signatures = signers.map(() => copy(r, SIGNATURE_BYTES, "signature"));
  return { phase: p, account, seq: s, round: rd, digest, signers, signatures };
}

function readOptionalCertificate(r: ByteReader): Certificate | null {
  return flag(r, "certificate present") ? readCertificate(r) : null;
}

function readTimeoutCertificate(r: ByteReader): TimeoutCertificate {
  const s = seq(r);
  const rd = round(r);
  const voters = indicesOf(r.u32("voters"));
  const votes = voters.map(
    (voter): TimeoutVote => ({
      seq: s,
      round: rd,
      highPrepareRound: highRound(r, rd),
      voter,
      signature: copy(r, SIGNATURE_BYTES, "signature"),
    }),
  );
  return { seq: s, round: rd, votes, highPrepare: readOptionalCertificate(r) };
}

function readMessage(r: ByteReader): CommitteeMessage {
  const kind = r.u8("kind");
  switch (kind) {
    case KIND_BYTE.request:
      return { kind: "request", request: readRequest(r) };
    case KIND_BYTE.propose: {
      const s = seq(r);
      const rd = round(r);
      const request = readRequest(r);
      const justify = readOptionalCertificate(r);
      const entry = flag(r, "entry present") ? readTimeoutCertificate(r) : null;
      return { kind: "propose", seq: s, round: rd, request, justify, entry };
    }
    case KIND_BYTE.vote:
      return { kind: "vote", vote: readVote(r) };
    case KIND_BYTE.timeout: {
      const vote = readTimeoutVote(r);
      return { kind: "timeout", vote, highPrepare: readOptionalCertificate(r) };
    }
    case KIND_BYTE.certificate:
      return { kind: "certificate", certificate: readCertificate(r) };
    case KIND_BYTE.timeoutCertificate:
      return { kind: "timeoutCertificate", certificate: readTimeoutCertificate(r) };
    default:
      throw malformed(`unknown kind ${kind}`);
  }
}

/** Throws `TallyError(KsharedMalformedMessage)` on anything but one canonical encoding. */
export function decodeCommitteeMessage(bytes: Uint8Array): CommitteeMessage {
  const r = new ByteReader(bytes, malformed);
  const message = readMessage(r);
  r.end();
  return message;
}

export function decodeCertificate(bytes: Uint8Array): Certificate {
  const r = new ByteReader(bytes, malformed);
  const certificate = readCertificate(r);
  r.end();
  return certificate;
}
