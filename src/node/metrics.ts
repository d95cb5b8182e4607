import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { BroadcastProtocol } from "../broadcast/types.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { P2PTransport } from "../p2p/transport.ts";

/** Prometheus metrics of one node: counters it increments, and gauges read from the components on scrape. */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly transfersSubmitted: Counter;
  readonly transfersResolved: Counter<"status">;
  readonly inboxDropped: Counter;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "tally_process_" });
    this.transfersSubmitted = new Counter({
      name: "tally_transfers_submitted_total",
      help: "Transfers accepted by this node's API for broadcast",
      registers: [this.registry],
    });
    this.transfersResolved = new Counter({
      name: "tally_transfers_resolved_total",
      help: "Transfers the ledger resolved, by verdict",
      labelNames: ["status"],
      registers: [this.registry],
    });
    this.inboxDropped = new Counter({
      name: "tally_inbox_dropped_total",
      help: "Peer messages dropped because the node's inbox was full",
      registers: [this.registry],
    });
  }

  /** Gauges computed at scrape time from the live components. */
  watch(components: { ledger: Ledger; broadcast: BroadcastProtocol; transport: P2PTransport }): void {
    const { ledger, broadcast, transport } = components;
    new Gauge({
      name: "tally_ledger_waiting",
      help: "Delivered transfers waiting for a predecessor seq or a dependency",
      registers: [this.registry],
      collect() {
        this.set(ledger.waitingCount);
      },
    });
    new Gauge({
      name: "tally_broadcast_live_instances",
      help: "Undelivered broadcast instances held in memory",
      registers: [this.registry],
      collect() {
        this.set(broadcast.stats().liveInstances);
      },
    });
    new Gauge({
      name: "tally_broadcast_messages",
      help: "Broadcast messages by direction and kind since start",
      labelNames: ["direction", "kind"],
      registers: [this.registry],
      collect() {
        const c = broadcast.counters();
        for (const [kind, n] of Object.entries(c.sent)) this.set({ direction: "sent", kind }, n);
        for (const [kind, n] of Object.entries(c.received)) this.set({ direction: "received", kind }, n);
      },
    });
    new Gauge({
      name: "tally_broadcast_delivered",
      help: "Broadcast instances delivered since start",
      registers: [this.registry],
      collect() {
        this.set(broadcast.counters().delivered);
      },
    });
    new Gauge({
      name: "tally_p2p_connected_peers",
      help: "Peers with an open connection",
      registers: [this.registry],
      collect() {
        this.set(transport.connectedPeers().length);
      },
    });
    new Gauge({
      name: "tally_p2p",
      help: "Transport counters since start (frames, messages, bytes, drops)",
      labelNames: ["counter"],
      registers: [this.registry],
      collect() {
        for (const [counter, n] of Object.entries(transport.counters)) {
          if (typeof n === "number") this.set({ counter }, n);
        }
      },
    });
  }
}
