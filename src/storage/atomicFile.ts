import { randomBytes } from "node:crypto";
import { link, open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Writes a whole file durably and atomically: a temporary file beside `path` is written and fsynced, then
 * renamed over `path` (`create: false`) or hard-linked into place (`create: true`: answers "exists" if `path`
 * exists, even when another process creates it at the same moment), and the directory is fsynced so the name
 * survives a crash too. A crash leaves the old file or the new one (or none), never a torn one; the temporary
 * file is removed whatever happens.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { readonly mode: number; readonly create: boolean },
): Promise<"written" | "exists"> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const file = await open(temp, "wx", options.mode);
  try {
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    if (options.create) {
      try {
        await link(temp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") return "exists";
        throw e;
      }
    } else {
      await rename(temp, path);
    }
    await syncDirectory(dirname(path));
    return "written";
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
