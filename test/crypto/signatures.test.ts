/**
 * Pins the two SignatureVerifier implementations (nobleVerifier, portable JS; sodiumVerifier,
 * libsodium) to one strict rule set, documented in docs/signatures.md:
 *   S < ℓ; A canonical and not small order; R not small order; encode([S]B − [k]A) == R byte for byte.
 *
 * Every case asserts that both verifiers return the same answer AND the answer the rules prescribe.
 * Constructed cases also assert which verification equation holds (see `equations`), so that each
 * expected rejection is attributable to exactly one rule rather than to an accidentally bad signature.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ed from "@noble/ed25519";
import { Point } from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import sodium from "sodium-native";
import { nobleVerifier, publicKeyOf, sign } from "../../src/crypto/ed25519Noble.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";

// ---------------------------------------------------------------------------------------------
// Arithmetic helpers
// ---------------------------------------------------------------------------------------------

/** Prime order ℓ of the base point, and the field prime p. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const B = Point.BASE;

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** 32-byte little-endian encoding of any n < 2^256 (so also of out-of-range scalars and y ≥ p). */
function numberToBytesLE(n: bigint): Uint8Array {
  assert.ok(n >= 0n && n < 2n ** 256n);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

function withSignBit(encoding: Uint8Array): Uint8Array {
  const out = Uint8Array.from(encoding);
  out[31]! |= 0x80;
  return out;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/** The challenge k = SHA-512(R ‖ A ‖ M) mod ℓ, over the encodings exactly as given. */
function challenge(rEncoding: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return bytesToNumberLE(sha512(concat(rEncoding, publicKey, message))) % L;
}

function signatureOf(rEncoding: Uint8Array, s: bigint): Uint8Array {
  return concat(rEncoding, numberToBytesLE(s));
}

/** Fixed secret scalars for constructed cases; any values in [1, ℓ) would do. */
const SCALAR_A = bytesToNumberLE(sha512(utf8("tally signatures.test scalar a"))) % L;
const NONCE_R = bytesToNumberLE(sha512(utf8("tally signatures.test nonce r"))) % L;

/** The first message `${label}/${i}` whose challenge, for these R and A encodings, satisfies `wanted`. */
function findMessage(
  label: string,
  rEncoding: Uint8Array,
  publicKey: Uint8Array,
  wanted: (k: bigint) => boolean,
): { message: Uint8Array; k: bigint } {
  for (let i = 0; i < 10_000; i++) {
    const message = utf8(`${label}/${i}`);
    const k = challenge(rEncoding, publicKey, message);
    if (wanted(k)) return { message, k };
  }
  throw new Error(`no message found for ${label}`);
}

// ---------------------------------------------------------------------------------------------
// A lax reference: which equations hold, with every encoding and order rule switched off
// ---------------------------------------------------------------------------------------------

/** Decodes any 32 bytes naming a curve point, accepting y ≥ p and x = 0 with the sign bit set (ZIP-215 decoding). */
function decodeLax(encoding: Uint8Array): Point | undefined {
  try {
    return Point.fromBytes(encoding, true);
  } catch {
    return undefined;
  }
}

/**
 * Whether [S]B = R + [k]A holds as points (cofactorless) and whether [8]([S]B − R − [k]A) = 0 holds
 * (cofactored), with S reduced mod ℓ and R, A decoded laxly. Used only to document constructed cases.
 * Cofactorless implies cofactored, so "cofactorless but not cofactored" cannot be constructed.
 */
function equations(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): { cofactorless: boolean; cofactored: boolean } {
  const rEncoding = signature.subarray(0, 32);
  const A = decodeLax(publicKey);
  const R = decodeLax(rEncoding);
  if (A === undefined || R === undefined) return { cofactorless: false, cofactored: false };
  const s = bytesToNumberLE(signature.subarray(32, 64)) % L;
  const k = challenge(rEncoding, publicKey, message);
  const residue = B.multiply(s, false).subtract(A.multiply(k, false)).subtract(R);
  return { cofactorless: residue.is0(), cofactored: residue.clearCofactor().is0() };
}

// ---------------------------------------------------------------------------------------------
// Torsion points and small-order encodings
// ---------------------------------------------------------------------------------------------

/** An order-8 point; its multiples TORSION[j] = [j]T8 are the whole 8-element torsion subgroup. */
const T8 = Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
const TORSION: readonly Point[] = Array.from({ length: 8 }, (_, j) => T8.multiply(BigInt(j), false));

function torsionOrder(point: Point): number {
  for (const order of [1, 2, 4, 8]) if (point.multiply(BigInt(order), false).is0()) return order;
  throw new Error("not a torsion point");
}

/** Index j of a torsion point, i.e. point = [j]T8. */
function torsionIndex(point: Point): number {
  const j = TORSION.findIndex((t) => t.equals(point));
  assert.ok(j >= 0, "not a torsion point");
  return j;
}

interface SmallOrderEncoding {
  readonly name: string;
  readonly encoding: Uint8Array;
}

/** The 8 canonical encodings of the small-order points plus the 6 non-canonical encodings of some of them. */
const SMALL_ORDER_ENCODINGS: readonly SmallOrderEncoding[] = [
  ...TORSION.map((t, j) => ({
    name: `[${j}]T8 (order ${torsionOrder(t)}), canonical`,
    encoding: t.toBytes(),
  })),
  { name: "identity with the sign bit set (x = 0)", encoding: withSignBit(TORSION[0]!.toBytes()) },
  { name: "order 2 (y = p−1) with the sign bit set (x = 0)", encoding: withSignBit(TORSION[4]!.toBytes()) },
  { name: "y = p (≡ 0, order 4), sign 0", encoding: numberToBytesLE(P) },
  { name: "y = p (≡ 0, order 4), sign 1", encoding: withSignBit(numberToBytesLE(P)) },
  { name: "y = p+1 (≡ 1, identity), sign 0", encoding: numberToBytesLE(P + 1n) },
  { name: "y = p+1 (≡ 1, identity), sign 1", encoding: withSignBit(numberToBytesLE(P + 1n)) },
];

/**
 * Non-canonical encodings y + p (y < 19, so y + p < 2^255) of points that are NOT of small order.
 * Such points have an unknown discrete log, so no signature can be made to satisfy any equation with
 * them; the cases only check that both verifiers reject them.
 */
const NON_CANONICAL_LARGE: readonly SmallOrderEncoding[] = Array.from({ length: 19 }, (_, y) => BigInt(y))
  .filter((y) => {
    const point = decodeLax(numberToBytesLE(y));
    return point !== undefined && !point.isSmallOrder();
  })
  .flatMap((y) => [
    { name: `y = p+${y}, sign 0`, encoding: numberToBytesLE(P + y) },
    { name: `y = p+${y}, sign 1`, encoding: withSignBit(numberToBytesLE(P + y)) },
  ]);

/** Canonical encodings y < p that are not on the curve (x² = (y²−1)/(dy²+1) is not a square). */
const OFF_CURVE: readonly SmallOrderEncoding[] = [2n, 7n, 8n, P - 2n, P + 2n].map((y) => {
  assert.equal(decodeLax(numberToBytesLE(y)), undefined, `y = ${y} should be off the curve`);
  return { name: `y = ${y < P ? y : `p+${y - P}`} (off the curve)`, encoding: numberToBytesLE(y) };
});

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

interface Case {
  readonly name: string;
  readonly signature: Uint8Array;
  readonly message: Uint8Array;
  readonly publicKey: Uint8Array;
  /** What the strict rules say. */
  readonly valid: boolean;
  /** If given: whether the cofactorless / cofactored equation holds under lax decoding (documentation, asserted). */
  readonly cofactorless?: boolean;
  readonly cofactored?: boolean;
}

function checkCase(c: Case): void {
  const byNoble = nobleVerifier.verify(c.signature, c.message, c.publicKey);
  const bySodium = sodiumVerifier.verify(c.signature, c.message, c.publicKey);
  assert.equal(byNoble, bySodium, `${c.name}: verifiers disagree (noble ${byNoble}, libsodium ${bySodium})`);
  assert.equal(bySodium, c.valid, `${c.name}: expected ${c.valid ? "accept" : "reject"}`);
  if (c.cofactorless !== undefined || c.cofactored !== undefined) {
    const holds = equations(c.signature, c.message, c.publicKey);
    if (c.cofactorless !== undefined)
      assert.equal(holds.cofactorless, c.cofactorless, `${c.name}: cofactorless`);
    if (c.cofactored !== undefined) assert.equal(holds.cofactored, c.cofactored, `${c.name}: cofactored`);
  }
}

function runCases(cases: readonly Case[]): void {
  for (const c of cases) test(c.name, () => checkCase(c));
}

/** RFC 8032 §7.1, Ed25519 TEST 1, 2, 3 and TEST SHA(abc). */
const RFC8032 = [
  {
    name: "TEST 1 (empty message)",
    secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2 (1-byte message)",
    secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3 (2-byte message)",
    secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
  {
    name: "TEST SHA(abc) (64-byte message)",
    secretKey: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    message:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    signature:
      "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
  },
].map((v) => ({
  name: v.name,
  secretKey: fromHex(v.secretKey),
  publicKey: fromHex(v.publicKey),
  message: fromHex(v.message),
  signature: fromHex(v.signature),
}));

const TEST1 = RFC8032[0]!;
const TEST2 = RFC8032[1]!;
const TEST3 = RFC8032[2]!;

describe("RFC 8032 §7.1 test vectors", () => {
  for (const v of RFC8032) {
    test(`${v.name}: key derivation and signing are byte-exact, both verifiers accept`, () => {
      assert.equal(toHex(publicKeyOf(v.secretKey)), toHex(v.publicKey));
      assert.equal(toHex(sign(v.message, v.secretKey)), toHex(v.signature));
      checkCase({ ...v, valid: true, cofactorless: true, cofactored: true });
    });
  }
});

describe("the scalar S must be canonical (S < ℓ)", () => {
  const r = TEST3.signature.subarray(0, 32);
  const s = bytesToNumberLE(TEST3.signature.subarray(32));
  const base = { message: TEST3.message, publicKey: TEST3.publicKey };
  const cases: Case[] = [];
  // S + nℓ satisfies the equation once reduced, so only the range check rejects it. For n ≥ 2 the
  // top nibble of the last byte is set, which is the form libsodium screens with `sig[63] & 0xf0`.
  for (let n = 1n; s + n * L < 2n ** 256n; n++) {
    const signature = signatureOf(r, s + n * L);
    cases.push({
      ...base,
      name: `S + ${n}ℓ (last byte 0x${signature[63]!.toString(16)})`,
      signature,
      valid: false,
      cofactorless: true,
    });
  }
  cases.push(
    { ...base, name: "S = ℓ", signature: signatureOf(r, L), valid: false },
    { ...base, name: "S = 2^256 − 1", signature: signatureOf(r, 2n ** 256n - 1n), valid: false },
    {
      ...base,
      name: "S with the three high bits set (sig[63] |= 0xe0)",
      signature: signatureOf(r, s | (0xe0n << 248n)),
      valid: false,
    },
  );
  runCases(cases);
});

describe("small-order public keys are rejected even when the equation holds", () => {
  // A = T of small order, R = [r]B, S = r: then [S]B − [k]A = [r]B − [k]T, which equals R whenever
  // [k]T = 0; we search for a message whose challenge makes it so.
  const rEncoding = B.multiply(NONCE_R, false).toBytes();
  runCases(
    SMALL_ORDER_ENCODINGS.map(({ name, encoding }) => {
      const T = decodeLax(encoding)!;
      const { message } = findMessage(`small A ${name}`, rEncoding, encoding, (k) =>
        T.multiply(k, false).is0(),
      );
      return {
        name: `A = ${name}`,
        signature: signatureOf(rEncoding, NONCE_R),
        message,
        publicKey: encoding,
        valid: false,
        cofactorless: true,
        cofactored: true,
      };
    }),
  );
});

describe("public keys must be canonical points on the curve", () => {
  const base = { signature: TEST1.signature, message: TEST1.message };
  runCases([
    ...NON_CANONICAL_LARGE.map(({ name, encoding }) => ({
      ...base,
      name: `non-canonical A: ${name}`,
      publicKey: encoding,
      valid: false,
    })),
    ...OFF_CURVE.map(({ name, encoding }) => ({
      ...base,
      name: `A: ${name}`,
      publicKey: encoding,
      valid: false,
    })),
  ]);
});

describe("small-order R is rejected even when the equation holds", () => {
  const cases: Case[] = [];
  // R = identity with a torsion-free key: S = k·a gives [S]B − [k]A = 0 = R for every message.
  {
    const publicKey = B.multiply(SCALAR_A, false).toBytes();
    const rEncoding = TORSION[0]!.toBytes();
    const message = utf8("R is the identity");
    const k = challenge(rEncoding, publicKey, message);
    cases.push({
      name: "R = identity, A torsion-free, S = k·a",
      signature: signatureOf(rEncoding, (k * SCALAR_A) % L),
      message,
      publicKey,
      valid: false,
      cofactorless: true,
    });
  }
  // Every small-order R, canonical or not: A = [a]B + T8 and S = k·a give [S]B − [k]A = −[k]T8,
  // which equals R = [j]T8 when k ≡ −j (mod 8).
  const publicKey = B.multiply(SCALAR_A, false).add(T8).toBytes();
  for (const { name, encoding } of SMALL_ORDER_ENCODINGS) {
    const j = torsionIndex(decodeLax(encoding)!);
    const { message, k } = findMessage(
      `small R ${name}`,
      encoding,
      publicKey,
      (k) => (k + BigInt(j)) % 8n === 0n,
    );
    cases.push({
      name: `R = ${name}, A = [a]B + T8`,
      signature: signatureOf(encoding, (k * SCALAR_A) % L),
      message,
      publicKey,
      valid: false,
      cofactorless: true,
    });
  }
  runCases(cases);
});

describe("R must be the canonical encoding of the computed point", () => {
  // No signature can make a non-canonical or off-curve R pass the byte comparison, because
  // encode() is canonical; these cases check that neither verifier decodes R leniently.
  const base = { message: TEST1.message, publicKey: TEST1.publicKey };
  const s = bytesToNumberLE(TEST1.signature.subarray(32));
  const r = TEST1.signature.subarray(0, 32);
  runCases([
    ...NON_CANONICAL_LARGE.map(({ name, encoding }) => ({
      ...base,
      name: `non-canonical R: ${name}`,
      signature: signatureOf(encoding, s),
      valid: false,
    })),
    ...OFF_CURVE.map(({ name, encoding }) => ({
      ...base,
      name: `R: ${name}`,
      signature: signatureOf(encoding, s),
      valid: false,
    })),
    {
      ...base,
      name: "R of a valid signature with its sign bit flipped (−R)",
      signature: signatureOf(flipBit(r, 255), s),
      valid: false,
    },
  ]);
});

describe("torsion components: the cofactorless equation decides", () => {
  const cases: Case[] = [];
  const cleanR = B.multiply(NONCE_R, false);
  const cleanA = B.multiply(SCALAR_A, false);
  for (let j = 1; j < 8; j++) {
    const T = TORSION[j]!;
    // Mixed-order A = [a]B + T, R = [r]B, S = r + k·a: [S]B − [k]A = R − [k]T.
    const mixedA = cleanA.add(T).toBytes();
    const rEncoding = cleanR.toBytes();
    for (const cancels of [true, false]) {
      const { message, k } = findMessage(
        `mixed A ${j} ${cancels}`,
        rEncoding,
        mixedA,
        (k) => T.multiply(k, false).is0() === cancels,
      );
      cases.push({
        name: `A = [a]B + [${j}]T8 (torsion order ${torsionOrder(T)}), R = [r]B, [k]T ${cancels ? "=" : "≠"} 0`,
        signature: signatureOf(rEncoding, (NONCE_R + k * SCALAR_A) % L),
        message,
        publicKey: mixedA,
        valid: cancels,
        cofactorless: cancels,
        cofactored: true,
      });
    }
    // R = [r]B + T with a torsion-free A: [S]B − [k]A = [r]B ≠ R. Only the cofactored equation holds.
    {
      const publicKey = cleanA.toBytes();
      const mixedR = cleanR.add(T).toBytes();
      const message = utf8(`mixed R ${j}`);
      const k = challenge(mixedR, publicKey, message);
      cases.push({
        name: `R = [r]B + [${j}]T8, A torsion-free`,
        signature: signatureOf(mixedR, (NONCE_R + k * SCALAR_A) % L),
        message,
        publicKey,
        valid: false,
        cofactorless: false,
        cofactored: true,
      });
    }
    // R = [r]B + [j]T8 and A = [a]B + T8: [S]B − [k]A = [r]B − [k]T8, equal to R iff k ≡ −j (mod 8).
    const publicKey = cleanA.add(T8).toBytes();
    const mixedR = cleanR.add(T).toBytes();
    for (const cancels of [true, false]) {
      const { message, k } = findMessage(
        `mixed A and R ${j} ${cancels}`,
        mixedR,
        publicKey,
        (k) => ((k + BigInt(j)) % 8n === 0n) === cancels,
      );
      cases.push({
        name: `R = [r]B + [${j}]T8, A = [a]B + T8, torsion ${cancels ? "cancels" : "does not cancel"}`,
        signature: signatureOf(mixedR, (NONCE_R + k * SCALAR_A) % L),
        message,
        publicKey,
        valid: cancels,
        cofactorless: cancels,
        cofactored: true,
      });
    }
  }
  runCases(cases);

  test("noble's own ed.verify (zip215: false) is cofactored, which is why nobleVerifier does not call it", () => {
    const cofactoredOnly = cases.find((c) => c.cofactored === true && c.cofactorless === false)!;
    const { signature, message, publicKey } = cofactoredOnly;
    assert.equal(ed.verify(signature, message, publicKey, { zip215: false }), true);
    assert.equal(nobleVerifier.verify(signature, message, publicKey), false);
  });
});

describe("lengths, empty messages and input views", () => {
  const { signature, message, publicKey } = TEST1;
  runCases([
    { name: "31-byte public key", signature, message, publicKey: publicKey.subarray(0, 31), valid: false },
    {
      name: "33-byte public key",
      signature,
      message,
      publicKey: concat(publicKey, new Uint8Array(1)),
      valid: false,
    },
    { name: "empty public key", signature, message, publicKey: new Uint8Array(0), valid: false },
    { name: "63-byte signature", signature: signature.subarray(0, 63), message, publicKey, valid: false },
    {
      name: "65-byte signature",
      signature: concat(signature, new Uint8Array(1)),
      message,
      publicKey,
      valid: false,
    },
    { name: "empty signature", signature: new Uint8Array(0), message, publicKey, valid: false },
    {
      name: "signature of the empty message, checked against [0x00]",
      signature,
      message: new Uint8Array(1),
      publicKey,
      valid: false,
    },
    {
      name: "signature of [0x72], checked against the empty message",
      signature: TEST2.signature,
      message: new Uint8Array(0),
      publicKey: TEST2.publicKey,
      valid: false,
    },
    {
      name: "arguments as unaligned subarray views of one buffer",
      ...(() => {
        const buffer = concat(
          new Uint8Array(3),
          TEST3.signature,
          TEST3.message,
          TEST3.publicKey,
          new Uint8Array(5),
        );
        return {
          signature: buffer.subarray(3, 67),
          message: buffer.subarray(67, 69),
          publicKey: buffer.subarray(69, 101),
        };
      })(),
      valid: true,
    },
    {
      name: "arguments as Node Buffers",
      signature: Buffer.from(TEST3.signature),
      message: Buffer.from(TEST3.message),
      publicKey: Buffer.from(TEST3.publicKey),
      valid: true,
    },
  ]);
});

describe("every single-bit flip of a valid signature, key or message is rejected", () => {
  const { signature, message, publicKey } = TEST2;
  test("all 512 signature bits, 256 key bits and 8 message bits", () => {
    const mutants: Case[] = [
      ...Array.from({ length: 512 }, (_, bit) => ({
        signature: flipBit(signature, bit),
        message,
        publicKey,
        bit,
      })),
      ...Array.from({ length: 256 }, (_, bit) => ({
        signature,
        message,
        publicKey: flipBit(publicKey, bit),
        bit,
      })),
      ...Array.from({ length: 8 }, (_, bit) => ({
        signature,
        message: flipBit(message, bit),
        publicKey,
        bit,
      })),
    ].map((m, i) => ({ ...m, name: `mutant ${i} (bit ${m.bit})`, valid: false }));
    for (const mutant of mutants) checkCase(mutant);
  });
});

/**
 * The 12 vectors of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, SSR 2020), from
 * github.com/novifinancial/ed25519-speccheck, cases.json at commit 65519336fda7. libsodium's published
 * row in that repository's results.md accepts only case 3 (mixed A and R, cofactorless holds).
 */
const SPECCHECK: readonly {
  message: string;
  publicKey: string;
  signature: string;
  valid: boolean;
  about: string;
}[] = [
  {
    about: "S = 0, small A and small R",
    message: "8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6",
    publicKey: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    signature:
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000",
    valid: false,
  },
  {
    about: "small A, mixed R",
    message: "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
    publicKey: "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    signature:
      "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
    valid: false,
  },
  {
    about: "mixed A, small R",
    message: "aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab",
    publicKey: "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
    signature:
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e",
    valid: false,
  },
  {
    about: "mixed A and R, cofactorless equation holds",
    message: "9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79",
    publicKey: "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
    signature:
      "9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009",
    valid: true,
  },
  {
    about: "mixed A and R, only the cofactored equation holds",
    message: "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
    publicKey: "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
    signature:
      "160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09",
    valid: false,
  },
  {
    about: "mixed A, order-ℓ R, cofactored only with pre-reduced 8k",
    message: "e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c",
    publicKey: "cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d",
    signature:
      "21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405",
    valid: false,
  },
  {
    about: "S > ℓ",
    message: "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
    publicKey: "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
    signature:
      "e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514",
    valid: false,
  },
  {
    about: "S ≫ ℓ (high bits set)",
    message: "85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40",
    publicKey: "442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623",
    signature:
      "8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22",
    valid: false,
  },
  {
    about: "non-canonical small R, reduced for the hash",
    message: "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
    publicKey: "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
    signature:
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f",
    valid: false,
  },
  {
    about: "non-canonical small R, not reduced for the hash",
    message: "9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41",
    publicKey: "f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43",
    signature:
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908",
    valid: false,
  },
  {
    about: "non-canonical small A, reduced for the hash",
    message: "e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b",
    publicKey: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    signature:
      "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
    valid: false,
  },
  {
    about: "non-canonical small A, not reduced for the hash",
    message: "39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f",
    publicKey: "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    signature:
      "a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04",
    valid: false,
  },
];

describe("ed25519-speccheck vectors (Taming the many EdDSAs)", () => {
  runCases(
    SPECCHECK.map((v, i) => ({
      name: `case ${i}: ${v.about}`,
      signature: fromHex(v.signature),
      message: fromHex(v.message),
      publicKey: fromHex(v.publicKey),
      valid: v.valid,
    })),
  );
});

describe("properties", () => {
  const runs = Number(process.env.TALLY_PROPERTY_RUNS ?? 100);
  const secretKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const messageArb = fc.uint8Array({ maxLength: 300 });

  test("honest signatures: both accept, and noble signs byte-for-byte like libsodium", () => {
    fc.assert(
      fc.property(secretKeyArb, messageArb, (secretKey, message) => {
        const publicKey = publicKeyOf(secretKey);
        const signature = sign(message, secretKey);
        const sodiumPublicKey = Buffer.alloc(32);
        const sodiumSecretKey = Buffer.alloc(64);
        sodium.crypto_sign_seed_keypair(sodiumPublicKey, sodiumSecretKey, Buffer.from(secretKey));
        const sodiumSignature = Buffer.alloc(64);
        sodium.crypto_sign_detached(sodiumSignature, Buffer.from(message), sodiumSecretKey);
        assert.equal(toHex(publicKey), toHex(sodiumPublicKey));
        assert.equal(toHex(signature), toHex(sodiumSignature));
        assert.equal(nobleVerifier.verify(signature, message, publicKey), true);
        assert.equal(sodiumVerifier.verify(signature, message, publicKey), true);
      }),
      { numRuns: runs },
    );
  });

  test("one flipped bit in signature, message or key: both reject", () => {
    fc.assert(
      fc.property(
        secretKeyArb,
        messageArb,
        fc.constantFrom("signature", "message", "publicKey"),
        fc.nat(),
        (secretKey, message, target, bitSeed) => {
          const publicKey = publicKeyOf(secretKey);
          const signature = sign(message, secretKey);
          const field = target === "message" && message.length === 0 ? "signature" : target;
          const inputs: Record<typeof field, Uint8Array> = { signature, message, publicKey };
          inputs[field] = flipBit(inputs[field], bitSeed % (inputs[field].length * 8));
          checkCase({ name: "mutant", ...inputs, valid: false });
        },
      ),
      { numRuns: runs },
    );
  });

  test("mixed-order keys: both accept exactly when the torsion part of [k]A vanishes", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: L - 1n }),
        fc.bigInt({ min: 1n, max: L - 1n }),
        fc.integer({ min: 0, max: 7 }),
        messageArb,
        (a, r, j, message) => {
          const T = TORSION[j]!;
          const publicKey = B.multiply(a, false).add(T).toBytes();
          const rEncoding = B.multiply(r, false).toBytes();
          const k = challenge(rEncoding, publicKey, message);
          const signature = signatureOf(rEncoding, (r + k * a) % L);
          checkCase({
            name: "mixed",
            signature,
            message,
            publicKey,
            valid: T.multiply(k, false).is0(),
            cofactored: true,
          });
        },
      ),
      { numRuns: runs },
    );
  });

  test("random keys and signatures with S < ℓ: both agree (and reject)", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        messageArb,
        (signature, publicKey, message) => {
          signature[63]! &= 0x0f; // S < 2^252 < ℓ, so the random case reaches the point checks
          checkCase({ name: "random", signature, message, publicKey, valid: false });
        },
      ),
      { numRuns: runs * 2 },
    );
  });
});
