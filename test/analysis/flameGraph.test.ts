import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import {
  type CpuProfile,
  CpuProfileError,
  type CpuProfileNode,
  escapeXml,
  type FoldedStacks,
  FRAME_HEIGHT,
  fitLabel,
  foldCpuProfile,
  foldedTotal,
  frameCategory,
  frameColour,
  frameLabel,
  mergeFolded,
  parseCpuProfile,
  renderFlameGraphSvg,
  summariseProfile,
  topSelfFrames,
} from "../../src/analysis/flameGraph.ts";
import { flameGraphReport, selfTimeTable, withinWindow } from "../../src/analysis/flameGraphReport.ts";

const ROOT = resolve(import.meta.dirname, "../..");

// ── synthetic profiles ───────────────────────────────────────────────────────────────────────────────────

interface FrameSpec {
  readonly name: string;
  readonly url?: string;
  /** 0-based, as V8 writes it. */
  readonly line?: number;
  readonly hits?: number;
  readonly children?: readonly FrameSpec[];
}

/** A profile whose call tree is `(root)` over `frames`; hitCount omitted when `withHitCount` is false. */
function profileOf(frames: readonly FrameSpec[], withHitCount = true): CpuProfile {
  const nodes: CpuProfileNode[] = [];
  const samples: number[] = [];
  let nextId = 1;
  const add = (spec: FrameSpec): number => {
    const id = nextId++;
    const node = {
      id,
      callFrame: {
        functionName: spec.name,
        url: spec.url ?? "",
        lineNumber: spec.line ?? -1,
        columnNumber: spec.line === undefined ? -1 : 4,
        scriptId: spec.url === undefined ? "0" : "7",
      },
      ...(withHitCount ? { hitCount: spec.hits ?? 0 } : {}),
      children: [] as number[],
    };
    nodes.push(node);
    for (let i = 0; i < (spec.hits ?? 0); i++) samples.push(id);
    for (const child of spec.children ?? []) node.children.push(add(child));
    return id;
  };
  add({ name: "(root)", children: frames });
  return { nodes, startTime: 1_000_000, endTime: 3_500_000, samples, timeDeltas: samples.map(() => 1000) };
}

const APP = "file:///home/dev/tally/src";
const MODULES = "file:///home/dev/tally/node_modules";

/** main → (encode, write → socket), plus GC, idle and (program) at the top. */
const sample = profileOf([
  {
    name: "main",
    url: `${APP}/node/main.ts`,
    line: 9,
    hits: 2,
    children: [
      { name: "encode", url: `${APP}/core/codec.ts`, line: 41, hits: 30 },
      {
        name: "write",
        url: `${MODULES}/@libp2p/tcp/dist/src/socket-to-conn.js`,
        line: 0,
        hits: 5,
        children: [{ name: "writeGeneric", url: "node:internal/stream_base_commons", line: 150, hits: 13 }],
      },
    ],
  },
  { name: "(garbage collector)", hits: 10 },
  { name: "(program)", hits: 4 },
  { name: "(idle)", hits: 100 },
]);

const MAIN = "main (src/node/main.ts:10)";
const ENCODE = "encode (src/core/codec.ts:42)";
const WRITE = "write (@libp2p/tcp socket-to-conn.js:1)";
const WRITE_GENERIC = "writeGeneric (node:internal/stream_base_commons:151)";

const asRecord = (folded: FoldedStacks): Record<string, number> =>
  Object.fromEntries(folded.map(({ frames, samples }) => [frames.join(";"), samples]));

// ── folding ──────────────────────────────────────────────────────────────────────────────────────────────

