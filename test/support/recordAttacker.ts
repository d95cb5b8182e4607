/**
 * A hostile peer of an open network for tests: a libp2p node with gossipsub (the node's own configuration)
 * that dials one node, subscribes to the network's node-record topic and publishes records meant to hurt.
 * Run it as its own process with Node 24 (`process.execPath recordAttacker.ts …`).
 *
 *   recordAttacker.ts --target MULTIADDR/p2p/ID --network ID --genesis-hash HEX --difficulty N --ttl-ms MS
 *                     --mode invalid|flood|future [--count-each 3] [--rate 500] [--duration-ms 10000]
 *                     [--watch-ms 5000]
 *
 * Modes (every record is of a fresh identity unless said otherwise):
 * - `invalid`: `--count-each` records each with a bad signature, for another network, and with a wrong
 *   identity proof — each validly signed and minted otherwise, then corrupted in that one respect.
 * - `flood`: valid records (proof at the network's difficulty, expiry now + TTL, no addresses, so nobody
 *   dials them) at `--rate` per second for `--duration-ms`.
 * - `future`: one valid record of the attacker's own identity that expires an hour from now.
 *
 * After publishing (or as soon as the target cuts it off) it redials the target every 300 ms for `--watch-ms`,
 * counting refusals: a banned attacker is refused. Stdout, one JSON object per line: `{"event":"started",
 * "peerId"}`, `{"event":"subscribed"}` once the target is seen on the topic, and on exit `{"event":"summary",
 * …AttackSummary}`.
 */

import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { checkIdentityProof, mintIdentityProof } from "../../src/membership/identityProof.ts";
import { type NodeRecord, signNodeRecord } from "../../src/membership/nodeRecord.ts";
import { recordTopic } from "../../src/node/membershipDriver.ts";
import { createTallyLibp2p } from "../../src/p2p/createLibp2p.ts";

export type AttackMode = "invalid" | "flood" | "future";

export interface AttackSummary {
  event: "summary";
  /** The attacker's own peer id (the gossipsub sender the target scores). */
  peerId: string;
  mode: AttackMode;
  /** Records handed to gossipsub while the target was connected, and the identities they named. */
  sent: number;
  recordPeerIds: string[];
  /** ms from the first publish until the target closed our connection; undefined if it never did. */
  cutOffAfterMs: number | undefined;
  /** Redials the target refused, and redials it accepted. */
  refused: number;
  reconnected: number;
  /** ms the publishing took (flood: until cut off or the duration ended). */
  publishingMs: number;
}

interface AttackOptions {
  target: string;
  network: string;
  genesisHash: string;
  difficulty: number;
  ttlMs: number;
  mode: AttackMode;
  countEach: number;
  rate: number;
  durationMs: number;
  watchMs: number;
}

const SUBSCRIBE_TIMEOUT_MS = 15_000;
const REDIAL_EVERY_MS = 300;
const REDIAL_TIMEOUT_MS = 2_000;
const OTHER_NETWORK = "tally-elsewhere";

interface Identity {
  key: PrivateKey;
  peerId: string;
  nonce: Uint8Array;
}

async function freshIdentity(genesisHash: string, difficulty: number): Promise<Identity> {
  const key = (await generateKeyPair("Ed25519")) as PrivateKey;
  const peerId = peerIdFromPrivateKey(key).toString();
  return { key, peerId, nonce: mintIdentityProof(peerId, genesisHash, difficulty) };
}

function recordOf(id: Identity, opts: AttackOptions, overrides: Partial<NodeRecord> = {}): NodeRecord {
  const nowMs = Date.now();
  return {
    peerId: id.peerId,
    addrs: [],
    network: opts.network,
    genesisHash: opts.genesisHash,
    seq: nowMs,
    expiresAtMs: nowMs + opts.ttlMs,
    identityNonce: id.nonce,
    ...overrides,
  };
}

/** The `invalid` mode's records: bad signature, other network, wrong proof, interleaved. */
async function invalidRecords(opts: AttackOptions): Promise<{ wire: Uint8Array; peerId: string }[]> {
  const out: { wire: Uint8Array; peerId: string }[] = [];
  for (let i = 0; i < opts.countEach; i++) {
    const forged = await freshIdentity(opts.genesisHash, opts.difficulty);
    const wire = await signNodeRecord(recordOf(forged, opts), forged.key);
    wire[wire.length - 1]! ^= 0x01;
    out.push({ wire, peerId: forged.peerId });

    const stray = await freshIdentity(opts.genesisHash, opts.difficulty);
    out.push({
      wire: await signNodeRecord(recordOf(stray, opts, { network: OTHER_NETWORK }), stray.key),
      peerId: stray.peerId,
    });

    const unpaid = await freshIdentity(opts.genesisHash, opts.difficulty);
    const nonce = new Uint8Array(unpaid.nonce);
    do nonce[7] = (nonce[7]! + 1) & 0xff;
    while (checkIdentityProof(unpaid.peerId, opts.genesisHash, nonce, opts.difficulty));
    out.push({
      wire: await signNodeRecord(recordOf(unpaid, opts, { identityNonce: nonce }), unpaid.key),
      peerId: unpaid.peerId,
    });
  }
  return out;
}

