/**
 * A hostile peer for tests: dials one node, opens the Tally message protocol and writes frames of well-formed
 * messages as fast as the stream takes them, for a given time, redialling whenever it is cut off. Run it as its
 * own process with Node 24 (`process.execPath flooder.ts …`) so its CPU and memory are not the test's.
 *
 *   flooder.ts --target MULTIADDR/p2p/ID [--key PEER_KEY_FILE] [--duration-ms 20000] [--protocol ID]
 *              [--kinds echo,ready,gossip] [--messages-per-frame 512] [--redial-delay-ms 200] [--no-envelope]
 *              [--unfunded-transfers N --network ID | --payloads-file FILE [--rounds R]]
 *              [--payload-kinds send,gossip,payload] [--forge] [--messages-per-second R]
 *
 * With `--unfunded-transfers N` it sends N validly signed transfers instead, each from a fresh key that holds
 * nothing, seq 1, no deps — once as a SEND (Bracha's introduction) and once as GOSSIP (contagion's) — and stops.
 * With `--payloads-file FILE` (one transfer encoding in hex per line; say, transfers already applied) it sends
 * those instead, `--rounds` times over. `--payload-kinds` picks the message kinds each transfer goes out as
 * (default SEND and GOSSIP; `payload` is a pulled payload's kind); `--forge` changes the first byte of each
 * transfer's signature first, so the body and id stay and the signature fails.
 *
 * Without `--key` it is a stranger with a fresh identity; with a member's `peer.key` (from its devnet data
 * dir) it speaks as that member. "Well-formed" means every message would pass the receiver's decoders: a valid
 * one-way envelope around valid broadcast message bytes — ECHO/READY votes for random instances and digests,
 * GOSSIP of random bytes — so only admission control, not parsing, can stop it.
 *
 * Stdout, one JSON object per line: `{"event":"started","peerId"}`, `{"event":"connected"}` on every stream
 * opened, and on exit (duration over, SIGTERM or SIGINT) `{"event":"summary", …FloodSummary}`.
 */

import { randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { parseArgs } from "node:util";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey, Stream } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { encodeBroadcastMessage } from "../../src/broadcast/messageCodec.ts";
import { encodeEnvelope } from "../../src/channels/envelope.ts";
import { createTallyLibp2p } from "../../src/p2p/createLibp2p.ts";
import { encodeFrameOf, TALLY_MSG_PROTOCOL } from "../../src/p2p/framing.ts";
import { loadPeerKey } from "../../src/p2p/peerKey.ts";
import { BROADCAST_CHANNEL } from "../../src/protocols/broadcast/broadcastChannel.ts";
import { makeTransfer, testKey, withForgedSignature } from "./fixtures.ts";

export type FloodKind = "echo" | "ready" | "gossip";
const FLOOD_KINDS: readonly FloodKind[] = ["echo", "ready", "gossip"];

export interface FloodSummary {
  event: "summary";
  peerId: string;
  /** Messages and frame bytes handed to streams that accepted them (`send()` did not throw). */
  messagesSent: number;
  bytesSent: number;
  framesSent: number;
  /** Time spent with an open stream, and the send rate over it. */
  floodingMs: number;
  messagesPerSecond: number;
  /** Streams opened; every one after the first is a reconnect. */
  connects: number;
  reconnects: number;
  /** Dials or protocol negotiations that failed: the target refused us (or was down). */
  refused: number;
  /** Open streams the target closed or reset under us. */
  cutOff: number;
  /** Bytes the target sent us on its own streams (read and discarded). */
  bytesReceived: number;
}

/** A source of frames; `undefined` when it has nothing more to send. */
interface FrameSource {
  nextFrame(): { frame: Uint8Array; messages: number } | undefined;
}

export type PayloadKind = "send" | "gossip" | "payload";
const PAYLOAD_KINDS: readonly PayloadKind[] = ["send", "gossip", "payload"];

/** Signed transfers from fresh, unfunded keys (an attacker's wallets): seq 1, no deps. */
function unfundedTransfers(count: number, network: string): Uint8Array[] {
  const sink = testKey(0).address;
  return Array.from(
    { length: count },
    (_, i) => makeTransfer(testKey(1_000_000 + i), 1, [{ to: sink, amount: 1n }], [], { network }).bytes,
  );
}

/** The encodings in a file, one hex line each. */
function readPayloads(path: string): Uint8Array[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => Uint8Array.from(Buffer.from(line.trim(), "hex")));
}

/** Transfers sent as each of `kinds`, all of them `rounds` times over, `perFrame` transfers a frame. */
class TransferFrames implements FrameSource {
  private readonly payloads: readonly Uint8Array[];
  private readonly kinds: readonly PayloadKind[];
  private readonly total: number;
  private next = 0;
  private readonly perFrame: number;

