/**
 * The shape of src/: every file short enough to read in one sitting, and no import circle (a module graph
 * with a cycle has no order in which each file can be understood, or loaded, before the files using it).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(import.meta.dirname, "..");
const SRC = join(ROOT, "src");
const MAX_LINES = 500;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

const files = sourceFiles(SRC).sort();
const text = new Map(files.map((file) => [file, readFileSync(file, "utf8")]));
const name = (file: string) => relative(ROOT, file);

function lineCount(source: string): number {
  const lines = source.split("\n");
  return lines.at(-1) === "" ? lines.length - 1 : lines.length;
}

/**
 * Relative specifiers of static imports and re-exports, `import type` included: `import … from "x"`,
 * `export … from "x"` (either may span lines) and `import "x"`. Comments are blanked first.
 */
function relativeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const specifiers: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;"'`]*?\sfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      const specifier = match[1]!;
      if (specifier.startsWith(".")) specifiers.push(specifier);
    }
  }
  return specifiers;
}

/** Each file's imports of other files of src/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const targets = relativeImports(text.get(file)!)
      .map((specifier) => resolve(dirname(file), specifier))
      .filter((target) => text.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** One cycle per back edge of a depth-first search: every strongly connected component shows at least one. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      const seen = state.get(target);
      if (seen === "open") cycles.push([...stack.slice(stack.indexOf(target)), target]);
      else if (seen === undefined) visit(target);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

test(`no file under src/ is over ${MAX_LINES} lines`, () => {
  const long = files
    .map((file) => ({ file, lines: lineCount(text.get(file)!) }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ file, lines }) => `${name(file)}: ${lines} lines`);
  assert.deepEqual(long, [], `split these by concept:\n  ${long.join("\n  ")}`);
});

test("the static imports of src/ (import type included) form no cycle", () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, "the scan found src/ and its files");
  assert.ok(
    [...graph.values()].some((targets) => targets.length > 0),
    "the scan found imports",
  );
  const cycles = findCycles(graph).map((cycle) => cycle.map(name).join(" → "));
  assert.deepEqual(cycles, [], `import cycles:\n  ${cycles.join("\n  ")}`);
});

test("the import scan sees every form of relative import", () => {
  const source = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    "import {",
    "  type C,",
    "  d,",
    '} from "./c.ts";',
    'export { e } from "./e.ts";',
    'export type { F } from "./f.ts";',
    'export * from "./g.ts";',
    'import "./h.ts";',
    'import { readFileSync } from "node:fs";',
    '// import { x } from "./commented.ts";',
    '/* export { y } from "./commented-too.ts"; */',
  ].join("\n");
  assert.deepEqual(relativeImports(source).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
  ]);
});

test("the cycle finder names a circle, file by file", () => {
  const graph = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "d"]],
    ["d", []],
  ]);
  assert.deepEqual(findCycles(graph), [["a", "b", "c", "a"]]);
  assert.deepEqual(findCycles(new Map([["a", ["a"]]])), [["a", "a"]]);
  assert.deepEqual(
    findCycles(
      new Map([
        ["a", ["b"]],
        ["b", []],
      ]),
    ),
    [],
  );
});
