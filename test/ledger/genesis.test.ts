import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import {
  genesisHash,
  genesisSupply,
  genesisToJson,
  isOpenMembership,
  parseGenesis,
} from "../../src/genesis/genesis.ts";
import { testKey } from "../support/fixtures.ts";

const a = testKey(1).address;
const b = testKey(2).address;
const valid = {
  network: "tally-devnet",
  balances: [
    { address: a, amount: "1000" },
    { address: b, amount: "5" },
  ],
  broadcast: { mode: "contagion", params: { G: 4, E: 10, Ehat: 7, R: 10, Rhat: 4, D: 10, Dhat: 7 } },
  members: [{ peerId: "12D3KooWexample", multiaddrs: ["/ip4/127.0.0.1/tcp/4001"] }],
};

function rejects(json: unknown, mentions: string): void {
  assert.throws(
    () => parseGenesis(json),
    (e: unknown) => isTallyError(e, ErrorCode.InvalidGenesis) && e.message.includes(mentions),
    mentions,
  );
}

describe("genesis", () => {
  it("parses, sums the supply and round-trips to JSON", () => {
    const genesis = parseGenesis(valid);
    assert.equal(genesisSupply(genesis), 1005n);
    assert.deepEqual(parseGenesis(JSON.parse(JSON.stringify(genesisToJson(genesis)))), genesis);
    assert.match(genesisHash(genesis), /^[0-9a-f]{64}$/);
    assert.deepEqual(parseGenesis({ network: "x", balances: [], members: valid.members }).broadcast, {
      mode: "bracha",
    });
  });

  it("names the offending field", () => {
    rejects({ ...valid, network: "Bad Net" }, "network");
    rejects({ ...valid, extra: true }, 'unknown field "extra"');
    rejects({ ...valid, balances: [{ address: "tly1nope", amount: "1" }] }, "balances[0].address");
    rejects({ ...valid, balances: [{ address: a, amount: 1 }] }, "balances[0].amount");
    rejects({ ...valid, balances: [{ address: a, amount: "01" }] }, "balances[0].amount");
    rejects({ ...valid, balances: [valid.balances[0], valid.balances[0]] }, "duplicate address");
    rejects({ ...valid, balances: [{ address: a, amount: (1n << 128n).toString() }] }, "supply");
    rejects({ ...valid, broadcast: { mode: "paxos" } }, "broadcast.mode");
    rejects(
      { ...valid, broadcast: { mode: "contagion", params: { ...valid.broadcast.params, Ehat: 11 } } },
      "Ehat",
    );
    rejects(
      { ...valid, broadcast: { mode: "contagion", params: { ...valid.broadcast.params, G: 0 } } },
      "params.G",
    );
    rejects({ ...valid, members: [valid.members[0], valid.members[0]] }, "duplicate peerId");
    rejects([], "JSON object");
  });

  it("a genesis without membership is static and keeps the hash it had before the field existed", () => {
    const genesis = parseGenesis(valid);
    assert.deepEqual(genesis.membership, { mode: "static" });
    assert.equal(isOpenMembership(genesis), false);
    assert.equal(genesisHash(genesis), "68bd37f3856adb57f5d9ce302a151253ca3ddeef2891070482fe80bb9474f1eb");
    assert.equal(
      genesisHash(parseGenesis({ ...valid, membership: { mode: "static" } })),
      genesisHash(genesis),
    );
    assert.equal("membership" in genesisToJson(genesis), false);
  });

  it("a static network needs a member", () => {
    rejects({ ...valid, members: [] }, "at least one member");
    rejects({ network: "x", balances: [] }, "at least one member");
  });
});

describe("genesis with open membership", () => {
  const bootstrapPeer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  const open = {
    network: "tally-open",
    balances: [{ address: a, amount: "1000" }],
    broadcast: valid.broadcast,
    membership: {
      mode: "open",
      bootstrap: [`/ip4/10.0.0.1/tcp/4001/p2p/${bootstrapPeer}`],
      identityDifficulty: 8,
      recordTtlSeconds: 30,
      recordRefreshSeconds: 5,
    },
  };

  it("parses, round-trips and hashes every membership number", () => {
    const genesis = parseGenesis(open);
    assert.ok(isOpenMembership(genesis));
    assert.deepEqual(genesis.membership, open.membership);
    assert.deepEqual(genesis.members, []);
    assert.deepEqual(parseGenesis(JSON.parse(JSON.stringify(genesisToJson(genesis)))), genesis);
    const harder = parseGenesis({ ...open, membership: { ...open.membership, identityDifficulty: 9 } });
    assert.notEqual(
      genesisHash(harder),
      genesisHash(genesis),
      "a network's difficulty is part of its identity",
    );
  });

  it("fills documented defaults for omitted numbers", () => {
    const genesis = parseGenesis({
      ...open,
      membership: { mode: "open", bootstrap: open.membership.bootstrap },
    });
    assert.deepEqual(genesis.membership, {
      mode: "open",
      bootstrap: open.membership.bootstrap,
      identityDifficulty: 20,
      recordTtlSeconds: 600,
      recordRefreshSeconds: 120,
    });
    // The defaults are written out, so a later change of a default cannot silently change a network.
    assert.deepEqual(
      (genesisToJson(genesis).membership as { identityDifficulty: number }).identityDifficulty,
      20,
    );
  });

  it("names what is wrong with an open genesis", () => {
    const m = open.membership;
    rejects({ ...open, broadcast: undefined }, "Bracha needs a fixed member list");
    rejects({ ...open, broadcast: { mode: "bracha" } }, "Bracha needs a fixed member list");
    rejects({ ...open, members: valid.members }, "members must be empty");
    rejects({ ...open, membership: { ...m, bootstrap: [] } }, "membership.bootstrap");
    rejects(
      { ...open, membership: { ...m, bootstrap: ["/ip4/10.0.0.1/tcp/4001"] } },
      "bootstrap[0] must end in /p2p/",
    );
    rejects(
      { ...open, membership: { ...m, bootstrap: ["not an address"] } },
      "bootstrap[0] is not a multiaddr",
    );
    rejects({ ...open, membership: { ...m, identityDifficulty: 33 } }, "identityDifficulty");
    rejects({ ...open, membership: { ...m, identityDifficulty: -1 } }, "identityDifficulty");
    rejects({ ...open, membership: { ...m, identityDifficulty: 1.5 } }, "identityDifficulty");
    rejects({ ...open, membership: { ...m, recordTtlSeconds: 0 } }, "recordTtlSeconds");
    rejects({ ...open, membership: { ...m, recordRefreshSeconds: 15 } }, "under half");
    rejects({ ...open, membership: { ...m, extra: 1 } }, 'membership: unknown field "extra"');
    rejects({ ...open, membership: { mode: "closed" } }, "membership.mode");
    rejects({ ...valid, membership: { mode: "static", bootstrap: [] } }, "static");
  });
});
