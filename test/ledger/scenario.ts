import fc from "fast-check";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { makeTransfer, type TestKey, testKey } from "../support/fixtures.ts";

export const OP_KINDS = [
  "valid",
  "valid",
  "valid",
  "overspend",
  "reusedDep",
  "foreignDep",
  "unknownDep",
  "doubleSpend",
  "badSignature",
  "wrongNetwork",
  "duplicate",
] as const;
export type OpKind = (typeof OP_KINDS)[number];

/** One random step, as raw numbers that the builder interprets against its current beliefs. */
export interface Op {
  readonly kind: number;
  readonly account: number;
  readonly recipients: number;
  readonly fraction: number; // 0..1000: share of the available balance to send
}

export interface Scenario {
  readonly keys: readonly TestKey[];
  readonly genesis: ReadonlyMap<string, bigint>;
  /** What secure broadcast would deliver: one transfer per (source, seq), each once. */
  readonly delivered: readonly EncodedTransfer[];
  /** Transfers a node can also be handed: conflicting twins, forgeries, duplicates, wrong network. */
  readonly noise: readonly EncodedTransfer[];
}

interface Belief {
  seq: number;
  spendable: bigint;
  unreferenced: { id: string; amount: bigint }[];
  referenced: string[];
}

/**
 * Turns random ops into signed transfers the way wallets (honest or not) would build them,
 * tracking what each owner believes its state is. Beliefs can be wrong (a transfer stuck behind
 * an unknown dep never pays its recipients); the reference model decides what really happens.
 */
export function buildScenario(
  accountCount: number,
  initial: readonly number[],
  ops: readonly Op[],
): Scenario {
  const keys = Array.from({ length: accountCount }, (_, i) => testKey(i));
  const genesis = new Map<string, bigint>();
  const beliefs = keys.map((k, i): Belief => {
    const amount = BigInt(initial[i % initial.length] ?? 0);
    if (amount > 0n) genesis.set(k.address, amount);
    return { seq: 0, spendable: amount, unreferenced: [], referenced: [] };
  });
  const delivered: EncodedTransfer[] = [];
  const noise: EncodedTransfer[] = [];

  for (const op of ops) {
    const kind: OpKind = OP_KINDS[op.kind % OP_KINDS.length]!;
    const from = op.account % accountCount;
    const key = keys[from]!;
    const me = beliefs[from]!;
    if (kind === "duplicate") {
      if (delivered.length > 0) noise.push(delivered[op.fraction % delivered.length]!);
      continue;
    }
    const others = keys.map((_, i) => i).filter((i) => i !== from);
    const recipientCount = 1 + (op.recipients % Math.min(3, others.length));
    const recipients = Array.from(
      { length: recipientCount },
      (_, j) => others[(op.recipients + j * 7) % others.length]!,
    );
    const uniqueRecipients = [...new Set(recipients)];
    const available = me.spendable + me.unreferenced.reduce((s, d) => s + d.amount, 0n);
    let deps = me.unreferenced.map((d) => d.id);
    let total = (available * BigInt(op.fraction % 1001)) / 1000n;
    if (kind === "overspend") total = available + 1n + BigInt(op.fraction);
    if (kind === "reusedDep" && me.referenced.length > 0)
      deps = [...deps, me.referenced[op.fraction % me.referenced.length]!];
    if (kind === "foreignDep") {
      const foreign = delivered.find((e) => !e.transfer.outputs.some((o) => o.to === key.address));
      if (foreign !== undefined && !deps.includes(foreign.id)) deps = [...deps, foreign.id];
    }
    if (kind === "unknownDep")
      deps = [...deps, (op.fraction * 2654435761).toString(16).padStart(64, "7").slice(-64)];
    if (total < BigInt(uniqueRecipients.length)) total = BigInt(uniqueRecipients.length); // every output ≥ 1
    const outputs = splitAmount(
      total,
      uniqueRecipients.map((i) => keys[i]!.address),
    );
    const seq = me.seq + 1;

    if (kind === "badSignature" || kind === "wrongNetwork") {
      const t = makeTransfer(
        key,
        seq,
        outputs,
        deps,
        kind === "wrongNetwork" ? { network: "other-net" } : {},
      );
      if (kind === "badSignature") {
        const signature = Uint8Array.from(t.transfer.signature);
        signature[op.fraction % 32]! ^= 1 << (op.recipients % 8);
        const bytes = Uint8Array.from(t.bytes);
        bytes.set(signature, t.body.length);
        noise.push({ ...t, transfer: { ...t.transfer, signature }, bytes });
      } else {
        noise.push(t);
      }
      continue; // neither occupies the seq
    }
    const transfer = makeTransfer(key, seq, outputs, deps);
    delivered.push(transfer);
    if (kind === "doubleSpend") {
      noise.push(makeTransfer(key, seq, outputs, deps, { memo: "the other twin" }));
    }
    me.seq = seq;
    const honest = kind === "valid" || kind === "doubleSpend";
    if (honest && total <= available) {
      me.spendable = available - total;
      me.referenced.push(...me.unreferenced.map((d) => d.id));
      me.unreferenced = [];
      for (const o of outputs) {
        const recipient = beliefs[keys.findIndex((k) => k.address === o.to)]!;
        recipient.unreferenced.push({ id: transfer.id, amount: o.amount });
      }
    }
  }
  return { keys, genesis, delivered, noise };
}

function splitAmount(total: bigint, recipients: readonly string[]): { to: string; amount: bigint }[] {
  const share = total / BigInt(recipients.length);
  return recipients.map((to, i) => ({
    to,
    amount: i === 0 ? total - share * BigInt(recipients.length - 1) : share,
  }));
}

/** Fisher–Yates with a small seeded PRNG (mulberry32), so failures replay from the seed. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A random interleaving that keeps each account's transfers in seq order. */
export function interleaveBySource(items: readonly EncodedTransfer[], seed: number): EncodedTransfer[] {
  const queues = new Map<string, EncodedTransfer[]>();
  for (const e of [...items].sort((a, b) => a.transfer.seq - b.transfer.seq)) {
    const q = queues.get(e.transfer.source) ?? [];
    q.push(e);
    queues.set(e.transfer.source, q);
  }
  const order = shuffle(
    [...queues.entries()].flatMap(([source, q]) => q.map(() => source)),
    seed,
  );
  return order.map((source) => queues.get(source)!.shift()!);
}

/** `numRuns` random ledger operations from `seed`, for `buildScenario`. */
export function sampleOps(seed: number, numRuns: number): Op[] {
  return fc.sample(
    fc.record({
      kind: fc.nat(1000),
      account: fc.nat(1000),
      recipients: fc.nat(1000),
      fraction: fc.nat(1000),
    }),
    { numRuns, seed },
  );
}
