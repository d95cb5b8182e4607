import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { P2PTransport, type P2PTransportOptions } from "../../src/p2p/transport.ts";

/** A loopback TCP port that was free a moment ago (devnet style: addresses are known before start). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface NodeSpec {
  privateKey: PrivateKey;
  peerId: string;
  port: number;
  addr: string;
}

export async function nodeSpecs(n: number): Promise<NodeSpec[]> {
  const specs: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const privateKey = await generateKeyPair("Ed25519");
    const peerId = peerIdFromPrivateKey(privateKey).toString();
    const port = await freePort();
    specs.push({ privateKey, peerId, port, addr: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}` });
  }
  return specs;
}

/** A transport for `specs[i]` whose members are all the other specs. */
export function meshTransport(
  specs: NodeSpec[],
  i: number,
  extra: Partial<P2PTransportOptions> = {},
): P2PTransport {
  const self = specs[i]!;
  return new P2PTransport({
    privateKey: self.privateKey,
    listen: [`/ip4/127.0.0.1/tcp/${self.port}`],
    bootstrap: specs.map((s) => s.addr),
    ...extra,
  });
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** 4-byte sender index + 4-byte sequence number + padding. */
export function seqMessage(sender: number, seq: number, bytes = 16): Uint8Array {
  const b = Buffer.alloc(bytes);
  b.writeUInt32BE(sender, 0);
  b.writeUInt32BE(seq, 4);
  return b;
}
