import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { writeFileAtomic } from "../storage/atomicFile.ts";

/** Permission bits for group and others: any of them set on a key or passphrase file means it may have leaked. */
const GROUP_OTHER_BITS = 0o077;

/**
 * Reads a file that holds a secret, refusing one that group or others may read (like ssh, and like the node's
 * peer key): a leaked key must be noticed by its owner, not silently tightened. Pipes and other non-regular
 * files (`--passphrase-file <(…)`) are read as they are.
 */
export async function readPrivateFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (e) {
    throw new TallyError(
      ErrorCode.WalletKeystoreInvalid,
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (info.isFile()) {
    if (process.platform !== "win32" && (info.mode & GROUP_OTHER_BITS) !== 0) {
      throw new TallyError(
        ErrorCode.WalletKeystoreInsecure,
        `${what} ${path} is accessible by group/others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
        { path, mode: info.mode & 0o777 },
      );
    }
    if (info.size > maxBytes) {
      throw new TallyError(
        ErrorCode.WalletKeystoreInvalid,
        `${what} ${path} is larger than ${maxBytes} bytes`,
      );
    }
  }
  const bytes = await readFile(path);
  if (bytes.length > maxBytes) {
    throw new TallyError(ErrorCode.WalletKeystoreInvalid, `${what} ${path} is larger than ${maxBytes} bytes`);
  }
  return bytes;
}

/**
 * Durable, atomic write of a 0600 file (atomicFile.ts): replaced whole, or with `create` never over one that
 * exists, even one created concurrently. A crash leaves the old file or the new one, never a torn one.
 */
export async function writePrivateFile(
  path: string,
  text: string,
  what: string,
  options: { create?: boolean } = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const create = options.create ?? false;
  if ((await writeFileAtomic(path, text, { mode: 0o600, create })) === "exists") {
    throw new TallyError(
      ErrorCode.WalletKeystoreInvalid,
      `${what} ${path} already exists; refusing to overwrite it`,
    );
  }
}
