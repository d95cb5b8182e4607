import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import { decodeAddress } from "../core/address.ts";
import { transferFromJson } from "../core/transferJson.ts";
import { registerBatchRoute } from "./batchRoute.ts";
import { type ClientLimits, type InstalledClientLimits, installClientLimits } from "./clientLimits.ts";
import { errorHandler, HttpError } from "./errors.ts";
import { EventBatch } from "./eventBatch.ts";
import { registerExplorerRoutes } from "./explorerRoutes.ts";
import { decodeHistoryCursor, encodeHistoryCursor } from "./historyCursor.ts";
import type { NodeApi, TransferEvent } from "./nodeApi.ts";
import {
  accountSchema,
  accountTransfersSchema,
  addressParams,
  errorSchema,
  idParams,
  nodeInfoSchema,
  submitResponseSchema,
  transferJsonSchema,
  transferViewSchema,
} from "./schemas.ts";
import { registerSharedRoutes } from "./sharedRoutes.ts";
import { registerTestingRoutes, type TestingFaults } from "./testingRoutes.ts";

export interface ApiOptions {
  readonly logger: Logger;
  /** A transfer's JSON is at most ~25 KiB (64 outputs, 256 deps); anything larger is refused with 413. */
  readonly bodyLimitBytes?: number;
  /** Concurrent /v1/events subscribers; each holds a socket and a queue. */
  readonly maxEventSubscribers?: number;
  /** Concurrent /v1/events subscribers from one remote address, so one client cannot take every slot. */
  readonly maxEventSubscribersPerClient?: number;
  /** A subscriber whose socket buffers more than this is too slow and is disconnected. */
  readonly maxEventBufferBytes?: number;
  /** Per-client and total connection and request bounds (clientLimits.ts); defaults in CLIENT_LIMITS_DEFAULTS. */
  readonly clientLimits?: ClientLimits;
  /** Handed the gate and the refusal counters once they exist, for the node's metrics. */
  readonly onClientLimits?: (limited: InstalledClientLimits) => void;
  /** Testing only (`--testing-faults`): the fault controls under /v1/testing; absent, those routes 404. */
  readonly testing?: TestingFaults | undefined;
}

/**
 * `GET /v1/node/peers` lists every member this node knows: ≈ 1.4 MiB and tens of ms of the event loop at a
 * full record book's 10,000. One answer serves every request for this long, so a client asking again and
 * again costs the node at most one listing per period.
 */
export const PEERS_ANSWER_MS = 500;

const errors = { 400: errorSchema, 404: errorSchema, 409: errorSchema, 413: errorSchema, 429: errorSchema };

