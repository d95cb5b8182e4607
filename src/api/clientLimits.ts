import type { Socket } from "node:net";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { CLIENT_GATE_DEFAULTS, ClientGate, type ClientGateLimits } from "./clientGate.ts";

/**
 * What one client address may hold of the REST API, and all clients together. Sockets are counted by their
 * remote address (proxy headers are not trusted), so a client cannot pick it by sending a header.
 */
export interface ClientLimits extends ClientGateLimits {
  /** Open connections, all clients together: file descriptors are shared with LevelDB and libp2p. */
  readonly maxConnections: number;
  /** Open connections from one address. */
  readonly maxConnectionsPerClient: number;
  /** An admitted request's body must have arrived this long after its admission, or its connection is closed. */
  readonly bodyDeadlineMs: number;
  /** An answer must have been written out this long after it was ready, or its connection is closed. */
  readonly answerDeadlineMs: number;
}

export const CLIENT_LIMITS_DEFAULTS: ClientLimits = {
  ...CLIENT_GATE_DEFAULTS,
  // This machine's process has 20,000 descriptors; libp2p keeps ≤ 300 connections and LevelDB ≤ 1,000 files.
  maxConnections: 8_192,
  // A busy wallet backend's fetch opens a connection per request in flight: hundreds are legitimate.
  maxConnectionsPerClient: 1_024,
  // A 4 MiB batch needs 1.1 Mbit/s to make it; a single transfer is ~1 KiB.
  bodyDeadlineMs: 30_000,
  // A 4 MiB answer (a page of large transfers, every member of a full record book) at 1.1 Mbit/s.
  answerDeadlineMs: 30_000,
};

/** Routes that hold their place for as long as the client listens; they have their own bounds. */
const UNGATED_ROUTES = new Set(["/v1/events"]);

/** Counts of what the limits refused, for the node's metrics and the tests. */
export interface ClientLimitCounters {
  connectionsRefused: number;
  requestsRefused: number;
  /** Admitted requests whose body did not arrive within `bodyDeadlineMs`: their connection was closed. */
  slowBodies: number;
  /** Answers not written out within `answerDeadlineMs` (a client that does not read): connection closed. */
  slowReads: number;
}

/** One request's hold on the gate. */
interface Place {
  readonly client: string;
  admitted: boolean;
  released: boolean;
  bodyTimer: NodeJS.Timeout | undefined;
  answerTimer: NodeJS.Timeout | undefined;
}

function carriesBody(request: FastifyRequest): boolean {
  const length = request.headers["content-length"];
  return (length !== undefined && length !== "0") || request.headers["transfer-encoding"] !== undefined;
}

export interface InstalledClientLimits {
  readonly gate: ClientGate;
  readonly counters: ClientLimitCounters;
}

/**
 * Installs the connection caps and the fair request gate (clientGate.ts) on `app`: a connection over either
 * cap is closed as it opens; a request waits for a place in its address's turn, or is answered 429
 * `TOO_MANY_REQUESTS` when its address already has `maxQueuedPerClient` waiting (or too many addresses wait).
 */
export function installClientLimits(
  app: FastifyInstance,
  limits: ClientLimits = CLIENT_LIMITS_DEFAULTS,
): InstalledClientLimits {
  const gate = new ClientGate(limits);
  const counters: ClientLimitCounters = {
    connectionsRefused: 0,
    requestsRefused: 0,
    slowBodies: 0,
    slowReads: 0,
  };
  const perAddress = new Map<string, number>();
  let open = 0;
  app.server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "unknown";
    const held = perAddress.get(address) ?? 0;
    if (open >= limits.maxConnections || held >= limits.maxConnectionsPerClient) {
      counters.connectionsRefused++;
      socket.destroy();
      return;
    }
    open++;
    perAddress.set(address, held + 1);
    socket.once("close", () => {
      open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });

  // A place is the handling of one request, from admission until its answer has been written out or its
  // connection closes. An answer not yet written is memory the node holds for the client (up to a few MiB),
  // so the places bound those too: at most `maxActive` answers at once, `maxActivePerClient` for one address.
  const places = new WeakMap<FastifyRequest, Place>();
  const release = (place: Place) => {
    if (!place.admitted || place.released) return;
    place.released = true;
    clearTimeout(place.bodyTimer);
    clearTimeout(place.answerTimer);
    gate.leave(place.client);
  };

  app.addHook("onRequest", (request, reply, done) => {
    if (UNGATED_ROUTES.has(request.routeOptions.url ?? "")) return done();
    const place: Place = {
      client: request.ip,
      admitted: false,
      released: false,
      bodyTimer: undefined,
      answerTimer: undefined,
    };
    const admit = () => {
      place.admitted = true;
      if (carriesBody(request)) {
        // Its body must arrive in time: one sent a byte at a time would hold the place for as long as it liked.
        place.bodyTimer = setTimeout(() => {
          counters.slowBodies++;
          reply.raw.destroy();
        }, limits.bodyDeadlineMs).unref();
      }
      done();
    };
    const entry = gate.enter(place.client, admit);
    if (entry.kind === "refused") {
      counters.requestsRefused++;
      const why =
        entry.reason === "clientQueueFull"
          ? `${limits.maxQueuedPerClient} requests from this address are already waiting`
          : `requests from ${limits.maxWaitingClients} addresses are already waiting`;
      void reply.status(429).send({ code: "TOO_MANY_REQUESTS", message: `node busy: ${why}; retry later` });
      return;
    }
    places.set(request, place);
    reply.raw.once("close", () => {
      if (place.admitted) release(place);
      else if (entry.kind === "waiting") gate.abandon(place.client, entry.ticket);
    });
    // Written out: handed to the kernel whole, the client reads the rest at its own pace.
    reply.raw.once("finish", () => release(place));
    if (entry.kind === "admitted") admit();
  });
  // The body is in (parsed and validated): the deadline is met.
  app.addHook("preHandler", (request, _reply, done) => {
    clearTimeout(places.get(request)?.bodyTimer);
    done();
  });
  // The answer is ready: a client that does not read it holds its place and the answer only until the deadline.
  app.addHook("onSend", (request, reply, payload, done) => {
    const place = places.get(request);
    if (place?.admitted && !place.released) {
      place.answerTimer = setTimeout(() => {
        counters.slowReads++;
        reply.raw.destroy();
      }, limits.answerDeadlineMs).unref();
    }
    done(null, payload);
  });
  return { gate, counters };
}
