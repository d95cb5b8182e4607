import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { DevnetFile, DevnetNode } from "../../src/devnet/devnet.ts";

export const MAIN_TS = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface RunningDevnet {
  readonly dir: string;
  readonly file: DevnetFile;
  /** Restarts a node exactly as devnet.json says; the test must stop it (see `stopExtra`). */
  restart(node: DevnetNode): ChildProcess;
  /** Starts another process (e.g. a node joining the devnet); stopped with the devnet. */
  spawnExtra(argv: readonly string[]): ChildProcess;
  /** Stops every process; `keepDir` leaves the devnet's directory (databases, logs) for a post-mortem. */
  stop(options?: { readonly keepDir?: boolean }): Promise<void>;
}

/** Starts `tally devnet up --json` as a real child process and waits for its ready line. */
export async function startDevnet(
  args: readonly string[] = [],
  readyTimeoutMs = 90_000,
): Promise<RunningDevnet> {
  const dir = await mkdtemp(join(tmpdir(), "tally-devnet-"));
  const child = spawn(
    process.execPath,
    [MAIN_TS, "devnet", "up", "--dir", dir, "--json", "--log-level", "warn", ...args],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const extra: ChildProcess[] = [];
  const file = await new Promise<DevnetFile>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`devnet not ready in ${readyTimeoutMs} ms: ${stderr}`)),
      readyTimeoutMs,
    );
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      try {
        const parsed = JSON.parse(line) as DevnetFile & { ready?: boolean };
        if (parsed.ready) {
          clearTimeout(timer);
          resolve(parsed);
        }
      } catch {
        // not the ready line
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`devnet exited with ${code}: ${stderr}`));
    });
  });
  const spawnExtra = (argv: readonly string[]): ChildProcess => {
    const started = spawn(argv[0]!, argv.slice(1), { stdio: "ignore" });
    extra.push(started);
    return started;
  };
  return {
    dir,
    file,
    restart: (node) => spawnExtra(node.argv),
    spawnExtra,
    async stop({ keepDir = false } = {}) {
      for (const p of extra) if (p.exitCode === null) p.kill("SIGKILL");
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      if (!keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function waitForHealth(api: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`${api}/v1/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${api} not healthy within ${timeoutMs} ms`);
}
