import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKeyPair, generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import fc from "fast-check";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { checkIdentityProof, mintIdentityProof } from "../../src/membership/identityProof.ts";
import {
  decodeSignedNodeRecord,
  encodeNodeRecord,
  MAX_SIGNED_RECORD_BYTES,
  type NodeRecord,
  type RecordContext,
  signNodeRecord,
  verifyNodeRecord,
} from "../../src/membership/nodeRecord.ts";

const GENESIS = "5a".repeat(32);
const NETWORK = "tally-open";
const DIFFICULTY = 8;
const NOW = 1_700_000_000_000;
const TTL_MS = 600_000;
const ctx: RecordContext = {
  network: NETWORK,
  genesisHash: GENESIS,
  difficulty: DIFFICULTY,
  nowMs: NOW,
  maxTtlMs: TTL_MS,
};

async function key(seed: number): Promise<PrivateKey> {
  return generateKeyPairFromSeed("Ed25519", new Uint8Array(32).fill(seed));
}

function recordFor(privateKey: PrivateKey, overrides: Partial<NodeRecord> = {}): NodeRecord {
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  return {
    peerId,
    addrs: ["/ip4/10.1.2.3/tcp/4001", "/ip6/::1/tcp/4002"],
    network: NETWORK,
    genesisHash: GENESIS,
    seq: 7,
    expiresAtMs: NOW + TTL_MS,
    identityNonce: mintIdentityProof(peerId, GENESIS, DIFFICULTY),
    ...overrides,
  };
}

function withZeroSignature(body: Uint8Array): Uint8Array {
  const wire = new Uint8Array(body.length + 64);
  wire.set(body);
  return wire;
}

function isMalformed(e: unknown): boolean {
  return isTallyError(e, ErrorCode.NodeRecordMalformed);
}

const signer = await key(1);
const record = recordFor(signer);
const wire = await signNodeRecord(record, signer);

