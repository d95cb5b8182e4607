import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import {
  decodeEnvelope,
  decodeErrorBody,
  type Envelope,
  encodeEnvelope,
} from "../../src/channels/envelope.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { TallyNode } from "../../src/node/tallyNode.ts";
import { createTallyLibp2p, type TallyLibp2p } from "../../src/p2p/createLibp2p.ts";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeFramePayload,
  encodeFrameOf,
  FrameDecoder,
  TALLY_MSG_PROTOCOL,
} from "../../src/p2p/framing.ts";
import {
  decodeStatusResponse,
  encodeStatusRequest,
  type StatusResponse,
} from "../../src/protocols/status/statusMessages.ts";
import {
  bucketOfAddress,
  EMPTY_DIGEST,
  snapshotTotals,
  WatermarkSummary,
} from "../../src/protocols/status/watermarkSummary.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { waitFor } from "../p2p/helpers.ts";
import { type OneNodeNetwork, startOneNodeNetwork } from "../support/oneNodeNetwork.ts";

/**
 * The status channel as a stranger meets it: one real node (N = 1) on loopback, and a bare libp2p peer that is
 * not in the genesis. The stranger speaks the wire format by hand (frames, envelopes, status codecs), so this
 * checks the node's answers byte for byte as another implementation would see them: requests go out on the
 * stranger's stream, answers come back on the node's own stream to the stranger.
 */

const NETWORK = "tally-status-test";
// Wire constants, spelled out: a change to any of them breaks every other implementation.
const BROADCAST_CODE = 1;
/** Version 2 added vote batches, version 3 payload batches. */
const BROADCAST_VERSION = 3;
const STATUS_CODE = 2;
const STATUS_VERSION = 1;
const WIRE_BAD_REQUEST = 5;

/** A peer outside the genesis that talks to the node over the Tally message protocol, envelopes by hand. */
class Stranger {
  /** Every envelope the node sent us, in arrival order. */
  readonly received: Envelope[] = [];
  private readonly libp2p: TallyLibp2p;
  private out: Stream | undefined;

  private constructor(libp2p: TallyLibp2p) {
    this.libp2p = libp2p;
  }

  static async start(): Promise<Stranger> {
    const libp2p = await createTallyLibp2p({ privateKey: await generateKeyPair("Ed25519"), listen: [] });
    const stranger = new Stranger(libp2p);
    // The node answers on a stream of its own, opened over our connection: read it like a node would.
    await libp2p.handle(TALLY_MSG_PROTOCOL, (stream) => stranger.readFrom(stream));
    await libp2p.start();
    return stranger;
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  async connect(addr: string): Promise<void> {
    this.out = await this.libp2p.dialProtocol(multiaddr(addr), TALLY_MSG_PROTOCOL);
  }

  /** One frame carrying these messages, on our stream to the node. */
  send(...messages: Uint8Array[]): void {
    assert.ok(this.out !== undefined, "connect first");
    this.out.send(encodeFrameOf(messages));
  }

  /** The node's answer (response or error) to our request `requestId`. */
  async answerTo(requestId: number): Promise<Envelope> {
    let answer: Envelope | undefined;
    await waitFor(
      () => {
        answer = this.received.find((e) => e.kind !== "request" && e.requestId === requestId);
        return answer !== undefined;
      },
      10_000,
      `the node's answer to request ${requestId}`,
    );
    return answer!;
  }

  async stop(): Promise<void> {
    await this.libp2p.stop();
  }

  private readFrom(stream: Stream): void {
    const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES);
    const onFrame = (payload: Uint8Array): void => {
      for (const msg of decodeFramePayload(payload, DEFAULT_MAX_MESSAGE_BYTES)) {
        this.received.push(decodeEnvelope(msg.slice()));
      }
    };
    stream.addEventListener("message", (evt) => {
      if (evt.data instanceof Uint8Array) decoder.push(evt.data, onFrame);
      else for (const chunk of evt.data) decoder.push(chunk, onFrame);
    });
    stream.close().catch(() => {});
  }
}

function statusRequest(requestId: number, body = encodeStatusRequest({})): Uint8Array {
  return encodeEnvelope({
    protocolCode: STATUS_CODE,
    version: STATUS_VERSION,
    kind: "request",
    requestId,
    body,
  });
}

function assertResponse(answer: Envelope, requestId: number): StatusResponse {
  assert.deepEqual(
    {
      protocolCode: answer.protocolCode,
      version: answer.version,
      kind: answer.kind,
      requestId: answer.requestId,
    },
    { protocolCode: STATUS_CODE, version: STATUS_VERSION, kind: "response", requestId },
  );
  return decodeStatusResponse(answer.body);
}

