/**
 * Host announcements (src/protocols/committees/hostAnnouncement.ts) and the relay's gate
 * (hostAnnouncementGate.ts): the byte layout round-trips and nothing else decodes; only the host's own key
 * signs one; the gate relays one per host per 10 s, fresh, signed, from a known identity — and a forgery
 * naming a host never spends that host's budget.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import fc from "fast-check";
import { ErrorCode, TallyError } from "../../src/core/errors.ts";
import { ownerSigner } from "../../src/node/shared/ownerSigner.ts";
import {
  hostRecordSigningBytes,
  type OwnerHostRecord,
} from "../../src/protocols/committees/committeeChannelMessages.ts";
import {
  decodeHostAnnouncement,
  hostAnnouncementSigned,
  MAX_HOST_ANNOUNCEMENT_BYTES,
  signHostAnnouncement,
} from "../../src/protocols/committees/hostAnnouncement.ts";
import {
  HOST_ANNOUNCEMENT_MAX_SKEW_MS,
  HOST_ANNOUNCEMENT_MIN_INTERVAL_MS,
  HostAnnouncementGate,
} from "../../src/protocols/committees/hostAnnouncementGate.ts";

const NOW = 1_800_000_000_000;

async function node(): Promise<{ key: PrivateKey; peer: string }> {
  const key = await generateKeyPair("Ed25519");
  return { key, peer: peerIdFromPrivateKey(key).toString() };
}

/** `count` records of distinct accounts, each signed by its own owner key, all naming `host`. */
function records(host: string, count: number, expiresAtMs = NOW + 60_000): OwnerHostRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const signer = ownerSigner(new Uint8Array(32).fill(i + 1));
    const unsigned = {
      account: new Uint8Array(32).fill(100 + i),
      owner: signer.publicKey,
      host,
      expiresAtMs,
    };
    return { ...unsigned, signature: signer.sign(hostRecordSigningBytes(unsigned)) };
  });
}

function malformed(e: unknown): boolean {
  return e instanceof TallyError && e.code === ErrorCode.ChannelMalformedBody;
}

