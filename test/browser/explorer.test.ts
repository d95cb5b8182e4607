import assert from "node:assert/strict";
import { access, constants } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { transferToJson } from "../../src/core/transferJson.ts";
import { readKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { type RunningDevnet, startDevnet } from "../support/devnetProcess.ts";
import { postProposalBody, signedProposal } from "../support/signedProposals.ts";

/**
 * The explorer in a real browser (Debian's Chromium, driven by playwright-core) against a real 4-node devnet:
 * the live feed shows a transfer applied, links lead to it and to its accounts, a memo written as markup is
 * shown as text and runs nothing, a shared account's transfer shows its certificate, and the page's policy
 * refuses a script it did not ship.
 */

const CHROMIUM = process.env.TALLY_CHROMIUM ?? "/usr/bin/chromium";
// The memo a hostile sender would write: markup that runs script if the page ever parsed it as HTML.
const HOSTILE_MEMO = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

describe("explorer, in Chromium", { timeout: 180_000 }, () => {
  let devnet: RunningDevnet;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let paymentId = "";

  before(async () => {
    await access(CHROMIUM, constants.X_OK).catch(() => {
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set TALLY_CHROMIUM to one`);
    });
    // Nodes 1..3 host the three owners of a shared account; node 0 hosts none.
    devnet = await startDevnet(["--nodes", "4", "--wallets", "3", "--shared", "3"]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage();
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // The one 404 a test below asks for on purpose is the browser's to log, not the page's fault.
      if (m.type() === "error" && !m.text().includes("404")) problems.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await devnet?.stop();
  });

  it("opens from the API's root, shows the node, and its feed shows a transfer applied", async () => {
    const [n0, n1] = devnet.file.nodes;
    const response = await page.goto(`${n0!.api}/`);
    assert.equal(new URL(page.url()).pathname, "/explorer/");
    const headers = response!.headers();
    assert.match(headers["content-security-policy"] ?? "", /script-src 'self'/);
    assert.equal(headers["x-content-type-options"], "nosniff");
    await page.locator("[data-test=node-network]").getByText(devnet.file.network).waitFor();
    await page.locator("[data-test=node-health]").getByText("ready").waitFor({ timeout: 30_000 });
    await page.locator("[data-test=feed-state]").getByText("connected").waitFor();
    const info = await new NodeClient(n0!.api).info();
    assert.equal(await page.locator("[data-test=node-facts] td").nth(1).textContent(), info.peerId);

    // A transfer submitted to another node reaches this node's page as applied.
    const [payer, payee] = devnet.file.wallets;
    const keystore = await readKeystore(payer!.keystore, { passphraseFile: payer!.passphraseFile });
    const signed = buildSignedTransfer(keystore, {
      network: devnet.file.network,
      seq: 1,
      outputs: [{ to: payee!.address, amount: 1234n }],
      memo: HOSTILE_MEMO,
    });
    await new NodeClient(n1!.api).submit(transferToJson(signed.transfer));
    paymentId = signed.id;
    const row = page.locator(`[data-test=feed-row][data-id="${signed.id}"]`);
    await row.getByText("applied").waitFor({ timeout: 30_000 });
    // The rate over the last 10 s counts it (one in ten seconds: 0.1/s).
    await page
      .locator("[data-test=feed-state]")
      .getByText(/connected · 0\.1 applied\/s/)
      .waitFor();

    // Its link leads to the transfer, whose memo is shown exactly as written, as text.
    await row.getByRole("link", { name: `${signed.id.slice(0, 10)}…` }).click();
    await page.locator("[data-test=memo]").waitFor();
    assert.equal(new URL(page.url()).hash, `#/transfer/${signed.id}`);
    assert.equal(await page.locator("[data-test=memo]").textContent(), HOSTILE_MEMO);
    assert.equal(await page.locator("[data-test=view] img, [data-test=view] script").count(), 0);
    assert.equal(await page.evaluate("window.__pwned"), undefined);
    assert.equal(await page.locator("[data-test=transfer-seq]").textContent(), "1");
    assert.equal(
      await page.locator("[data-test=output]").textContent(),
      `${payee!.address.slice(0, 10)}…${payee!.address.slice(-6)} 1234`,
    );
  });

  it("looks up the payee's account: the balance the API reports and the transfer in its history", async () => {
    const [n0] = devnet.file.nodes;
    const payee = devnet.file.wallets[1]!;
    await page.fill("[data-test=search-input]", payee.address);
    await page.press("[data-test=search-input]", "Enter");
    await page.locator("[data-test=account-address]").getByText(payee.address).waitFor();
    const account = await new NodeClient(n0!.api).account(payee.address);
    assert.equal(await page.locator("[data-test=account-balance]").textContent(), account.balance);
    assert.deepEqual(account.pendingDeps, [paymentId], "the payment waits to be taken in");
    assert.equal(await page.locator(`[data-test=account] a[href="#/transfer/${paymentId}"]`).count(), 1);
    const history = page.locator("[data-test=history-row]");
    assert.equal(await history.count(), 1);
    assert.equal(await history.locator("td").nth(1).textContent(), "in");
    assert.equal(await history.locator("td.memo").textContent(), HOSTILE_MEMO);
  });

  it("pages an account's history: 25 transfers, then the older ones on request", async () => {
    const [n0] = devnet.file.nodes;
    const [payer, payee] = devnet.file.wallets;
    const keystore = await readKeystore(payer!.keystore, { passphraseFile: payer!.passphraseFile });
    const client = new NodeClient(n0!.api);
    // 30 more payments, all at once (seqs 2..31), through the batch endpoint.
    const next = (await client.account(payer!.address)).nextSeq;
    const signed = Array.from({ length: 30 }, (_, i) =>
      buildSignedTransfer(keystore, {
        network: devnet.file.network,
        seq: next + i,
        outputs: [{ to: payee!.address, amount: 1n }],
      }),
    );
    const response = await fetch(`${n0!.api}/v1/transfers:batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ transfers: signed.map((t) => transferToJson(t.transfer)) }),
    });
    assert.equal(response.status, 200);
    for (const t of signed) assert.equal((await client.waitForResolution(t.id, 30_000)).status, "applied");
    await page.goto(`${n0!.api}/explorer/#/account/${payer!.address}`);
    // The previous view (another account) stays until this one is rendered: wait for this account's newest.
    await page.locator(`[data-test=history-row][data-id="${signed.at(-1)!.id}"]`).waitFor();
    const rows = page.locator("[data-test=history-row]");
    assert.equal(await rows.count(), 25);
    assert.equal(await rows.first().getAttribute("data-id"), signed.at(-1)!.id, "newest first");
    await page.locator("[data-test=history-more]").click();
    await page.locator(`[data-test=history-row][data-id="${paymentId}"]`).waitFor();
    assert.equal(await rows.count(), 31);
    assert.equal(await page.locator("[data-test=history-more]").isHidden(), true, "no older page left");
  });

  it("shows a submission rejected for its client in the feed with its code, and in its view with the reason", async () => {
    const n1 = devnet.file.nodes[1]!;
    const spender = devnet.file.wallets[2]!;
    const payee = devnet.file.wallets[1]!;
    const keystore = await readKeystore(spender.keystore, { passphraseFile: spender.passphraseFile });
    const client = new NodeClient(n1.api);
    const { balance, nextSeq } = await client.account(spender.address);
    const paying = (seq: number, amount: bigint) =>
      buildSignedTransfer(keystore, {
        network: devnet.file.network,
        seq,
        outputs: [{ to: payee.address, amount }],
      });
    // The later seq spends the whole balance: accepted while its predecessor may still fund it, and rejected
    // for its client by the node it was sent to once the predecessor applies and takes 1 of it (no node echoes
    // it, so only that node knows it).
    const overdraft = paying(nextSeq + 1, BigInt(balance));
    const first = paying(nextSeq, 1n);
    await page.goto(`${n1.api}/explorer/`);
    await page.locator("[data-test=node-facts]").waitFor();
    await page.locator("[data-test=feed-state]").getByText("connected").waitFor();
    assert.equal((await client.submit(transferToJson(overdraft.transfer))).status, "pending");
    await client.submit(transferToJson(first.transfer));
    const row = page.locator(`[data-test=feed-row][data-id="${overdraft.id}"]`);
    await row.getByText("rejected").waitFor({ timeout: 30_000 });
    assert.equal(await row.locator("td").nth(5).textContent(), "INSUFFICIENT_FUNDS");
    await page.locator(`[data-test=feed-row][data-id="${first.id}"]`).getByText("applied").waitFor();

    await row.getByRole("link", { name: `${overdraft.id.slice(0, 10)}…` }).click();
    await page.locator("[data-test=reason]").waitFor();
    const view = await client.transfer(overdraft.id);
    assert.equal(view.status, "rejected");
    assert.equal(
      await page.locator("[data-test=reason]").textContent(),
      `${view.reason!.code}: ${view.reason!.message}`,
    );
    assert.equal(await page.locator("[data-test=transfer-seq]").textContent(), String(nextSeq + 1));
  });

  it("says so for a lookup that is neither an address nor an id, and for a transfer the node does not know", async () => {
    await page.fill("[data-test=search-input]", "not-an-address");
    await page.press("[data-test=search-input]", "Enter");
    await page.locator("[data-test=message]").getByText("Look up an address").waitFor();
    const unknown = "0".repeat(64);
    await page.fill("[data-test=search-input]", unknown);
    await page.press("[data-test=search-input]", "Enter");
    await page.locator("[data-test=not-found]").getByText(`knows no transfer ${unknown}`).waitFor();
  });

  it("shows a shared account's transfer with its certificate, and the account with its owners", async () => {
    const [n0] = devnet.file.nodes;
    const shared = devnet.file.shared![0]!;
    const to = devnet.file.wallets[2]!.address;
    const owner = shared.owners[0]!;
    const posted = await postProposalBody(
      owner.node,
      shared.address,
      await signedProposal(owner, shared.address, to, "77", { memo: "from the committee" }),
    );
    assert.equal(posted.status, 202);
    // Node 0 hosts no owner: it knows the account's definition from the certified transfer it applied.
    const client = new NodeClient(n0!.api);
    let transferId: string | undefined;
    for (let tries = 0; transferId === undefined && tries < 300; tries++) {
      const history = await client.accountTransfers(shared.address);
      transferId = history.transfers.find((t) => t.status === "applied")?.id;
      if (transferId === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(transferId !== undefined, "the shared account's payment was applied on node 0");
    await page.goto(`${n0!.api}/explorer/#/transfer/${transferId}`);
    const certificate = page.locator("[data-test=transfer] tr", { hasText: "certificate" });
    await certificate.waitFor();
    assert.match(
      (await certificate.textContent()) ?? "",
      /devnet: owner [0-2]'s request; owners [0-2](, [0-2])+ of 3 signed in round \d+/,
    );
    assert.equal(await page.locator("[data-test=memo]").textContent(), "from the committee");

    await page.goto(`${n0!.api}/explorer/#/account/${shared.address}`);
    await page.getByRole("heading", { name: "Shared account" }).waitFor();
    const owners = page.locator("[data-test=account] tr", { hasText: "owners" }).locator("div");
    assert.equal(await owners.count(), 3);
    assert.equal(await page.locator("[data-test=history-row]").count(), 1);
  });

  it("lists the members the node knows, as its API does", async () => {
    const [n0] = devnet.file.nodes;
    await page.goto(`${n0!.api}/explorer/#/peers`);
    await page.locator("[data-test=member]").first().waitFor();
    const peers = (await (await fetch(`${n0!.api}/v1/node/peers`)).json()) as { members: unknown[] };
    assert.equal(await page.locator("[data-test=member]").count(), peers.members.length);
  });

  it("a fifth page from one address is refused its event stream, says so, and connects once one closes", async () => {
    const [n0] = devnet.file.nodes;
    // This page holds one of the four streams an address may open; three more pages take the rest.
    const others: Page[] = [];
    for (let i = 0; i < 3; i++) {
      const other = await browser.newPage();
      await other.goto(`${n0!.api}/explorer/`);
      await other.locator("[data-test=feed-state]").getByText("connected").waitFor();
      others.push(other);
    }
    const fifth = await browser.newPage();
    await fifth.goto(`${n0!.api}/explorer/`);
    await fifth.locator("[data-test=feed-state]").getByText("the node refused the event stream").waitFor();
    await others.pop()!.close();
    await fifth.locator("[data-test=feed-state]").getByText("connected").waitFor({ timeout: 20_000 });
    for (const p of [...others, fifth]) await p.close();
  });

  it("refuses a script the page did not ship, and nothing on the page failed", async () => {
    // Evaluated in the page (this file has no DOM types): resolves with the directive the page's policy
    // cited when it refused an inline script added to the document.
    const blocked = (await page.evaluate(`new Promise((resolve) => {
      document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective), { once: true });
      setTimeout(() => resolve("no violation reported"), 2000);
      const script = document.createElement("script");
      script.textContent = "window.__inline = 1";
      document.body.append(script);
    })`)) as string;
    assert.match(blocked, /^script-src/);
    assert.equal(await page.evaluate("window.__inline"), undefined);
    assert.deepEqual(
      problems.filter((p) => !p.includes("Content Security Policy")),
      [],
    );
  });
});
