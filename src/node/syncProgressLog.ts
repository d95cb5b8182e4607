import type { Logger } from "pino";
import type { CatchUpProgress } from "../protocols/sync/catchUp.ts";

/** How often a node still catching up says so in its log. */
const SYNCING_LOG_INTERVAL_MS = 5_000;

/** Catch-up progress in the node's log: on every change of state, and every 5 s while syncing. */
export function syncProgressLogger(log: Logger): (sync: CatchUpProgress | undefined, nowMs: number) => void {
  let last = { state: "", atMs: 0 };
  return (sync, nowMs) => {
    if (sync === undefined) return;
    if (
      sync.state === last.state &&
      !(sync.state === "syncing" && nowMs - last.atMs > SYNCING_LOG_INTERVAL_MS)
    )
      return;
    log.info(sync, sync.state === "synced" ? "catch-up: synced" : "catch-up: syncing");
    last = { state: sync.state, atMs: nowMs };
  };
}
