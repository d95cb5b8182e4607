/**
 * The node's replay guard for proposal intents: each intent once, only inside its window, none issued
 * before the node started, and a bounded memory of what it has seen.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isTallyError } from "../../src/core/errors.ts";
import {
  INTENT_LIFETIME_MS,
  INTENT_MAX_AHEAD_MS,
  IntentGuard,
  MAX_REMEMBERED_INTENTS,
} from "../../src/node/shared/intentGuard.ts";

const STARTED = 1_000_000;
const code = (c: string) => (e: unknown) => isTallyError(e) && e.code === c;

describe("intent guard", () => {
  it("accepts a fresh intent once; the same signature again is a replay", () => {
    const guard = new IntentGuard(STARTED);
    guard.admit("a", STARTED + 10, STARTED + 20);
    assert.throws(() => guard.admit("a", STARTED + 10, STARTED + 30), code("SHARED_INTENT_REPLAYED"));
    guard.admit("b", STARTED + 10, STARTED + 30);
  });

  it("refuses intents issued before the node started, too far ahead, or past their lifetime", () => {
    const guard = new IntentGuard(STARTED);
    const now = STARTED + 60_000;
    assert.throws(() => guard.admit("early", STARTED - 1, now), code("SHARED_STALE_INTENT"));
    assert.throws(
      () => guard.admit("ahead", now + INTENT_MAX_AHEAD_MS + 1, now),
      code("SHARED_STALE_INTENT"),
    );
    guard.admit("edge-ahead", now + INTENT_MAX_AHEAD_MS, now);
    const issued = STARTED + 1;
    assert.throws(
      () => guard.admit("old", issued, issued + INTENT_LIFETIME_MS + 1),
      code("SHARED_STALE_INTENT"),
    );
    guard.admit("edge-old", issued, issued + INTENT_LIFETIME_MS);
    assert.equal(guard.remembered, 2, "refused intents are not remembered");
  });

  it("a restarted node (a new guard) refuses what the old one accepted: it was issued before the start", () => {
    const first = new IntentGuard(STARTED);
    first.admit("x", STARTED + 5, STARTED + 5);
    const restarted = new IntentGuard(STARTED + 10);
    assert.throws(() => restarted.admit("x", STARTED + 5, STARTED + 11), code("SHARED_STALE_INTENT"));
  });

  it(`remembers at most ${MAX_REMEMBERED_INTENTS}; full of live ones it answers PENDING_FULL, then frees ended ones`, () => {
    const guard = new IntentGuard(STARTED);
    for (let i = 0; i < MAX_REMEMBERED_INTENTS; i++) guard.admit(`s${i}`, STARTED + 1, STARTED + 2);
    assert.throws(() => guard.admit("more", STARTED + 3, STARTED + 3), code("PENDING_FULL"));
    // After their window ended, the old signatures are forgotten (a replay of them would be stale anyway).
    const later = STARTED + 2 + INTENT_LIFETIME_MS;
    guard.admit("later", later, later);
    assert.equal(guard.remembered, 1);
    assert.throws(() => guard.admit("s0", STARTED + 1, later), code("SHARED_STALE_INTENT"));
  });
});
