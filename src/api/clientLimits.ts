import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
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
}

export const CLIENT_LIMITS_DEFAULTS: ClientLimits = {
  ...CLIENT_GATE_DEFAULTS,
  // This machine's process has 20,000 descriptors; libp2p keeps ≤ 300 connections and LevelDB ≤ 1,000 files.
  maxConnections: 8_192,
  // A busy wallet backend's fetch opens a connection per request in flight: hundreds are legitimate.
  maxConnectionsPerClient: 1_024,
};

/** Routes that hold their place for as long as the client listens; they have their own bounds. */
const UNGATED_ROUTES = new Set(["/v1/events"]);

/** Counts of what the limits refused, for the node's metrics and the tests. */
export interface ClientLimitCounters {
  connectionsRefused: number;
  requestsRefused: number;
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
  const counters: ClientLimitCounters = { connectionsRefused: 0, requestsRefused: 0 };
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

  app.addHook("onRequest", (request, reply, done) => {
    if (UNGATED_ROUTES.has(request.routeOptions.url ?? "")) return done();
    const client = request.ip;
    let admitted = false;
    const entry = gate.enter(client, () => {
      admitted = true;
      done();
    });
    if (entry.kind === "refused") {
      counters.requestsRefused++;
      const why =
        entry.reason === "clientQueueFull"
          ? `${limits.maxQueuedPerClient} requests from this address are already waiting`
          : `requests from ${limits.maxWaitingClients} addresses are already waiting`;
      void reply.status(429).send({ code: "TOO_MANY_REQUESTS", message: `node busy: ${why}; retry later` });
      return;
    }
    // Exactly once, whether the answer went out or the connection closed first.
    reply.raw.once("close", () => {
      if (admitted) gate.leave();
      else if (entry.kind === "waiting") gate.abandon(client, entry.ticket);
    });
    if (entry.kind === "admitted") {
      admitted = true;
      done();
    }
  });
  return { gate, counters };
}