describe("foldCpuProfile", () => {
  test("gives each distinct stack its samples, without (root) and, by default, without (idle)", () => {
    assert.deepEqual(asRecord(foldCpuProfile(sample)), {
      [MAIN]: 2,
      [`${MAIN};${ENCODE}`]: 30,
      [`${MAIN};${WRITE}`]: 5,
      [`${MAIN};${WRITE};${WRITE_GENERIC}`]: 13,
      "(garbage collector)": 10,
      "(program)": 4,
    });
    assert.equal(foldedTotal(foldCpuProfile(sample)), 64);
  });

  test("keeps idle when asked", () => {
    const folded = asRecord(foldCpuProfile(sample, { dropIdle: false }));
    assert.equal(folded["(idle)"], 100);
    assert.equal(
      Object.values(folded).reduce((a, b) => a + b),
      164,
    );
  });

  test("counts `samples` when nodes have no hitCount", () => {
    const withoutHitCount = profileOf([{ name: "f", url: `${APP}/a.ts`, line: 0, hits: 3 }], false);
    assert.ok(withoutHitCount.nodes.every((node) => node.hitCount === undefined));
    assert.deepEqual(asRecord(foldCpuProfile(withoutHitCount)), { "f (src/a.ts:1)": 3 });
    assert.deepEqual(asRecord(foldCpuProfile(profileOf([{ name: "f", hits: 3 }]))), { f: 3 });
  });

  test("merges nodes that get the same label (same function, another column or script)", () => {
    const profile = profileOf([{ name: "f", url: `${APP}/a.ts`, line: 4, hits: 1 }]);
    const root = profile.nodes[0]!;
    const twin = { ...profile.nodes[1]!, id: 99, hitCount: 2 };
    const merged: CpuProfile = {
      ...profile,
      nodes: [{ ...root, children: [...(root.children ?? []), 99] }, profile.nodes[1]!, twin],
    };
    assert.deepEqual(asRecord(foldCpuProfile(merged)), { "f (src/a.ts:5)": 3 });
  });

  test("survives call trees deeper than the JS stack", () => {
    const depth = 20_000;
    const nodes: CpuProfileNode[] = [{ id: 0, callFrame: frameOf("(root)"), hitCount: 0, children: [1] }];
    for (let id = 1; id <= depth; id++) {
      const leaf = id === depth;
      nodes.push({
        id,
        callFrame: frameOf(leaf ? "leaf" : "recurse"),
        hitCount: leaf ? 1 : 0,
        children: leaf ? [] : [id + 1],
      });
    }
    const folded = foldCpuProfile({ nodes, startTime: 0, endTime: 1 });
    assert.equal(folded.length, 1);
    assert.equal(folded[0]!.frames.length, depth);
    assert.equal(folded[0]!.frames.at(-1), "leaf");
    assert.ok(renderFlameGraphSvg(folded, { title: "deep" }).endsWith("</svg>"));
  });
});

function frameOf(functionName: string, url = "", lineNumber = -1) {
  return { functionName, url, lineNumber, columnNumber: -1, scriptId: 0 };
}

describe("frame labels", () => {
  const cases: readonly [string, string, number, string][] = [
    ["encode", `${APP}/core/codec.ts`, 0, "encode (src/core/codec.ts:1)"],
    ["", `${APP}/p2p/x.ts`, 99, "(anonymous) (src/p2p/x.ts:100)"],
    ["f", "/home/dev/tally/src/a%20b.ts", 2, "f (src/a%20b.ts:3)"],
    ["f", "file:///home/dev/tally/src/a%20b.ts", 2, "f (src/a b.ts:3)"],
    ["send", `${MODULES}/fastify/lib/reply.js`, 11, "send (fastify reply.js:12)"],
    [
      "x",
      `${MODULES}/.pnpm/a@1/node_modules/@chainsafe/libp2p-noise/dist/index.js`,
      0,
      "x (@chainsafe/libp2p-noise index.js:1)",
    ],
    ["listOnTimeout", "node:internal/timers", 580, "listOnTimeout (node:internal/timers:581)"],
    ["(garbage collector)", "", -1, "(garbage collector)"],
    ["(program)", "", -1, "(program)"],
    ["sqrt", "", -1, "sqrt"],
    ["", "[eval]", 0, "(anonymous) ([eval]:1)"],
    ["g", "file:///opt/other/lib/tool.js", 6, "g (tool.js:7)"],
  ];
  for (const [name, url, line, expected] of cases) {
    test(`${url || "(no url)"} → ${expected}`, () => {
      assert.equal(frameLabel(frameOf(name, url, line)), expected);
    });
  }

  test("the project root, when given, labels its files relative to it", () => {
    const frame = frameOf("bench", "file:///work/main/bench/core.bench.ts", 3);
    assert.equal(frameLabel(frame, "/work/main"), "bench (bench/core.bench.ts:4)");
    assert.equal(frameLabel(frame), "bench (core.bench.ts:4)");
  });

  test("categories are read back from the labels", () => {
    assert.equal(frameCategory(ENCODE), "project");
    assert.equal(frameCategory(WRITE), "dependency");
    assert.equal(frameCategory("send (fastify reply.js:12)"), "dependency");
    assert.equal(frameCategory(WRITE_GENERIC), "node");
    assert.equal(frameCategory("(garbage collector)"), "gc");
    assert.equal(frameCategory("(program)"), "vm");
    assert.equal(frameCategory("sqrt"), "vm");
    assert.equal(frameCategory("(anonymous) ([eval]:1)"), "other");
  });

  test("colours are deterministic and differ by category", () => {
    assert.equal(frameColour(ENCODE), frameColour(ENCODE));
    const rgb = (label: string) => frameColour(label).match(/\d+/g)!.map(Number) as [number, number, number];
    const [r, g, b] = rgb(ENCODE);
    assert.ok(r > g && g > b, `project frames are orange: ${frameColour(ENCODE)}`);
    const [dr, , db] = rgb(WRITE);
    assert.ok(db > dr, `dependencies are blue: ${frameColour(WRITE)}`);
    const [gr, gg, gb] = rgb("(program)");
    assert.ok(gr === gg && gg === gb, "(program) is grey");
  });
});

