/**
 * Flame graphs of V8 CPU profiles (`node --cpu-prof`), without dependencies: a profile is folded into stacks
 * with sample counts (Brendan Gregg's "folded" format, as arrays of frame labels), several folded profiles can
 * be summed (the processes of a devnet), and the result drawn as a static SVG in the style of flamegraph.pl:
 * root at the bottom, width proportional to inclusive samples, siblings merged by label and sorted
 * alphabetically (so the x axis is not time).
 */

import { fileURLToPath } from "node:url";

// ── the .cpuprofile format (the subset read here) ────────────────────────────────────────────────────────

export interface CpuProfileCallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based; −1 for frames without a source position (V8 pseudo frames, builtins). */
  readonly lineNumber: number;
  readonly columnNumber: number;
  readonly scriptId: string | number;
}

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: CpuProfileCallFrame;
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  /** Microseconds. */
  readonly startTime: number;
  readonly endTime: number;
  /** The node id of each sample, in time order. */
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** Input that is not a V8 CPU profile. */
export class CpuProfileError extends Error {
  override readonly name = "CpuProfileError";
  readonly code = "NOT_A_CPU_PROFILE";
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isNumberArray = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((item) => typeof item === "number");

/** Checks the shape of parsed JSON, so a wrong file fails here with a message rather than later with NaN. */
export function asCpuProfile(json: unknown): CpuProfile {
  const fail = (what: string): never => {
    throw new CpuProfileError(`not a V8 CPU profile: ${what}`);
  };
  if (!isRecord(json)) return fail("expected a JSON object");
  const { nodes, startTime, endTime, samples, timeDeltas } = json;
  if (!Array.isArray(nodes) || nodes.length === 0) return fail("`nodes` is missing or empty");
  if (typeof startTime !== "number" || typeof endTime !== "number")
    return fail("`startTime`/`endTime` missing");
  if (samples !== undefined && !isNumberArray(samples)) return fail("`samples` is not an array of node ids");
  if (timeDeltas !== undefined && !isNumberArray(timeDeltas)) return fail("`timeDeltas` is not numeric");
  for (const [index, node] of (nodes as unknown[]).entries()) {
    if (!isRecord(node) || typeof node.id !== "number") return fail(`nodes[${index}] has no numeric id`);
    const frame = node.callFrame;
    if (
      !isRecord(frame) ||
      typeof frame.functionName !== "string" ||
      typeof frame.url !== "string" ||
      typeof frame.lineNumber !== "number"
    ) {
      return fail(`nodes[${index}].callFrame lacks functionName/url/lineNumber`);
    }
    if (node.hitCount !== undefined && typeof node.hitCount !== "number") {
      return fail(`nodes[${index}].hitCount is not a number`);
    }
    if (node.children !== undefined && !isNumberArray(node.children)) {
      return fail(`nodes[${index}].children is not an array of ids`);
    }
  }
  return json as unknown as CpuProfile;
}

/** Parses the text of a .cpuprofile file; throws CpuProfileError for bad JSON or a wrong shape. */
export function parseCpuProfile(text: string): CpuProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CpuProfileError(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  return asCpuProfile(json);
}

// ── folding ──────────────────────────────────────────────────────────────────────────────────────────────

/** One distinct stack, root → leaf, and the samples whose innermost frame it ends in. */
export interface FoldedStack {
  readonly frames: readonly string[];
  readonly samples: number;
}

export type FoldedStacks = readonly FoldedStack[];

export interface FoldOptions {
  /** Leave out `(idle)` samples, so widths are shares of busy time. Default true. */
  readonly dropIdle?: boolean;
  /** Absolute path of the project: its files are labelled relative to it. Without it, `…/src/…` is. */
  readonly projectRoot?: string;
}

const ROOT_FRAME = "(root)";
const IDLE_FRAME = "(idle)";

/** `file:///a/b%20c.ts` → `/a/b c.ts`; other URLs and plain paths unchanged but for `\` → `/`. */
function urlToPath(url: string): string {
  if (url.startsWith("file:")) {
    try {
      return fileURLToPath(url).replaceAll("\\", "/");
    } catch {
      return url.slice("file://".length);
    }
  }
  return url.replaceAll("\\", "/");
}

/** Short source location: `src/p2p/node.ts:12`, `@libp2p/tcp index.js:3`, `node:net:4`, or nothing. */
export function frameLocation(url: string, lineNumber: number, projectRoot?: string): string | undefined {
  if (url === "") return undefined;
  const line = lineNumber >= 0 ? `:${lineNumber + 1}` : "";
  if (url.startsWith("node:")) return `${url}${line}`;
  const path = urlToPath(url);
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const parts = path.slice(modules + "/node_modules/".length).split("/");
    const packageName = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1] ?? ""}` : (parts[0] ?? "");
    return `${packageName} ${parts.at(-1) ?? ""}${line}`;
  }
  const root = projectRoot?.replaceAll("\\", "/").replace(/\/+$/, "");
  if (root !== undefined && root !== "" && path.startsWith(`${root}/`)) {
    return `${path.slice(root.length + 1)}${line}`;
  }
  const src = path.lastIndexOf("/src/");
  if (src >= 0) return `${path.slice(src + 1)}${line}`;
  // `[eval]` and other non-paths as they are; other files by name (their directory is someone else's).
  return `${path.includes("/") ? path.slice(path.lastIndexOf("/") + 1) : path}${line}`;
}

/** `name (location)`, or just the name for frames without a source (V8 pseudo frames, builtins). */
export function frameLabel(frame: CpuProfileCallFrame, projectRoot?: string): string {
  const name = frame.functionName || "(anonymous)";
  const location = frameLocation(frame.url, frame.lineNumber, projectRoot);
  return location === undefined ? name : `${name} (${location})`;
}

const stackKey = (frames: readonly string[]): string => JSON.stringify(frames);

/** Samples per node id: `hitCount` when every node has one, otherwise counted from `samples`. */
function samplesPerNode(profile: CpuProfile): Map<number, number> {
  const counts = new Map<number, number>();
  const everyNodeCounted = profile.nodes.every((node) => node.hitCount !== undefined);
  if (everyNodeCounted || profile.samples === undefined) {
    for (const node of profile.nodes) counts.set(node.id, node.hitCount ?? 0);
  } else {
    for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

interface StackPath {
  readonly label: string;
  readonly parent: StackPath | undefined;
}

/** The profile's call tree as folded stacks, sorted by stack for a deterministic order. */
export function foldCpuProfile(profile: CpuProfile, options: FoldOptions = {}): FoldedStacks {
  const dropIdle = options.dropIdle ?? true;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const counts = samplesPerNode(profile);
  const folded = new Map<string, FoldedStack>();
  const visited = new Set<number>();
  // Explicit stack rather than recursion, and each node's path as a link to its parent's, built into an array
  // only for nodes with samples: deep recursion in the profiled program makes deep call trees.
  const pending: { id: number; path: StackPath | undefined }[] = profile.nodes
    .filter((node) => !childIds.has(node.id))
    .map((node) => ({ id: node.id, path: undefined }));
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const node = byId.get(item.id);
    if (node === undefined || visited.has(node.id)) continue; // dangling or repeated ids: count once
    visited.add(node.id);
    const { functionName, url } = node.callFrame;
    if (url === "" && functionName === IDLE_FRAME && dropIdle) continue;
    const path =
      url === "" && functionName === ROOT_FRAME
        ? item.path
        : { label: frameLabel(node.callFrame, options.projectRoot), parent: item.path };
    const samples = counts.get(node.id) ?? 0;
    if (samples > 0 && path !== undefined) {
      const frames: string[] = [];
      for (let link: StackPath | undefined = path; link !== undefined; link = link.parent)
        frames.push(link.label);
      frames.reverse();
      const key = stackKey(frames);
      folded.set(key, { frames, samples: (folded.get(key)?.samples ?? 0) + samples });
    }
    for (const child of node.children ?? []) pending.push({ id: child, path });
  }
  return sortStacks(folded);
}

function sortStacks(folded: ReadonlyMap<string, FoldedStack>): FoldedStacks {
  return [...folded.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, stack]) => stack);
}

/** Sums folded profiles (e.g. one per node process) stack by stack. */
export function mergeFolded(...profiles: readonly FoldedStacks[]): FoldedStacks {
  const merged = new Map<string, FoldedStack>();
  for (const stack of profiles.flat()) {
    const key = stackKey(stack.frames);
    merged.set(key, { frames: stack.frames, samples: (merged.get(key)?.samples ?? 0) + stack.samples });
  }
  return sortStacks(merged);
}

export const foldedTotal = (folded: FoldedStacks): number =>
  folded.reduce((sum, stack) => sum + stack.samples, 0);

export interface ProfileSummary {
  readonly durationMs: number;
  /** Every sample, idle included. */
  readonly samples: number;
  readonly idleSamples: number;
  /** Mean time between samples. */
  readonly sampleIntervalMs: number;
}

export function summariseProfile(profile: CpuProfile): ProfileSummary {
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const counts = samplesPerNode(profile);
  let samples = 0;
  let idleSamples = 0;
  for (const node of profile.nodes) {
    const count = counts.get(node.id) ?? 0;
    samples += count;
    if (node.callFrame.url === "" && node.callFrame.functionName === IDLE_FRAME) idleSamples += count;
  }
  const intervals = profile.samples?.length ?? samples;
  return { durationMs, samples, idleSamples, sampleIntervalMs: intervals > 0 ? durationMs / intervals : 0 };
}

// ── self time ────────────────────────────────────────────────────────────────────────────────────────────

export interface SelfFrame {
  readonly label: string;
  readonly samples: number;
  /** Of all samples in `folded`, 0…1. */
  readonly share: number;
}

/** The `n` frames most often on top of the stack (self time), most first, ties by label. */
export function topSelfFrames(folded: FoldedStacks, n: number): SelfFrame[] {
  const self = new Map<string, number>();
  for (const { frames, samples } of folded) {
    const leaf = frames.at(-1);
    if (leaf !== undefined) self.set(leaf, (self.get(leaf) ?? 0) + samples);
  }
  const total = foldedTotal(folded);
  return [...self.entries()]
    .sort(([labelA, a], [labelB, b]) => b - a || (labelA < labelB ? -1 : labelA > labelB ? 1 : 0))
    .slice(0, Math.max(0, n))
    .map(([label, samples]) => ({ label, samples, share: total > 0 ? samples / total : 0 }));
}

// ── colours ──────────────────────────────────────────────────────────────────────────────────────────────

export type FrameCategory = "project" | "dependency" | "node" | "gc" | "vm" | "other";

/** Reads the category back from a label made by frameLabel (the location's shape tells them apart). */
export function frameCategory(label: string): FrameCategory {
  if (label === "(garbage collector)") return "gc";
  const open = label.lastIndexOf(" (");
  if (open < 0 || !label.endsWith(")")) return "vm"; // no source: (program), builtins, pseudo frames
  const location = label.slice(open + 2, -1);
  if (location.startsWith("node:")) return "node";
  if (location.startsWith("src/")) return "project";
  // Package names cannot contain spaces; only the node_modules form has one before the file name.
  if (/^(@[^/\s]+\/)?[^/\s@][^/\s]* \S/.test(location)) return "dependency";
  return "other";
}

const CATEGORY_LEGEND: readonly { category: FrameCategory; text: string }[] = [
  { category: "project", text: "src/" },
  { category: "dependency", text: "node_modules" },
  { category: "node", text: "node: internals" },
  { category: "gc", text: "garbage collector" },
  { category: "vm", text: "V8 / builtins" },
  { category: "other", text: "other" },
];

/** FNV-1a: a stable hash of the label, so a frame keeps its shade from one graph to the next. */
function labelHash(label: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Base colour and per-channel spread of each category; the label's hash picks a shade within the spread. */
type Rgb = readonly [number, number, number];

const PALETTE: Readonly<Record<FrameCategory, { base: Rgb; spread: Rgb }>> = {
  project: { base: [225, 110, 30], spread: [30, 80, 30] }, // oranges
  dependency: { base: [60, 140, 190], spread: [50, 70, 50] }, // blues to teals
  node: { base: [210, 195, 40], spread: [40, 45, 50] }, // yellows
  gc: { base: [200, 60, 60], spread: [40, 30, 30] }, // reds
  vm: { base: [165, 165, 165], spread: [40, 40, 40] }, // greys
  other: { base: [170, 130, 210], spread: [40, 40, 30] }, // purples
};

export function frameColour(label: string): string {
  const category = frameCategory(label);
  const { base, spread } = PALETTE[category];
  const hash = labelHash(label);
  const shade = (hash & 0xff) / 255;
  const jitter = ((hash >>> 8) & 0xff) / 255;
  const channel = (i: number) => {
    // Green moves most, for contrast between neighbours; greys move all channels alike to stay grey.
    const mix = i === 1 || category === "vm" ? shade : (shade + jitter) / 2;
    return Math.round(base[i]! + spread[i]! * mix);
  };
  return `rgb(${channel(0)},${channel(1)},${channel(2)})`;
}

// ── SVG ──────────────────────────────────────────────────────────────────────────────────────────────────

export interface SvgOptions {
  readonly title: string;
  readonly subtitle?: string;
  /** Total width in pixels; default 1200. */
  readonly width?: number;
  /** Frames narrower than this share of the total are left out (with everything above them). */
  readonly minShare?: number;
}

export const FRAME_HEIGHT = 16;
const FONT_SIZE = 12;
/** Verdana at 12 px averages about 7 px a character, as flamegraph.pl assumes. */
const CHAR_WIDTH = 7;
const SIDE_PADDING = 10;
const BOTTOM_PADDING = 10;
const DEFAULT_WIDTH = 1200;
const DEFAULT_MIN_SHARE = 0.001;

interface TreeNode {
  readonly label: string;
  samples: number;
  readonly children: Map<string, TreeNode>;
}

const newNode = (label: string): TreeNode => ({ label, samples: 0, children: new Map() });

function buildTree(folded: FoldedStacks): TreeNode {
  const root = newNode("all");
  for (const { frames, samples } of folded) {
    root.samples += samples;
    let node = root;
    for (const label of frames) {
      let child = node.children.get(label);
      if (child === undefined) {
        child = newNode(label);
        node.children.set(label, child);
      }
      child.samples += samples;
      node = child;
    }
  }
  return root;
}

/** Text safe inside XML elements and attributes; drops characters XML 1.0 cannot carry at all. */
export function escapeXml(text: string): string {
  let clean = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    const forbidden = (code < 0x20 && code !== 0x09) || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff;
    clean += forbidden ? "\ufffd" : char;
  }
  return clean
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** The label cut to what fits in `width` pixels, with ".." when cut; "" when not even 3 characters fit. */
export function fitLabel(label: string, width: number): string {
  const fits = Math.floor((width - 6) / CHAR_WIDTH);
  if (fits < 3) return "";
  const chars = Array.from(label); // by code point: never split a surrogate pair
  return chars.length <= fits ? label : `${chars.slice(0, fits - 2).join("")}..`;
}

const px = (value: number): string => String(Math.round(value * 100) / 100);

function formatShare(share: number): string {
  return `${(share * 100).toFixed(2)} %`;
}

/** A classic flame graph of `folded` as a self-contained static SVG. */
export function renderFlameGraphSvg(folded: FoldedStacks, options: SvgOptions): string {
  const width = options.width ?? DEFAULT_WIDTH;
  const minShare = options.minShare ?? DEFAULT_MIN_SHARE;
  const root = buildTree(folded);
  const total = root.samples;
  const chartWidth = width - 2 * SIDE_PADDING;
  const scale = total > 0 ? chartWidth / total : 0;
  const visible = (node: TreeNode) => total > 0 && node.samples / total >= minShare;

  // Lay out first (x in samples, depth), to know the height before drawing bottom-up.
  const placed: { node: TreeNode; start: number; depth: number }[] = [];
  const pending = total > 0 ? [{ node: root, start: 0, depth: 0 }] : [];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    placed.push(item);
    let start = item.start;
    const children = [...item.node.children.values()].sort((a, b) =>
      a.label < b.label ? -1 : a.label > b.label ? 1 : 0,
    );
    for (const child of children) {
      if (visible(child)) pending.push({ node: child, start, depth: item.depth + 1 });
      start += child.samples;
    }
  }
  const maxDepth = placed.reduce((deepest, item) => Math.max(deepest, item.depth), 0);
  const headerHeight = options.subtitle === undefined ? 56 : 74;
  const height = headerHeight + (maxDepth + 1) * FRAME_HEIGHT + BOTTOM_PADDING;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="Verdana, sans-serif" font-size="${FONT_SIZE}">`,
    `<path d="M0 0H${width}V${height}H0Z" fill="#f8f8f8"/>`,
    `<text x="${px(width / 2)}" y="24" font-size="17" text-anchor="middle">${escapeXml(options.title)}</text>`,
  ];
  if (options.subtitle !== undefined) {
    out.push(
      `<text x="${px(width / 2)}" y="44" fill="#555" text-anchor="middle">${escapeXml(options.subtitle)}</text>`,
    );
  }
  out.push(legend(headerHeight - 12));
  if (total === 0) {
    out.push(`<text x="${SIDE_PADDING}" y="${headerHeight + FONT_SIZE}">no samples</text>`);
  }
  const bottom = height - BOTTOM_PADDING;
  for (const { node, start, depth } of placed) {
    // Rounded edges rather than rounded widths: siblings then tile their parent exactly.
    const x0 = Math.round((SIDE_PADDING + start * scale) * 100) / 100;
    const x1 = Math.round((SIDE_PADDING + (start + node.samples) * scale) * 100) / 100;
    const y = bottom - (depth + 1) * FRAME_HEIGHT;
    const w = x1 - x0;
    const fill = node === root ? "rgb(200,200,200)" : frameColour(node.label);
    const tooltip = `${node.label} (${node.samples} samples, ${formatShare(node.samples / total)})`;
    const text = fitLabel(node.label, w);
    out.push(
      `<g><title>${escapeXml(tooltip)}</title>` +
        `<rect x="${px(x0)}" y="${y}" width="${px(w)}" height="${FRAME_HEIGHT - 1}" fill="${fill}" rx="2"/>` +
        (text === "" ? "" : `<text x="${px(x0 + 3)}" y="${y + FRAME_HEIGHT - 4}">${escapeXml(text)}</text>`) +
        "</g>",
    );
  }
  out.push("</svg>");
  return out.join("\n");
}

/** One line of coloured dots naming the categories (circles, so that every rect is a frame). */
function legend(baseline: number): string {
  let x = SIDE_PADDING;
  const items = CATEGORY_LEGEND.map(({ category, text }) => {
    const { base, spread } = PALETTE[category];
    const middle = base.map((value, i) => Math.round(value + spread[i]! / 2)).join(",");
    const item =
      `<circle cx="${x + 5}" cy="${baseline - 4}" r="5" fill="rgb(${middle})"/>` +
      `<text x="${x + 14}" y="${baseline}" fill="#333">${escapeXml(text)}</text>`;
    x += 14 + text.length * CHAR_WIDTH + 18;
    return item;
  });
  return `<g font-size="11">${items.join("")}</g>`;
}
