import { ErrorCode } from "../../src/core/errors.ts";
import type { RandomSource } from "../../src/core/random.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { DevnetNode } from "../../src/devnet/devnet.ts";
import { AHEAD_DEFAULTS } from "../../src/node/core/aheadSubmissions.ts";
import { randomIndex } from "../../src/sampling/randomDraw.ts";
import type { Keystore } from "../../src/wallet/keystore.ts";
import { NodeClient, NodeRequestError } from "../../src/wallet/nodeClient.ts";
import { prepareNextTransfer } from "../../src/wallet/prepareTransfer.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { sleep } from "./cluster.ts";

/**
 * The bank: every wallet is a client paying random other wallets small amounts through a random node, one
 * transfer at a time (a wallet's seqs are sequential). A wallet whose node fails keeps its signed transfer and
 * submits the very same one elsewhere until some node resolves it — what a careful wallet does. Now and then a
 * wallet equivocates: two different transfers for the same seq, to two different nodes at once. The last
 * wallets may pipeline instead, as an exchange does: each turn they sign a burst of consecutive seqs and send
 * them all before any resolves, later seqs first (to one node, or each to a random one), so that nodes hold
 * submissions far ahead of the account's next seq while they are killed, paused, wiped and cut off.
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
  /** How many wallets (the last ones, never an equivocator) pipeline their transfers in bursts; 0 if absent. */
  readonly pipeliners?: number;
  /** Transfers per pipelined burst: more than the node's ahead window, so that some are held (default 12). */
  readonly burst?: number;
  /**
   * Every this many pipelined bursts (counted across the pipelining wallets), one seq in the middle of the
   * burst spends more than the wallet holds. No node may ever echo it: each node it reaches rejects it for
   * the wallet once its predecessor resolves (or refuses it outright as INSUFFICIENT_FUNDS if it is already
   * the next seq), and the wallet signs a small payment for that seq instead, as a client would. 0 or absent:
   * never.
   */
  readonly overspendEvery?: number;
}

/** More than any account of a devnet holds (its wallets get 10^12 each). */
const OVERSPEND = 10n ** 18n;

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
  /** Pipelined bursts signed, and their transfers. */
  bursts: number;
  burstTransfers: number;
  /**
   * Pipelined transfers a node acknowledged while their account's next seq was still unsent, more than the
   * node's ahead window (0: only the next seq is introduced) past it: each one a submission that node held.
   */
  aheadAcknowledged: number;
  /** Submissions a node refused, by error code (the wallet then tried again elsewhere). */
  refusals: Record<string, number>;
  /** Pipelined transfers signed to spend more than the wallet holds (`overspendEvery`). */
  overspends: number;
  /** Of those, rejected for the wallet by a node that had taken it, and refused outright by one. */
  overspendsRejected: number;
  overspendsRefused: number;
  /** Small payments signed for an overspend's seq instead. */
  overspendsReplaced: number;
}