async function attack(opts: AttackOptions): Promise<AttackSummary> {
  const privateKey = (await generateKeyPair("Ed25519")) as PrivateKey;
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  printLine({ event: "started", peerId });
  const summary: AttackSummary = {
    event: "summary",
    peerId,
    mode: opts.mode,
    sent: 0,
    recordPeerIds: [],
    cutOffAfterMs: undefined,
    refused: 0,
    reconnected: 0,
    publishingMs: 0,
  };
  const topic = recordTopic(opts.network, opts.genesisHash);
  const target = multiaddr(opts.target);
  const at = opts.target.lastIndexOf("/p2p/");
  if (at < 0) throw new Error("--target needs a /p2p/ component");
  const targetPeer = opts.target.slice(at + 5);

  // Minting before dialling, so the flood's rate is the wire's and not the miner's.
  const floodIds: Identity[] = [];
  if (opts.mode === "flood") {
    const total = Math.ceil((opts.rate * opts.durationMs) / 1000);
    for (let i = 0; i < total; i++) floodIds.push(await freshIdentity(opts.genesisHash, opts.difficulty));
  }

  const node = await createTallyLibp2p({ privateKey, listen: [], pubsub: true });
  const pubsub = node.services.pubsub!;
  let startedAt = 0;
  let connected = false;
  node.addEventListener("peer:disconnect", (evt) => {
    if (evt.detail.toString() !== targetPeer) return;
    connected = false;
    if (startedAt > 0 && summary.cutOffAfterMs === undefined) summary.cutOffAfterMs = Date.now() - startedAt;
  });
  await node.start();
  pubsub.subscribe(topic);
  await node.dial(target, { signal: AbortSignal.timeout(REDIAL_TIMEOUT_MS * 2) });
  connected = true;
  const subscribeBy = Date.now() + SUBSCRIBE_TIMEOUT_MS;
  while (!pubsub.getSubscribers(topic).some((p) => p.toString() === targetPeer)) {
    if (Date.now() > subscribeBy) throw new Error("the target never showed up on the record topic");
    await sleep(50);
  }
  printLine({ event: "subscribed" });

  const publish = async (wire: Uint8Array, recordPeer: string): Promise<void> => {
    if (!connected) return;
    await pubsub.publish(topic, wire).catch(() => {});
    summary.sent++;
    summary.recordPeerIds.push(recordPeer);
  };

  startedAt = Date.now();
  if (opts.mode === "invalid") {
    for (const { wire, peerId: recordPeer } of await invalidRecords(opts)) {
      await publish(wire, recordPeer);
      await sleep(20);
    }
  } else if (opts.mode === "future") {
    const self = {
      key: privateKey,
      peerId,
      nonce: mintIdentityProof(peerId, opts.genesisHash, opts.difficulty),
    };
    await publish(
      await signNodeRecord(recordOf(self, opts, { expiresAtMs: Date.now() + 3_600_000 }), privateKey),
      peerId,
    );
  } else {
    for (const [i, id] of floodIds.entries()) {
      if (!connected || Date.now() - startedAt > opts.durationMs) break;
      await publish(await signNodeRecord(recordOf(id, opts), id.key), id.peerId);
      const dueMs = startedAt + ((i + 1) / opts.rate) * 1000 - Date.now();
      if (dueMs > 0) await sleep(dueMs);
    }
  }
  summary.publishingMs = Date.now() - startedAt;

  // Watch: a banned attacker is cut off and its redials are refused.
  const watchUntil = Date.now() + opts.watchMs;
  while (Date.now() < watchUntil && summary.refused < 3) {
    await sleep(REDIAL_EVERY_MS);
    if (connected) continue;
    try {
      await node.dial(target, { signal: AbortSignal.timeout(REDIAL_TIMEOUT_MS) });
      // A gater that refuses after the handshake may let the dial resolve, then close the connection at once.
      await sleep(200);
      if (node.getConnections().some((c) => c.remotePeer.toString() === targetPeer)) {
        summary.reconnected++;
        connected = true;
      } else {
        summary.refused++;
      }
    } catch {
      summary.refused++;
    }
  }
  await node.stop();
  return summary;
}

function printLine(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function parseAttackArgs(argv: readonly string[]): AttackOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      target: { type: "string" },
      network: { type: "string" },
      "genesis-hash": { type: "string" },
      difficulty: { type: "string" },
      "ttl-ms": { type: "string" },
      mode: { type: "string" },
      "count-each": { type: "string", default: "3" },
      rate: { type: "string", default: "500" },
      "duration-ms": { type: "string", default: "10000" },
      "watch-ms": { type: "string", default: "5000" },
    },
    strict: true,
  });
  const required = (name: string, value: string | undefined): string => {
    if (value === undefined) throw new Error(`--${name} is required`);
    return value;
  };
  const mode = required("mode", values.mode);
  if (mode !== "invalid" && mode !== "flood" && mode !== "future") throw new Error(`unknown mode ${mode}`);
  return {
    target: required("target", values.target),
    network: required("network", values.network),
    genesisHash: required("genesis-hash", values["genesis-hash"]),
    difficulty: Number(required("difficulty", values.difficulty)),
    ttlMs: Number(required("ttl-ms", values["ttl-ms"])),
    mode,
    countEach: Number(values["count-each"]),
    rate: Number(values.rate),
    durationMs: Number(values["duration-ms"]),
    watchMs: Number(values["watch-ms"]),
  };
}

if (import.meta.main) {
  const opts = parseAttackArgs(process.argv.slice(2));
  attack(opts).then(
    (summary) => {
      // A summary can be hundreds of KiB: exit only once the pipe has taken all of it.
      process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(0));
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
