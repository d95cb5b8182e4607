import type { FastifyInstance } from "fastify";
import { isTallyError } from "../core/errors.ts";
import { isRecord } from "../core/jsonShape.ts";
import { decodeTransfer, type EncodedTransfer } from "../core/transfer.ts";
import { splitTransferBatch } from "../core/transferBatch.ts";
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

/** The binary form of the body (`src/core/transferBatch.ts`). */
const BINARY_BATCH_TYPE = "application/octet-stream";

/**
 * `POST /v1/transfers:batch`: up to 1,000 signed transfers in one request, each judged exactly as
 * `POST /v1/transfers` judges one. A transfer the node refuses does not fail the batch: its slot in the answer
 * says why (the code `POST /v1/transfers` would answer). Only a body that breaks the schema (JSON) or the
 * framing (binary) is refused whole.
 *
 * Registered in its own plugin scope so that the binary content type is accepted by this route only.
 */
export async function registerBatchRoute(app: FastifyInstance, node: NodeApi): Promise<void> {
  await app.register(async (scope) => {
    // Bodies are validated per content type, so a type this route takes without a schema must not parse.
    scope.removeContentTypeParser("text/plain");
    scope.addContentTypeParser(
      BINARY_BATCH_TYPE,
      { parseAs: "buffer", bodyLimit: BATCH_BODY_LIMIT_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      // "::" is a literal colon in a fastify path.
      "/v1/transfers::batch",
      {
        bodyLimit: BATCH_BODY_LIMIT_BYTES,
        schema: {
          summary: `Submit up to ${MAX_BATCH_TRANSFERS} signed transfers at once`,
          description:
            "JSON `{transfers: [...]}`, or `application/octet-stream`: each transfer's canonical encoding " +
            "preceded by its length as a 4-byte big-endian integer",
          body: {
            content: {
              "application/json": { schema: batchRequestSchema },
              [BINARY_BATCH_TYPE]: { schema: {} },
            },
          },
          response: { 200: batchResponseSchema, 400: errorSchema, 413: errorSchema, 415: errorSchema },
        },
      },
      async (request) => {
        const body = request.body;
        // Submitted together, so the node's processing loop takes them in as few steps as it can.
        if (body instanceof Uint8Array) {
          let items: Uint8Array[];
          try {
            items = splitTransferBatch(body, MAX_BATCH_TRANSFERS);
          } catch (e) {
            throw new HttpError(400, "INVALID_REQUEST", (e as Error).message);
          }
          // A copy per item: a decoded transfer keeps its bytes, which must not hold the whole body alive.
          return {
            results: await Promise.all(items.map((b) => submitOne(node, () => decodeTransfer(b.slice())))),
          };
        }
        // The JSON schema has run; checked again so no other body shape can reach the items.
        const transfers = isRecord(body) ? body.transfers : undefined;
        if (!Array.isArray(transfers))
          throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "JSON or binary body");
        return {
          results: await Promise.all(transfers.map((json) => submitOne(node, () => transferFromJson(json)))),
        };
      },
    );
  });
}

async function submitOne(node: NodeApi, parse: () => EncodedTransfer): Promise<ItemResult> {
  try {
    return await node.submit(parse());
  } catch (e) {
    if (isTallyError(e) || e instanceof HttpError) return { code: e.code, message: e.message };
    throw e;
  }
}
