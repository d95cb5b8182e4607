import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import type { EncodedTransfer } from "../../../src/core/transfer.ts";
import {
  CERTIFIED_STUCK_REPORT_MS,
  CERTIFIED_SUBMIT_WINDOW,
  CertifiedSubmitter,
  MAX_CERTIFIED_HELD,
} from "../../../src/node/shared/certifiedSubmissions.ts";
import { makeTransfer, testKey } from "../../support/fixtures.ts";

const account = testKey(1);
const payee = testKey(2).address;

function transferAt(seq: number, amount = 1n): EncodedTransfer {
  return makeTransfer(account, seq, [{ to: payee, amount }]);
}

/** A node whose ledger's next seq the test moves, refusing what `refuse` says, logging what it took. */
function fakeNode() {
  const node = {
    nextSeq: 1,
    taken: [] as number[],
    offered: [] as number[],
    refuse: (_seq: number): boolean => false,
    warnings: [] as string[],
    now: 0,
  };
  const log = pino(
    { level: "debug" },
    {
      write: (line: string) => {
        const entry = JSON.parse(line) as { level: number; msg: string };
        if (entry.level >= 40) node.warnings.push(entry.msg);
      },
    },
  );
  const submitter = new CertifiedSubmitter({
    submit: async (encoded) => {
      node.offered.push(encoded.transfer.seq);
      if (node.refuse(encoded.transfer.seq)) throw new Error("PENDING_FULL");
      node.taken.push(encoded.transfer.seq);
    },
    nextSeq: async () => node.nextSeq,
    log,
    nowMs: () => node.now,
  });
  return { node, submitter };
}

describe("certified transfers of a shared account, offered to the node until applied", () => {
  it("submits within the window past the ledger's next seq, and moves the window as the ledger applies", async () => {
    const { node, submitter } = fakeNode();
    for (let seq = 1; seq <= 12; seq++) submitter.add(account.address, transferAt(seq));
    await submitter.submitDue(account.address);
    assert.deepEqual(node.taken, [1, 2, 3, 4, 5], `next seq 1 and ${CERTIFIED_SUBMIT_WINDOW} past it`);
    node.nextSeq = 4; // 1..3 applied
    await submitter.submitDue(account.address);
    assert.deepEqual(node.taken, [1, 2, 3, 4, 5, 6, 7, 8], "taken ones are not offered again");
    assert.equal(submitter.heldCount(account.address), 9, "applied seqs are forgotten");
    node.nextSeq = 13;
    await submitter.submitDue(account.address);
    assert.equal(submitter.heldCount(account.address), 0);
  });

  it("offers a refused transfer again at the next pass, and nothing after it until the node takes it", async () => {
    const { node, submitter } = fakeNode();
    let full = true;
    node.refuse = (seq) => full && seq === 1;
    for (let seq = 1; seq <= 3; seq++) submitter.add(account.address, transferAt(seq));
    await submitter.submitDue(account.address);
    assert.deepEqual(node.offered, [1], "seq 2 and 3 wait behind the refused seq 1");
    await submitter.submitDue(account.address);
    assert.deepEqual(node.offered, [1, 1], "still refused, still held");
    full = false;
    await submitter.submitDue(account.address);
    assert.deepEqual(node.taken, [1, 2, 3]);
  });

  it("retries every account that holds a transfer", async () => {
    const { node, submitter } = fakeNode();
    const other = testKey(3);
    submitter.add(account.address, transferAt(1));
    submitter.add(other.address, makeTransfer(other, 1, [{ to: payee, amount: 1n }]));
    submitter.retry();
    for (let turn = 0; node.taken.length < 2 && turn < 1_000; turn++)
      await new Promise((r) => setImmediate(r));
    assert.deepEqual(node.taken, [1, 1]);
  });

  it("warns once about a transfer refused for longer than the stuck report's delay", async () => {
    const { node, submitter } = fakeNode();
    node.refuse = () => true;
    submitter.add(account.address, transferAt(1));
    await submitter.submitDue(account.address);
    node.now = CERTIFIED_STUCK_REPORT_MS - 1;
    await submitter.submitDue(account.address);
    assert.deepEqual(node.warnings, []);
    node.now = CERTIFIED_STUCK_REPORT_MS;
    await submitter.submitDue(account.address);
    node.now = 2 * CERTIFIED_STUCK_REPORT_MS;
    await submitter.submitDue(account.address);
    assert.deepEqual(node.warnings, ["certified transfer still refused; retrying"]);
  });

  it("keeps the first copy of a seq (a restart's repeated decision), and drops the highest seqs past its bound", async () => {
    const { node, submitter } = fakeNode();
    const first = transferAt(1, 5n);
    submitter.add(account.address, first);
    submitter.add(account.address, transferAt(1, 7n));
    await submitter.submitDue(account.address);
    assert.deepEqual(node.taken, [1]);
    for (let seq = 2; seq <= MAX_CERTIFIED_HELD + 1; seq++) submitter.add(account.address, transferAt(seq));
    assert.equal(submitter.heldCount(account.address), MAX_CERTIFIED_HELD);
    submitter.add(account.address, transferAt(MAX_CERTIFIED_HELD + 5));
    assert.equal(submitter.heldCount(account.address), MAX_CERTIFIED_HELD, "the newest, highest seq went");
  });

  it("goes round once more when asked during a pass, and stops offering once stopped", async () => {
    const { node, submitter } = fakeNode();
    submitter.add(account.address, transferAt(1));
    const pass = submitter.submitDue(account.address);
    submitter.add(account.address, transferAt(2));
    await submitter.submitDue(account.address); // during the pass: queued for one more round
    await pass;
    assert.deepEqual(node.taken, [1, 2]);
    submitter.stop();
    submitter.add(account.address, transferAt(3));
    await submitter.submitDue(account.address);
    assert.deepEqual(node.taken, [1, 2]);
  });
});
