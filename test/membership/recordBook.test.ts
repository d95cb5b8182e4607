import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import type { NodeRecord } from "../../src/membership/nodeRecord.ts";
import { AnnouncementBudget, RecordBook } from "../../src/membership/recordBook.ts";

// The book trusts its caller to have verified records, so synthetic ones exercise it fully.
function rec(peerId: string, seq: number, expiresAtMs: number): NodeRecord {
  return {
    peerId,
    addrs: [],
    network: "tally-open",
    genesisHash: "00".repeat(32),
    seq,
    expiresAtMs,
    identityNonce: new Uint8Array(8),
  };
}
const wireOf = (r: NodeRecord) => new Uint8Array([r.seq]);

function offer(book: RecordBook, r: NodeRecord, nowMs: number) {
  return book.offer(r, wireOf(r), nowMs);
}

describe("record book", () => {
  it("keeps the highest seq per peer and serves its signed bytes", () => {
    const book = new RecordBook({ self: "me", maxRecords: 10, minUpdateIntervalMs: 1000 });
    assert.equal(offer(book, rec("a", 5, 10_000), 0), "accepted");
    assert.equal(offer(book, rec("a", 5, 10_000), 10), "duplicate");
    assert.equal(offer(book, rec("a", 4, 10_000), 2000), "stale");
    assert.equal(offer(book, rec("a", 6, 11_000), 2000), "accepted");
    assert.equal(book.get("a")?.seq, 6);
    assert.deepEqual(book.wire("a"), new Uint8Array([6]));
    assert.deepEqual(
      [...book.entries()].map((e) => e.since),
      [0],
      "since is the first acceptance",
    );
    assert.equal(book.has("a"), true);
    assert.equal(book.has("b"), false);
    assert.equal(book.wire("b"), undefined);
  });

  it("refuses a peer's updates that come faster than the minimum interval", () => {
    const book = new RecordBook({ self: "me", maxRecords: 10, minUpdateIntervalMs: 1000 });
    offer(book, rec("a", 1, 60_000), 0);
    assert.equal(offer(book, rec("a", 2, 60_000), 999), "tooFast");
    assert.equal(offer(book, rec("a", 3, 60_000), 1000), "accepted");
    assert.equal(offer(book, rec("a", 4, 60_000), 1500), "tooFast", "measured from the last acceptance");
  });

  it("never stores the node's own record", () => {
    const book = new RecordBook({ self: "me", maxRecords: 10, minUpdateIntervalMs: 0 });
    assert.equal(offer(book, rec("me", 1, 60_000), 0), "duplicate");
    assert.equal(book.size, 0);
  });

  it("when full, a new identity only takes an expired one's place; the book never grows past its cap", () => {
    const book = new RecordBook({ self: "me", maxRecords: 3, minUpdateIntervalMs: 0 });
    offer(book, rec("a", 1, 5_000), 0);
    offer(book, rec("b", 1, 9_000), 0);
    offer(book, rec("c", 1, 9_000), 0);
    assert.equal(offer(book, rec("d", 1, 9_000), 1000), "full");
    assert.equal(offer(book, rec("a", 2, 9_000), 1000), "accepted", "known peers still update when full");
    assert.equal(offer(book, rec("d", 1, 9_000), 6000), "full", "a's update moved its expiry");
    assert.equal(offer(book, rec("d", 1, 20_000), 9000), "accepted");
    assert.equal(book.size, 1, "the sweep dropped all three expired records");
    assert.deepEqual(book.expire(9000).sort(), ["a", "b", "c"], "expire reports what offer dropped");
    assert.deepEqual(book.expire(9000), []);
  });

  it("a flood of new identities cannot displace live ones", () => {
    const book = new RecordBook({ self: "me", maxRecords: 100, minUpdateIntervalMs: 0 });
    for (let i = 0; i < 100; i++) offer(book, rec(`honest${i}`, 1, 60_000), 0);
    for (let i = 0; i < 10_000; i++) assert.equal(offer(book, rec(`sybil${i}`, 1, 60_000), 1), "full");
    assert.equal(book.size, 100);
    assert.ok(book.peers().every((p) => p.startsWith("honest")));
  });

  it("expire removes and returns exactly the peers whose records ran out", () => {
    const book = new RecordBook({ self: "me", maxRecords: 10, minUpdateIntervalMs: 0 });
    offer(book, rec("a", 1, 1000), 0);
    offer(book, rec("b", 1, 2000), 0);
    assert.deepEqual(book.expire(999), []);
    assert.deepEqual(book.expire(1000), ["a"]);
    assert.deepEqual(book.peers(), ["b"]);
    assert.deepEqual(book.expire(5000), ["b"]);
    assert.equal(book.size, 0);
  });

  it("a peer dropped for room and accepted again is not reported as removed", () => {
    const book = new RecordBook({ self: "me", maxRecords: 1, minUpdateIntervalMs: 0 });
    offer(book, rec("a", 1, 1000), 0);
    assert.equal(offer(book, rec("b", 1, 3000), 1500), "accepted");
    assert.equal(offer(book, rec("a", 2, 9000), 3000), "accepted");
    assert.deepEqual(book.expire(3000), ["b"]);
  });

  it("rejects a nonsensical configuration", () => {
    assert.throws(
      () => new RecordBook({ self: "me", maxRecords: 0, minUpdateIntervalMs: 0 }),
      (e: unknown) => isTallyError(e, ErrorCode.InvalidConfig),
    );
  });
});

