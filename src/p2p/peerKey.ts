import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PeerId, PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { writeFileAtomic } from "../storage/atomicFile.ts";

/**
 * The node's libp2p identity lives in one file in the data dir: the libp2p protobuf encoding of an Ed25519
 * private key (the same bytes `privateKeyToProtobuf` produces, so other libp2p tools can read it).
 */
export const PEER_KEY_FILE_NAME = "peer.key";

/** Owner read/write only: the key is the node's identity, anyone who reads it can impersonate the node. */
const KEY_FILE_MODE = 0o600;
/** Permission bits for group and others; any of them set means the key may have leaked. */
const GROUP_OTHER_BITS = 0o077;
/** An Ed25519 key in libp2p protobuf form is 4 bytes of framing + 64 bytes; anything much larger is not ours. */
const MAX_KEY_FILE_BYTES = 1024;

export interface PeerKey {
  privateKey: PrivateKey;
  peerId: PeerId;
  /** Absolute or data-dir-relative path of the key file. */
  path: string;
  /** True when this call generated the key (first start). */
  created: boolean;
}

/**
 * Load the node's persistent peer key from `dataDir`, or create it on first start.
 *
 * Refuses to use a key file that group or others can access (like ssh does), rather than silently
 * tightening it: a leaked identity key must be noticed by the operator. Creation is atomic — the key is written
 * to a private temporary file, fsynced, then hard-linked into place, which fails if another process created the
 * key first (we then load theirs) — so a crash never leaves a truncated key behind.
 */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PeerKey> {
  const path = join(dataDir, PEER_KEY_FILE_NAME);
  const existing = await loadPeerKey(path);
  if (existing !== undefined) return existing;

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const privateKey = await generateKeyPair("Ed25519");
  const bytes = privateKeyToProtobuf(privateKey);
  if ((await writeFileAtomic(path, bytes, { mode: KEY_FILE_MODE, create: true })) === "exists") {
    // Lost a creation race: the other process's key is the identity.
    const winner = await loadPeerKey(path);
    if (winner !== undefined) return winner;
    throw new TallyError(
      ErrorCode.InvalidConfig,
      `peer key ${path} appeared and vanished while it was created`,
    );
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), path, created: true };
}

/** Load the key at `path`; `undefined` when the file does not exist. */
export async function loadPeerKey(path: string): Promise<PeerKey | undefined> {
  let mode: number;
  let size: number;
  try {
    ({ mode, size } = await stat(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  // POSIX permission bits mean nothing on Windows, where the ACL of the data dir protects the file.
  if (process.platform !== "win32" && (mode & GROUP_OTHER_BITS) !== 0) {
    throw new TallyError(
      ErrorCode.KeyFileInsecure,
      `peer key file ${path} is accessible by group/others (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
      { path, mode: mode & 0o777 },
    );
  }
  if (size > MAX_KEY_FILE_BYTES) {
    throw new TallyError(ErrorCode.KeyFileInvalid, `peer key file ${path} is too large to be a key`, {
      path,
      size,
    });
  }
  const bytes = await readFile(path);
  let privateKey: PrivateKey;
  try {
    privateKey = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new TallyError(ErrorCode.KeyFileInvalid, `peer key file ${path} is not a libp2p private key`, {
      path,
      cause: (err as Error).message,
    });
  }
  if (privateKey.type !== "Ed25519") {
    throw new TallyError(ErrorCode.KeyFileInvalid, `peer key file ${path} holds a ${privateKey.type} key`, {
      path,
      type: privateKey.type,
    });
  }
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), path, created: false };
}
