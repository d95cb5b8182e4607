import { markdownCell } from "./flameGraphReport.ts";

/**
 * Summaries of Linux `perf` samples of node processes (`tally bench --perf`). A V8 CPU profile (`--profile`)
 * samples the main thread on a wall-clock timer, so time the thread spent waiting for a core lands on
 * whatever frame was running; `perf` samples what each thread runs on the CPU, kernel and native code
 * included. The nodes run with `--perf-basic-prof`, so V8's JIT code has names (`JS:*'name file:line:col`).
 *
 * Input is the text of `perf script -F comm,tid,time,ip,sym,dso` over a recording with call chains (`-g`):
 * a header line per sample (`comm tid seconds:`), then one line per frame, leaf first (`addr sym+off (dso)`),
 * then a blank line. The reader takes it a line at a time, so a long recording never sits in memory.
 */

/** Where a main-thread sample's leaf frame lies. */
export const PERF_CATEGORIES = [
  "libsodium",
  "JavaScript (JIT)",
  "V8 builtins",
  "Map/Set lookups",
  "V8 runtime",
  "garbage collection",
  "kernel",
  "LevelDB",
  "libc",
  "Node and libuv",
  "other",
] as const;
export type PerfCategory = (typeof PERF_CATEGORIES)[number];

export interface PerfFrame {
  readonly symbol: string;
  readonly dso: string;
}

const GC_SYMBOL =
  /Scaveng|Heap::|MarkCompact|Marking|Marker|Sweep|Evacuat|IteratePointers|RememberedSet|MinorGC/;
const MAP_SYMBOL = /OrderedHash|^Builtins_(Map|Set|WeakMap|WeakSet)Prototype/;

/** The category of a leaf frame: by the library it is in, then by V8's symbol names. */
export function perfCategory(frame: PerfFrame): PerfCategory {
  const { symbol, dso } = frame;
  if (dso.includes("sodium")) return "libsodium";
  if (dso.includes("kernel")) return "kernel";
  if (dso.includes("classic-level") || dso.includes("leveldb")) return "LevelDB";
  if (symbol.startsWith("JS:")) return "JavaScript (JIT)";
  if (MAP_SYMBOL.test(symbol)) return "Map/Set lookups";
  if (GC_SYMBOL.test(symbol)) return "garbage collection";
  if (symbol.startsWith("Builtins_")) return "V8 builtins";
  if (symbol.startsWith("v8::")) return "V8 runtime";
  if (/(^|\/)libc[.-]/.test(dso)) return "libc";
  if (symbol.startsWith("node::") || symbol.startsWith("uv_") || symbol.startsWith("uv__"))
    return "Node and libuv";
  return "other";
}

/** The bench's thread roles (src/bench/threadCpu.ts): the event loop, V8's helpers, libuv's pool, the rest. */
export type PerfThreadRole = "main" | "v8" | "libuv" | "other";

/** Thread names as perf reports them (`comm`, at most 15 characters): the same roles as the bench's split. */
export function perfThreadRole(comm: string): PerfThreadRole {
  if (comm === "MainThread" || comm === "node") return "main";
  if (comm.startsWith("V8")) return "v8";
  if (comm.startsWith("libuv")) return "libuv";
  return "other";
}

