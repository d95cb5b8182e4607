import { type ClientRequest, type IncomingMessage, request } from "node:http";
import { ErrorCode, TallyError } from "../core/errors.ts";

/** What the tracker reports: a transfer this node resolved, with the bench's clock at arrival. */
export type ResolvedListener = (id: string, status: "applied" | "rejected", nowMs: number) => void;

/** A status line carries a 64-hex id; bounded so a garbled stream cannot grow the carry-over buffer. */
const MAX_PENDING_CHARS = 1024 * 1024;
const ID_PREFIX = '{"id":"';
const ID_CHARS = 64;

/**
 * Follows one node's `GET /v1/events` (server-sent events) and reports every transfer the node applied or
 * rejected. The node drops a subscriber that falls 1 MiB behind: a stream that ends before `close()` fails
 * the benchmark (`closedEarly`) rather than silently losing latencies.
 */
export class SseTracker {
  private req: ClientRequest | undefined;
  private closing = false;
  private failure: Error | undefined;
  private readonly url: string;
  private readonly onResolved: ResolvedListener;
  private readonly now: () => number;

  constructor(url: string, onResolved: ResolvedListener, now: () => number) {
    this.url = url;
    this.onResolved = onResolved;
    this.now = now;
  }

  /** Resolves once the node has answered 200 and the stream is open. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      // Only outcomes: a node's "delivered" and "pending" events would cost it bytes and writes for nothing.
      const req = request(`${this.url}/v1/events?status=applied,rejected`, {
        headers: { accept: "text/event-stream" },
      });
      this.req = req;
      req.once("error", (e) => {
        if (!this.closing) this.failure ??= e;
        reject(e);
      });
      req.once("response", (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new TallyError(ErrorCode.BenchFailed, `${this.url}/v1/events answered ${res.statusCode}`));
          return;
        }
        this.follow(res);
        resolve();
      });
      req.end();
    });
  }

  /** Why the stream ended before `close()`, if it did. */
  get closedEarly(): Error | undefined {
    return this.failure;
  }

  close(): void {
    this.closing = true;
    this.req?.destroy();
  }

  private follow(res: IncomingMessage): void {
    res.setEncoding("utf8");
    let pending = "";
    res.on("data", (chunk: string) => {
      const now = this.now();
      pending += chunk;
      let end = pending.indexOf("\n\n");
      let from = 0;
      while (end !== -1) {
        this.handleEvent(pending.slice(from, end), now);
        from = end + 2;
        end = pending.indexOf("\n\n", from);
      }
      pending = pending.slice(from);
      if (pending.length > MAX_PENDING_CHARS) {
        this.failure ??= new TallyError(ErrorCode.BenchFailed, `${this.url}: an event larger than 1 MiB`);
        res.destroy();
      }
    });
    res.once("close", () => {
      if (!this.closing)
        this.failure ??= new TallyError(
          ErrorCode.BenchFailed,
          `${this.url}/v1/events closed during the run (the node drops a subscriber 1 MiB behind)`,
        );
    });
  }

  private handleEvent(block: string, now: number): void {
    const at = block.indexOf("data: ");
    if (at === -1) return;
    const data = block.slice(at + 6);
    // Only resolutions matter; skip pending/delivered lines without parsing them.
    const applied = data.includes('"status":"applied"');
    if (!applied && !data.includes('"status":"rejected"')) return;
    const id = data.startsWith(ID_PREFIX)
      ? data.slice(ID_PREFIX.length, ID_PREFIX.length + ID_CHARS)
      : (JSON.parse(data) as { id: string }).id;
    this.onResolved(id, applied ? "applied" : "rejected", now);
  }
}
