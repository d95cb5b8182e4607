import { ErrorCode, TallyError } from "../core/errors.ts";
import { readPrivateFile } from "./privateFile.ts";

/** A passphrase is typed or pasted text; 4 KiB is far beyond any real one. */
const MAX_PASSPHRASE_BYTES = 4096;

/**
 * A passphrase file holds the passphrase as UTF-8; one trailing newline (what `echo` and editors add) is not
 * part of it. Like keystores, the file must not be readable by group or others.
 */
export async function readPassphraseFile(path: string): Promise<string> {
  const text = (await readPrivateFile(path, "passphrase file", MAX_PASSPHRASE_BYTES)).toString("utf8");
  const passphrase = text.replace(/\r?\n$/, "");
  if (passphrase === "") {
    throw new TallyError(ErrorCode.WalletKeystoreInvalid, `passphrase file ${path} is empty`);
  }
  return passphrase;
}

/**
 * Asks for a passphrase on the terminal without echoing it. Only when stdin is a TTY: a script must say where
 * its passphrase is (`--passphrase-file`) rather than hang on a prompt nobody sees.
 */
export async function promptPassphrase(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    throw new TallyError(
      ErrorCode.WalletKeystoreInvalid,
      "no passphrase: pass --passphrase-file FILE (stdin is not a terminal to ask on)",
    );
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = "";
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            resolve(typed);
            return;
          }
          if (ch === "\u0003" || ch === "\u0004") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            reject(new TallyError(ErrorCode.WalletKeystoreInvalid, "passphrase entry cancelled"));
            return;
          }
          if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
          else if (typed.length < MAX_PASSPHRASE_BYTES) typed += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

/** For a new keystore: asked twice, so a typo does not lock the key away for good. */
export async function promptNewPassphrase(): Promise<string> {
  const first = await promptPassphrase("New keystore passphrase: ");
  if (first === "") throw new TallyError(ErrorCode.WalletKeystoreInvalid, "the passphrase must not be empty");
  const again = await promptPassphrase("Repeat the passphrase: ");
  if (again !== first) throw new TallyError(ErrorCode.WalletKeystoreInvalid, "the passphrases differ");
  return first;
}