  constructor(
    payloads: readonly Uint8Array[],
    kinds: readonly PayloadKind[],
    rounds: number,
    perFrame: number,
  ) {
    this.payloads = payloads;
    this.kinds = kinds;
    this.total = payloads.length * rounds;
    this.perFrame = perFrame;
  }

  nextFrame(): { frame: Uint8Array; messages: number } | undefined {
    if (this.next >= this.total || this.payloads.length === 0) return undefined;
    const messages: Uint8Array[] = [];
    for (let i = this.next; i < Math.min(this.next + this.perFrame, this.total); i++) {
      const payload = this.payloads[i % this.payloads.length]!;
      for (const kind of this.kinds) {
        messages.push(
          encodeEnvelope({
            protocolCode: BROADCAST_CHANNEL.code,
            version: BROADCAST_CHANNEL.version,
            kind: "message",
            requestId: 0,
            body: encodeBroadcastMessage({ kind, payload }),
          }),
        );
      }
    }
    this.next += this.perFrame;
    return { frame: encodeFrameOf(messages), messages: messages.length };
  }
}

interface FloodOptions {
  target: string;
  keyFile: string | undefined;
  durationMs: number;
  protocol: string;
  kinds: readonly FloodKind[];
  messagesPerFrame: number;
  redialDelayMs: number;
  envelope: boolean;
  unfundedTransfers: number | undefined;
  network: string | undefined;
  payloadsFile: string | undefined;
  rounds: number;
  payloadKinds: readonly PayloadKind[];
  forge: boolean;
  /** Pace the flood to about this many messages per second (default: as fast as the stream takes them). */
  messagesPerSecond: number | undefined;
}

// ---- message bytes ------------------------------------------------------------------------------------------

/** Broadcast message tags (src/broadcast/messageCodec.ts): the wire form is what the node decodes. */
const BROADCAST_TAG: Readonly<Record<FloodKind, number>> = { echo: 2, ready: 3, gossip: 16 };
/** tag + address (version byte + 32 key bytes) + u64be seq + 32-byte digest. */
const VOTE_BYTES = 1 + 33 + 8 + 32;
const SEQ_OFFSET = 1 + 33;
/** Gossip payloads of this many random bytes: transfer-sized, and never a valid transfer. */
const GOSSIP_PAYLOAD_BYTES = 120;

/** The channel envelope of a one-way broadcast message, exactly as a member's node wraps it. */
function wrapOneWayBroadcast(body: Uint8Array): Uint8Array {
  return encodeEnvelope({
    protocolCode: BROADCAST_CHANNEL.code,
    version: BROADCAST_CHANNEL.version,
    kind: "message",
    requestId: 0,
    body,
  });
}

/**
 * Produces frames of fresh messages: every vote names a new random instance (random Ed25519-version address,
 * random seq in [1, 2^32]) and a random digest, so no receiver can answer them from a cache.
 */
class FloodFrames implements FrameSource {
  private readonly kinds: readonly FloodKind[];
  private readonly messagesPerFrame: number;
  private readonly envelope: boolean;
  private readonly random: Uint8Array;
  private next = 0;

  constructor(kinds: readonly FloodKind[], messagesPerFrame: number, envelope: boolean) {
    this.kinds = kinds;
    this.messagesPerFrame = messagesPerFrame;
    this.envelope = envelope;
    this.random = new Uint8Array(messagesPerFrame * Math.max(VOTE_BYTES, 1 + GOSSIP_PAYLOAD_BYTES));
  }

  /** One frame and how many messages it carries. */
  nextFrame(): { frame: Uint8Array; messages: number } {
    // One bulk fill per frame; messages are views into it, then copied once by the envelope and the frame.
    randomFillSync(this.random);
    const messages: Uint8Array[] = [];
    let off = 0;
    for (let i = 0; i < this.messagesPerFrame; i++) {
      const kind = this.kinds[this.next++ % this.kinds.length]!;
      const size = kind === "gossip" ? 1 + GOSSIP_PAYLOAD_BYTES : VOTE_BYTES;
      const body = this.random.subarray(off, off + size);
      off += size;
      body[0] = BROADCAST_TAG[kind];
      if (kind !== "gossip") {
        body[1] = 0; // address version 0: an Ed25519 key (any 32 bytes decode)
        // seq = 1 + a random u32, within [1, MAX_SEQ]
        body.fill(0, SEQ_OFFSET, SEQ_OFFSET + 4);
        const view = new DataView(body.buffer, body.byteOffset);
        view.setUint32(SEQ_OFFSET + 4, Math.min(view.getUint32(SEQ_OFFSET + 4) + 1, 0xffff_ffff));
      }
      messages.push(this.envelope ? wrapOneWayBroadcast(body) : body.slice());
    }
    return { frame: encodeFrameOf(messages), messages: messages.length };
  }
}