// ── merging and self time ────────────────────────────────────────────────────────────────────────────────

describe("mergeFolded and topSelfFrames", () => {
  test("merging sums stack by stack", () => {
    const other = foldCpuProfile(
      profileOf([{ name: "main", url: `${APP}/node/main.ts`, line: 9, hits: 1, children: [] }]),
    );
    const merged = asRecord(mergeFolded(foldCpuProfile(sample), foldCpuProfile(sample), other));
    assert.equal(merged[MAIN], 2 + 2 + 1);
    assert.equal(merged[`${MAIN};${ENCODE}`], 60);
    assert.equal(foldedTotal(mergeFolded(foldCpuProfile(sample), other)), 65);
    assert.deepEqual(mergeFolded(), []);
  });

  test("merging is the same in any order", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            path: fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 3 }),
            n: fc.nat(9),
          }),
        ),
        (stacks) => {
          const single = stacks.map(({ path, n }) => [{ frames: path, samples: n }]);
          const forward = mergeFolded(...single);
          const backward = mergeFolded(...[...single].reverse());
          assert.deepEqual(forward, backward);
          assert.equal(
            foldedTotal(forward),
            stacks.reduce((sum, { n }) => sum + n, 0),
          );
        },
      ),
    );
  });

  test("topSelfFrames orders by self samples, with shares of the total", () => {
    const top = topSelfFrames(foldCpuProfile(sample), 3);
    assert.deepEqual(
      top.map(({ label, samples }) => [label, samples]),
      [
        [ENCODE, 30],
        [WRITE_GENERIC, 13],
        ["(garbage collector)", 10],
      ],
    );
    assert.equal(top[0]!.share, 30 / 64);
    assert.equal(topSelfFrames(foldCpuProfile(sample), 100).length, 6);
    assert.deepEqual(topSelfFrames([], 5), []);
  });

  test("summariseProfile reports duration, idle and the sampling interval", () => {
    assert.deepEqual(summariseProfile(sample), {
      durationMs: 2500,
      samples: 164,
      idleSamples: 100,
      sampleIntervalMs: 2500 / 164,
    });
  });
});

// ── SVG ──────────────────────────────────────────────────────────────────────────────────────────────────

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly title: string;
}

function rectsOf(svg: string): Rect[] {
  const pattern = /<title>([^<]*)<\/title><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/g;
  return [...svg.matchAll(pattern)].map((m) => ({
    title: m[1]!,
    x: Number(m[2]),
    y: Number(m[3]),
    width: Number(m[4]),
  }));
}

/** Every distinct prefix of the stacks: the frames a flame graph merges siblings into. */
function mergedFrames(folded: FoldedStacks, minShare = 0): number {
  const total = foldedTotal(folded);
  const prefixes = new Map<string, number>();
  for (const { frames, samples } of folded) {
    for (let depth = 1; depth <= frames.length; depth++) {
      const key = JSON.stringify(frames.slice(0, depth));
      prefixes.set(key, (prefixes.get(key) ?? 0) + samples);
    }
  }
  // A frame is drawn when it and every frame below it are wide enough; below ⇒ wider, so its own width decides.
  return [...prefixes.values()].filter((samples) => samples / total >= minShare).length;
}

const EPSILON = 0.011;

