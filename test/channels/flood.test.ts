import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Channels } from "../../src/channels/channels.ts";
import { budget, counterCodec, gossipSpec } from "./helpers.ts";

/**
 * Whatever a flooder does — member or stranger, any rate, interleaved with takes in any pattern — every honest
 * message within its peer's budget is eventually taken, in order, and nothing of an honest peer is dropped.
 */
const HONEST = ["h1", "h2", "h3"];
const HONEST_BUDGET = 50;

type Step =
  | { kind: "honest"; peer: number }
  | { kind: "flood"; count: number }
  | { kind: "take"; max: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("honest" as const), peer: fc.integer({ min: 0, max: HONEST.length - 1 }) }),
  fc.record({ kind: fc.constant("flood" as const), count: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ kind: fc.constant("take" as const), max: fc.integer({ min: 1, max: 64 }) }),
);

describe("flood", () => {
  it("every honest message within budget is eventually taken, whatever the flooder does", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 300 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 2_000 }),
        (steps, memberFlooder, garbage, sybilIds) => {
          // One member flooder, or up to 2,000 stranger ids (sybils cannot be members).
          const flooderIsMember = memberFlooder && sybilIds === 1;
          const isFlooder = (p: string): boolean => p.startsWith("mallory");
          let nextSybil = 0;
          const ch = new Channels({
            protocols: [
              gossipSpec({ access: "anyone", budget: { member: budget(1_000), stranger: budget(64) } }),
            ],
            isMember: (p) => HONEST.includes(p) || (flooderIsMember && isFlooder(p)),
            // Honest peers (≤ 150 items) plus a full flooder budget fit, so the global cap is not the story here.
            scheduler: { maxBufferedBytes: 2 * 1_150 * 68 },
          });
          const sent = new Map(HONEST.map((p) => [p, 0]));
          const taken = new Map(HONEST.map((p): [string, number[]] => [p, []]));
          const collect = (max: number): number => {
            const items = ch.take(max, 0);
            for (const it of items) {
              if (!isFlooder(it.from)) taken.get(it.from)!.push(counterCodec.decode(it.body));
            }
            return items.length;
          };
          for (const step of steps) {
            if (step.kind === "honest") {
              const peer = HONEST[step.peer]!;
              const n = sent.get(peer)!;
              // Honest peers never exceed their budget: at most HONEST_BUDGET messages in total.
              if (n < HONEST_BUDGET) {
                ch.offer(peer, ch.encodeMessage("broadcast", n), 0);
                sent.set(peer, n + 1);
              }
            } else if (step.kind === "flood") {
              const bytes = garbage ? Uint8Array.of(1, 1, 0, 1, 2, 3, 4) : ch.encodeMessage("broadcast", 0);
              for (let i = 0; i < step.count; i++) ch.offer(`mallory${nextSybil++ % sybilIds}`, bytes, 0);
            } else {
              collect(step.max);
            }
          }
          while (collect(64) > 0) {}
          for (const p of HONEST) {
            assert.deepEqual(taken.get(p), [...Array(sent.get(p)).keys()], p);
            const counters = ch.peerStats(0).find((s) => s.peer === p)?.counters;
            if (counters !== undefined) {
              const drops = Object.values(counters.dropped).reduce((a, b) => a + b, 0);
              assert.equal(drops, 0, `${p} lost nothing`);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
