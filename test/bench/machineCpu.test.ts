import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { busyPercentBetween, parseMachineCpu, readMachineCpu } from "../../src/bench/machineCpu.ts";

const STAT = [
  "cpu  1000 20 300 5000 80 7 13 40 0 0",
  "cpu0 500 10 150 2500 40 3 7 20 0 0",
  "cpu1 500 10 150 2500 40 4 6 20 0 0",
  "intr 12345 0 0",
  "ctxt 999",
].join("\n");

describe("machine CPU from /proc/stat", () => {
  it("counts user, nice, system, interrupts and steal as busy; idle and I/O wait as not", () => {
    assert.deepEqual(parseMachineCpu(STAT), {
      busyTicks: 1000 + 20 + 300 + 7 + 13 + 40,
      totalTicks: 1000 + 20 + 300 + 7 + 13 + 40 + 5000 + 80,
      cores: 2,
    });
  });

  it("does not count guest time twice (the kernel already counts it in user)", () => {
    const withGuest = parseMachineCpu("cpu  1000 0 0 1000 0 0 0 0 600 0\ncpu0 1000 0 0 1000 0 0 0 0 600 0");
    assert.equal(withGuest?.busyTicks, 1000);
  });

  it("refuses text that is not /proc/stat rather than report a made-up share", () => {
    for (const bad of ["", "intr 1 2", "cpu  a b c d", "cpu  1 2", "cpu  1 2 3 -4 5"]) {
      assert.equal(parseMachineCpu(bad), undefined, JSON.stringify(bad));
    }
  });

  it("the busy share between two readings is busy ticks over all ticks", () => {
    const before = { busyTicks: 1000, totalTicks: 4000, cores: 2 };
    assert.equal(busyPercentBetween(before, { busyTicks: 1150, totalTicks: 4200, cores: 2 }), 75);
    assert.equal(busyPercentBetween(before, before), undefined, "no time passed");
  });

  it("reads this machine: busy never exceeds the total, and the count grows while a core spins", () => {
    const before = readMachineCpu();
    if (before === undefined) return; // not Linux
    const until = performance.now() + 60;
    while (performance.now() < until) {} // ≥ 6 clock ticks of one core's time
    const after = readMachineCpu()!;
    assert.ok(after.cores >= 1);
    assert.ok(after.busyTicks > before.busyTicks, "the spin itself was busy time");
    const busy = busyPercentBetween(before, after)!;
    assert.ok(busy > 0 && busy <= 100, `busy ${busy} %`);
  });
});