describe("host announcement: layout and signature", () => {
  it("round-trips, and only the host's key signs it", async () => {
    const { key, peer } = await node();
    const sent = records(peer, 3);
    const wire = await signHostAnnouncement(sent, NOW, key);
    const got = decodeHostAnnouncement(wire);
    assert.equal(got.host, peer);
    assert.equal(got.issuedAtMs, NOW);
    assert.deepEqual(
      got.records.map((r) => [Buffer.from(r.account), r.host, r.expiresAtMs, Buffer.from(r.signature)]),
      sent.map((r) => [Buffer.from(r.account), r.host, r.expiresAtMs, Buffer.from(r.signature)]),
    );
    assert.equal(hostAnnouncementSigned(got), true);

    const other = await node();
    await assert.rejects(signHostAnnouncement(sent, NOW, other.key), /not the records' host/);
    await assert.rejects(signHostAnnouncement([], NOW, key), /no host records/);
    const mixed = [...records(peer, 1), ...records(other.peer, 1)];
    await assert.rejects(signHostAnnouncement(mixed, NOW, key), /one host/);
  });

  it("a byte changed anywhere fails to decode or to verify", async () => {
    const { key, peer } = await node();
    const wire = await signHostAnnouncement(records(peer, 2), NOW, key);
    fc.assert(
      fc.property(fc.nat(wire.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = Uint8Array.from(wire);
        bad[at]! ^= flip;
        try {
          assert.equal(hostAnnouncementSigned(decodeHostAnnouncement(bad)), false);
        } catch (e) {
          assert.ok(malformed(e), String(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("refuses truncation, trailing bytes, another version, no records, and hosts that are not Ed25519 peer ids", async () => {
    const { key, peer } = await node();
    const wire = await signHostAnnouncement(records(peer, 1), NOW, key);
    for (let cut = 0; cut < wire.length; cut += 7)
      assert.throws(() => decodeHostAnnouncement(wire.subarray(0, cut)), malformed);
    // A byte more inside the body (before the signature) is a trailing byte of the records.
    const longer = Buffer.concat([wire.subarray(0, wire.length - 64), Uint8Array.of(0), wire.subarray(-64)]);
    assert.throws(() => decodeHostAnnouncement(longer), malformed);
    const versioned = Uint8Array.from(wire);
    versioned[0] = 2;
    assert.throws(() => decodeHostAnnouncement(versioned), /unknown version/);
    const empty = Buffer.concat([wire.subarray(0, 9), Uint8Array.of(0), new Uint8Array(64)]);
    assert.throws(() => decodeHostAnnouncement(empty), /no records/);
    // A record naming a host that is not a peer id: the same layout with the host text replaced.
    const fake = records("not-a-peer-id", 1)[0]!;
    const body = Buffer.concat([wire.subarray(0, 9), Uint8Array.of(1)]);
    const host = Buffer.from(fake.host);
    const tail = Buffer.alloc(8);
    tail.writeBigUInt64BE(BigInt(fake.expiresAtMs));
    const forged = Buffer.concat([
      body,
      fake.account,
      fake.owner,
      Uint8Array.of(host.length),
      host,
      tail,
      fake.signature,
      new Uint8Array(64),
    ]);
    assert.throws(() => decodeHostAnnouncement(forged), /not a peer id/);
    assert.throws(() => decodeHostAnnouncement(new Uint8Array(MAX_HOST_ANNOUNCEMENT_BYTES + 1)), /too large/);
  });

  it("32 records, the most a node hosts, fit under the stated maximum", async () => {
    const { key, peer } = await node();
    const wire = await signHostAnnouncement(records(peer, 32), NOW, key);
    assert.ok(wire.length <= MAX_HOST_ANNOUNCEMENT_BYTES);
    assert.equal(decodeHostAnnouncement(wire).records.length, 32);
  });
});

describe("host announcement gate: one per host identity per 10 s", () => {
  async function setup(options: { known?: (peer: string) => boolean; maxHosts?: number } = {}) {
    const host = await node();
    let verifies = 0;
    const gate = new HostAnnouncementGate({
      self: "this-node",
      isKnownHost: options.known ?? (() => true),
      signed: (a) => {
        verifies++;
        return hostAnnouncementSigned(a);
      },
      maxHosts: options.maxHosts ?? 10_000,
    });
    const at = (issuedAtMs: number) => signHostAnnouncement(records(host.peer, 1), issuedAtMs, host.key);
    return { gate, host, at, verifies: () => verifies };
  }

  it("accepts a fresh one, then refuses a replay and one within 10 s, and takes the next after 10 s", async () => {
    const { gate, at } = await setup();
    const first = await at(NOW);
    assert.equal(gate.judge(first, NOW).verdict, "accept");
    assert.deepEqual(gate.judge(first, NOW + 1).verdict, "ignore");
    assert.deepEqual(gate.judge(await at(NOW + 5_000), NOW + 5_000), {
      verdict: "ignore",
      reason: "tooFast",
    });
    assert.deepEqual(gate.judge(await at(NOW - 1), NOW + 5_000), { verdict: "ignore", reason: "stale" });
    const next = await at(NOW + HOST_ANNOUNCEMENT_MIN_INTERVAL_MS);
    assert.equal(gate.judge(next, NOW + HOST_ANNOUNCEMENT_MIN_INTERVAL_MS).verdict, "accept");
  });

  it("refuses what is older or further ahead than 30 s, from an unknown host, and our own", async () => {
    const { gate, at, host } = await setup({ known: (peer) => peer !== "nobody" });
    const old = await at(NOW - HOST_ANNOUNCEMENT_MAX_SKEW_MS - 1);
    assert.deepEqual(gate.judge(old, NOW), { verdict: "ignore", reason: "stale" });
    const ahead = await at(NOW + HOST_ANNOUNCEMENT_MAX_SKEW_MS + 1);
    assert.deepEqual(gate.judge(ahead, NOW), { verdict: "ignore", reason: "early" });
    const unknown = new HostAnnouncementGate({
      self: "x",
      isKnownHost: () => false,
      signed: () => true,
      maxHosts: 10,
    });
    assert.deepEqual(unknown.judge(await at(NOW), NOW), { verdict: "ignore", reason: "unknownHost" });
    const own = new HostAnnouncementGate({
      self: host.peer,
      isKnownHost: () => true,
      signed: () => true,
      maxHosts: 10,
    });
    assert.deepEqual(own.judge(await at(NOW), NOW), { verdict: "ignore", reason: "self" });
    assert.equal(gate.size, 0, "nothing refused was remembered");
  });

  it("a forgery naming the host is rejected and does not spend the host's budget", async () => {
    const { gate, at, verifies } = await setup();
    const genuine = await at(NOW);
    const forged = Uint8Array.from(genuine);
    forged[forged.length - 1]! ^= 1;
    assert.deepEqual(gate.judge(forged, NOW), { verdict: "reject", reason: "badSignature" });
    assert.equal(
      gate.judge(genuine, NOW).verdict,
      "accept",
      "the genuine one of the same instant still passes",
    );
    assert.deepEqual(gate.judge(new Uint8Array([1, 2, 3]), NOW), { verdict: "reject", reason: "malformed" });
    assert.equal(verifies(), 2, "no signature checked for the malformed one");
  });

  it("remembers at most maxHosts, forgetting those that can no longer refuse anything", async () => {
    const { gate, at } = await setup({ maxHosts: 1 });
    assert.equal(gate.judge(await at(NOW), NOW).verdict, "accept");
    const other = await node();
    const second = await signHostAnnouncement(records(other.peer, 1), NOW, other.key);
    assert.deepEqual(gate.judge(second, NOW), { verdict: "ignore", reason: "full" });
    const later = NOW + HOST_ANNOUNCEMENT_MAX_SKEW_MS + HOST_ANNOUNCEMENT_MIN_INTERVAL_MS + 1;
    const secondLater = await signHostAnnouncement(records(other.peer, 1), later, other.key);
    assert.equal(gate.judge(secondLater, later).verdict, "accept", "the first host was forgotten for room");
    assert.equal(gate.size, 1);
  });
});
