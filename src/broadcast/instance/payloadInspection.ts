import type { InspectPayload, PayloadInfo } from "../types.ts";
import { isWellFormedDigest, isWellFormedInstance } from "./instanceId.ts";

/**
 * `inspect`'s verdict on a payload, or null for one a correct node must not take. `inspect` is the node's
 * code, but it runs on peer bytes: a throw must not take the state machine down, and what it returns is
 * checked like anything a peer sends.
 */
export function inspectSafely(inspect: InspectPayload, payload: Uint8Array): PayloadInfo | null {
  let info: PayloadInfo | null;
  try {
    info = inspect(payload);
  } catch {
    return null;
  }
  if (info === null || !isWellFormedInstance(info.instance) || !isWellFormedDigest(info.digest)) return null;
  return info;
}
