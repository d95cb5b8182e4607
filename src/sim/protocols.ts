import { BrachaBroadcast } from "../broadcast/bracha.ts";
import type { ProtocolFactory } from "./simulation.ts";

/** Pull retries a little above one round trip of the default 50 ms latency model. */
const SIM_PULL_RETRY_MS = 250;

export function brachaFactory(): ProtocolFactory {
  return {
    name: "bracha",
    create: (context) => new BrachaBroadcast({ ...context, pullRetryMs: SIM_PULL_RETRY_MS }),
  };
}
