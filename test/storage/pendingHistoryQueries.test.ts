import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { BatchOp } from "../../src/storage/database.ts";
import { PendingHistory } from "../../src/storage/pendingHistory.ts";

/**
 * The bounded reads of the entries waiting for a checkpoint (what a catch-up request or a history page takes
 * from memory) must return exactly what filtering the account's whole list would: the same entries, in the
 * same order, only durable ones, however steps, takes, settles and checkpoints interleave.
 */

const ACCOUNTS = ["a", "b", "c"] as const;

type Op =
  | { readonly kind: "out"; readonly account: number }
  | { readonly kind: "in"; readonly account: number; readonly outputs: number }
  | { readonly kind: "take" }
  | { readonly kind: "settle" }
  | { readonly kind: "checkpoint" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("out" as const), account: fc.nat(2) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("in" as const),
      account: fc.nat(2),
      outputs: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "take" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "settle" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "checkpoint" as const }) },
);

interface ModelEntry {
  readonly account: string;
  readonly direction: "in" | "out";
  readonly seq: number;
  readonly id: string;
  readonly position: number;
}

/** The same rules as the store, written as plainly as possible: every entry in memory, then filtered. */
class Model {
  private current: ModelEntry[] = [];
  private checkpointing: ModelEntry[][] = [];
  private taken = 0;
  durable = 0;

  add(entry: ModelEntry): void {
    this.current.push(entry);
  }
  take(position: number): void {
    this.taken = position;
  }
  settle(): void {
    this.durable = this.taken;
    this.checkpointing = [];
  }
  checkpoint(): void {
    if (this.current.length > 0) this.checkpointing.push(this.current);
    this.current = [];
  }
  readable(account: string, direction: "in" | "out"): ModelEntry[] {
    return [...this.checkpointing.flat(), ...this.current].filter(
      (e) => e.account === account && e.direction === direction && e.position <= this.durable,
    );
  }
}

function newestBefore(list: readonly ModelEntry[], before: number | undefined, max: number) {
  const below = list.filter((e) => before === undefined || e.position < before);
  return below.slice(Math.max(0, below.length - max));
}

describe("pending history: bounded reads", () => {
  it("outgoingFrom / outgoingBefore / incomingBefore equal filtering the whole list", () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 120 }),
        fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 6 }), fc.option(fc.nat(200))), {
          minLength: 1,
          maxLength: 8,
        }),
        (ops, queries) => {
          const history = new PendingHistory();
          const model = new Model();
          const nextSeq = [1, 1, 1];
          let position = 0;
          let n = 0;
          const check = () => {
            for (const account of ACCOUNTS) {
              const out = model.readable(account, "out");
              const incoming = model.readable(account, "in");
              for (const [fromSeq, max, before] of queries) {
                const b = before ?? undefined;
                assert.deepEqual(
                  history.outgoingFrom(account, fromSeq, max).map((e) => e.id),
                  out
                    .filter((e) => e.seq >= fromSeq)
                    .slice(0, max)
                    .map((e) => e.id),
                );
                assert.deepEqual(
                  history.outgoingBefore(account, b, max).map((e) => e.id),
                  newestBefore(out, b, max).map((e) => e.id),
                );
                assert.deepEqual(
                  history.incomingBefore(account, b, max).map((e) => e.id),
                  newestBefore(incoming, b, max).map((e) => e.id),
                );
              }
            }
          };
          for (const op of ops) {
            if (op.kind === "out") {
              const account = ACCOUNTS[op.account]!;
              const seq = nextSeq[op.account]!++;
              const id = `t${n++}`;
              history.addOutgoing(account, seq, id, ++position);
              model.add({ account, direction: "out", seq, id, position });
            } else if (op.kind === "in") {
              const id = `t${n++}`;
              for (let i = 0; i < op.outputs; i++) {
                const account = ACCOUNTS[(op.account + i) % ACCOUNTS.length]!;
                history.addIncoming(account, id, ++position);
                model.add({ account, direction: "in", seq: 0, id, position });
              }
            } else if (op.kind === "take") {
              history.taken(position);
              model.take(position);
            } else if (op.kind === "settle") {
              history.settled();
              model.settle();
            } else {
              const ops: BatchOp[] = [];
              history.checkpoint(ops);
              model.checkpoint();
            }
            check();
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("answers at either end of a checkpoint's worth of entries", () => {
    const history = new PendingHistory();
    const count = 16_384;
    for (let seq = 1; seq <= count; seq++) history.addOutgoing("busy", seq, `t${seq}`, seq);
    history.taken(count);
    history.settled();
    assert.deepEqual(
      history.outgoingFrom("busy", count - 1, 64).map((e) => e.seq),
      [count - 1, count],
    );
    assert.deepEqual(
      history.outgoingBefore("busy", 101, 3).map((e) => e.position),
      [98, 99, 100],
    );
    assert.deepEqual(history.outgoingFrom("busy", count + 1, 64), []);
  });
});
