import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKeyPairFromSeed } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { RandomSource } from "../../src/core/random.ts";
import { mintIdentityProof } from "../../src/membership/identityProof.ts";
import { signNodeRecord, verifyNodeRecord } from "../../src/membership/nodeRecord.ts";
import { OpenMembership, type RecordVerdict } from "../../src/membership/openMembership.ts";
import { MAX_COUNTED_SENDERS, OVER_BUDGET_PER_PENALTY } from "../../src/membership/overBudgetPenalty.ts";
import { seededRandom } from "../../src/sim/prng.ts";

const GENESIS = "5a".repeat(32);
const NETWORK = "tally-open";
const DIFFICULTY = 2;
const NOW = 1_700_000_000_000;
/** The default announcement budget's burst: records a quiet sender may deliver at once. */
const BURST = 500;

function membership(
  random: RandomSource,
  self = "self",
  verifyRecord?: typeof verifyNodeRecord,
  unlinked?: ReadonlySet<string>,
): OpenMembership {
  return new OpenMembership({
    ...(unlinked !== undefined ? { unlinked } : {}),
    self,
    network: NETWORK,
    genesisHash: GENESIS,
    identityDifficulty: DIFFICULTY,
    recordTtlMs: 600_000,
    viewSize: 8,
    resetsPerRound: 2,
    maxRecords: 100,
    minUpdateIntervalMs: 1_000,
    random,
    verifyRecord,
  });
}

/** A valid signed record of the peer with key seed `seed`. */
async function signedRecord(seed: number): Promise<{ peerId: string; wire: Uint8Array }> {
  const key = await generateKeyPairFromSeed("Ed25519", new Uint8Array(32).fill(seed));
  const peerId = peerIdFromPrivateKey(key).toString();
  const wire = await signNodeRecord(
    {
      peerId,
      addrs: [`/ip4/10.${seed}.0.1/tcp/4001`],
      network: NETWORK,
      genesisHash: GENESIS,
      seq: NOW,
      expiresAtMs: NOW + 600_000,
      identityNonce: mintIdentityProof(peerId, GENESIS, DIFFICULTY),
    },
    key,
  );
  return { peerId, wire };
}

const JUNK = new Uint8Array([1, 2, 3]);

