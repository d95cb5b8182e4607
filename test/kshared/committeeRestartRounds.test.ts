/**
 * Owners that restart in different rounds of one seq. A restart resumes an owner in the highest round it
 * spoke in; if one owner timed out round 1 and the other only round 0, the one behind can never form round
 * 0's timeout certificate (the owner ahead signs only in round 1 now), and the one ahead drops its round-0
 * timeouts as behind: the seq stalled for good, with every link up — seen on a devnet whose two owners'
 * nodes restarted. The owner ahead now answers a timeout of a round it left with what moved it on.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import { Committee } from "../../src/kshared/committee.ts";
import type {
  CommitteeAction,
  CommitteeEvent,
  CommitteeMessage,
  CommitteeRecord,
  OwnerIndex,
} from "../../src/kshared/committeeTypes.ts";
import { ACCOUNT, ownerKeys, proposalBytes } from "./committeeHarness.ts";

const keys = ownerKeys(2, 7);

function committee(self: OwnerIndex): Committee {
  return new Committee({
    account: ACCOUNT,
    owners: keys.map((k) => k.publicKey),
    self,
    sign: (m) => keys[self]!.sign(m),
    verifier: sodiumVerifier,
  });
}

/** Two owners wired together: every send delivered at once, every persist kept. */
class Pair {
  readonly nodes: Committee[];
  readonly records: CommitteeRecord[][] = [[], []];
  readonly decided: number[][] = [[], []];
  nowMs = 0;
  linked = true;

  constructor(nodes: Committee[]) {
    this.nodes = nodes;
  }

  handle(to: OwnerIndex, event: CommitteeEvent): void {
    this.carryOut(to, this.nodes[to]!.handle(event));
  }

  carryOut(from: OwnerIndex, actions: readonly CommitteeAction[]): void {
    const sends: { to: OwnerIndex; message: CommitteeMessage }[] = [];
    for (const action of actions) {
      if (action.type === "persist") this.records[from]!.push(action.record);
      else if (action.type === "decided") this.decided[from]!.push(action.seq);
      else if (action.type === "send" && this.linked) {
        const to = action.to === "all" ? [1 - from] : action.to.filter((o) => o !== from);
        for (const t of to) sends.push({ to: t, message: action.message });
      }
    }
    for (const { to, message } of sends)
      this.handle(to, { type: "message", from, message, nowMs: this.nowMs });
  }

  /** Ticks both every 100 ms until `untilMs`. */
  tickUntil(untilMs: number, who: readonly OwnerIndex[] = [0, 1]): void {
    while (this.nowMs < untilMs) {
      this.nowMs += 100;
      for (const o of who) this.handle(o, { type: "tick", nowMs: this.nowMs });
    }
  }
}

test("owners restarted in different rounds of a seq still decide it", () => {
  // Both start (a probe after a restart), time out round 0 together and enter round 1; only owner 1 then
  // times out round 1 before both crash.
  const first = new Pair([committee(0), committee(1)]);
  for (const o of [0, 1] as const) first.carryOut(o, first.nodes[o]!.restore([]));
  first.tickUntil(1_500);
  assert.deepEqual(
    first.nodes.map((n) => n.currentRound),
    [1, 1],
  );
  first.linked = false;
  first.tickUntil(4_000, [1]);
  const spoken = first.records.map((r) => r.filter((x) => x.kind === "timeout").length);
  assert.deepEqual(spoken, [1, 2], "owner 0 spoke in round 0 only, owner 1 in rounds 0 and 1");

  // Both restart from their records: owner 0 in round 0, owner 1 in round 1.
  const second = new Pair([committee(0), committee(1)]);
  second.nowMs = first.nowMs;
  for (const o of [0, 1] as const) {
    second.records[o]!.push(...first.records[o]!);
    second.carryOut(o, second.nodes[o]!.restore(first.records[o]!));
  }
  assert.deepEqual(
    second.nodes.map((n) => n.currentRound),
    [0, 1],
  );
  second.handle(0, { type: "submit", proposal: proposalBytes(0, 1), nowMs: second.nowMs });
  second.tickUntil(second.nowMs + 30_000);
  assert.deepEqual(second.decided, [[0], [0]], "both decided seq 0");
});
