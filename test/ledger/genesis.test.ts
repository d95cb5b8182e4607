import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ErrorCode, isTallyError } from "../../src/core/errors.ts";
import { genesisHash, genesisSupply, genesisToJson, parseGenesis } from "../../src/genesis/genesis.ts";
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
    assert.deepEqual(parseGenesis({ network: "x", balances: [] }).broadcast, { mode: "bracha" });
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
});
