/**
 * p2p throughput between two transports on loopback: messages/s for batched frames (the default), and for
 * comparison one frame — one stream write — per message (`maxFrameMessages: 1`).
 *
 * The receiver runs in a worker thread so sender and receiver each get a core, as two nodes would.
 *
 *   node bench/p2p.bench.ts [messageBytes=64] [batchedCount=2000000] [singleCount=200000]
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { pino } from "pino";
import { P2PTransport } from "../src/p2p/transport.ts";

type ToWorker = { type: "expect"; count: number };
type FromWorker =
  | { type: "ready"; addr: string }
  | { type: "armed" }
  | { type: "done"; count: number; errors: number };

async function receiver(): Promise<void> {
  const port = parentPort!;
  const privateKey = privateKeyFromProtobuf(workerData.key as Uint8Array);
  let expected = 0;
  let count = 0;
  let errors = 0;
  const lastSeq = new Map<string, number>();
  const transport = new P2PTransport({ privateKey, listen: ["/ip4/127.0.0.1/tcp/0"] });
  transport.onMessage((from, msg) => {
    // Per-sender order check, cheap enough not to distort the figure.
    const seq = (msg[0]! << 24) | (msg[1]! << 16) | (msg[2]! << 8) | msg[3]!;
    if (seq !== (lastSeq.get(from) ?? -1) + 1) errors++;
    lastSeq.set(from, seq);
    if (++count === expected) port.postMessage({ type: "done", count, errors } satisfies FromWorker);
  });
  await transport.start();
  port.on("message", (m: ToWorker | "stop") => {
    if (m === "stop") {
      void transport.stop().then(() => port.close());
      return;
    }
    expected = m.count;
    count = 0;
    errors = 0;
    lastSeq.clear();
    port.postMessage({ type: "armed" } satisfies FromWorker);
  });
  port.postMessage({ type: "ready", addr: transport.multiaddrs[0]! } satisfies FromWorker);
}

function nextMessage(worker: Worker): Promise<FromWorker> {
  return new Promise((resolve) => worker.once("message", resolve));
}

async function run(
  name: string,
  worker: Worker,
  receiverAddr: string,
  receiverId: string,
  count: number,
  messageBytes: number,
  maxFrameMessages: number,
): Promise<void> {
  const sender = new P2PTransport({
    privateKey: await generateKeyPair("Ed25519"),
    bootstrap: [receiverAddr],
    queue: { maxFrameMessages },
    logger: pino({ level: process.env.LOG_LEVEL ?? "warn" }),
  });
  await sender.start();
  try {
    while (!sender.connectedPeers().includes(receiverId)) await new Promise((r) => setTimeout(r, 10));
    // The receiver resets its counter before the first message can arrive.
    const armed = nextMessage(worker);
    worker.postMessage({ type: "expect", count } satisfies ToWorker);
    if ((await armed).type !== "armed") throw new Error("receiver not armed");
    const done = nextMessage(worker);
    const payloads = Array.from({ length: 4096 }, () => new Uint8Array(messageBytes).fill(0x5a));
    const started = performance.now();
    let seq = 0;
    // Producer: keep the peer queue topped up without overflowing it; yield so I/O can run.
    while (seq < count) {
      const room = Math.min(count - seq, 16_384 - sender.queued(receiverId).messages);
      for (let i = 0; i < room; i++, seq++) {
        // Fresh bytes per message: the queue frames by reference.
        const msg = new Uint8Array(messageBytes);
        msg.set(payloads[seq & 4095]!);
        msg[0] = seq >>> 24;
        msg[1] = (seq >>> 16) & 0xff;
        msg[2] = (seq >>> 8) & 0xff;
        msg[3] = seq & 0xff;
        if (!sender.send(receiverId, msg)) throw new Error("dropped");
      }
      await new Promise((r) => setImmediate(r));
    }
    // Watchdog: a run that stops making progress prints the counters instead of hanging.
    let lastOut = -1;
    const watchdog = setInterval(() => {
      const c = sender.counters;
      if (c.messagesOut === lastOut) console.error("stalled", { ...c, queued: sender.queued(receiverId) });
      lastOut = c.messagesOut;
    }, 5_000);
    const result = await done.finally(() => clearInterval(watchdog));
    const seconds = (performance.now() - started) / 1000;
    if (result.type !== "done") throw new Error("unexpected worker message");
    const c = sender.counters;
    console.log(
      `${name.padEnd(28)} ${count.toLocaleString("en").padStart(10)} msgs x ${messageBytes} B in ${seconds.toFixed(2)} s: ` +
        `${Math.round(count / seconds).toLocaleString("en")} msgs/s, ` +
        `${((c.bytesOut / seconds) * 1e-6).toFixed(1)} MB/s, ${c.framesOut.toLocaleString("en")} frames ` +
        `(${(c.messagesOut / c.framesOut).toFixed(0)} msgs/frame), order errors ${result.errors}`,
    );
  } finally {
    await sender.stop();
  }
}

async function main(): Promise<void> {
  const messageBytes = Number(process.argv[2] ?? 64);
  const batchedCount = Number(process.argv[3] ?? 2_000_000);
  const singleCount = Number(process.argv[4] ?? 200_000);
  const key = await generateKeyPair("Ed25519");
  const worker = new Worker(new URL(import.meta.url), { workerData: { key: privateKeyToProtobuf(key) } });
  const ready = await nextMessage(worker);
  if (ready.type !== "ready") throw new Error("worker did not start");
  const receiverId = new P2PTransport({ privateKey: key }).peerId;
  console.log(`node ${process.version}, receiver in a worker thread, loopback TCP + Noise + Yamux`);
  await run("batched (default options)", worker, ready.addr, receiverId, batchedCount, messageBytes, 4096);
  await run("one frame per message", worker, ready.addr, receiverId, singleCount, messageBytes, 1);
  worker.postMessage("stop");
  await new Promise((r) => worker.once("exit", r));
}

if (isMainThread) await main();
else await receiver();