describe("renderFlameGraphSvg", () => {
  const folded = foldCpuProfile(sample);
  const svg = renderFlameGraphSvg(folded, { title: "Tally <node>", subtitle: "4 nodes & load" });
  const rects = rectsOf(svg);

  test("is a standalone SVG with one rect per merged frame, plus the `all` frame", () => {
    assert.ok(svg.startsWith("<svg"));
    assert.ok(svg.endsWith("</svg>"));
    assert.ok(svg.includes('xmlns="http://www.w3.org/2000/svg"'));
    assert.equal(svg.match(/<rect/g)?.length, mergedFrames(folded) + 1);
    assert.equal(rects.length, mergedFrames(folded) + 1);
    assert.ok(!svg.includes("<script"));
    assert.ok(svg.includes(">Tally &lt;node&gt;</text>"));
    assert.ok(svg.includes("4 nodes &amp; load"));
  });

  test("tooltips give label, samples and share", () => {
    assert.ok(svg.includes(`<title>${escapeXml(ENCODE)} (30 samples, 46.88 %)</title>`));
    assert.ok(svg.includes("<title>all (64 samples, 100.00 %)</title>"));
  });

  test("children sit on their parent and never exceed it; the root is the sum of its children", () => {
    checkGeometry(rects);
    const root = rects.find((rect) => rect.title.startsWith("all "))!;
    const top = rects.filter((rect) => rect.y === root.y - FRAME_HEIGHT);
    assert.ok(Math.abs(top.reduce((sum, rect) => sum + rect.width, 0) - root.width) < EPSILON);
    assert.equal(root.width, 1200 - 20);
  });

  test("siblings are in alphabetical order", () => {
    const root = rects.find((rect) => rect.title.startsWith("all "))!;
    const top = rects.filter((rect) => rect.y === root.y - FRAME_HEIGHT).sort((a, b) => a.x - b.x);
    const labels = top.map((rect) => rect.title.replace(/ \(\d+ samples.*$/, ""));
    assert.deepEqual(labels, ["(garbage collector)", "(program)", escapeXml(MAIN)]);
  });

  test("geometry holds for random stacks, and frames under the minimum share are left out", () => {
    const label = fc.constantFrom("a", "b", "c", "d (src/x.ts:1)", "e (node:fs:2)");
    const stack = fc.record({
      frames: fc.array(label, { minLength: 1, maxLength: 5 }),
      samples: fc.integer({ min: 1, max: 5000 }),
    });
    fc.assert(
      fc.property(fc.array(stack, { minLength: 1, maxLength: 25 }), (stacks) => {
        const merged = mergeFolded(stacks);
        const drawn = rectsOf(renderFlameGraphSvg(merged, { title: "t", width: 800 }));
        assert.equal(drawn.length, mergedFrames(merged, 0.001) + 1);
        checkGeometry(drawn);
      }),
      { numRuns: 60 },
    );
  });

  test("a frame below 0.1 % of the width is omitted, with what is above it", () => {
    const narrow: FoldedStacks = [
      { frames: ["wide"], samples: 10_000 },
      { frames: ["thin", "thinner"], samples: 5 },
    ];
    const drawn = renderFlameGraphSvg(narrow, { title: "t" });
    assert.equal(rectsOf(drawn).length, 2);
    assert.ok(!drawn.includes("thin"));
    const shown = renderFlameGraphSvg(narrow, { title: "t", minShare: 0 });
    assert.equal(rectsOf(shown).length, 4);
  });

  test("labels with XML specials are escaped, and cut to what fits", () => {
    const nasty = 'f<a&b>"c" (src/x.ts:1)';
    const drawn = renderFlameGraphSvg([{ frames: [nasty], samples: 1 }], { title: "a & b" });
    assert.ok(drawn.includes("f&lt;a&amp;b&gt;&quot;c&quot; (src/x.ts:1)"));
    assert.ok(!drawn.includes("<a&b>"));
    assert.ok(drawn.includes(">a &amp; b</text>"));
    assert.equal(fitLabel("abcdefghij", 6 + 7 * 10), "abcdefghij");
    assert.equal(fitLabel("abcdefghij", 6 + 7 * 6), "abcd..");
    assert.equal(fitLabel("abcdefghij", 20), "");
    assert.equal(escapeXml("a\u0001b"), "a\ufffdb");
  });

  test("an empty profile still gives a valid SVG", () => {
    const empty = renderFlameGraphSvg([], { title: "nothing" });
    assert.ok(empty.startsWith("<svg") && empty.endsWith("</svg>"));
    assert.equal(rectsOf(empty).length, 0);
  });
});

/** Each frame above the root lies within a frame of the row below, and siblings fit in their parent. */
function checkGeometry(rects: readonly Rect[]): void {
  const bottom = Math.max(...rects.map((rect) => rect.y));
  const childrenWidth = new Map<Rect, number>();
  for (const rect of rects) {
    if (rect.y === bottom) continue;
    const parent = rects.find(
      (below) =>
        below.y === rect.y + FRAME_HEIGHT &&
        below.x <= rect.x + EPSILON &&
        rect.x + rect.width <= below.x + below.width + EPSILON,
    );
    assert.ok(parent !== undefined, `${rect.title} stands on a frame`);
    assert.ok(rect.width <= parent.width + EPSILON);
    childrenWidth.set(parent, (childrenWidth.get(parent) ?? 0) + rect.width);
  }
  for (const [parent, width] of childrenWidth) assert.ok(width <= parent.width + EPSILON, parent.title);
}

// ── parsing and the CLI ──────────────────────────────────────────────────────────────────────────────────

describe("parseCpuProfile", () => {
  test("accepts a profile and rejects other JSON with a CpuProfileError", () => {
    assert.equal(parseCpuProfile(JSON.stringify(sample)).nodes.length, sample.nodes.length);
    assert.throws(() => parseCpuProfile("{"), CpuProfileError);
    assert.throws(() => parseCpuProfile("[]"), /expected a JSON object/);
    assert.throws(() => parseCpuProfile('{"nodes":[{"id":1}],"startTime":0,"endTime":1}'), /callFrame/);
  });
});

function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, "scripts/flamegraph.ts"), ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("scripts/flamegraph.ts", () => {
  const dir = mkdtempSync(join(tmpdir(), "flamegraph-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("writes the SVG and prints the summary and a markdown table", async () => {
    const input = join(dir, "node.cpuprofile");
    const out = join(dir, "flame.svg");
    writeFileSync(input, JSON.stringify(sample));
    const { code, stdout, stderr } = await runCli([
      "--out",
      out,
      "--title",
      "Test",
      "--top",
      "2",
      input,
      input,
    ]);
    assert.equal(code, 0, stderr);
    assert.ok(existsSync(out));
    const svg = readFileSync(out, "utf8");
    assert.ok(svg.startsWith("<svg") && svg.endsWith("</svg>"));
    assert.ok(svg.includes(">Test</text>"));
    assert.match(stdout, /busy samples: 128 of 328/);
    assert.match(stdout, /duration: 2\.5 s/);
    const table = stdout.split("\n").filter((line) => line.startsWith("|"));
    assert.deepEqual(table, [
      "| share | frame |",
      "| ---: | --- |",
      `| 46.9 % | \`${ENCODE}\` |`,
      `| 20.3 % | \`${WRITE_GENERIC}\` |`,
    ]);
  });

  test("a file that is not a CPU profile: exit code 2 and one line", async () => {
    const bad = join(dir, "bad.cpuprofile");
    writeFileSync(bad, '{"hello":\n"world"}');
    const { code, stderr } = await runCli(["--out", join(dir, "bad.svg"), bad]);
    assert.equal(code, 2);
    assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
    assert.match(stderr, /^flamegraph: .*bad\.cpuprofile: not a V8 CPU profile/);
    assert.ok(!existsSync(join(dir, "bad.svg")));
  });

  test("missing arguments and unreadable files: exit code 2 and one line", async () => {
    for (const args of [
      [],
      ["--out", join(dir, "x.svg")],
      ["--out", join(dir, "x.svg"), join(dir, "missing")],
    ]) {
      const { code, stderr } = await runCli(args);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
    }
  });
});

