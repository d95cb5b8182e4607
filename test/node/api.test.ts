import assert from "node:assert/strict";
import { type IncomingMessage, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { PEERS_ANSWER_MS } from "../../src/api/server.ts";
import { transferToJson } from "../../src/core/transferJson.ts";
import type { TallyNode } from "../../src/node/tallyNode.ts";
import { newKeystore } from "../../src/wallet/keystore.ts";
import { NodeClient } from "../../src/wallet/nodeClient.ts";
import { buildSignedTransfer } from "../../src/wallet/signTransfer.ts";
import { type OneNodeNetwork, startOneNodeNetwork } from "../support/oneNodeNetwork.ts";

const NETWORK = "tally-api-test";

/** A real one-node network (N = 1, f = 0) on loopback: the API in front of the real ledger, store and broadcast. */
describe("REST API of a running node", { timeout: 60_000 }, () => {
  let net: OneNodeNetwork;
  let node: TallyNode;
  let url: string;
  const owner = newKeystore();
  const stranger = newKeystore();

  before(async () => {
    net = await startOneNodeNetwork(NETWORK, [{ address: owner.address, amount: "1000" }]);
    node = net.node;
    url = node.apiUrl;
  });
  after(async () => {
    await net?.stop();
  });

  async function call(method: string, path: string, body?: unknown, raw?: string) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body !== undefined || raw !== undefined ? { "content-type": "application/json" } : {},
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    return {
      status: response.status,
      json: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text,
    };
  }

  function signed(seq: number, amount = 10n, deps: string[] = []) {
    return buildSignedTransfer(owner, {
      network: NETWORK,
      seq,
      outputs: [{ to: stranger.address, amount }],
      deps,
    });
  }

  it("accepts a signed transfer with 202 and applies it", async () => {
    const t = signed(1);
    const res = await call("POST", "/v1/transfers", transferToJson(t.transfer));
    assert.equal(res.status, 202);
    assert.equal(res.json.id, t.id);
    const view = await new NodeClient(url).waitForResolution(t.id, 10_000);
    assert.equal(view.status, "applied");
    assert.deepEqual(view.transfer, transferToJson(t.transfer));
    const account = await call("GET", `/v1/accounts/${owner.address}`);
    assert.deepEqual(account.json, { address: owner.address, balance: "990", nextSeq: 2, pendingDeps: [] });
    const incoming = await call("GET", `/v1/accounts/${stranger.address}`);
    assert.deepEqual(incoming.json.pendingDeps, [t.id]);
    const history = await call("GET", `/v1/accounts/${stranger.address}/transfers?limit=5`);
    assert.equal(history.json.transfers[0].direction, "in");
  });

  it("answers bad input with 4xx and {code, message}, never 5xx", async () => {
    const good = transferToJson(signed(2).transfer);
    const cases: [string, string, unknown, number, string][] = [
      ["POST", "/v1/transfers", { ...good, extra: 1 }, 400, "INVALID_REQUEST"],
      ["POST", "/v1/transfers", { ...good, seq: "2" }, 400, "INVALID_REQUEST"],
      [
        "POST",
        "/v1/transfers",
        { ...good, outputs: [{ to: stranger.address, amount: "010" }] },
        400,
        "INVALID_REQUEST",
      ],
      ["POST", "/v1/transfers", { ...good, network: "elsewhere" }, 400, "WRONG_NETWORK"],
      ["POST", "/v1/transfers", { ...good, signature: "00".repeat(64) }, 400, "BAD_SIGNATURE"],
      ["POST", "/v1/transfers", transferToJson(signed(1, 11n).transfer), 409, "STALE_SEQ"],
      ["POST", "/v1/transfers", transferToJson(signed(2, 5000n).transfer), 409, "INSUFFICIENT_FUNDS"],
      // A made-up dep would wait forever on every node: refused until this node has applied it.
      [
        "POST",
        "/v1/transfers",
        transferToJson(signed(2, 1n, ["ab".repeat(32)]).transfer),
        409,
        "UNKNOWN_DEPENDENCY",
      ],
      ["GET", "/v1/accounts/tly1notanaddress", undefined, 400, "INVALID_ADDRESS"],
      ["GET", `/v1/transfers/${"00".repeat(32)}`, undefined, 404, "NOT_FOUND"],
      ["GET", "/v1/transfers/XYZ", undefined, 400, "INVALID_REQUEST"],
      ["GET", "/v1/nope", undefined, 404, "NOT_FOUND"],
    ];
    for (const [method, path, body, status, code] of cases) {
      const res = await call(method, path, body);
      assert.equal(
        res.status,
        status,
        `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)} → ${JSON.stringify(res.json)}`,
      );
      if (code) assert.equal(res.json.code, code);
      if (status >= 400) assert.equal(typeof res.json.message, "string");
    }
    assert.equal((await call("POST", "/v1/transfers", undefined, "{not json")).status, 400);
    const huge = await call(
      "POST",
      "/v1/transfers",
      undefined,
      JSON.stringify({ ...good, memo: "x".repeat(100_000) }),
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.json.code, "PAYLOAD_TOO_LARGE");
  });

  it("lists its peers once per period however often it is asked", async () => {
    // The listing costs tens of ms at 10,000 members: a client asking in a loop must not buy one per request.
    const listing = node.peers.bind(node);
    let listed = 0;
    node.peers = () => {
      listed++;
      return listing();
    };
    try {
      await new Promise((r) => setTimeout(r, PEERS_ANSWER_MS));
      const answers = await Promise.all(Array.from({ length: 20 }, () => call("GET", "/v1/node/peers")));
      assert.ok(answers.every((a) => a.status === 200 && a.json.membership === "static"));
      assert.equal(listed, 1, "20 requests within one period: one listing");
      await new Promise((r) => setTimeout(r, PEERS_ANSWER_MS));
      await call("GET", "/v1/node/peers");
      assert.equal(listed, 2, "a request after the period: a fresh listing");
    } finally {
      node.peers = listing;
    }
  });

  it("describes itself: node info, health, metrics, OpenAPI", async () => {
    const info = await call("GET", "/v1/node");
    assert.equal(info.json.network, NETWORK);
    assert.deepEqual(info.json.broadcast, { mode: "bracha", params: { n: 1, f: 0 } });
    assert.equal((await call("GET", "/v1/health")).status, 200);
    const peers = await call("GET", "/v1/node/peers");
    assert.deepEqual(peers.json, {
      membership: "static",
      members: [],
      connected: [],
      samples: { gossip: [], echo: [], ready: [], delivery: [] },
    });
    const metrics = await call("GET", "/metrics");
    assert.match(metrics.json, /tally_transfers_resolved_total\{status="applied"\} 1/);
    // Bracha samples nothing: nothing departed.
    assert.match(metrics.json, /^tally_broadcast_departed_share 0$/m);
    // The event loop's busy time, the load its group commit follows: a counter that only grows.
    const busyOf = (text: string) =>
      Number(/^tally_process_event_loop_busy_seconds_total (\S+)$/m.exec(text)?.[1]);
    const busy = busyOf(metrics.json);
    assert.ok(busy > 0, `event loop busy ${busy} s`);
    assert.ok(busyOf((await call("GET", "/metrics")).json) >= busy);
    // The event loop's lag, sampled every 100 ms rather than prom-client's 10 (a timer that wakes the loop).
    assert.match(metrics.json, /^tally_process_nodejs_eventloop_lag_p99_seconds \S+$/m);
    // Steps ran (the transfer was applied in one), and their wall time is split by phase.
    const steps = Number(/^tally_steps_total (\S+)$/m.exec(metrics.json)?.[1]);
    assert.ok(steps >= 1, `steps ${steps}`);
    for (const phase of ["wait", "handle", "write", "send"]) {
      const seconds = Number(
        new RegExp(`^tally_step_seconds_total\\{phase="${phase}"\\} (\\S+)$`, "m").exec(metrics.json)?.[1],
      );
      assert.ok(seconds >= 0, `step ${phase} ${seconds} s`);
    }
    // The client limits: the /metrics request itself holds a place while it is answered; nothing refused.
    assert.match(metrics.json, /^tally_api_requests\{state="active"\} 1$/m);
    assert.match(metrics.json, /^tally_api_requests\{state="waiting"\} 0$/m);
    assert.match(metrics.json, /^tally_api_refused\{what="requests"\} 0$/m);
    const openapi = await call("GET", "/openapi.json");
    assert.ok(openapi.json.paths["/v1/transfers"].post);
  });

  it("streams status changes as server-sent events", async () => {
    const controller = new AbortController();
    const response = await fetch(`${url}/v1/events`, { signal: controller.signal });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const reader = response.body!.getReader();
    const next = signed(2, 1n);
    await call("POST", "/v1/transfers", transferToJson(next.transfer));
    let text = "";
    const deadline = Date.now() + 5_000;
    while (!text.includes(next.id) && Date.now() < deadline) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    assert.match(text, new RegExp(`event: transfer\\ndata: \\{"id":"${next.id}"[^\\n]*"status":"applied"`));
  });

  it("streams only the statuses asked for with ?status=", async () => {
    const readUntil = async (path: string, id: string, controller: AbortController) => {
      const response = await fetch(`${url}${path}`, { signal: controller.signal });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      return async () => {
        let text = "";
        const deadline = Date.now() + 5_000;
        while (!text.includes(`"id":"${id}","source":"${owner.address}","seq":4,"status":"rejected"`)) {
          if (Date.now() > deadline) break;
          const { value } = await reader.read();
          text += new TextDecoder().decode(value);
        }
        return text;
      };
    };
    // Seq 4 spends more than seq 3 will leave: held (not the next seq), then rejected for this client once
    // seq 3 applies, with the reason: "applied" for seq 3, then "rejected" for seq 4, on the stream.
    const overdraft = signed(4, 5_000n);
    const next = signed(3, 1n);
    const controller = new AbortController();
    const onlyRejected = await readUntil("/v1/events?status=rejected", overdraft.id, controller);
    const everything = await readUntil("/v1/events", overdraft.id, controller);
    const held = await call("POST", "/v1/transfers", transferToJson(overdraft.transfer));
    assert.deepEqual([held.status, held.json.status], [202, "pending"]);
    assert.equal((await call("POST", "/v1/transfers", transferToJson(next.transfer))).status, 202);
    const [filtered, all] = [await onlyRejected(), await everything()];
    controller.abort();
    const events = (text: string) =>
      [...text.matchAll(/"id":"([0-9a-f]{64})"[^\n]*"status":"(\w+)"/g)]
        .filter((m) => m[1] === overdraft.id || m[1] === next.id)
        .map((m) => `${m[1] === overdraft.id ? "overdraft" : "next"} ${m[2]}`);
    assert.deepEqual(events(all), ["next applied", "overdraft rejected"], "the unfiltered stream has both");
    assert.deepEqual(events(filtered), ["overdraft rejected"], "the filtered one only what it asked for");
    assert.match(
      all,
      /"reason":\{"code":"INSUFFICIENT_FUNDS","message":"[^"]*stays open for another transfer"\}/,
    );
    const view = await call("GET", `/v1/transfers/${overdraft.id}`);
    assert.deepEqual([view.json.status, view.json.reason.code], ["rejected", "INSUFFICIENT_FUNDS"]);

    for (const bad of ["bogus", "applied,", "applied,bogus", ""]) {
      const res = await call("GET", `/v1/events?status=${bad}`);
      assert.equal(res.status, 400, `status=${bad}`);
      assert.equal(typeof res.json.code, "string");
    }
  });

  /** Opens GET /v1/events from `localAddress` (any 127.x address is this machine's loopback). */
  function openEvents(localAddress = "127.0.0.1"): Promise<{ status: number; body: string; close(): void }> {
    return new Promise((resolve, reject) => {
      const req = request(`${url}/v1/events`, { localAddress }, (response: IncomingMessage) => {
        const status = response.statusCode ?? 0;
        const close = () => req.destroy();
        if (status === 200) {
          resolve({ status, body: "", close });
          return;
        }
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status, body, close }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("gives one client address at most 4 event streams, and other clients still get theirs", async () => {
    const mine = [];
    for (let i = 0; i < 4; i++) mine.push(await openEvents());
    assert.deepEqual(
      mine.map((s) => s.status),
      [200, 200, 200, 200],
    );
    const fifth = await openEvents();
    assert.equal(fifth.status, 429);
    const error = JSON.parse(fifth.body);
    assert.equal(error.code, "TOO_MANY_SUBSCRIBERS");
    assert.match(error.message, /at most 4 event subscribers per client address/);

    const neighbour = await openEvents("127.0.0.2");
    assert.equal(neighbour.status, 200, "another address is not crowded out");

    // A closed stream frees its slot (the server notices the close asynchronously).
    mine.pop()!.close();
    let again = await openEvents();
    for (let i = 0; again.status !== 200 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 20));
      again = await openEvents();
    }
    assert.equal(again.status, 200);
    for (const stream of [...mine, neighbour, again]) stream.close();
  });
});
