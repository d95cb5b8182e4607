import type { FastifyInstance } from "fastify";
import { HttpError } from "./errors.ts";
import type { NodeApi } from "./nodeApi.ts";
import {
  addressParams,
  errorSchema,
  proposalListSchema,
  proposalRequestSchema,
  proposalSubmittedSchema,
  sharedEvidenceSchema,
} from "./schemas.ts";

const errors = { 400: errorSchema, 403: errorSchema, 409: errorSchema, 429: errorSchema };

function notHosted(address: string): HttpError {
  return new HttpError(409, "SHARED_NOT_HOSTED", `this node hosts no owner of ${address}`);
}

/** A hosted shared account's proposals: this node's owner proposes a payment to its committee. */
export function registerSharedRoutes(app: FastifyInstance, node: NodeApi): void {
  app.post(
    "/v1/shared/:address/proposals",
    {
      schema: {
        summary:
          "Propose a payment from a shared account this node hosts an owner of, signed by that owner's key",
        params: addressParams,
        body: proposalRequestSchema,
        response: { 202: proposalSubmittedSchema, ...errors },
      },
    },
    async (request, reply) => {
      const { address } = request.params as { address: string };
      const body = request.body as {
        to: string;
        amount: string;
        memo?: string;
        issuedAtMs: number;
        signature: string;
      };
      const id = await node.shared?.propose(address, { ...body, amount: BigInt(body.amount) });
      if (id === undefined) throw notHosted(address);
      return reply.status(202).send({ proposal: id, status: "pending" });
    },
  );
  app.get(
    "/v1/shared/:address/proposals",
    {
      schema: {
        summary: "This node's owner's proposals for a shared account, newest first (≤ 1,000 kept)",
        params: addressParams,
        response: { 200: proposalListSchema, ...errors },
      },
    },
    async (request) => {
      const { address } = request.params as { address: string };
      const proposals = node.shared?.proposals(address);
      if (proposals === undefined) throw notHosted(address);
      return { address, proposals };
    },
  );
  app.get(
    "/v1/shared/:address/evidence",
    {
      schema: {
        summary:
          "Equivocation proofs this node's owner holds against co-owners of a shared account it hosts (≤ 256 kept)",
        params: addressParams,
        response: { 200: sharedEvidenceSchema, ...errors },
      },
    },
    async (request) => {
      const { address } = request.params as { address: string };
      const evidence = node.shared?.evidence(address);
      if (evidence === undefined) throw notHosted(address);
      return { address, ...evidence };
    },
  );
}