/** The value of `tally_channel_inbound_total{peer, result}` in a Prometheus text page (0 when absent). */
function inboundTotal(metricsText: string, peer: string, result: string): number {
  for (const line of metricsText.split("\n")) {
    if (!line.startsWith("tally_channel_inbound_total{")) continue;
    if (!line.includes(`peer="${peer}"`) || !line.includes(`result="${result}"`)) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

describe("status channel of a running node, asked by a stranger", { timeout: 60_000 }, () => {
  let net: OneNodeNetwork;
  let node: TallyNode;
  let stranger: Stranger;
  let nodeInfo: { network: string; genesis: string; protocols: { id: string; version: number }[] };
  const owner = newKeystore();
  const payee = newKeystore();

  async function getText(path: string): Promise<string> {
    const response = await fetch(`${node.apiUrl}${path}`);
    assert.equal(response.status, 200, path);
    return response.text();
  }

  before(async () => {
    net = await startOneNodeNetwork(NETWORK, [{ address: owner.address, amount: "1000" }]);
    node = net.node;
    nodeInfo = JSON.parse(await getText("/v1/node"));
    stranger = await Stranger.start();
    await stranger.connect(node.multiaddrs[0]!);
  });
  after(async () => {
    await stranger?.stop();
    await net?.stop();
  });

  it("answers a status request on its own stream: same id, its network, genesis and protocols, no watermarks yet", async () => {
    stranger.send(statusRequest(1));
    const status = assertResponse(await stranger.answerTo(1), 1);
    assert.equal(status.network, NETWORK);
    assert.equal(status.network, nodeInfo.network);
    assert.equal(status.genesis, nodeInfo.genesis);
    const codes = status.protocols.map((p) => p.id);
    assert.ok(codes.includes(BROADCAST_CODE) && codes.includes(STATUS_CODE), `protocols ${codes}`);
    // The same protocols, with the same versions, as the node lists by name on its API.
    const byName = new Map(nodeInfo.protocols.map((p) => [p.id, p.version]));
    assert.deepEqual(status.protocols, [
      { id: BROADCAST_CODE, version: byName.get("broadcast") },
      { id: STATUS_CODE, version: byName.get("status") },
      { id: 4, version: byName.get("sync") },
      { id: 5, version: byName.get("committees") },
    ]);
    assert.deepEqual(snapshotTotals(status.watermarks), { accounts: 0, seqSum: 0n });
    assert.ok(status.watermarks.buckets.every((b) => b.digest === EMPTY_DIGEST));
    // And it asks us in turn, as it asks every peer that connects (an empty request on the same channel).
    await waitFor(
      () => stranger.received.some((e) => e.kind === "request" && e.protocolCode === STATUS_CODE),
      5_000,
      "the node's status request to the stranger",
    );
    const asked = stranger.received.find((e) => e.kind === "request")!;
    assert.deepEqual([asked.version, asked.body.length], [STATUS_VERSION, 0]);
  });

  it("after one applied transfer, reports one account at seq 1, exactly the ledger's watermarks", async () => {
    const signed = buildSignedTransfer(owner, {
      network: NETWORK,
      seq: 1,
      outputs: [{ to: payee.address, amount: 10n }],
      deps: [],
    });
    const response = await fetch(`${node.apiUrl}/v1/transfers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(transferToJson(signed.transfer)),
    });
    assert.equal(response.status, 202);
    assert.equal((await new NodeClient(node.apiUrl).waitForResolution(signed.id, 10_000)).status, "applied");

    stranger.send(statusRequest(2));
    const status = assertResponse(await stranger.answerTo(2), 2);
    assert.deepEqual(snapshotTotals(status.watermarks), { accounts: 1, seqSum: 1n });
    const ownerBucket = bucketOfAddress(owner.address);
    assert.deepEqual(
      status.watermarks.buckets.flatMap((b, i) => (b.accounts > 0 ? [i] : [])),
      [ownerBucket],
      "the only account with a watermark is the payer's",
    );
    assert.deepEqual(
      status.watermarks,
      WatermarkSummary.fromWatermarks(node.ledger.accountWatermarks()).snapshot(),
    );
    assert.deepEqual(status.watermarks, WatermarkSummary.fromWatermarks([[owner.address, 1]]).snapshot());
  });

  it("answers a status request with a garbage body with a badRequest error", async () => {
    stranger.send(statusRequest(3, Uint8Array.of(0xde, 0xad, 0xbe, 0xef)));
    const answer = await stranger.answerTo(3);
    assert.deepEqual(
      {
        protocolCode: answer.protocolCode,
        version: answer.version,
        kind: answer.kind,
        requestId: answer.requestId,
      },
      { protocolCode: STATUS_CODE, version: STATUS_VERSION, kind: "error", requestId: 3 },
    );
    assert.equal(answer.body[0], WIRE_BAD_REQUEST);
    assert.equal(decodeErrorBody(answer.body).code, "badRequest");
    const metrics = await getText("/metrics");
    assert.ok(inboundTotal(metrics, stranger.peerId, "malformed") >= 1);
  });

  it("admits nothing a stranger sends on the members-only broadcast channel, and answers it nothing", async () => {
    const admittedBefore = inboundTotal(await getText("/metrics"), stranger.peerId, "admitted");
    const receivedBefore = stranger.received.length;
    const broadcast = (body: number[]): Uint8Array =>
      encodeEnvelope({
        protocolCode: BROADCAST_CODE,
        version: BROADCAST_VERSION,
        kind: "message",
        requestId: 0,
        body: Uint8Array.from(body),
      });
    // Three broadcast messages, then a status request in the same frame: the node handles a frame's messages
    // in order and answers on one stream in order, so once the answer is here, any reply to them would be too.
    stranger.send(broadcast([2, 0, 1]), broadcast([3, 0, 2]), broadcast([16, 7]), statusRequest(4));
    assertResponse(await stranger.answerTo(4), 4);

    const metrics = await getText("/metrics");
    assert.equal(inboundTotal(metrics, stranger.peerId, "forbidden"), 3);
    assert.equal(
      inboundTotal(metrics, stranger.peerId, "admitted"),
      admittedBefore + 1,
      "only the status request was admitted",
    );
    const replies = stranger.received.slice(receivedBefore).filter((e) => e.kind !== "request");
    assert.deepEqual(
      replies.map((e) => [e.protocolCode, e.kind, e.requestId]),
      [[STATUS_CODE, "response", 4]],
      "no reply to the broadcast messages",
    );
  });
});
