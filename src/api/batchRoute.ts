import type { FastifyInstance } from "fastify";
import { isTallyError } from "../core/errors.ts";
import { transferFromJson } from "../core/transferJson.ts";
import { HttpError } from "./errors.ts";
import type { NodeApi } from "./nodeApi.ts";
import { errorSchema, hexId, transferJsonSchema, transferStatus } from "./schemas.ts";

/**
 * Transfers one batch may carry: a wallet or an exchange submits many at once and pays one HTTP request and one
 * JSON parse for them. The node's own bound on waiting submissions still applies, item by item.
 */
export const MAX_BATCH_TRANSFERS = 1_000;
/** A typical transfer is under 1 KiB of JSON; 4 MiB leaves room for 1,000 with long memos and many deps. */
export const BATCH_BODY_LIMIT_BYTES = 4 * 1024 * 1024;

const batchRequestSchema = {
  type: "object",
  required: ["transfers"],
  additionalProperties: false,
  properties: {
    transfers: { type: "array", minItems: 1, maxItems: MAX_BATCH_TRANSFERS, items: transferJsonSchema },
  },
} as const;

const batchResponseSchema = {
  type: "object",
  required: ["results"],
  properties: {
    results: {
      type: "array",
      description:
        "one per submitted transfer, in order: {id, status} when accepted, {code, message} when refused",
      items: {
        type: "object",
        properties: {
          id: hexId,
          status: transferStatus,
          code: { type: "string" },
          message: { type: "string" },
        },
      },
    },
  },
} as const;

type ItemResult = { id: string; status: string } | { code: string; message: string };

/**
 * `POST /v1/transfers:batch`: up to 1,000 signed transfers in one request, each judged exactly as
 * `POST /v1/transfers` judges one. A transfer the node refuses does not fail the batch: its slot in the answer
 * says why (the code `POST /v1/transfers` would answer). Only a body that breaks the schema is refused whole.
 */
export function registerBatchRoute(app: FastifyInstance, node: NodeApi): void {
  app.post(
    // "::" is a literal colon in a fastify path.
    "/v1/transfers::batch",
    {
      bodyLimit: BATCH_BODY_LIMIT_BYTES,
      schema: {
        summary: `Submit up to ${MAX_BATCH_TRANSFERS} signed transfers at once`,
        body: batchRequestSchema,
        response: { 200: batchResponseSchema, 400: errorSchema, 413: errorSchema },
      },
    },
    async (request) => {
      const { transfers } = request.body as { transfers: unknown[] };
      // Submitted together, so the node's processing loop takes them in as few steps as it can.
      const results = await Promise.all(transfers.map((json) => submitOne(node, json)));
      return { results };
    },
  );
}

async function submitOne(node: NodeApi, json: unknown): Promise<ItemResult> {
  try {
    return await node.submit(transferFromJson(json));
  } catch (e) {
    if (isTallyError(e) || e instanceof HttpError) return { code: e.code, message: e.message };
    throw e;
  }
}