describe("node records", () => {
  it("a signed record verifies and decodes to what was signed", () => {
    assert.deepEqual(verifyNodeRecord(wire, ctx), { ok: true, record });
    const { record: decoded, body, signature } = decodeSignedNodeRecord(wire);
    assert.deepEqual(decoded, record);
    assert.deepEqual(body, encodeNodeRecord(record));
    assert.equal(signature.length, 64);
  });

  it("names each reason a record is refused", async () => {
    const reject = (bytes: Uint8Array, over: Partial<RecordContext>) =>
      verifyNodeRecord(bytes, { ...ctx, ...over });
    assert.deepEqual(reject(wire.subarray(1), {}), { ok: false, reason: "malformed" });
    assert.deepEqual(reject(wire, { network: "tally-other" }), { ok: false, reason: "wrongNetwork" });
    assert.deepEqual(reject(wire, { genesisHash: "00".repeat(32) }), { ok: false, reason: "wrongNetwork" });
    assert.deepEqual(reject(wire, { nowMs: record.expiresAtMs }), { ok: false, reason: "expired" });
    assert.deepEqual(reject(wire, { maxTtlMs: TTL_MS - 1 }), { ok: false, reason: "tooFarInFuture" });

    let lazyNonce = new Uint8Array(8);
    for (let i = 0; checkIdentityProof(record.peerId, GENESIS, lazyNonce, DIFFICULTY); i++) {
      lazyNonce = new Uint8Array(8).fill(i);
    }
    const unpaid = await signNodeRecord({ ...record, identityNonce: lazyNonce }, signer);
    assert.deepEqual(reject(unpaid, {}), { ok: false, reason: "badIdentityProof" });

    const forged = new Uint8Array(wire);
    forged.set(await (await key(2)).sign(new Uint8Array(8)), wire.length - 64);
    assert.deepEqual(reject(forged, {}), { ok: false, reason: "badSignature" });
  });

  it("only the record's own peer key may sign it, and only Ed25519 identities have records", async () => {
    await assert.rejects(signNodeRecord(record, await key(2)), (e: unknown) =>
      isTallyError(e, ErrorCode.InvalidField),
    );
    const secp = peerIdFromPrivateKey(await generateKeyPair("secp256k1")).toString();
    assert.throws(
      () => encodeNodeRecord({ ...record, peerId: secp }),
      (e: unknown) => isTallyError(e, ErrorCode.InvalidField),
    );
  });

  it("the encoder refuses what the decoder would refuse", () => {
    const refuses = (over: Partial<NodeRecord>) =>
      assert.throws(
        () => encodeNodeRecord({ ...record, ...over }),
        (e: unknown) => isTallyError(e, ErrorCode.InvalidField),
        JSON.stringify(over),
      );
    refuses({ network: "Bad Net" });
    refuses({ genesisHash: "AB".repeat(32) });
    refuses({ seq: -1 });
    refuses({ seq: 2 ** 53 });
    refuses({ expiresAtMs: 1.5 });
    refuses({ identityNonce: new Uint8Array(9) });
    refuses({ addrs: Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`) });
    refuses({ addrs: ["/ip4/10.0.0.1/tcp/1", "/ip4/10.0.0.1/tcp/1"] });
    refuses({ addrs: ["not an address"] });
    refuses({ addrs: [`/dns4/${"a".repeat(260)}/tcp/1`] });
    // Eight maximal addresses fit the per-address bound but not the 2 KiB total.
    refuses({ addrs: Array.from({ length: 8 }, (_, i) => `/dns4/${String(i).repeat(250)}/tcp/1`) });
  });

  it("the decoder enforces the bounds on bytes no honest encoder writes", () => {
    const body = encodeNodeRecord({ ...record, addrs: [] });
    const tooMany = new Uint8Array(body);
    tooMany[tooMany.length - 1] = 9;
    assert.throws(() => decodeSignedNodeRecord(withZeroSignature(tooMany)), isMalformed);
    const trailing = new Uint8Array([...body, 0]);
    assert.throws(() => decodeSignedNodeRecord(withZeroSignature(trailing)), isMalformed);
    const version2 = new Uint8Array(body);
    version2[0] = 2;
    assert.throws(() => decodeSignedNodeRecord(withZeroSignature(version2)), isMalformed);
    assert.throws(() => decodeSignedNodeRecord(new Uint8Array(MAX_SIGNED_RECORD_BYTES + 1)), isMalformed);
    // A seq above 2^53-1 would not survive as a JavaScript number.
    const hugeSeq = new Uint8Array(body);
    hugeSeq.fill(0xff, 2 + NETWORK.length + 64, 2 + NETWORK.length + 72);
    assert.throws(() => decodeSignedNodeRecord(withZeroSignature(hugeSeq)), isMalformed);
  });

  it("property: decode(encode(record)) is the record", async () => {
    const keys = await Promise.all([1, 2, 3].map(key));
    const peers = keys.map((k) => peerIdFromPrivateKey(k).toString());
    const addr = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([ip, port]) => `/ip4/${ip}/tcp/${port}`),
      fc.tuple(fc.domain(), fc.integer({ min: 0, max: 65535 })).map(([d, port]) => `/dns4/${d}/udp/${port}`),
    );
    const arbitraryRecord = fc.record({
      peerId: fc.constantFrom(...peers),
      addrs: fc.uniqueArray(addr, { maxLength: 4 }),
      network: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/),
      genesisHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex")),
      seq: fc.maxSafeNat(),
      expiresAtMs: fc.maxSafeNat(),
      identityNonce: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    });
    fc.assert(
      fc.property(arbitraryRecord, (r) => {
        assert.deepEqual(decodeSignedNodeRecord(withZeroSignature(encodeNodeRecord(r))).record, { ...r });
      }),
      { numRuns: 300 },
    );
  });

  it("any change to any byte of a signed record is refused", () => {
    for (let at = 0; at < wire.length; at++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const mutated = new Uint8Array(wire);
        mutated[at] = (mutated[at] as number) ^ flip;
        const result = verifyNodeRecord(mutated, ctx);
        assert.equal(result.ok, false, `byte ${at} ^ ${flip} was accepted`);
      }
    }
    fc.assert(
      fc.property(fc.nat(wire.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const mutated = new Uint8Array(wire);
        mutated[at] = (mutated[at] as number) ^ flip;
        assert.equal(verifyNodeRecord(mutated, ctx).ok, false);
      }),
    );
  });

  it("property: hostile bytes only ever raise the record's own typed error", () => {
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      // Near misses: a valid record truncated, extended or overwritten somewhere.
      fc.tuple(fc.nat(wire.length), fc.uint8Array({ maxLength: 40 })).map(([at, junk]) => {
        const bytes = new Uint8Array([...wire.subarray(0, at), ...junk, ...wire.subarray(at + junk.length)]);
        return bytes;
      }),
    );
    fc.assert(
      fc.property(hostile, (bytes) => {
        try {
          decodeSignedNodeRecord(bytes);
        } catch (e) {
          assert.ok(isMalformed(e), String(e));
        }
        const result = verifyNodeRecord(bytes, ctx);
        if (result.ok) assert.deepEqual(bytes, wire);
      }),
      { numRuns: 2000 },
    );
  });
});
