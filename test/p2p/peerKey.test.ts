import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { loadOrCreatePeerKey, PEER_KEY_FILE_NAME } from "../../src/p2p/peerKey.ts";

test("peer key: created 0600 on first start, same peer id after reload, refused when exposed", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "tally-peerkey-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dataDir = join(root, "node0");

  const first = await loadOrCreatePeerKey(dataDir);
  assert.equal(first.created, true);
  assert.equal(first.privateKey.type, "Ed25519");
  assert.equal((await stat(first.path)).mode & 0o777, 0o600);

  const again = await loadOrCreatePeerKey(dataDir);
  assert.equal(again.created, false);
  assert.equal(again.peerId.toString(), first.peerId.toString());
  assert.deepEqual(again.privateKey.raw, first.privateKey.raw);

  // Two concurrent first starts agree on one identity.
  const racers = await Promise.all([1, 2, 3].map(() => loadOrCreatePeerKey(join(root, "race"))));
  assert.equal(new Set(racers.map((k) => k.peerId.toString())).size, 1);

  if (process.platform !== "win32") {
    await chmod(first.path, 0o644);
    await assert.rejects(loadOrCreatePeerKey(dataDir), (e) => isTallyError(e, ErrorCode.KeyFileInsecure));
  }

  const garbageDir = join(root, "garbage");
  await loadOrCreatePeerKey(garbageDir);
  await writeFile(join(garbageDir, PEER_KEY_FILE_NAME), "not a key", { mode: 0o600 });
  await assert.rejects(loadOrCreatePeerKey(garbageDir), (e) => isTallyError(e, ErrorCode.KeyFileInvalid));
});