describe("OpenMembership: a sender over its announcement budget", () => {
  it("is due one penalty per 64 records past its budget, and only then", () => {
    const m = membership(seededRandom(1));
    const verdicts: RecordVerdict[] = [];
    for (let i = 0; i < BURST + 3 * OVER_BUDGET_PER_PENALTY; i++)
      verdicts.push(m.receive(JUNK, "flooder", NOW));
    assert.ok(
      verdicts.slice(0, BURST).every((v) => v.verdict === "reject"),
      "within budget: judged (and junk rejected)",
    );
    const over = verdicts.slice(BURST);
    assert.ok(over.every((v) => v.verdict === "ignore" && v.reason === "senderOverBudget"));
    const due = over.flatMap((v, i) =>
      v.verdict === "ignore" && v.penalty === "budgetOverrun" ? [i + 1] : [],
    );
    assert.deepEqual(due, [64, 128, 192], "the 64th, 128th and 192nd excess record");
  });

  it("counts each sender on its own", () => {
    const m = membership(seededRandom(2));
    const penalties = new Map<string, number>();
    for (let i = 0; i < 2 * (BURST + OVER_BUDGET_PER_PENALTY); i++) {
      const sender = i % 2 === 0 ? "a" : "b";
      const v = m.receive(JUNK, sender, NOW);
      if (v.verdict === "ignore" && v.penalty !== undefined)
        penalties.set(sender, (penalties.get(sender) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(penalties), { a: 1, b: 1 });
  });

  it("counts at most MAX_COUNTED_SENDERS senders: a forgotten one starts again from zero", () => {
    const m = membership(seededRandom(3));
    const overrun = (sender: string, records: number): number => {
      let due = 0;
      for (let i = 0; i < records; i++) {
        const v = m.receive(JUNK, sender, NOW);
        if (v.verdict === "ignore" && v.penalty !== undefined) due++;
      }
      return due;
    };
    assert.equal(overrun("first", BURST + OVER_BUDGET_PER_PENALTY - 1), 0, "one excess record short");
    // The announcement budget tracks 1,024 senders too: these push `first` out of both.
    for (let s = 0; s < MAX_COUNTED_SENDERS; s++) overrun(`other${s}`, BURST + 1);
    assert.equal(overrun("first", BURST + 1), 0, "its count restarted: one excess record is not 64");
  });
});

describe("OpenMembership: an empty view falls back to a bootstrap peer", () => {
  it("draws the bootstrap peer from the injected randomness: a seed replays the choices", () => {
    const choices = (seed: number) => {
      const m = membership(seededRandom(seed));
      return Array.from({ length: 40 }, () => m.round(["b0", "b1", "b2"]).exchangeWith);
    };
    assert.deepEqual(choices(5), choices(5));
    assert.notDeepEqual(choices(5), choices(6));
    assert.deepEqual(new Set(choices(5)), new Set(["b0", "b1", "b2"]), "every bootstrap peer gets asked");
  });

  it("a random source returning exactly 1 still names a listed peer", () => {
    assert.equal(membership(() => 1).round(["b0", "b1"]).exchangeWith, "b1");
  });

  it("no bootstrap peer and an empty view: nobody to ask", () => {
    assert.equal(membership(seededRandom(8)).round([]).exchangeWith, undefined);
    assert.equal(membership(seededRandom(8)).round().exchangeWith, undefined);
  });

  it("a non-empty view is asked instead, and the bootstrap list is not drawn from", async () => {
    const m = membership(seededRandom(9));
    const { peerId, wire } = await signedRecord(11);
    const verdict = m.receive(wire, "relay", NOW);
    assert.equal(verdict.verdict, "accept");
    for (let r = 0; r < 10; r++) assert.equal(m.round(["b0", "b1"]).exchangeWith, peerId);
  });
});

describe("OpenMembership: a lapsed record", () => {
  it("leaves its peer a non-member that was a member, for one record TTL after it expired", async () => {
    const m = membership(seededRandom(4));
    const { peerId, wire } = await signedRecord(9);
    assert.equal(m.receive(wire, peerId, NOW).verdict, "accept");
    assert.equal(m.wasMember(peerId, NOW), false, "a member is not lapsed");
    const expiredAt = NOW + 600_000;
    assert.deepEqual(m.expire(expiredAt), [peerId]);
    assert.equal(m.isMember(peerId), false);
    assert.equal(m.wasMember(peerId, expiredAt + 599_999), true);
    assert.equal(m.wasMember(peerId, expiredAt + 600_001), false, "only for one TTL");
    assert.equal(m.wasMember("never-seen", expiredAt), false);
  });
});

describe("OpenMembership: a record seen again", () => {
  /** A membership that counts the records it checks in full. */
  function counting(seed: number): { m: OpenMembership; checks: () => number } {
    let checks = 0;
    const m = membership(seededRandom(seed), "self", (bytes, ctx) => {
      checks++;
      return verifyNodeRecord(bytes, ctx);
    });
    return { m, checks: () => checks };
  }

  it("gets the verdict its bytes got, without being checked again, until it expires", async () => {
    const { m, checks } = counting(5);
    const { peerId, wire } = await signedRecord(11);
    assert.equal(m.receive(wire, peerId, NOW).verdict, "accept");
    assert.equal(checks(), 1);
    // An exchange brings it again, from another peer, as a copy of the bytes: known, nothing to check.
    assert.deepEqual(m.receive(new Uint8Array(wire), "relay", NOW + 5_000), {
      verdict: "ignore",
      reason: "duplicate",
    });
    assert.equal(checks(), 1);
    // Only the clock-dependent part is judged again: once expired, the same bytes are refused as expired.
    assert.deepEqual(m.receive(wire, "relay", NOW + 600_000), { verdict: "ignore", reason: "expired" });
    assert.equal(checks(), 1);
  });

  it("is checked in full when a single byte differs", async () => {
    const { m, checks } = counting(6);
    const { peerId, wire } = await signedRecord(12);
    assert.equal(m.receive(wire, peerId, NOW).verdict, "accept");
    const forged = new Uint8Array(wire);
    forged[forged.length - 1]! ^= 1; // the signature's last byte
    assert.deepEqual(m.receive(forged, "liar", NOW), { verdict: "reject", reason: "badSignature" });
    assert.equal(checks(), 2);
    // A refused record is not remembered: it is checked, and refused, every time.
    assert.equal(m.receive(forged, "liar", NOW).verdict, "reject");
    assert.equal(checks(), 3);
  });
});

describe("OpenMembership: an unlinked identity (testing)", () => {
  it("is known, with its addresses, but never enters the view", async () => {
    const records = await Promise.all([1, 2, 3, 4].map(signedRecord));
    const unlinked = records[0]!.peerId;
    const m = membership(seededRandom(5), "self", undefined, new Set([unlinked]));
    for (const { wire } of records) assert.equal(m.receive(wire, "relay", NOW).verdict, "accept");
    for (let round = 0; round < 20; round++) m.round();
    assert.ok(m.isMember(unlinked));
    assert.deepEqual(m.addressesOf(unlinked), ["/ip4/10.1.0.1/tcp/4001"]);
    assert.deepEqual(
      [...m.viewPeers()].sort(),
      records
        .slice(1)
        .map((r) => r.peerId)
        .sort(),
      "every other identity fills the view; the unlinked one never does",
    );
  });
});
