import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PeerId } from "../../src/core/peerId.ts";
import type { RandomSource } from "../../src/core/random.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { bucketOfAddress, WatermarkSummary } from "../../src/protocols/status/watermarkSummary.ts";
import { CatchUp, type CatchUpAction, type CatchUpLedger } from "../../src/protocols/sync/catchUp.ts";
import type { SyncRequest, SyncResponse } from "../../src/protocols/sync/syncMessages.ts";
import { seededRandom } from "../../src/sim/prng.ts";
import { makeTransfer, testKey } from "../support/fixtures.ts";

const ACCOUNTS = [0, 1, 2].map(testKey);
const SINK = testKey(99).address;
const PER_ACCOUNT = 40;

/** The network's true history: PER_ACCOUNT transfers per account. */
const TRUTH: Map<string, EncodedTransfer[]> = new Map(
  ACCOUNTS.map((k) => [
    k.address,
    Array.from({ length: PER_ACCOUNT }, (_, i) => makeTransfer(k, i + 1, [{ to: SINK, amount: 1n }])),
  ]),
);
/** What liars claim instead: other transfers for the same slots. */
const FORGED: Map<string, EncodedTransfer[]> = new Map(
  ACCOUNTS.map((k) => [
    k.address,
    Array.from({ length: PER_ACCOUNT }, (_, i) => makeTransfer(k, i + 1, [{ to: SINK, amount: 7n }])),
  ]),
);

class FakeLedger implements CatchUpLedger {
  readonly watermarks = new Map<string, number>();
  readonly delivered: EncodedTransfer[] = [];
  private readonly summary = new WatermarkSummary();
  seqSumOf(bucket: number) {
    return this.summary.seqSumOf(bucket);
  }
  watermarkOf(address: string): number {
    return this.watermarks.get(address) ?? 0;
  }
  isSlotTaken(address: string, seq: number): boolean {
    return seq <= this.watermarkOf(address);
  }
  deliver(encoded: EncodedTransfer): void {
    const t = encoded.transfer;
    assert.equal(t.seq, this.watermarkOf(t.source) + 1, "delivered in order");
    this.delivered.push(encoded);
    this.summary.advance(t.source, t.seq - 1, t.seq);
    this.watermarks.set(t.source, t.seq);
  }
}

function historyOf(liar: boolean): Map<string, EncodedTransfer[]> {
  return liar ? FORGED : TRUTH;
}

function snapshotOf(): ReturnType<WatermarkSummary["snapshot"]> {
  return WatermarkSummary.fromWatermarks([...TRUTH].map(([a, list]) => [a, list.length])).snapshot();
}

function answer(history: Map<string, EncodedTransfer[]>, request: SyncRequest): SyncResponse {
  if (request.kind === "watermarks") {
    const entries = [...history]
      .filter(([a]) => request.buckets.includes(bucketOfAddress(a)))
      .map(([a, list]) => [a, list.length] as const);
    return { kind: "watermarks", entries, more: false };
  }
  const list = (history.get(request.source) ?? []).slice(
    request.fromSeq - 1,
    request.fromSeq - 1 + request.count,
  );
  return request.kind === "digests"
    ? { kind: "digests", ids: list.map((e) => e.id) }
    : { kind: "bodies", bodies: list.map((e) => e.bytes) };
}

interface Population {
  /** Peers that are connected (and have sent a status); the rest of `liars`' peers are members but unreachable. */
  readonly connected: number;
  /** Draws from all members, with replacement, as the broadcast's Ω. */
  readonly draw: true;
  readonly mayDecide?: () => boolean;
}

/** Runs catch-up against peers (true = lies) until quiet; returns the ledger and who was penalized. */
function run(
  liars: readonly boolean[],
  threshold: number,
  seed: number | RandomSource,
  drawn?: number,
  population?: Population,
) {
  const peers: PeerId[] = liars.map((_, i) => `peer${i}`);
  const ledger = new FakeLedger();
  const ofPopulation = seededRandom(77);
  const catchUp = new CatchUp(ledger, {
    ...(population === undefined
      ? {}
      : {
          draw: (count: number) =>
            Array.from({ length: count }, () => peers[Math.floor(ofPopulation() * peers.length)]!),
          ...(population.mayDecide === undefined ? {} : { mayDecide: population.mayDecide }),
        }),
    isPeer: (peer) => peers.includes(peer),
    sampleSize: drawn ?? peers.length,
    withReplacement: drawn !== undefined,
    threshold,
    f: Math.floor(peers.length / 3),
    random: typeof seed === "number" ? seededRandom(seed) : seed,
    graceMs: 0,
  });
  const penalized = new Set<PeerId>();
  const queue: CatchUpAction[] = [];
  for (const p of peers.slice(0, population?.connected ?? peers.length)) catchUp.onStatus(p, snapshotOf(), 0);
  const drain = () => {
    for (let action = queue.shift(); action !== undefined; action = queue.shift()) {
      if (action.type === "deliver") ledger.deliver(action.encoded);
      else if (action.type === "penalize") penalized.add(action.peer);
      else if (action.type === "request") {
        const liar = liars[peers.indexOf(action.to)]!;
        queue.push(...catchUp.onAnswer(action.ask, action.to, answer(historyOf(liar), action.request)));
      }
    }
  };
  for (let now = 0; now < 10_000; now += 250) {
    queue.push(...catchUp.tick(now));
    drain();
  }
  return { ledger, penalized, progress: catchUp.progress() };
}