type Wallet = { keystore: Keystore; outstanding: EncodedTransfer[] };

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
    bursts: 0,
    burstTransfers: 0,
    aheadAcknowledged: 0,
    refusals: {},
    overspends: 0,
    overspendsRejected: 0,
    overspendsRefused: 0,
    overspendsReplaced: 0,
  };
  /** The overspends signed: the checker asserts that no node ever applied one. */
  readonly overspendIds = new Set<string>();
  readonly seenApplied: SeenApplied[] = [];
  /** Double-spend pairs, for the checker: never both applied anywhere. */
  readonly doubleSpends: { readonly source: string; readonly seq: number; readonly ids: [string, string] }[] =
    [];
  /** Transfers some node acknowledged (202) that the client never saw resolved. */
  readonly unresolved = new Map<string, { source: string; seq: number }>();
  private readonly nodes: readonly DevnetNode[];
  private readonly wallets: Wallet[];
  private readonly addresses: readonly string[];
  private readonly options: BankOptions;
  private readonly spares: Keystore[];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(nodes: readonly DevnetNode[], keystores: readonly Keystore[], options: BankOptions) {
    this.nodes = nodes;
    this.wallets = keystores.map((keystore) => ({ keystore, outstanding: [] }));
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

  private isPipeliner(w: number): boolean {
    const pipeliners = Math.min(
      this.options.pipeliners ?? 0,
      this.wallets.length - this.options.equivocators,
    );
    return w >= this.wallets.length - pipeliners;
  }

  private async walletLoop(w: number): Promise<void> {
    const wallet = this.wallets[w]!;
    while (this.running) {
      try {
        if (wallet.outstanding.length > 0) await this.settle(wallet, this.pickNode());
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
        } else if (this.isPipeliner(w)) await this.payBurst(wallet, w, this.pickNode());
        else await this.pay(wallet, w, this.pickNode());
      } catch {
        this.stats.retries++;
        await sleep(200);
      }
    }
    // Wind down: the transfers in hand must not be left unresolved by the client's own choice.
    for (let tries = 0; wallet.outstanding.length > 0 && tries < 3 * this.nodes.length; tries++) {
      await this.settle(wallet, this.nodes[tries % this.nodes.length]!).catch(() => sleep(200));
    }
  }

  private pickAmount(): bigint {
    return BigInt(1 + randomIndex(this.options.random, 1000));
  }

  private async pay(wallet: Wallet, w: number, via: DevnetNode) {
    const client = new NodeClient(via.api, { timeoutMs: 3_000 });
    const { signed, keystore } = await prepareNextTransfer(client, wallet.keystore, {
      outputs: [{ to: this.pickPayee(w), amount: this.pickAmount() }],
      catchUpTimeoutMs: this.options.resolveTimeoutMs,
    });
    wallet.keystore = keystore;
    wallet.outstanding = [signed];
    await this.settle(wallet, via);
  }

  /**
   * Signs a burst of consecutive seqs (the first checked against `via` like any payment, the rest chained on
   * it) and sends every one before any can resolve: later seqs first, to `via` or each to a random node. The
   * keystore records the burst's last seq before anything is sent, so a failure part-way leaves the whole
   * burst in hand for `settle`.
   */
  private async payBurst(wallet: Wallet, w: number, via: DevnetNode) {
    const client = new NodeClient(via.api, { timeoutMs: 3_000 });
    const first = await prepareNextTransfer(client, wallet.keystore, {
      outputs: [{ to: this.pickPayee(w), amount: this.pickAmount() }],
      catchUpTimeoutMs: this.options.resolveTimeoutMs,
    });
    const firstSeq = first.signed.transfer.seq;
    const burst = [first.signed];
    let keystore = first.keystore;
    const size = this.options.burst ?? 12;
    const every = this.options.overspendEvery ?? 0;
    // One seq strictly inside the burst, so a predecessor and a successor of it are both in flight.
    const overspendAt =
      every > 0 && this.stats.bursts % every === every - 1
        ? 1 + randomIndex(this.options.random, size - 2)
        : -1;
    for (let i = 1; i < size; i++) {
      const signed = buildSignedTransfer(keystore, {
        network: keystore.network!,
        seq: firstSeq + i,
        outputs: [{ to: this.pickPayee(w), amount: i === overspendAt ? OVERSPEND : this.pickAmount() }],
      });
      keystore = { ...keystore, lastSignedSeq: firstSeq + i, lastSignedId: signed.id };
      burst.push(signed);
      if (i === overspendAt) {
        this.overspendIds.add(signed.id);
        this.stats.overspends++;
      }
    }
    wallet.keystore = keystore;
    wallet.outstanding = burst;
    this.stats.bursts++;
    this.stats.burstTransfers += burst.length;
    const spread = this.options.random() < 0.5;
    const order = spread ? this.shuffled(burst) : [...burst].reverse();
    let firstSent = false;
    for (const signed of order) {
      const node = spread ? this.pickNode() : via;
      await this.submit(new NodeClient(node.api, { timeoutMs: 3_000 }), signed);
      if (!firstSent && signed.transfer.seq - firstSeq > AHEAD_DEFAULTS.window)
        this.stats.aheadAcknowledged++;
      firstSent ||= signed === first.signed;
    }
    await this.settle(wallet, via);
  }

  private shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = randomIndex(this.options.random, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  private async submit(client: NodeClient, signed: EncodedTransfer): Promise<void> {
    try {
      await client.submit(transferToJson(signed.transfer));
    } catch (e) {
      if (e instanceof NodeRequestError) this.stats.refusals[e.code] = (this.stats.refusals[e.code] ?? 0) + 1;
      throw e;
    }
    this.stats.submitted++;
    this.unresolved.set(signed.id, { source: signed.transfer.source, seq: signed.transfer.seq });
  }

  /**
   * Submits the wallet's transfers in hand to `via` (those it does not know yet, in seq order) and waits for
   * each verdict there, in seq order.
   */
  private async settle(wallet: Wallet, via: DevnetNode) {
    const client = new NodeClient(via.api, { timeoutMs: 3_000 });
    for (const [i, signed] of wallet.outstanding.entries()) {
      const known = await client.transfer(signed.id).catch(() => undefined);
      if (known !== undefined) continue;
      try {
        await this.submit(client, signed);
      } catch (e) {
        const refused = e instanceof NodeRequestError && e.code === ErrorCode.InsufficientFunds;
        if (!refused || !this.overspendIds.has(signed.id)) throw e;
        this.stats.overspendsRefused++;
        wallet.outstanding[i] = this.replaceOverspend(wallet, signed);
        await this.submit(client, wallet.outstanding[i]!);
      }
    }
    while (wallet.outstanding.length > 0) {
      const signed = wallet.outstanding[0]!;
      const view = await client.waitForResolution(signed.id, this.options.resolveTimeoutMs, 50);
      this.unresolved.delete(signed.id);
      if (view.status === "rejected" && this.overspendIds.has(signed.id)) {
        // No node will echo it, so its seq is open: a small payment takes it, through this node or another.
        this.stats.overspendsRejected++;
        wallet.outstanding[0] = this.replaceOverspend(wallet, signed);
        await this.submit(client, wallet.outstanding[0]!);
        continue;
      }
      wallet.outstanding.shift();
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
  }

  /** A payment of 1 to the same payee for an overspend's seq. */
  private replaceOverspend(wallet: Wallet, overspend: EncodedTransfer): EncodedTransfer {
    this.unresolved.delete(overspend.id);
    this.stats.overspendsReplaced++;
    return buildSignedTransfer(wallet.keystore, {
      network: wallet.keystore.network!,
      seq: overspend.transfer.seq,
      outputs: [{ to: overspend.transfer.outputs[0]!.to, amount: 1n }],
    });
  }

  /** Two transfers for one seq, sent at once to two different nodes. Returns false if the wallet is stuck. */
  private async doubleSpend(wallet: Wallet): Promise<boolean> {
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