describe("flameGraphReport", () => {
  // Samples 1 ms apart from startTime: main's 2, encode's 30, write's 5, … in the order profileOf adds them.
  test("a window keeps only the samples taken in it, recounted, and sums profiles", () => {
    const whole = flameGraphReport([sample], { title: "t", top: 3, dropIdle: false });
    assert.equal(whole.busySamples, 164);
    // The samples at 1,001 … 1,032 ms: main's 2 and encode's 30.
    const cut = withinWindow(sample, 1_001_000, 1_032_000);
    assert.equal(cut.samples?.length, 32);
    assert.deepEqual(asRecord(foldCpuProfile(cut)), { [MAIN]: 2, [`${MAIN};${ENCODE}`]: 30 });
    const report = flameGraphReport([sample, sample], {
      title: "t",
      top: 1,
      window: { fromMicros: 1_001_000, toMicros: 1_032_000 },
    });
    assert.equal(report.busySamples, 64);
    assert.deepEqual(report.top, [{ label: ENCODE, samples: 60, share: 60 / 64 }]);
    // Outside every sample: nothing left, and still a valid report.
    assert.equal(
      flameGraphReport([sample], { title: "t", top: 3, window: { fromMicros: 0, toMicros: 1 } }).busySamples,
      0,
    );
  });

  test("the self-time table is markdown with the shares in per cent and the labels in code spans", () => {
    assert.deepEqual(selfTimeTable([{ label: "a|b", samples: 3, share: 0.25 }]), [
      "| share | frame |",
      "| ---: | --- |",
      "| 25.0 % | `a\\|b` |",
    ]);
  });
});
