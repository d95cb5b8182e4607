import { performance } from "node:perf_hooks";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { InstalledClientLimits } from "../api/clientLimits.ts";
import type { Channels } from "../channels/channels.ts";
import { DROP_REASONS } from "../channels/inboundScheduler.ts";
import type { P2PTransport } from "../p2p/transport.ts";
import type { NodeCore } from "./core/nodeCore.ts";
import type { StepTiming } from "./processingLoop.ts";

/**
 * How often the event-loop lag histogram samples (prom-client's `monitorEventLoopDelay`): its timer wakes
 * the loop each time, 10 ms by default — a hundred wake-ups a second on a node with nothing to do, ≈ 4 of
 * an idle devnet node's 27 ms of CPU per second here (docs/performance-log.md, "Session 30"). Every 100 ms,
 * the `tally_process_nodejs_eventloop_lag_*` figures still see any stall of the loop that long or longer.
 */
export const EVENT_LOOP_LAG_RESOLUTION_MS = 100;

/** Prometheus metrics of one node: counters it increments, and gauges read from the components on scrape. */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly transfersSubmitted: Counter;
  readonly transfersResolved: Counter<"status">;
  /** LevelDB writes (puts and deletes) and the fsynced batches (processing steps) that carried them. */
  private readonly storageWrites: Counter;
  private readonly storageBatches: Counter;
  /** Processing steps, and the wall time they spent by phase (processingLoop.ts, `StepTiming`). */
  private readonly steps: Counter;
  private readonly stepSeconds: Counter<"phase">;

  constructor() {
    collectDefaultMetrics({
      register: this.registry,
      prefix: "tally_process_",
      eventLoopMonitoringPrecision: EVENT_LOOP_LAG_RESOLUTION_MS,
    });
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
    this.storageWrites = new Counter({
      name: "tally_storage_writes_total",
      help: "LevelDB writes (puts and deletes) committed by processing steps",
      registers: [this.registry],
    });
    this.storageBatches = new Counter({
      name: "tally_storage_batches_total",
      help: "Fsynced LevelDB batches committed by processing steps",
      registers: [this.registry],
    });
    this.steps = new Counter({
      name: "tally_steps_total",
      help: "Processing steps completed (each one fsynced write, when it wrote anything)",
      registers: [this.registry],
    });
    this.stepSeconds = new Counter({
      name: "tally_step_seconds_total",
      help: "Wall time of processing steps by phase: group-commit wait, handling, fsynced write, sending",
      labelNames: ["phase"],
      registers: [this.registry],
    });
    let counted = 0;
    new Counter({
      name: "tally_process_event_loop_busy_seconds_total",
      help: "Time the event loop spent running callbacks; its rate is the load the group commit follows",
      registers: [this.registry],
      collect() {
        const busy = performance.eventLoopUtilization().active / 1000;
        if (busy > counted) this.inc(busy - counted);
        counted = Math.max(counted, busy);
      },
    });
  }

  /** A processing step committed `writes` LevelDB writes (none: no batch was written). */
  countStep(writes: number): void {
    if (writes === 0) return;
    this.storageWrites.inc(writes);
    this.storageBatches.inc();
  }

  /** A processing step completed; where its time went. */
  observeStep(timing: StepTiming): void {
    this.steps.inc();
    this.stepSeconds.inc({ phase: "wait" }, timing.waitMs / 1000);
    this.stepSeconds.inc({ phase: "handle" }, timing.handleMs / 1000);
    this.stepSeconds.inc({ phase: "write" }, timing.writeMs / 1000);
    this.stepSeconds.inc({ phase: "send" }, timing.sendMs / 1000);
  }

  /** The REST API's fair gate and what its client limits refused (src/api/clientLimits.ts). */
  watchApiClients({ gate, counters }: InstalledClientLimits): void {
    new Gauge({
      name: "tally_api_requests",
      help: "REST API requests being handled (active) and waiting for a place (waiting), now",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        this.set({ state: "active" }, gate.activeCount);
        this.set({ state: "waiting" }, gate.waitingCount);
      },
    });
    new Gauge({
      name: "tally_api_refused",
      help: "REST API requests answered 429 by the client limits, connections closed as they opened, and admitted requests closed for a body too slow to arrive, since start",
      labelNames: ["what"],
      registers: [this.registry],
      collect() {
        this.set({ what: "requests" }, counters.requestsRefused);
        this.set({ what: "connections" }, counters.connectionsRefused);
        this.set({ what: "slowBodies" }, counters.slowBodies);
        this.set({ what: "slowReads" }, counters.slowReads);
      },
    });
  }

  /** Gauges computed at scrape time from the live components. */
  watch(components: { core: NodeCore; transport: P2PTransport; channels: Channels }): void {
    const { transport, channels } = components;
    const { ledger, broadcast } = components.core;
    this.watchPeers(transport, channels);
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
      name: "tally_broadcast_departed_share",
      help: "Contagion: the largest share of a sample held by departed peers (down, or records expired); past 0.125 the samples are held until they return or a majority remains",
      registers: [this.registry],
      collect() {
        this.set(broadcast.stats().departedShare ?? 0);
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
    const core = components.core;
    new Gauge({
      name: "tally_admission",
      help: "Payloads peers introduced, by verdict (admitted, parked, parkingFull, refused; settled and forged also count pulled payloads), and payloads parked now",
      labelNames: ["verdict"],
      registers: [this.registry],
      collect() {
        for (const [verdict, n] of Object.entries(core.admission)) this.set({ verdict }, n);
        this.set({ verdict: "parkedNow" }, core.parkedCount);
      },
    });
    new Gauge({
      name: "tally_submissions",
      help: "The API's accepted submissions: heldAhead, held now until their seq is the account's next; reoffered, offered to the broadcast again since start after it evicted them; droppedAhead, held ones given up since start (timed out, or their place given to another account's fair share); refused, rejected for their client since start because no correct node will echo them",
      labelNames: ["state"],
      registers: [this.registry],
      collect() {
        this.set({ state: "heldAhead" }, core.heldAheadCount);
        this.set({ state: "reoffered" }, core.reofferedCount);
        this.set({ state: "droppedAhead" }, core.droppedAheadCount);
        this.set({ state: "refused" }, core.refusedCount);
      },
    });
    new Gauge({
      name: "tally_signature_checks",
      help: "Transfer signatures checked since start: one per transfer taken in when all goes well; more shows what peers made this node check",
      registers: [this.registry],
      collect() {
        this.set(core.checkedSignatures);
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

  /**
   * Per-peer admission figures, so a flood shows who sends it. Bounded: the channel layer tracks every member
   * and at most 256 strangers, the transport every member and at most 1,024 others.
   */
  private watchPeers(transport: P2PTransport, channels: Channels): void {
    new Counter({
      name: "tally_channel_inbound_total",
      help: "Messages a peer sent, by admission result: admitted, or the reason it was dropped",
      labelNames: ["peer", "result"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of channels.peerStats(Date.now())) {
          this.inc({ peer: p.peer, result: "admitted" }, p.counters.admitted);
          for (const reason of DROP_REASONS) {
            const n = p.counters.dropped[reason];
            if (n > 0) this.inc({ peer: p.peer, result: reason }, n);
          }
        }
      },
    });
    new Gauge({
      name: "tally_channel_peer_score",
      help: "A peer's admission score (0 = neutral; banned below the threshold)",
      labelNames: ["peer"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const p of channels.peerStats(Date.now())) this.set({ peer: p.peer }, p.score);
      },
    });
    new Gauge({
      name: "tally_channel_buffered",
      help: "Admitted peer messages waiting for the processing loop, and their bytes",
      labelNames: ["unit"],
      registers: [this.registry],
      collect() {
        const stats = channels.stats();
        this.set({ unit: "messages" }, stats.bufferedMessages);
        this.set({ unit: "bytes" }, stats.bufferedBytes);
      },
    });
    new Counter({
      name: "tally_p2p_peer_refused_total",
      help: "Connections and dials refused while the peer is banned",
      labelNames: ["peer"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const ban of transport.bannedPeers()) this.inc({ peer: ban.peerId }, ban.refusals);
      },
    });
    new Counter({
      name: "tally_p2p_peer_inbound_messages_total",
      help: "Messages received from a peer at the transport, before admission",
      labelNames: ["peer"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [peer, c] of transport.inboundCountersByPeer()) this.inc({ peer }, c.messagesIn);
      },
    });
  }
}
