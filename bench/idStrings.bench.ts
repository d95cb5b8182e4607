/**
 * The recent-id spellings (`src/core/idStrings.ts`) at their bound: the V8 heap and the memory outside it
 * that holding 2 × ID_STRING_CACHE_ENTRIES ids adds, and ns per id spelled for the first time and per id
 * found again. The strings themselves are counted too (the caller keeps them, as the node's maps do).
 * Run: node --expose-gc bench/idStrings.bench.ts — in two checkouts to compare them.
 */
import { randomBytes } from "node:crypto";
import { ID_STRING_CACHE_ENTRIES, idAt } from "../src/core/idStrings.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const ids = Array.from({ length: 2 * ID_STRING_CACHE_ENTRIES }, () => randomBytes(32));
const kept: string[] = [];
gc();
const before = process.memoryUsage();
const t0 = process.hrtime.bigint();
for (const id of ids) kept.push(idAt(id, 0));
const newNs = Number(process.hrtime.bigint() - t0) / ids.length;
gc();
const after = process.memoryUsage();
// The second generation is still held: every one of these is a hit.
const recent = ids.slice(ID_STRING_CACHE_ENTRIES);
const t1 = process.hrtime.bigint();
let found = 0;
for (let i = 0; i < recent.length; i++)
  if (idAt(recent[i]!, 0) === kept[ID_STRING_CACHE_ENTRIES + i]) found++;
const hitNs = Number(process.hrtime.bigint() - t1) / recent.length;
if (found !== recent.length) throw new Error(`${recent.length - found} recent ids not found`);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log(
  `${ids.length} ids: heap +${mib(after.heapUsed - before.heapUsed)} MiB, outside the heap ` +
    `+${mib(after.external - before.external)} MiB; ${newNs.toFixed(0)} ns per new id, ${hitNs.toFixed(0)} ns per hit`,
);