// ---- the flood ----------------------------------------------------------------------------------------------

/** Yield to the event loop every this many frames, so 'close' and timers are seen while `send()` says yes. */
const FRAMES_BETWEEN_YIELDS = 16;
/** Dial + negotiation budget; a refusing node answers much faster. */
const OPEN_TIMEOUT_MS = 5_000;
/**
 * How long the flooder waits for its libp2p node to stop. Once a target has cut a stranger off, `stop()` can
 * wait on that connection with nothing left to keep the event loop alive, and the process then exited with
 * code 13 (an unsettled top-level await) before printing its summary (seen once in CI, in the stranger flood).
 */
const STOP_TIMEOUT_MS = 5_000;

async function flood(opts: FloodOptions): Promise<FloodSummary> {
  const privateKey: PrivateKey =
    opts.keyFile !== undefined
      ? await loadKeyFile(opts.keyFile)
      : ((await generateKeyPair("Ed25519")) as PrivateKey);
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  const summary: FloodSummary = {
    event: "summary",
    peerId,
    messagesSent: 0,
    bytesSent: 0,
    framesSent: 0,
    floodingMs: 0,
    messagesPerSecond: 0,
    connects: 0,
    reconnects: 0,
    refused: 0,
    cutOff: 0,
    bytesReceived: 0,
  };
  printLine({ event: "started", peerId });

  // Listens nowhere: the flooder only dials. It does answer the target's own streams (read and discard), as a
  // member would, so the target's outbound queue to us behaves normally.
  const node = await createTallyLibp2p({ privateKey, listen: [] });
  await node.handle(opts.protocol, (stream: Stream) => {
    stream.addEventListener("message", (evt) => {
      summary.bytesReceived += evt.data.byteLength;
    });
    stream.close().catch(() => {});
  });
  await node.start();

  const target = multiaddr(opts.target);
  const transfers =
    opts.unfundedTransfers !== undefined
      ? unfundedTransfers(opts.unfundedTransfers, opts.network ?? "")
      : opts.payloadsFile !== undefined
        ? readPayloads(opts.payloadsFile)
        : undefined;
  const frames: FrameSource =
    transfers !== undefined
      ? new TransferFrames(
          opts.forge ? transfers.map(withForgedSignature) : transfers,
          opts.payloadKinds,
          opts.rounds,
          256,
        )
      : new FloodFrames(opts.kinds, opts.messagesPerFrame, opts.envelope);
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), opts.durationMs);
  const onSignal = (): void => stop.abort();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);

  while (!stop.signal.aborted) {
    let stream: Stream;
    try {
      stream = await node.dialProtocol(target, opts.protocol, {
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(OPEN_TIMEOUT_MS)]),
      });
    } catch {
      if (stop.signal.aborted) break;
      summary.refused++;
      await sleep(opts.redialDelayMs, stop.signal);
      continue;
    }
    summary.connects++;
    if (summary.connects > 1) summary.reconnects++;
    printLine({ event: "connected" });
    const openedAt = performance.now();
    const cutOff = await floodStream(stream, frames, summary, stop.signal, opts.messagesPerSecond);
    if (!cutOff && !stop.signal.aborted) {
      // The source ran dry: let the stream's last frames leave before closing it.
      await stream.close().catch(() => {});
      break;
    }
    summary.floodingMs += performance.now() - openedAt;
    if (cutOff) {
      summary.cutOff++;
      await sleep(opts.redialDelayMs, stop.signal);
    } else {
      stream.abort(new Error("flood over"));
    }
  }
  clearTimeout(timer);
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  await stopWithin(node, STOP_TIMEOUT_MS);
  summary.messagesPerSecond = Math.round(summary.messagesSent / Math.max(summary.floodingMs / 1000, 1e-3));
  summary.floodingMs = Math.round(summary.floodingMs);
  return summary;
}

