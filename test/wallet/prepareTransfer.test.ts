import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TransferView } from "../../src/api/nodeApi.ts";
import { isTallyError } from "../../src/core/errors.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { testKey } from "../support/fixtures.ts";
import { makeSharedTransfer, sharedAccount } from "../support/sharedAccounts.ts";
import { FakeNode } from "./fakeNode.ts";

const NETWORK = "tally-wallet-test";

/** The wallet (pinned to NETWORK), a payer who funds it, and a node that reports one real incoming dep. */
function setup() {
  const wallet = newKeystore(undefined, NETWORK);
  const payer = newKeystore();
  const payee = newKeystore().address;
  const node = new FakeNode(NETWORK);
  const income = buildSignedTransfer(payer, {
    network: NETWORK,
    seq: 1,
    outputs: [
      { to: wallet.address, amount: 70n },
      { to: payee, amount: 5n },
    ],
  });
  node.addApplied(income);
  node.setAccount(wallet.address, 100n, 1, [income.id]);
  return { wallet, payer, payee, node, income };
}

const pay = (to: string, amount: bigint) => ({ outputs: [{ to, amount }] });

describe("the wallet checks its node before signing", () => {
  it("signs over a dep that verifies: applied, hashes to its id, signed, and pays this address", async () => {
    const { wallet, payee, node, income } = setup();
    const { signed, keystore } = await prepareNextTransfer(node, wallet, pay(payee, 100n));
    assert.deepEqual(signed.transfer.deps, [income.id]);
    assert.equal(signed.transfer.network, NETWORK);
    assert.equal(keystore.lastSignedSeq, 1);
    assert.equal(keystore.lastSignedId, signed.id);
  });

  it("waits a moment for a listed dep whose body the node cannot show yet (its store write in flight)", async () => {
    const { wallet, payee, node, income } = setup();
    const view = node.transfers.get(income.id)!;
    node.transfers.delete(income.id);
    setTimeout(() => node.transfers.set(income.id, view), 150);
    const { signed } = await prepareNextTransfer(node, wallet, pay(payee, 100n));
    assert.deepEqual(signed.transfer.deps, [income.id]);
  });

  it("refuses a made-up dep the node cannot show", async () => {
    const { wallet, payee, node, income } = setup();
    node.setAccount(wallet.address, 100n, 1, [income.id, "ee".repeat(32)]);
    await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 1n)), (e) =>
      isTallyError(e, "WALLET_UNTRUSTED_DEPENDENCY"),
    );
  });

  it("refuses a dep whose shown body is another transfer than its id names", async () => {
    const { wallet, payer, payee, node, income } = setup();
    const other = buildSignedTransfer(payer, {
      network: NETWORK,
      seq: 2,
      outputs: [{ to: wallet.address, amount: 9n }],
    });
    const madeUpId = "ab".repeat(32);
    node.transfers.set(madeUpId, {
      id: madeUpId,
      status: "applied",
      transfer: transferToJson(other.transfer),
    });
    node.setAccount(wallet.address, 109n, 1, [income.id, madeUpId]);
    await assert.rejects(
      prepareNextTransfer(node, wallet, pay(payee, 1n)),
      /the transfer shown for it has id/,
    );
  });

  it("refuses a dep that pays someone else", async () => {
    const { wallet, payer, payee, node } = setup();
    const toOther = buildSignedTransfer(payer, {
      network: NETWORK,
      seq: 3,
      outputs: [{ to: payee, amount: 50n }],
    });
    node.addApplied(toOther);
    node.setAccount(wallet.address, 50n, 1, [toOther.id]);
    await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 1n)), /does not pay/);
  });

  it("refuses a dep the node itself reports not applied", async () => {
    const { wallet, payer, payee, node } = setup();
    const waiting = buildSignedTransfer(payer, {
      network: NETWORK,
      seq: 4,
      outputs: [{ to: wallet.address, amount: 8n }],
    });
    node.addApplied(waiting, "delivered");
    node.setAccount(wallet.address, 8n, 1, [waiting.id]);
    await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 1n)), /reported delivered/);
  });

  it("refuses a dep with a forged signature", async () => {
    const { wallet, payer, payee, node } = setup();
    const real = buildSignedTransfer(payer, {
      network: NETWORK,
      seq: 5,
      outputs: [{ to: wallet.address, amount: 8n }],
    });
    // The id hashes the body only, so a node can show the right body with someone else's (or no) signature.
    const forged = { ...transferToJson(real.transfer), signature: "00".repeat(64) };
    node.transfers.set(real.id, { id: real.id, status: "applied", transfer: forged });
    node.setAccount(wallet.address, 8n, 1, [real.id]);
    await assert.rejects(
      prepareNextTransfer(node, wallet, pay(payee, 1n)),
      /not authorized by its source: signature does not verify/,
    );
  });

  it("signs over a dep paid by a shared account, its owners' commit certificate checked as the ledger does", async () => {
    const { wallet, payee, node, income } = setup();
    const treasury = sharedAccount([1, 2, 3, 4], "treasury");
    const fromShared = makeSharedTransfer(treasury, 1, [{ to: wallet.address, amount: 40n }], [], {
      network: NETWORK,
    });
    node.addApplied(fromShared);
    node.setAccount(wallet.address, 140n, 1, [income.id, fromShared.id]);
    const { signed } = await prepareNextTransfer(node, wallet, pay(payee, 140n));
    assert.deepEqual(signed.transfer.deps, [income.id, fromShared.id].sort());
  });

  it("refuses a shared account's dep short of a quorum, signed by a non-owner, a prepare certificate, or another definition", async () => {
    const { wallet, payee, node } = setup();
    const treasury = sharedAccount([1, 2, 3, 4], "treasury");
    const relabelled = (view: TransferView): TransferView => {
      const { authorization } = view.transfer;
      const definition = { ...authorization!.definition, label: "not the treasury" };
      return { ...view, transfer: { ...view.transfer, authorization: { ...authorization!, definition } } };
    };
    const cases = [
      { options: { signers: [0, 1] }, refusal: /not authorized by its source: .*needs 3/ },
      {
        options: { signWith: new Map([[2, testKey(30)]]) },
        refusal: /not authorized by its source: an owner's signature .* does not verify/,
      },
      // The JSON view has no phase (a transfer's certificate is a commit), so prepare votes fail as signatures.
      { options: { phase: "prepare" as const }, refusal: /an owner's signature .* does not verify/ },
      { options: {}, alter: relabelled, refusal: /definition does not hash to the source address/ },
    ];
    for (const [seq, { options, alter, refusal }] of cases.entries()) {
      const dep = makeSharedTransfer(treasury, seq + 1, [{ to: wallet.address, amount: 40n }], [], {
        ...options,
        network: NETWORK,
      });
      node.addApplied(dep);
      if (alter !== undefined) node.transfers.set(dep.id, alter(node.transfers.get(dep.id)!));
      node.setAccount(wallet.address, 40n, 1, [dep.id]);
      await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 1n)), (e) => {
        assert.ok(isTallyError(e, "WALLET_UNTRUSTED_DEPENDENCY"));
        assert.match((e as Error).message, refusal);
        return true;
      });
    }
    assert.equal(node.submitted.length, 0);
  });

  it("refuses a dep of another network", async () => {
    const { wallet, payer, payee, node } = setup();
    const foreign = buildSignedTransfer(payer, {
      network: "other-net",
      seq: 1,
      outputs: [{ to: wallet.address, amount: 8n }],
    });
    node.addApplied(foreign);
    node.setAccount(wallet.address, 8n, 1, [foreign.id]);
    await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 1n)), /network "other-net"/);
  });

  it("refuses to sign for a node on another network, whatever that node reports", async () => {
    const { wallet, payee, node } = setup();
    node.network = "evil-net";
    await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 1n)), (e) => {
      assert.ok(isTallyError(e, "WALLET_NETWORK_MISMATCH"));
      assert.match((e as Error).message, /signs only for "tally-wallet-test"/);
      return true;
    });
    assert.equal(node.submitted.length, 0);
  });

  it("refuses a keystore that pins no network", async () => {
    const { payee, node } = setup();
    await assert.rejects(prepareNextTransfer(node, newKeystore(), pay(payee, 1n)), (e) =>
      isTallyError(e, "WALLET_NETWORK_MISMATCH"),
    );
  });

  it("signs nothing when the outputs exceed the balance, and records no seq", async () => {
    const { wallet, payee, node } = setup();
    await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 101n)), (e) => {
      assert.ok(isTallyError(e, "INSUFFICIENT_FUNDS"));
      assert.match((e as Error).message, /nothing was signed/);
      return true;
    });
  });

  it("with --confirm-node, signs only over deps a second node shows applied too", async () => {
    const { wallet, payer, payee, node, income } = setup();
    const second = new FakeNode(NETWORK);
    second.addApplied(income);
    const confirmNodes = [second];
    const { signed } = await prepareNextTransfer(node, wallet, { ...pay(payee, 100n), confirmNodes });
    assert.deepEqual(signed.transfer.deps, [income.id]);

    // The operator's own transfer to the wallet, validly signed, shown applied by its node and never broadcast.
    const unseen = buildSignedTransfer(payer, {
      network: NETWORK,
      seq: 2,
      outputs: [{ to: wallet.address, amount: 9n }],
    });
    node.addApplied(unseen);
    node.setAccount(wallet.address, 109n, 1, [income.id, unseen.id]);
    await assert.rejects(prepareNextTransfer(node, wallet, { ...pay(payee, 1n), confirmNodes }), (e) => {
      assert.ok(isTallyError(e, "WALLET_UNTRUSTED_DEPENDENCY"));
      assert.match((e as Error).message, new RegExp(`dep ${unseen.id} listed by .* is not confirmed by`));
      return true;
    });
    // Without the second node the same dep passes every check: the second node's word is what stops it.
    await prepareNextTransfer(node, wallet, pay(payee, 1n));

    // A second node that shows another body for the id does not confirm it either.
    second.transfers.set(unseen.id, { ...second.transfers.get(income.id)!, id: unseen.id });
    await assert.rejects(
      prepareNextTransfer(node, wallet, { ...pay(payee, 1n), confirmNodes }),
      /is not confirmed by .*: it shows another transfer for it/,
    );
    assert.equal(node.submitted.length, 0);
  });

  it("refuses a confirming node on another network before looking at any dep", async () => {
    const { wallet, payee, node } = setup();
    const elsewhere = new FakeNode("other-net");
    await assert.rejects(
      prepareNextTransfer(node, wallet, { ...pay(payee, 1n), confirmNodes: [elsewhere] }),
      (e) =>
        isTallyError(e, "WALLET_NETWORK_MISMATCH") && /is on network "other-net"/.test((e as Error).message),
    );
  });

  it("refuses a balance below the node's own verified deps", async () => {
    const { wallet, payee, node, income } = setup();
    node.setAccount(wallet.address, 10n, 1, [income.id]);
    await assert.rejects(prepareNextTransfer(node, wallet, pay(payee, 1n)), (e) =>
      isTallyError(e, "WALLET_UNTRUSTED_DEPENDENCY"),
    );
  });
});
