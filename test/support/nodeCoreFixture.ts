import { BrachaBroadcast } from "../../src/broadcast/bracha/bracha.ts";
import type { BroadcastMessage } from "../../src/broadcast/types.ts";
import type { EncodedTransfer } from "../../src/core/transfer.ts";
import { sodiumVerifier } from "../../src/crypto/ed25519Sodium.ts";
import type { SignatureVerifier } from "../../src/crypto/signatureVerifier.ts";
import { SignatureAuthorizer } from "../../src/ledger/authorization.ts";
import { Ledger } from "../../src/ledger/ledger.ts";
import { MemoryLedgerStore } from "../../src/ledger/memoryStore.ts";
import type { AheadLimits } from "../../src/node/core/aheadSubmissions.ts";
import { NodeCore } from "../../src/node/core/nodeCore.ts";
import type { NodeAction } from "../../src/node/core/nodeEvents.ts";
import type { ParkingLimits } from "../../src/node/core/parkedIntroductions.ts";
import { PayloadInspector } from "../../src/node/core/payloadInspector.ts";
import { seededRandom } from "../../src/sim/prng.ts";
import { TEST_NETWORK, testKey } from "./fixtures.ts";

/** A node core "self" in a four-member Bracha network (f = 1), tests playing the others. */
export const CORE_MEMBERS = ["self", "p1", "p2", "p3"];
/** The one account the core's genesis funds, with 100. */
export const funded = testKey(1);

/** A peer introduces `t` (Bracha's SEND); returns the digests this node echoed in response. */
export function introduce(core: NodeCore, t: EncodedTransfer, from = "p1", nowMs = 1): string[] {
  const actions = core.handle({
    type: "peerMessage",
    from,
    message: { kind: "send", payload: t.bytes },
    nowMs,
  });
  return echoesIn(actions);
}

export function echoesIn(actions: readonly NodeAction[]): string[] {
  return actions.flatMap((a) => (a.type === "send" && a.message.kind === "echo" ? [a.message.digest] : []));
}

/**
 * `verifier` counts checks; `cacheEntries` shrinks the tables of verified signatures and judged payloads;
 * `parking` the bounds on parked introductions, `ahead` those on submissions held ahead of their seq;
 * `alsoFunded` more accounts the genesis funds with 100; `store` the ledger's store (a fresh one by default).
 */
export function newCore(
  options: {
    verifier?: SignatureVerifier;
    cacheEntries?: number;
    parking?: ParkingLimits;
    ahead?: AheadLimits;
    alsoFunded?: readonly string[];
    store?: MemoryLedgerStore;
  } = {},
): NodeCore {
  const authorizer = new SignatureAuthorizer(options.verifier ?? sodiumVerifier, {
    cacheEntries: options.cacheEntries,
  });
  const ledger = new Ledger(
    {
      network: TEST_NETWORK,
      balances: [funded.address, ...(options.alsoFunded ?? [])].map((address) => ({ address, amount: 100n })),
    },
    options.store ?? new MemoryLedgerStore(),
    authorizer,
  );
  const inspector = new PayloadInspector(TEST_NETWORK, authorizer, options.cacheEntries);
  const broadcast = new BrachaBroadcast({
    self: "self",
    members: CORE_MEMBERS,
    inspect: inspector.inspect,
    random: seededRandom(1),
    isSettled: (i) => ledger.isSlotTaken(i.source, i.seq),
  });
  const identity = { network: TEST_NETWORK, genesis: "ab".repeat(32), protocols: [{ id: 1, version: 1 }] };
  return new NodeCore({
    broadcast,
    ledger,
    inspector,
    identity,
    takeLedgerWrites: () => [],
    signatureChecks: () => authorizer.checks,
    ...(options.parking === undefined ? {} : { parking: options.parking }),
    ...(options.ahead === undefined ? {} : { ahead: options.ahead }),
  });
}

/** Peers `from` vote for `id` in `source`'s instance `seq` (the funded account's by default); returns the core's actions. */
export function votes(
  core: NodeCore,
  kind: "echo" | "ready",
  id: string,
  from: readonly string[],
  seq = 1,
  source = funded.address,
): NodeAction[] {
  const out: NodeAction[] = [];
  const message: BroadcastMessage = { kind, instance: { source, seq }, digest: id };
  for (const peer of from) out.push(...core.handle({ type: "peerMessage", from: peer, message, nowMs: 1 }));
  return out;
}

/** The Bracha quorums with this node's own votes: two more echoes and readies deliver `id` at `seq`. */
export function deliverBy(core: NodeCore, id: string, seq = 1, source = funded.address): NodeAction[] {
  return [
    ...votes(core, "echo", id, ["p1", "p2"], seq, source),
    ...votes(core, "ready", id, ["p1", "p2"], seq, source),
  ];
}
