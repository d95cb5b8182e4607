import { resolve } from "node:path";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { resolveNodeConfig } from "../node/config.ts";
import { createLogger } from "../node/logger.ts";
import { TallyNode } from "../node/tallyNode.ts";
import { loadOrCreatePeerKey } from "../p2p/peerKey.ts";
import { type Command, optionalString, requireString } from "./command.ts";

/**
 * `tally node init`: the node's identity before its first start, so an operator can put its peer id in a
 * genesis (a bootstrap or static member address ends in /p2p/<peer id>). `node start` uses the same key.
 */
const nodeInit: Command = {
  path: ["node", "init"],
  summary: "create the node's peer key in its data dir (if it has none) and print its peer id",
  usage: "--data-dir DIR",
  options: { "data-dir": { type: "string" } },
  async run(args) {
    const key = await loadOrCreatePeerKey(resolve(requireString(args, "data-dir")));
    return { peerId: key.peerId.toString(), keyFile: key.path, created: key.created };
  },
  human(result) {
    const r = result as { peerId: string; keyFile: string; created: boolean };
    return `${r.peerId} (${r.created ? "new key" : "existing key"} in ${r.keyFile})`;
  },
};

const nodeStart: Command = {
  path: ["node", "start"],
  summary: "run a node until SIGINT/SIGTERM",
  usage:
    "[--config FILE] [--data-dir DIR] [--genesis FILE] [--listen MULTIADDR…] [--announce MULTIADDR…] [--api HOST:PORT] [--bootstrap MULTIADDR…] [--log-level LEVEL] [--byzantine silent|forge|equivocate (testing)] [--testing-faults (testing: PUT/DELETE /v1/testing/partition) [--testing-blocked-peer PEER_ID…] [--testing-unlinked-peer PEER_ID…] [--testing-stall-timeout-ms MS]] [--owner-key KEYSTORE:PASSPHRASE_FILE…] [--shared DEFINITION_FILE…] [--byzantine-owner silent|equivocate (testing)]",
  options: {
    config: { type: "string" },
    "data-dir": { type: "string" },
    genesis: { type: "string" },
    listen: { type: "string", multiple: true },
    announce: { type: "string", multiple: true },
    api: { type: "string" },
    bootstrap: { type: "string", multiple: true },
    "log-level": { type: "string" },
    byzantine: { type: "string" },
    "testing-faults": { type: "boolean" },
    "testing-blocked-peer": { type: "string", multiple: true },
    "testing-unlinked-peer": { type: "string", multiple: true },
    "testing-stall-timeout-ms": { type: "string" },
    "owner-key": { type: "string", multiple: true },
    shared: { type: "string", multiple: true },
    "byzantine-owner": { type: "string" },
  },
  async run(args) {
    const config = await resolveNodeConfig({
      config: optionalString(args, "config"),
      dataDir: optionalString(args, "data-dir"),
      genesis: optionalString(args, "genesis"),
      listen: args.values.listen as string[] | undefined,
      announce: args.values.announce as string[] | undefined,
      api: optionalString(args, "api"),
      bootstrap: args.values.bootstrap as string[] | undefined,
      logLevel: optionalString(args, "log-level"),
      byzantine: optionalString(args, "byzantine"),
      testingFaults: args.values["testing-faults"] === true,
      testingBlockedPeers: args.values["testing-blocked-peer"] as string[] | undefined,
      testingUnlinkedPeers: args.values["testing-unlinked-peer"] as string[] | undefined,
      testingStallTimeoutMs: optionalString(args, "testing-stall-timeout-ms"),
      ownerKeys: args.values["owner-key"] as string[] | undefined,
      shared: args.values.shared as string[] | undefined,
      byzantineOwner: optionalString(args, "byzantine-owner"),
    });
    const log = createLogger(config.logLevel);
    const node = new TallyNode(config, log);
    try {
      await node.start();
    } catch (e) {
      await node.stop().catch(() => {});
      throw e;
    }
    const ready = { peerId: node.peerId, api: node.apiUrl, multiaddrs: node.multiaddrs };
    process.stdout.write(`${args.json ? JSON.stringify(ready) : readyLines(ready).join("\n")}\n`);
    const stopped = new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        log.info({ signal }, "shutting down");
        node.stop().then(resolve, resolve);
      };
      process.once("SIGINT", () => shutdown("SIGINT"));
      process.once("SIGTERM", () => shutdown("SIGTERM"));
    });
    // A node that stopped itself on a failure exits non-zero, so a supervisor restarts it.
    const failed = node.failed.then((e) => {
      throw new TallyError(ErrorCode.NodeFailed, `the node stopped on a failure: ${e.message}`);
    });
    await Promise.race([stopped, failed]);
    return undefined;
  },
};

/** What an operator needs at start: who the node is, where its API and explorer are, what it announces. */
function readyLines(ready: { peerId: string; api: string; multiaddrs: readonly string[] }): string[] {
  return [
    `node ready: ${ready.peerId} api ${ready.api}`,
    `  explorer: ${ready.api}/explorer/`,
    `  announced: ${ready.multiaddrs.join(" ") || "(nothing yet)"}`,
  ];
}

export const nodeCommands: readonly Command[] = [nodeInit, nodeStart];
