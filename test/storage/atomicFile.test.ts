import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { writeFileAtomic } from "../../src/storage/atomicFile.ts";

async function inTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tally-atomic-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("writing a file whole", () => {
  it("creates a file once, with its mode, and never over one that exists", async () => {
    await inTempDir(async (dir) => {
      const path = join(dir, "genesis.json");
      assert.equal(await writeFileAtomic(path, "first", { mode: 0o600, create: true }), "written");
      assert.equal(await writeFileAtomic(path, "second", { mode: 0o600, create: true }), "exists");
      assert.equal(await readFile(path, "utf8"), "first");
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(dir), ["genesis.json"], "no temporary file left");
    });
  });

  it("replaces a file whole", async () => {
    await inTempDir(async (dir) => {
      const path = join(dir, "keystore.json");
      await writeFile(path, "old, and longer than what replaces it");
      assert.equal(
        await writeFileAtomic(path, Uint8Array.of(110, 101, 119), { mode: 0o600, create: false }),
        "written",
      );
      assert.equal(await readFile(path, "utf8"), "new");
      assert.deepEqual(await readdir(dir), ["keystore.json"]);
    });
  });

  it("lets exactly one of many concurrent creators win, and the file holds the winner's bytes", async () => {
    await inTempDir(async (dir) => {
      const path = join(dir, "peer.key");
      const outcomes = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          writeFileAtomic(path, `writer ${i}`, { mode: 0o600, create: true }),
        ),
      );
      const winners = outcomes.flatMap((o, i) => (o === "written" ? [i] : []));
      assert.equal(winners.length, 1, `outcomes: ${outcomes.join(", ")}`);
      assert.equal(await readFile(path, "utf8"), `writer ${winners[0]}`);
      assert.deepEqual(await readdir(dir), ["peer.key"], "every loser's temporary file removed");
    });
  });

  it("fails with the system's error where it cannot write, leaving nothing behind", async () => {
    await inTempDir(async (dir) => {
      await assert.rejects(writeFileAtomic(join(dir, "missing", "f"), "x", { mode: 0o600, create: true }), {
        code: "ENOENT",
      });
      assert.deepEqual(await readdir(dir), []);
    });
  });
});
