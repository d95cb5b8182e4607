import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { genesisHash, parseGenesis } from "../../src/genesis/genesis.ts";
import { MAIN_TS } from "../support/devnetProcess.ts";

/** `tally node init` and `tally genesis new`: what an operator runs before a network's first start. */

const exec = promisify(execFile);
const ADDRESS = "tly1qrp03wd55rkejryw39ye6lnynwrrsujzxhuegwljqxktflrsrpp2u7wylgj";

async function tally(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [MAIN_TS, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("node init and genesis new", () => {
  let dir: string;
  let peerId: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "tally-genesis-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("node init makes the peer key once, private, and prints the same peer id every time", async () => {
    const first = await tally(["node", "init", "--data-dir", join(dir, "node"), "--json"]);
    assert.equal(first.code, 0, first.stderr);
    const made = JSON.parse(first.stdout) as { peerId: string; keyFile: string; created: boolean };
    assert.match(made.peerId, /^12D3KooW/);
    assert.equal(made.created, true);
    assert.equal((await stat(made.keyFile)).mode & 0o777, 0o600);
    const again = JSON.parse(
      (await tally(["node", "init", "--data-dir", join(dir, "node"), "--json"])).stdout,
    );
    assert.deepEqual(again, { ...made, created: false });
    peerId = made.peerId;
  });

  it("genesis new writes an open network's genesis that parses as a node parses it, with the hash it printed", async () => {
    const out = join(dir, "open.json");
    const bootstrap = `/ip4/192.0.2.1/tcp/4001/p2p/${peerId}`;
    const r = await tally([
      "genesis",
      "new",
      "--out",
      out,
      "--network",
      "testnet",
      "--balance",
      `${ADDRESS}=1000`,
      "--bootstrap",
      bootstrap,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const printed = JSON.parse(r.stdout) as { hash: string; membership: string; broadcast: string };
    const genesis = parseGenesis(JSON.parse(await readFile(out, "utf8")));
    assert.equal(printed.hash, genesisHash(genesis));
    assert.deepEqual([printed.membership, printed.broadcast], ["open", "contagion"]);
    assert.deepEqual(genesis.balances, [{ address: ADDRESS, amount: 1000n }]);
    assert.ok(genesis.membership.mode === "open");
    assert.deepEqual(genesis.membership.bootstrap, [bootstrap]);
    assert.equal(genesis.membership.identityDifficulty, 20, "a public network's default identity cost");
  });

  it("genesis new writes a static network's member list from --member addresses", async () => {
    const out = join(dir, "static.json");
    const r = await tally([
      "genesis",
      "new",
      "--out",
      out,
      "--network",
      "testnet",
      "--membership",
      "static",
      "--broadcast",
      "bracha",
      "--member",
      `/ip4/192.0.2.1/tcp/4001/p2p/${peerId}`,
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const genesis = parseGenesis(JSON.parse(await readFile(out, "utf8")));
    assert.deepEqual(genesis.members, [{ peerId, multiaddrs: ["/ip4/192.0.2.1/tcp/4001"] }]);
    assert.equal(genesis.broadcast.mode, "bracha");
  });

  it("never overwrites a genesis, and writes nothing for bad input", async () => {
    const bootstrap = `/ip4/192.0.2.1/tcp/4001/p2p/${peerId}`;
    const before = await readFile(join(dir, "open.json"), "utf8");
    const again = await tally([
      "genesis",
      "new",
      "--out",
      join(dir, "open.json"),
      "--network",
      "other",
      "--bootstrap",
      bootstrap,
    ]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; a genesis is never overwritten/);
    assert.equal(await readFile(join(dir, "open.json"), "utf8"), before);
    const cases: [string[], number, RegExp][] = [
      [["--network", "testnet", "--balance", `${ADDRESS}=-5`, "--bootstrap", bootstrap], 1, /amount/],
      [["--network", "testnet", "--balance", "1000", "--bootstrap", bootstrap], 2, /ADDRESS=AMOUNT/],
      [["--network", "Test Net", "--bootstrap", bootstrap], 1, /network must be/],
      [["--network", "testnet", "--bootstrap", "/ip4/192.0.2.1/tcp/4001/p2p/nobody"], 1, /not a peer id/],
      [["--network", "testnet"], 1, /bootstrap/],
      [["--network", "testnet", "--member", bootstrap], 2, /--member is for --membership static/],
      [["--network", "testnet", "--membership", "static"], 2, /needs every member/],
      [
        ["--network", "testnet", "--membership", "static", "--member", "/ip4/192.0.2.1/tcp/4001"],
        2,
        /ending in \/p2p/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const out = join(dir, "bad.json");
      const r = await tally(["genesis", "new", "--out", out, ...args]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      await assert.rejects(stat(out), "nothing written");
    }
  });
});