describe("announcement budget", () => {
  it("allows a burst, then the sustained rate", () => {
    const budget = new AnnouncementBudget({ ratePerSecond: 10, burst: 5, maxSenders: 4 });
    for (let i = 0; i < 5; i++) assert.equal(budget.allow("a", 0), true);
    assert.equal(budget.allow("a", 0), false);
    assert.equal(budget.allow("a", 99), false, "under one token refilled");
    assert.equal(budget.allow("a", 100), true);
    assert.equal(budget.allow("b", 100), true, "budgets are per sender");
    let allowed = 0;
    for (let t = 200; t <= 10_200; t += 10) if (budget.allow("a", t)) allowed++;
    assert.ok(allowed >= 100 && allowed <= 106, `~10/s over 10 s, got ${allowed}`);
  });

  it("tracks a bounded number of senders, forgetting the least recently heard", () => {
    const budget = new AnnouncementBudget({ ratePerSecond: 1, burst: 1, maxSenders: 2 });
    assert.equal(budget.allow("a", 0), true);
    assert.equal(budget.allow("b", 0), true);
    assert.equal(budget.allow("a", 0), false, "a is now the most recent");
    assert.equal(budget.allow("c", 0), true, "evicts b");
    assert.equal(budget.trackedSenders, 2);
    assert.equal(budget.allow("a", 0), false, "a kept its empty bucket");
    assert.equal(budget.allow("b", 0), true, "b was forgotten");
  });

  it("a clock stepping back neither refills nor breaks the bucket", () => {
    const budget = new AnnouncementBudget({ ratePerSecond: 1, burst: 1, maxSenders: 2 });
    assert.equal(budget.allow("a", 10_000), true);
    assert.equal(budget.allow("a", 0), false);
    assert.equal(budget.allow("a", 10_999), false);
    assert.equal(budget.allow("a", 11_000), true);
  });
});

describe("record book: a full book yields its largest address group", () => {
  const groupOf = (r: NodeRecord) => r.addrs[0]!.split(".").slice(0, 2).join(".");
  it("identities minted in bulk on one prefix are evicted for newcomers from other prefixes, never the reverse", async () => {
    const book = new RecordBook({ self: "self", maxRecords: 10, minUpdateIntervalMs: 0, groupOf });
    const at = (peerId: string, addr: string): NodeRecord => ({ ...rec(peerId, 1, 60_000), addrs: [addr] });
    for (let i = 0; i < 8; i++) assert.equal(offer(book, at(`sybil${i}`, "/ip4/6.6.6.1"), 0), "accepted");
    for (let i = 0; i < 2; i++) assert.equal(offer(book, at(`honest${i}`, `/ip4/1.${i}.0.1`), 0), "accepted");
    assert.equal(offer(book, at("sybil-late", "/ip4/6.6.9.9"), 0), "full", "its own group is the largest");
    assert.equal(offer(book, at("honest-late", "/ip4/9.9.0.1"), 0), "accepted");
    assert.equal(book.size, 10);
    assert.equal(book.has("sybil0"), false, "the oldest of the largest group made room");
    assert.deepEqual(book.expire(1), ["sybil0"], "the eviction is reported like an expiry");
  });

  it("an update that moves an identity to another prefix moves it between groups; each record is grouped once", () => {
    let grouped = 0;
    const counting = (r: NodeRecord) => {
      grouped++;
      return groupOf(r);
    };
    const book = new RecordBook({ self: "self", maxRecords: 4, minUpdateIntervalMs: 0, groupOf: counting });
    const at = (peerId: string, seq: number, addr: string): NodeRecord => ({
      ...rec(peerId, seq, 60_000),
      addrs: [addr],
    });
    for (let i = 0; i < 3; i++) offer(book, at(`bulk${i}`, 1, "/ip4/6.6.6.1"), 0);
    offer(book, at("lone", 1, "/ip4/1.1.0.1"), 0);
    // bulk0 leaves the 6.6 prefix: 6.6 now holds 2, and its oldest member is bulk1.
    assert.equal(offer(book, at("bulk0", 2, "/ip4/7.7.0.1"), 0), "accepted");
    assert.equal(offer(book, at("new", 1, "/ip4/9.9.0.1"), 0), "accepted", "2 ≥ 0 + 2: 6.6 yields");
    assert.equal(book.has("bulk1"), false);
    assert.equal(book.has("bulk0"), true, "the moved identity is no longer counted in 6.6");
    assert.equal(offer(book, at("new2", 1, "/ip4/9.8.0.1"), 0), "full", "every group now holds one");
    assert.equal(grouped, 7, "one grouping per record offered, none on removal");
  });
});
