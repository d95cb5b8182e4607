import assert from "node:assert/strict";
import { test } from "node:test";
import {
  PerfSampleReader,
  perfCategory,
  perfSummaryMarkdown,
  perfThreadRole,
  shortSymbol,
} from "../../src/analysis/perfSamples.ts";

const ROOT = "/srv/tally";
const NODE = "/srv/tally/node_modules/node/bin/node";

/** `perf script -F comm,tid,time,ip,sym,dso` text: a header, frames leaf first, a blank line. */
function sample(comm: string, atSec: number, frames: readonly [symbol: string, dso: string][]): string {
  const lines = frames.map(([sym, dso], i) => `\t    ${(0x1000 + i).toString(16)} ${sym} (${dso})`);
  return [`${comm} 4242  ${atSec.toFixed(6)}: `, ...lines, ""].join("\n");
}

test("perf frames: categories by library and V8 symbol, thread roles by name, short JS names", () => {
  assert.equal(perfCategory({ symbol: "fe25519_mul", dso: "/x/sodium-native.node" }), "libsodium");
  assert.equal(perfCategory({ symbol: "tcp_sendmsg", dso: "[kernel.kallsyms]" }), "kernel");
  assert.equal(perfCategory({ symbol: "Builtins_FindOrderedHashMapEntry", dso: NODE }), "Map/Set lookups");
  assert.equal(perfCategory({ symbol: "Builtins_MapPrototypeGet", dso: NODE }), "Map/Set lookups");
  assert.equal(perfCategory({ symbol: "Builtins_LoadIC", dso: NODE }), "V8 builtins");
  assert.equal(
    perfCategory({ symbol: "v8::internal::Scavenger::ScavengePage", dso: NODE }),
    "garbage collection",
  );
  assert.equal(perfCategory({ symbol: "v8::internal::Factory::NewJSObject", dso: NODE }), "V8 runtime");
  assert.equal(
    perfCategory({ symbol: "JS:*'onEcho file:///a.ts:1:2", dso: "/tmp/perf-1.map" }),
    "JavaScript (JIT)",
  );
  assert.equal(perfCategory({ symbol: "leveldb::DBImpl::Write", dso: "/x/classic-level.node" }), "LevelDB");
  assert.equal(perfCategory({ symbol: "__memmove_avx_unaligned_erms", dso: "/usr/lib/libc.so.6" }), "libc");
  assert.equal(perfCategory({ symbol: "uv__io_poll", dso: NODE }), "Node and libuv");
  assert.equal(perfCategory({ symbol: "[unknown]", dso: "[unknown]" }), "other");
  assert.equal(perfThreadRole("MainThread"), "main");
  assert.equal(perfThreadRole("V8 DefaultWorke"), "v8");
  assert.equal(perfThreadRole("libuv-worker"), "libuv");
  assert.equal(perfThreadRole("inspector"), "other");
  assert.equal(
    shortSymbol(`JS:*'onEcho file://${ROOT}/src/broadcast/contagion/contagion.ts:377:17`, ROOT),
    "onEcho src/broadcast/contagion/contagion.ts:377",
  );
  assert.equal(
    shortSymbol(`JS:^ ${ROOT}/node_modules/fastify/lib/wrap-thenable.js:14:26`, ROOT).startsWith(
      "(anonymous) ",
    ),
    true,
  );
  assert.equal(shortSymbol("fe25519_mul", ROOT), "fe25519_mul");
});