/** Writes until the flood is over (returns false) or the target closes the stream (returns true). */
async function floodStream(
  stream: Stream,
  frames: FrameSource,
  summary: FloodSummary,
  stop: AbortSignal,
  messagesPerSecond?: number,
): Promise<boolean> {
  const startedAt = performance.now();
  const startedWith = summary.messagesSent;
  let closed = false;
  let wake: (() => void) | undefined;
  const onClose = (): void => {
    closed = true;
    wake?.();
  };
  // Counted, not only awaited: a 'drain' can arrive while the loop sleeps for its pacing, before it waits.
  let drains = 0;
  const onDrain = (): void => {
    drains++;
    wake?.();
  };
  const onStop = (): void => wake?.();
  stream.addEventListener("close", onClose);
  // Backpressure: the 'drain' event, not `onDrain()` (which resolves at once after the first drain in
  // @libp2p/utils 7.4.x, so it would turn waiting into a busy loop that buffers without bound).
  stream.addEventListener("drain", onDrain);
  stop.addEventListener("abort", onStop);
  try {
    let sinceYield = 0;
    while (!stop.aborted && !closed && stream.writeStatus === "writable") {
      const next = frames.nextFrame();
      if (next === undefined) return false;
      const { frame, messages } = next;
      let more: boolean;
      const drainsBefore = drains;
      try {
        more = stream.send(frame);
      } catch {
        break;
      }
      summary.framesSent++;
      summary.messagesSent += messages;
      summary.bytesSent += frame.length;
      if (messagesPerSecond !== undefined) {
        const dueMs = ((summary.messagesSent - startedWith) / messagesPerSecond) * 1000;
        await sleep(dueMs - (performance.now() - startedAt), stop);
      }
      if (!more && drains === drainsBefore) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        sinceYield = 0;
      } else if (++sinceYield >= FRAMES_BETWEEN_YIELDS) {
        await yieldToEventLoop();
        sinceYield = 0;
      }
    }
  } finally {
    stream.removeEventListener("close", onClose);
    stream.removeEventListener("drain", onDrain);
    stop.removeEventListener("abort", onStop);
  }
  return closed || stream.writeStatus !== "writable";
}

// ---- process plumbing ---------------------------------------------------------------------------------------

/** Stops the node, or gives up after `ms`: its timer holds the event loop open until one of the two happens. */
async function stopWithin(node: { stop(): void | Promise<void> }, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.resolve()
      .then(() => node.stop())
      .catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

async function loadKeyFile(path: string): Promise<PrivateKey> {
  const key = await loadPeerKey(path);
  if (key === undefined) throw new Error(`no peer key at ${path}`);
  return key.privateKey;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

function printLine(value: object): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function parseFloodArgs(argv: readonly string[]): FloodOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      target: { type: "string" },
      key: { type: "string" },
      "duration-ms": { type: "string", default: "20000" },
      protocol: { type: "string", default: TALLY_MSG_PROTOCOL },
      kinds: { type: "string", default: FLOOD_KINDS.join(",") },
      "messages-per-frame": { type: "string", default: "512" },
      "redial-delay-ms": { type: "string", default: "200" },
      "no-envelope": { type: "boolean", default: false },
      "unfunded-transfers": { type: "string" },
      network: { type: "string" },
      "payloads-file": { type: "string" },
      rounds: { type: "string", default: "1" },
      "payload-kinds": { type: "string", default: "send,gossip" },
      forge: { type: "boolean", default: false },
      "messages-per-second": { type: "string" },
    },
    strict: true,
  });
  if (values.target === undefined) throw new Error("--target MULTIADDR/p2p/PEER_ID is required");
  const kinds = values.kinds.split(",").map((k) => {
    if (!(FLOOD_KINDS as readonly string[]).includes(k)) throw new Error(`unknown kind ${k}`);
    return k as FloodKind;
  });
  const payloadKinds = values["payload-kinds"].split(",").map((k) => {
    if (!(PAYLOAD_KINDS as readonly string[]).includes(k)) throw new Error(`unknown payload kind ${k}`);
    return k as PayloadKind;
  });
  return {
    target: values.target,
    keyFile: values.key,
    durationMs: positiveInteger(values["duration-ms"], "--duration-ms"),
    protocol: values.protocol,
    kinds,
    messagesPerFrame: positiveInteger(values["messages-per-frame"], "--messages-per-frame"),
    redialDelayMs: positiveInteger(values["redial-delay-ms"], "--redial-delay-ms"),
    envelope: !values["no-envelope"],
    unfundedTransfers:
      values["unfunded-transfers"] === undefined
        ? undefined
        : positiveInteger(values["unfunded-transfers"], "--unfunded-transfers"),
    network: values.network,
    payloadsFile: values["payloads-file"],
    rounds: positiveInteger(values.rounds, "--rounds"),
    payloadKinds,
    forge: values.forge,
    messagesPerSecond:
      values["messages-per-second"] === undefined
        ? undefined
        : positiveInteger(values["messages-per-second"], "--messages-per-second"),
  };
}

function positiveInteger(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

if (import.meta.main) {
  try {
    printLine(await flood(parseFloodArgs(process.argv.slice(2))));
    process.exit(0);
  } catch (err) {
    process.stderr.write(`flooder: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
