import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Keystore } from "../../src/wallet/keystore.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { NodeRequestError } from "../../src/wallet/nodeClient.ts";
import { isDefinitiveRefusal, signAndSubmit } from "../../src/wallet/submitTransfer.ts";
import { FakeNode, refuse } from "./fakeNode.ts";

const NETWORK = "tally-wallet-test";

/** A funded wallet whose keystore file is a variable: what `persist` wrote last. */
function setup() {
  const node = new FakeNode(NETWORK);
  let stored: Keystore = newKeystore(undefined, NETWORK);
  node.setAccount(stored.address, 1000n, 1, []);
  const payee = newKeystore().address;
  const persist = async (k: Keystore) => {
    stored = k;
  };
  const send = (amount: bigint, catchUpTimeoutMs = 200) =>
    signAndSubmit(node, stored, { outputs: [{ to: payee, amount }], catchUpTimeoutMs }, persist);
  return { node, send, stored: () => stored };
}

describe("the seq a wallet holds", () => {
  for (const [status, code] of [
    [400, "BAD_SIGNATURE"],
    [409, "INSUFFICIENT_FUNDS"],
    [409, "UNKNOWN_DEPENDENCY"],
    [409, "SEQ_TOO_FAR_AHEAD"],
    [429, "PENDING_FULL"],
  ] as const) {
    it(`is free again after the node refused the transfer with ${status} ${code}`, async () => {
      const { node, send, stored } = setup();
      node.onSubmit = refuse(status, code);
      await assert.rejects(send(10n), (e) => {
        assert.ok(e instanceof NodeRequestError && e.code === code);
        assert.match(e.message, /does not hold seq 1 for it/);
        return true;
      });
      assert.equal(stored().lastSignedSeq, 0);
      // The next send signs seq 1 at once: no 30 s wait for a transfer that can never be applied.
      node.onSubmit = () => ({ id: "second", status: "pending" });
      const started = Date.now();
      const second = await send(20n);
      assert.ok(Date.now() - started < 150, "the second send waited for the refused one");
      assert.equal(node.submitted.at(-1)!.seq, 1);
      assert.equal(second.keystore.lastSignedSeq, 1);
    });
  }

  for (const [what, failure] of [
    ["a timeout", () => Promise.reject(new NodeRequestError(0, "UNREACHABLE", "timed out"))],
    ["a 500", () => Promise.reject(new NodeRequestError(500, "INTERNAL", "internal error"))],
    ["a 409 SEQ_CONFLICT (another transfer holds the seq)", refuse(409, "SEQ_CONFLICT")],
    ["a 4xx with a code this wallet does not know", refuse(409, "SOME_NEWER_CODE")],
    ["a 202", () => ({ id: "x", status: "pending" as const })],
  ] as const) {
    it(`stays held after ${what}: the next send waits and does not sign the seq twice`, async () => {
      const { node, send, stored } = setup();
      node.onSubmit = failure;
      await send(10n).catch(() => {});
      assert.equal(stored().lastSignedSeq, 1);
      node.onSubmit = () => ({ id: "second", status: "pending" });
      await assert.rejects(send(20n, 100), /not resolved .*pass --seq/);
      assert.equal(node.submitted.length, 1, "a second transfer was signed for the held seq");
      // Once the node resolves seq 1 (applied or rejected alike), the wallet moves on to seq 2.
      node.setAccount(stored().address, 990n, 2, []);
      await send(20n);
      assert.equal(node.submitted.at(-1)!.seq, 2);
    });
  }

  it("classifies only listed 4xx codes as definitive", () => {
    assert.equal(isDefinitiveRefusal(new NodeRequestError(400, "INVALID_REQUEST", "")), true);
    assert.equal(isDefinitiveRefusal(new NodeRequestError(409, "SEQ_CONFLICT", "")), false);
    assert.equal(isDefinitiveRefusal(new NodeRequestError(502, "PENDING_FULL", "")), false);
    assert.equal(isDefinitiveRefusal(new NodeRequestError(408, "TIMEOUT", "")), false);
    assert.equal(isDefinitiveRefusal(new Error("INSUFFICIENT_FUNDS")), false);
  });
});
