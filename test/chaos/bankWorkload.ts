import type { RandomSource } from "../../src/core/random.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { randomIndex } from "../../src/sampling/randomDraw.ts";
import type { Keystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { sleep } from "./cluster.ts";

/**
 * The bank: every wallet is a client paying random other wallets small amounts through a random node, one
 * transfer at a time (a wallet's seqs are sequential). A wallet whose node fails keeps its signed transfer and
 * submits the very same one elsewhere until some node resolves it — what a careful wallet does. Now and then a
 * wallet equivocates: two different transfers for the same seq, to two different nodes at once.
 */

export interface BankOptions {
  readonly random: RandomSource;
  /** Share of an equivocating wallet's turns spent on a double-spend attempt. */
  readonly doubleSpendRate: number;
  /**
   * How many wallets (the first ones) equivocate. Only they double-spend: an equivocation may leave neither
   * transfer delivered (secure broadcast promises nothing to an equivocating source), which stalls that wallet
   * for good, so the honest wallets keep the load going and every one of their transfers must resolve.
   */
  readonly equivocators: number;
  /** How long a wallet waits for its transfer to resolve at one node before trying another. */
  readonly resolveTimeoutMs: number;
  /**
   * An equivocating wallet that sees neither transfer resolved within this abandons the account (its seq may
   * be stuck for good): it moves to a spare account, or retires when none is left.
   */
  readonly doubleSpendTimeoutMs: number;
  /**
   * Funded accounts, none of them paying, that an equivocating wallet moves to when its own is stuck: a sound
   * network leaves many double spends with neither half delivered, and without spares every equivocator
   * would stop after its first such one, taking most of the run's double spends with it.
   */
  readonly spares?: readonly Keystore[];
  /** Accounts the wallets pay besides each other, none of them paying through the bank (a shared account). */
  readonly otherPayees?: readonly string[];
}

export interface BankStats {
  submitted: number;
  applied: number;
  rejected: number;
  /** Submissions or polls that failed (node down, paused, restarting): the wallet tried another node. */
  retries: number;
  doubleSpendAttempts: number;
  /** Attempts where one of the two resolved (the network chose one). */
  doubleSpendsResolved: number;
  /** Accounts abandoned after an equivocation neither node resolved in time (their seq may be stuck). */
  accountsStuck: number;
  /** Equivocating wallets that stopped: stuck with no spare account left. */
  walletsRetired: number;
}

/** What a client saw: the transfer it saw applied for (source, seq). */
export interface SeenApplied {
  readonly id: string;
  readonly source: string;
  readonly seq: number;
  readonly via: string;
}

export class BankWorkload {
  readonly stats: BankStats = {
    submitted: 0,
    applied: 0,
    rejected: 0,
    retries: 0,
    doubleSpendAttempts: 0,
    doubleSpendsResolved: 0,
    accountsStuck: 0,
    walletsRetired: 0,
  };
  readonly seenApplied: SeenApplied[] = [];
  /** Double-spend pairs, for the checker: never both applied anywhere. */
  readonly doubleSpends: { readonly source: string; readonly seq: number; readonly ids: [string, string] }[] =
    [];
  /** Transfers some node acknowledged (202) that the client never saw resolved. */
  readonly unresolved = new Map<string, { source: string; seq: number }>();
  private readonly nodes: readonly DevnetNode[];
  private readonly wallets: { keystore: Keystore; outstanding?: EncodedTransfer }[];
  private readonly addresses: readonly string[];
  private readonly options: BankOptions;
  private readonly spares: Keystore[];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(nodes: readonly DevnetNode[], keystores: readonly Keystore[], options: BankOptions) {
    this.nodes = nodes;
    this.wallets = keystores.map((keystore) => ({ keystore }));
    this.addresses = keystores.map((k) => k.address);
    this.options = options;
    this.spares = [...(options.spares ?? [])];
  }

  start(): void {
    this.running = true;
    this.loops = this.wallets.map((_, w) => this.walletLoop(w));
  }

  /** Stops new turns and waits for every wallet's transfer in hand to resolve (or time out). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private pickNode(): DevnetNode {
    return this.nodes[randomIndex(this.options.random, this.nodes.length)]!;
  }

  private pickPayee(w: number): string {
    const others = this.options.otherPayees ?? [];
    const other = randomIndex(this.options.random, this.addresses.length - 1 + others.length);
    if (other >= this.addresses.length - 1) return others[other - (this.addresses.length - 1)]!;
    return this.addresses[other >= w ? other + 1 : other]!;
  }

  private async walletLoop(w: number): Promise<void> {
    const wallet = this.wallets[w]!;
    while (this.running) {
      try {
        if (wallet.outstanding !== undefined) await this.resubmit(wallet, this.pickNode());
        else if (w < this.options.equivocators && this.options.random() < this.options.doubleSpendRate) {
          if (!(await this.doubleSpend(wallet))) {
            this.stats.accountsStuck++;
            const spare = this.spares.shift();
            if (spare === undefined) {
              this.stats.walletsRetired++;
              return;
            }
            wallet.keystore = spare;
          }
        } else await this.pay(wallet, w, this.pickNode());
      } catch {
        this.stats.retries++;
        await sleep(200);
      }
    }
    // Wind down: the transfer in hand must not be left unresolved by the client's own choice.
    for (let tries = 0; wallet.outstanding !== undefined && tries < 3 * this.nodes.length; tries++) {
      await this.resubmit(wallet, this.nodes[tries % this.nodes.length]!).catch(() => sleep(200));
    }
  }

  private async pay(
    wallet: { keystore: Keystore; outstanding?: EncodedTransfer },
    w: number,
    via: DevnetNode,
  ) {
    const client = new NodeClient(via.api, { timeoutMs: 3_000 });
    const amount = BigInt(1 + randomIndex(this.options.random, 1000));
    const { signed, keystore } = await prepareNextTransfer(client, wallet.keystore, {
      outputs: [{ to: this.pickPayee(w), amount }],
      catchUpTimeoutMs: this.options.resolveTimeoutMs,
    });
    wallet.keystore = keystore;
    wallet.outstanding = signed;
    await this.resubmit(wallet, via);
  }

  /** Submits the wallet's transfer in hand to `via` (again, if need be) and waits for its verdict there. */
  private async resubmit(wallet: { keystore: Keystore; outstanding?: EncodedTransfer }, via: DevnetNode) {
    const signed = wallet.outstanding!;
    const client = new NodeClient(via.api, { timeoutMs: 3_000 });
    const known = await client.transfer(signed.id).catch(() => undefined);
    if (known === undefined) {
      await client.submit(transferToJson(signed.transfer));
      this.stats.submitted++;
      this.unresolved.set(signed.id, { source: signed.transfer.source, seq: signed.transfer.seq });
    }
    const view = await client.waitForResolution(signed.id, this.options.resolveTimeoutMs, 50);
    this.unresolved.delete(signed.id);
    wallet.outstanding = undefined;
    if (view.status === "applied") {
      this.stats.applied++;
      this.seenApplied.push({
        id: signed.id,
        source: signed.transfer.source,
        seq: signed.transfer.seq,
        via: via.name,
      });
    } else this.stats.rejected++;
  }

  /** Two transfers for one seq, sent at once to two different nodes. Returns false if the wallet is stuck. */
  private async doubleSpend(wallet: { keystore: Keystore; outstanding?: EncodedTransfer }): Promise<boolean> {
    const first = this.pickNode();
    const others = this.nodes.filter((n) => n !== first);
    const second = others[randomIndex(this.options.random, others.length)]!;
    const [a, b] = [
      new NodeClient(first.api, { timeoutMs: 3_000 }),
      new NodeClient(second.api, { timeoutMs: 3_000 }),
    ];
    const source = wallet.keystore.address;
    const one = await prepareNextTransfer(a, wallet.keystore, {
      outputs: [{ to: this.addresses[0] === source ? this.addresses[1]! : this.addresses[0]!, amount: 7n }],
      catchUpTimeoutMs: this.options.resolveTimeoutMs,
    });
    const seq = one.signed.transfer.seq;
    const two = await prepareNextTransfer(a, wallet.keystore, {
      outputs: [
        {
          to: this.addresses.at(-1) === source ? this.addresses.at(-2)! : this.addresses.at(-1)!,
          amount: 11n,
        },
      ],
      explicitSeq: seq,
    });
    wallet.keystore = one.keystore;
    this.stats.doubleSpendAttempts++;
    this.doubleSpends.push({ source, seq, ids: [one.signed.id, two.signed.id] });
    await Promise.allSettled([
      a.submit(transferToJson(one.signed.transfer)),
      b.submit(transferToJson(two.signed.transfer)),
    ]);
    this.stats.submitted += 2;
    const deadline = Date.now() + this.options.doubleSpendTimeoutMs;
    while (Date.now() < deadline) {
      for (const [client, node] of [
        [a, first],
        [b, second],
      ] as const) {
        for (const signed of [one.signed, two.signed]) {
          const view = await client.transfer(signed.id).catch(() => undefined);
          if (view?.status !== "applied" && view?.status !== "rejected") continue;
          this.stats.doubleSpendsResolved++;
          wallet.keystore = { ...wallet.keystore, lastSignedSeq: seq, lastSignedId: signed.id };
          if (view.status === "applied") {
            this.stats.applied++;
            this.seenApplied.push({ id: signed.id, source, seq, via: node.name });
          } else this.stats.rejected++;
          return true;
        }
      }
      await sleep(100);
    }
    return false;
  }
}
