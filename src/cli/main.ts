/**
 * The `tally` entry point: turns on Node's on-disk compile cache and only then loads the CLI. Every `tally`
 * process — a node's start, a devnet's, each wallet command — loads several hundred modules; reading their
 * compiled code back instead of compiling it again cut importing the node from 1.25–1.28 s to 0.70–0.92 s on
 * this machine. Static imports load before a module's body runs, so the CLI comes in by a dynamic import.
 * The cache lives with the dependencies (node_modules/.cache), not in the temp directory a user or a test
 * expects tally to leave as it found it; `NODE_COMPILE_CACHE` overrides it, and one that cannot be written
 * only costs the speed.
 */
import { enableCompileCache } from "node:module";
import { fileURLToPath } from "node:url";

enableCompileCache(
  process.env.NODE_COMPILE_CACHE ??
    fileURLToPath(new URL("../../node_modules/.cache/tally-compile", import.meta.url)),
);
await import("./cli.ts");