/** `JS:*'onEcho file:///…/src/broadcast/contagion/contagion.ts:377:17` → `onEcho src/…/contagion.ts:377`. */
export function shortSymbol(symbol: string, projectRoot: string): string {
  if (!symbol.startsWith("JS:")) return symbol;
  const name = symbol.replace(/^JS:[*+~^]?'?/, "");
  const root = `file://${projectRoot}/`;
  return name
    .replaceAll(root, "")
    .replaceAll(`${projectRoot}/`, "")
    .replace(/:\d+$/, "")
    .replace(/^ /, "(anonymous) ");
}

export interface Share {
  readonly name: string;
  /** Of the samples the list is about (see each field). */
  readonly share: number;
}

export interface PerfSummary {
  /** Samples inside the window, every thread. */
  readonly samples: number;
  /** Shares of those samples by thread role. */
  readonly threads: Readonly<Record<PerfThreadRole, number>>;
  /** Main-thread samples by the category of their leaf frame (shares of the main thread's samples). */
  readonly main: readonly Share[];
  /** The main thread's leaf symbols, most frequent first. */
  readonly top: readonly Share[];
  /** For main-thread samples in a Map/Set lookup: the nearest JavaScript frame below it, most frequent first. */
  readonly mapLookupCallers: readonly Share[];
  /**
   * Main-thread samples by JavaScript function anywhere on their stack, most frequent first: a function's
   * share with everything it calls (a sample counts once per function, whatever its depth or JIT tier).
   * On a machine where threads wait for cores this is the split a wall-clock profile cannot give.
   */
  readonly inclusive: readonly Share[];
}

export interface PerfReaderOptions {
  /** Keep samples stamped inside [from, to] (seconds of the recording's clock); all when absent. */
  readonly window?: { readonly fromSec: number; readonly toSec: number } | undefined;
  readonly projectRoot: string;
  /** Entries of `top`, `mapLookupCallers` and `inclusive`. */
  readonly top: number;
}

const HEADER = /^(\S.*?)\s+(\d+)\s+(\d+\.\d+):/;
const FRAME = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$/;

/** Folds `perf script` text, a line at a time, into a `PerfSummary`. */
export class PerfSampleReader {
  private readonly options: PerfReaderOptions;
  private readonly byRole: Record<PerfThreadRole, number> = { main: 0, v8: 0, libuv: 0, other: 0 };
  private readonly categories = new Map<PerfCategory, number>();
  private readonly leaves = new Map<string, number>();
  private readonly mapCallers = new Map<string, number>();
  /** One counter per JavaScript function seen on a main-thread stack: bounded by the program's functions. */
  private readonly onStack = new Map<string, number>();
  private samples = 0;
  private mainSamples = 0;
  /** The sample being read: its thread role (undefined: outside the window or none), its frames so far. */
  private role: PerfThreadRole | undefined;
  private frames: PerfFrame[] = [];

  constructor(options: PerfReaderOptions) {
    this.options = options;
  }

  line(text: string): void {
    if (text.trim() === "") {
      this.endSample();
      return;
    }
    const header = HEADER.exec(text);
    if (header !== null && !text.startsWith("\t") && !text.startsWith(" ")) {
      this.endSample();
      const at = Number(header[3]);
      const w = this.options.window;
      this.role =
        w === undefined || (at >= w.fromSec && at <= w.toSec) ? perfThreadRole(header[1]!) : undefined;
      return;
    }
    if (this.role === undefined) return;
    const frame = FRAME.exec(text);
    if (frame !== null) this.frames.push({ symbol: stripOffset(frame[1]!), dso: frame[2]! });
  }

  finish(): PerfSummary {
    this.endSample();
    const all = this.samples;
    const main = this.mainSamples;
    const shareOf = (n: number, of: number) => (of === 0 ? 0 : Math.round((n / of) * 10_000) / 10_000);
    const ranked = (m: Map<string, number>, of: number, n: number): Share[] =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([name, count]) => ({ name, share: shareOf(count, of) }));
    return {
      samples: all,
      threads: {
        main: shareOf(this.byRole.main, all),
        v8: shareOf(this.byRole.v8, all),
        libuv: shareOf(this.byRole.libuv, all),
        other: shareOf(this.byRole.other, all),
      },
      main: ranked(this.categories, main, PERF_CATEGORIES.length),
      top: ranked(this.leaves, main, this.options.top),
      mapLookupCallers: ranked(this.mapCallers, main, this.options.top),
      inclusive: ranked(this.onStack, main, this.options.top),
    };
  }

  private endSample(): void {
    const role = this.role;
    this.role = undefined;
    const frames = this.frames;
    this.frames = [];
    if (role === undefined || frames.length === 0) return;
    this.samples++;
    this.byRole[role]++;
    if (role !== "main") return;
    this.mainSamples++;
    const leaf = frames[0]!;
    const category = perfCategory(leaf);
    this.categories.set(category, (this.categories.get(category) ?? 0) + 1);
    const name = shortSymbol(leaf.symbol, this.options.projectRoot);
    this.leaves.set(name, (this.leaves.get(name) ?? 0) + 1);
    this.countOnStack(frames);
    if (category !== "Map/Set lookups") return;
    const caller = frames.find((f, i) => i > 0 && f.symbol.startsWith("JS:"));
    const callerName =
      caller === undefined ? "(no JavaScript frame)" : shortSymbol(caller.symbol, this.options.projectRoot);
    this.mapCallers.set(callerName, (this.mapCallers.get(callerName) ?? 0) + 1);
  }

  /** Each JavaScript function on the sample's stack, once (recursion and tiers of one function are one name). */
  private countOnStack(frames: readonly PerfFrame[]): void {
    const counted = new Set<string>();
    for (const frame of frames) {
      if (!frame.symbol.startsWith("JS:")) continue;
      const name = shortSymbol(frame.symbol, this.options.projectRoot);
      if (counted.has(name)) continue;
      counted.add(name);
      this.onStack.set(name, (this.onStack.get(name) ?? 0) + 1);
    }
  }
}

/** `Builtins_MapPrototypeGet+0x43` → `Builtins_MapPrototypeGet`. */
function stripOffset(symbol: string): string {
  return symbol.replace(/\+0x[0-9a-f]+$/, "");
}

/** The summary as markdown: threads, then the main thread by category, leaf symbol, Map lookups' caller and function. */
export function perfSummaryMarkdown(s: PerfSummary, title: string): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const table = (head: string, rows: readonly Share[]) => [
    `| ${head} | share |`,
    "| --- | ---: |",
    ...rows.map((r) => `| ${markdownCell(r.name)} | ${pct(r.share)} |`),
  ];
  const section = (caption: string, head: string, rows: readonly Share[]) => [
    caption,
    "",
    ...table(head, rows),
    "",
  ];
  return [
    `# ${title}`,
    "",
    `${s.samples} samples on the CPU (perf), every thread of every node, inside the measured window.`,
    "",
    "| thread | share |",
    "| --- | ---: |",
    ...Object.entries(s.threads).map(([role, share]) => `| ${role} | ${pct(share)} |`),
    "",
    ...section("Main thread, by where the sample's leaf frame lies:", "category", s.main),
    ...section("Main thread, leaf symbols:", "symbol", s.top),
    ...section(
      "Main-thread Map/Set lookups, by the JavaScript function below them (share of the main thread):",
      "caller",
      s.mapLookupCallers,
    ),
    ...section(
      "Main thread, by JavaScript function anywhere on the stack (inclusive: each with what it calls):",
      "function",
      s.inclusive,
    ),
  ].join("\n");
}