export async function buildApiServer(node: NodeApi, options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Per-request lines would drown the node's own logs under load; errors are logged by the error mapper.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    // Strict validation: fastify's defaults would strip unknown fields and coerce "1" into 1.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  // Before any route: a flood from one address waits behind itself, and connections are capped per address.
  options.onClientLimits?.(installClientLimits(app, options.clientLimits));
  app.setErrorHandler(errorHandler(options.logger));
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: "NOT_FOUND", message: `no route ${request.method} ${request.url}` });
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: "Tally node API",
        version: node.info().version,
        description: "REST API of a Tally node",
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.post(
    "/v1/transfers",
    {
      schema: {
        summary: "Submit a signed transfer (exactly what `tally wallet sign` prints)",
        body: transferJsonSchema,
        response: { 202: submitResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const encoded = transferFromJson(request.body);
      const result = await node.submit(encoded);
      return reply.status(202).send(result);
    },
  );

  app.get(
    "/v1/transfers/:id",
    {
      schema: {
        summary: "A transfer and its status",
        params: idParams,
        response: { 200: transferViewSchema, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const view = await node.transfer(id);
      if (view === undefined) throw new HttpError(404, "NOT_FOUND", `no transfer ${id}`);
      return view;
    },
  );

  app.get(
    "/v1/accounts/:address",
    {
      schema: {
        summary: "Balance, next seq and unreferenced incoming transfers",
        params: addressParams,
        response: { 200: accountSchema, ...errors },
      },
    },
    async (request) => {
      const { address } = request.params as { address: string };
      decodeAddress(address);
      const account = await node.account(address);
      const definition = account.definition ?? node.shared?.definitionOf(address);
      return { ...account, balance: account.balance.toString(), ...(definition ? { definition } : {}) };
    },
  );
  registerSharedRoutes(app, node);
  await registerBatchRoute(app, node);

  app.get(
    "/v1/accounts/:address/transfers",
    {
      schema: {
        summary: "Transfers from and to an account, newest first; `next` is the cursor of the following page",
        params: addressParams,
        querystring: {
          type: "object",
          properties: {
            limit: { type: "string", pattern: "^[1-9][0-9]{0,3}$" },
            // Any string passes the schema; the cursor decoder refuses garbage with INVALID_CURSOR.
            before: { type: "string" },
          },
          additionalProperties: false,
        },
        response: { 200: accountTransfersSchema, ...errors },
      },
    },
    async (request) => {
      const { address } = request.params as { address: string };
      decodeAddress(address);
      const query = request.query as { limit?: string; before?: string };
      const limit = Math.min(Number(query.limit ?? 100), 1000);
      const before = query.before === undefined ? undefined : decodeHistoryCursor(query.before);
      const page = await node.accountTransfers(address, limit, before);
      return {
        address,
        transfers: page.transfers,
        ...(page.next !== undefined ? { next: encodeHistoryCursor(page.next) } : {}),
      };
    },
  );

  app.get("/v1/node", { schema: { summary: "This node", response: { 200: nodeInfoSchema } } }, async () =>
    node.info(),
  );

  let peersAnswer: { readonly atMs: number; readonly body: string } | undefined;
  app.get(
    "/v1/node/peers",
    { schema: { summary: "Known members, connected peers, and one fresh draw of each broadcast sample" } },
    async (_request, reply) => {
      const nowMs = Date.now();
      if (peersAnswer === undefined || nowMs - peersAnswer.atMs >= PEERS_ANSWER_MS)
        peersAnswer = { atMs: nowMs, body: JSON.stringify(node.peers()) };
      return reply.type("application/json; charset=utf-8").send(peersAnswer.body);
    },
  );

  app.get(
    "/v1/health",
    { schema: { summary: "200 when ready to serve, 503 otherwise" } },
    async (_request, reply) => {
      const health = node.health();
      return reply.status(health.status === "ready" ? 200 : 503).send(health);
    },
  );

  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    return reply.header("content-type", node.metrics.contentType).send(await node.metrics.metrics());
  });

  registerEventStream(app, node, options);
  await registerExplorerRoutes(app);
  if (options.testing !== undefined) registerTestingRoutes(app, options.testing);
  return app;
}

const STATUS_NAME = "(pending|delivered|applied|rejected)";
const STATUS_LIST = `^${STATUS_NAME}(,${STATUS_NAME}){0,3}$`;

/** Server-sent events: one `transfer` event per status change, to a bounded set of subscribers. */
function registerEventStream(app: FastifyInstance, node: NodeApi, options: ApiOptions): void {
  const maxSubscribers = options.maxEventSubscribers ?? 256;
  const maxPerClient = options.maxEventSubscribersPerClient ?? 4;
  const maxBufferBytes = options.maxEventBufferBytes ?? 1024 * 1024;
  let subscribers = 0;
  // Open streams per remote address; an entry lives only while its count is positive, so the map holds at
  // most `maxSubscribers` entries.
  const perClient = new Map<string, number>();
  app.get(
    "/v1/events",
    {
      schema: {
        summary: "Server-sent events: transfer status changes (`status`: only these, comma-separated)",
        querystring: {
          type: "object",
          properties: { status: { type: "string", pattern: STATUS_LIST } },
          additionalProperties: false,
        },
      },
    },
    (request, reply) => {
      // A wallet waiting for outcomes asks for applied,rejected and is spared the other changes.
      const wanted = (request.query as { status?: string }).status?.split(",");
      const only = wanted === undefined ? undefined : new Set<string>(wanted);
      // The socket's own address (no trustProxy): a client cannot pick it by sending a header.
      const client = request.ip;
      const held = perClient.get(client) ?? 0;
      if (held >= maxPerClient) {
        throw new HttpError(
          429,
          "TOO_MANY_SUBSCRIBERS",
          `at most ${maxPerClient} event subscribers per client address`,
        );
      }
      if (subscribers >= maxSubscribers) {
        throw new HttpError(429, "TOO_MANY_SUBSCRIBERS", `at most ${maxSubscribers} event subscribers`);
      }
      subscribers++;
      perClient.set(client, held + 1);
      const socket = reply.raw;
      reply.hijack();
      socket.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      socket.write(": tally event stream\n\n");
      // A processing step's changes leave as one chunk (eventBatch.ts).
      const batch = new EventBatch((text) => {
        if (!socket.destroyed) socket.write(text);
      });
      const onTransfer = (event: TransferEvent) => {
        if (only !== undefined && !only.has(event.status)) return;
        if (socket.writableLength + batch.pendingChars > maxBufferBytes) {
          batch.discard();
          socket.destroy();
          return;
        }
        batch.add(`event: transfer\ndata: ${JSON.stringify(event)}\n\n`);
      };
      node.events.on("transfer", onTransfer);
      const heartbeat = setInterval(() => socket.write(": keep-alive\n\n"), 15_000);
      heartbeat.unref();
      const cleanup = () => {
        clearInterval(heartbeat);
        batch.discard();
        node.events.off("transfer", onTransfer);
        subscribers--;
        const left = (perClient.get(client) ?? 1) - 1;
        if (left > 0) perClient.set(client, left);
        else perClient.delete(client);
      };
      request.raw.once("close", cleanup);
    },
  );
}
