import type { FastifyInstance } from "fastify";
import { ErrorCode, TallyError } from "../core/errors.ts";
import type { PeerId } from "../core/peerId.ts";
import { MAX_BLOCKED_PEERS } from "../p2p/partitionGate.ts";
import { errorSchema } from "./schemas.ts";

/** What the testing routes drive; present only on a node started with `--testing-faults`. */
export interface TestingFaults {
  /** Replace the set of peers this node refuses (both ways) and disconnect them; `[]` heals. */
  setBlockedPeers(peers: readonly PeerId[]): void;
}

/** Base58btc, as libp2p spells peer ids; the transport then parses each one for real. */
const PEER_ID_SHAPE = /^[1-9A-HJ-NP-Za-km-z]{32,128}$/;

/**
 * The body of `PUT /v1/testing/partition`: exactly `{"blocked": [peerId…]}`, at most 1,000 distinct ids.
 * Anything else is refused whole with TESTING_INVALID_PARTITION.
 */
export function parsePartitionRequest(body: unknown): PeerId[] {
  const refuse = (why: string) => new TallyError(ErrorCode.TestingInvalidPartition, `partition body: ${why}`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw refuse("must be a JSON object");
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== "blocked") throw refuse('must have exactly one field, "blocked"');
  const blocked = (body as { blocked: unknown }).blocked;
  if (!Array.isArray(blocked)) throw refuse('"blocked" must be an array of peer ids');
  if (blocked.length > MAX_BLOCKED_PEERS) throw refuse(`at most ${MAX_BLOCKED_PEERS} peer ids`);
  const seen = new Set<PeerId>();
  for (const peer of blocked) {
    if (typeof peer !== "string" || !PEER_ID_SHAPE.test(peer)) throw refuse("every entry must be a peer id");
    if (seen.has(peer)) throw refuse(`duplicate peer id ${peer}`);
    seen.add(peer);
  }
  return [...seen];
}

/** Testing only: registered by the API server only when the node runs with `--testing-faults`. */
export function registerTestingRoutes(app: FastifyInstance, testing: TestingFaults): void {
  const errors = { 400: errorSchema, 413: errorSchema };
  app.put(
    "/v1/testing/partition",
    {
      schema: {
        summary: "Testing only (--testing-faults): refuse connections to and from these peers",
        response: { 204: { type: "null" }, ...errors },
      },
    },
    async (request, reply) => {
      testing.setBlockedPeers(parsePartitionRequest(request.body));
      return reply.status(204).send();
    },
  );
  app.delete(
    "/v1/testing/partition",
    {
      schema: {
        summary: "Testing only (--testing-faults): heal the partition",
        response: { 204: { type: "null" } },
      },
    },
    async (_request, reply) => {
      testing.setBlockedPeers([]);
      return reply.status(204).send();
    },
  );
}
