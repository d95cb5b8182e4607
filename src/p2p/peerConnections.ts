import type { Libp2p } from "@libp2p/interface";
import type { PeerId } from "../core/peerId.ts";
import { parsePeerId } from "./transportOptions.ts";

/** Resets every connection to `peer` now (a ban, a testing partition): nothing is flushed. */
export function abortConnections(node: Libp2p | undefined, peer: PeerId, reason: Error): void {
  for (const connection of node?.getConnections(parsePeerId(peer)) ?? []) connection.abort(reason);
}

/**
 * Closes every connection to `peer` gracefully, aborting those that do not close within `timeoutMs`. Not
 * libp2p's hangUp: it can leave one of two simultaneously opened connections open.
 */
export async function closeConnections(
  node: Libp2p | undefined,
  peer: PeerId,
  timeoutMs: number,
): Promise<void> {
  const connections = node?.getConnections(parsePeerId(peer)) ?? [];
  await Promise.all(
    connections.map((c) =>
      c.close({ signal: AbortSignal.timeout(timeoutMs) }).catch((err: Error) => c.abort(err)),
    ),
  );
}