test("perf samples: cut to the window, shared by thread, the main thread by category, Map lookups by caller", () => {
  const echo = `JS:*'onEcho file://${ROOT}/src/broadcast/contagion/contagion.ts:377:17`;
  const apply = `JS:*'apply file://${ROOT}/src/ledger/ledger.ts:388:16`;
  const text = [
    sample("MainThread", 9.5, [["fe25519_mul", "/x/sodium-native.node"]]), // before the window
    sample("MainThread", 10.1, [["fe25519_mul", "/x/sodium-native.node"]]),
    sample("MainThread", 10.2, [["fe25519_mul", "/x/sodium-native.node"]]),
    sample("MainThread", 10.3, [
      ["Builtins_FindOrderedHashMapEntry", NODE],
      ["Builtins_MapPrototypeGet", NODE],
      [echo, "/tmp/perf-4242.map"],
    ]),
    sample("MainThread", 10.4, [
      ["Builtins_FindOrderedHashMapEntry", NODE],
      [apply, "/tmp/perf-4242.map"],
    ]),
    sample("MainThread", 10.5, [["v8::internal::(anonymous namespace)::Invoke", NODE]]),
    sample("V8 DefaultWorke", 10.6, [["v8::internal::MarkingVisitor::Visit", NODE]]),
    sample("libuv-worker", 10.7, [["fdatasync", "[kernel.kallsyms]"]]),
    sample("MainThread", 12.5, [["fe25519_mul", "/x/sodium-native.node"]]), // after it
  ].join("\n");
  const reader = new PerfSampleReader({ projectRoot: ROOT, top: 10, window: { fromSec: 10, toSec: 12 } });
  for (const line of text.split("\n")) reader.line(line);
  const s = reader.finish();
  assert.equal(s.samples, 7);
  assert.deepEqual(s.threads, { main: 0.7143, v8: 0.1429, libuv: 0.1429, other: 0 });
  assert.deepEqual(s.main, [
    { name: "libsodium", share: 0.4 },
    { name: "Map/Set lookups", share: 0.4 },
    { name: "V8 runtime", share: 0.2 },
  ]);
  assert.deepEqual(s.top[0], { name: "fe25519_mul", share: 0.4 });
  assert.deepEqual(
    s.top.find((t) => t.name.startsWith("v8::")),
    { name: "v8::internal::(anonymous namespace)::Invoke", share: 0.2 },
    "a symbol holding parentheses is read whole",
  );
  assert.deepEqual(s.mapLookupCallers, [
    { name: "onEcho src/broadcast/contagion/contagion.ts:377", share: 0.2 },
    { name: "apply src/ledger/ledger.ts:388", share: 0.2 },
  ]);
  const md = perfSummaryMarkdown(s, "a title");
  assert.ok(md.startsWith("# a title\n"));
  assert.ok(md.includes("| main | 71.4 % |"));
  assert.ok(md.includes("| `onEcho src/broadcast/contagion/contagion.ts:377` | 20.0 % |"));
});

test("perf samples: without a window every sample counts; an empty input is an empty summary", () => {
  const reader = new PerfSampleReader({ projectRoot: ROOT, top: 5 });
  for (const line of sample("MainThread", 1, [["fe25519_mul", "/x/sodium-native.node"]]).split("\n"))
    reader.line(line);
  reader.line("garbage that is neither a header nor a frame");
  assert.equal(reader.finish().samples, 1);
  const empty = new PerfSampleReader({ projectRoot: ROOT, top: 5 }).finish();
  assert.equal(empty.samples, 0);
  assert.deepEqual(empty.threads, { main: 0, v8: 0, libuv: 0, other: 0 });
  assert.deepEqual(empty.main, []);
});

test("perf samples: each JavaScript function on a main-thread stack counts once, whatever its tier or depth", () => {
  const js = (tier: string, name: string, file: string, line: number) =>
    [`JS:${tier}${name} file://${ROOT}/${file}:${line}:3`, "/tmp/perf-4242.map"] as [string, string];
  const step = (tier: string) => js(tier, "processBatch", "src/node/tallyNode.ts", 444);
  const verify = js("*'", "authorize", "src/ledger/authorization.ts", 46);
  const text = [
    // Two tiers of the same function on one stack (an optimised frame re-entering a baseline one): once.
    sample("MainThread", 1, [["fe25519_mul", "/x/sodium-native.node"], verify, step("*'"), step("^")]),
    sample("MainThread", 2, [["Builtins_LoadIC", NODE], step("~")]),
    sample("MainThread", 3, [["epoll_wait", "[kernel.kallsyms]"]]),
    // Another thread's JavaScript is not the main thread's.
    sample("V8 DefaultWorke", 4, [verify]),
  ].join("\n");
  const reader = new PerfSampleReader({ projectRoot: ROOT, top: 10 });
  for (const line of text.split("\n")) reader.line(line);
  const s = reader.finish();
  assert.deepEqual(s.inclusive, [
    { name: "processBatch src/node/tallyNode.ts:444", share: 0.6667 },
    { name: "authorize src/ledger/authorization.ts:46", share: 0.3333 },
  ]);
  const md = perfSummaryMarkdown(s, "t");
  assert.ok(md.includes("| `processBatch src/node/tallyNode.ts:444` | 66.7 % |"));
});