describe("catch-up core", () => {
  it("rebuilds every account from an honest sample, in order, and reports synced", () => {
    const { ledger, penalized, progress } = run([false, false, false], 3, 1);
    for (const [address, list] of TRUTH) assert.equal(ledger.watermarkOf(address), list.length);
    assert.deepEqual(
      ledger.delivered.map((e) => e.id).sort(),
      [...TRUTH.values()]
        .flat()
        .map((e) => e.id)
        .sort(),
    );
    assert.equal(penalized.size, 0);
    assert.deepEqual(progress, { state: "synced", behind: 0, fetched: ACCOUNTS.length * PER_ACCOUNT });
  });

  it("a random source returning exactly 1 still samples connected peers and catches up", () => {
    // Unclamped, the draw indexed one past the end: an undefined peer entered the sample and no body was fetched.
    for (const drawn of [undefined, 6]) {
      const { ledger, progress } = run([false, false, false], 3, () => 1, drawn);
      for (const [address, list] of TRUTH) assert.equal(ledger.watermarkOf(address), list.length);
      assert.equal(progress.state, "synced");
    }
  });

  it("out-votes a lying minority, accepts only the true transfers and penalizes the liar", () => {
    for (const seed of [1, 2, 3]) {
      const { ledger, penalized } = run([false, true, false, false, false, false, false], 5, seed);
      const truthIds = new Set([...TRUTH.values()].flat().map((e) => e.id));
      assert.equal(ledger.delivered.length, ACCOUNTS.length * PER_ACCOUNT);
      assert.ok(ledger.delivered.every((e) => truthIds.has(e.id)));
      assert.deepEqual([...penalized], ["peer1"]);
    }
  });

  it("accepts nothing when liars agree but fall short of D̂, and honest peers short of D̂ neither", () => {
    // 7 peers, D̂ = 5: 4 liars agree on forged transfers, 3 honest peers on the truth; neither reaches 5.
    const { ledger, progress } = run([true, true, true, true, false, false, false], 5, 4);
    assert.equal(ledger.delivered.length, 0);
    assert.equal(progress.state, "syncing");
  });

  it("weighs a sample drawn with replacement by draws: D = 100 over 4 honest peers reaches D̂ = 70", () => {
    const { ledger, penalized } = run([false, false, false, false], 70, 5, 100);
    assert.equal(ledger.delivered.length, ACCOUNTS.length * PER_ACCOUNT);
    assert.equal(penalized.size, 0);
  });

  it("with replacement, two liars of four pull the truth below D̂ = 70 and nothing is accepted", () => {
    for (const seed of [6, 7]) {
      const { ledger } = run([true, false, true, false], 70, seed, 100);
      assert.equal(ledger.delivered.length, 0);
    }
  });

  it("drawn from the whole population, one connected peer of six is not a sample: nothing accepted", () => {
    // A restarted node's first connection used to hold every draw of a sample drawn from connected peers.
    const honest = [false, false, false, false, false, false];
    const alone = run(honest, 70, 1, 100, { connected: 1, draw: true });
    assert.equal(alone.ledger.delivered.length, 0, "1 of 6 connected: ≈ 17 of 100 draws answer");
    const fromConnected = run(honest.slice(0, 1), 70, 1, 100);
    assert.ok(
      fromConnected.ledger.delivered.length > 0,
      "the same peer, as the only connected one, used to suffice",
    );
    const all = run(honest, 70, 1, 100, { connected: 6, draw: true });
    for (const [address, list] of TRUTH) assert.equal(all.ledger.watermarkOf(address), list.length);
  });

  it("accepts nothing while the broadcast may not decide (an open view still filling)", () => {
    let settled = false;
    const honest = [false, false, false, false];
    const waiting = run(honest, 70, 2, 100, { connected: 4, draw: true, mayDecide: () => settled });
    assert.equal(waiting.ledger.delivered.length, 0);
    settled = true;
    const after = run(honest, 70, 2, 100, { connected: 4, draw: true, mayDecide: () => settled });
    assert.ok(after.ledger.delivered.length > 0);
  });

  it("a peer connected before its record arrived is asked for status once it is a member", () => {
    // A node restarted with an empty database is connected to before it holds its peers' records: it used to
    // leave them out of catch-up for good, and, with samples drawn from the whole population, fetch nothing.
    const members = new Set<PeerId>();
    const catchUp = new CatchUp(new FakeLedger(), {
      isPeer: (peer) => members.has(peer),
      sampleSize: 3,
      threshold: 3,
      f: 1,
      random: seededRandom(3),
    });
    catchUp.peerUp("late");
    assert.deepEqual(catchUp.tick(0), [], "not a member yet: not asked");
    members.add("late");
    assert.deepEqual(catchUp.tick(1), [{ type: "askStatus", to: "late" }]);
  });
});
