import type { PeerId } from "../core/peerId.ts";
import type { ChannelAction, Channels } from "./channels.ts";
import type { WireErrorName } from "./envelope.ts";
import type { InboundItem } from "./inboundScheduler.ts";
import type { ProtocolSpec } from "./protocolSpec.ts";

/**
 * What a node does with one protocol's admitted traffic: one callback per kind the protocol has, each given the
 * decoded body and returning what the node should act on (`Out`, e.g. an event for its core), or nothing.
 * A protocol joins a node with its spec (codecs, access, budgets) and its handler — nothing else changes.
 */
export interface ProtocolHandler<M, Req, Res, Out> {
  readonly spec: ProtocolSpec<M, Req, Res>;
  onMessage?(from: PeerId, message: M, nowMs: number): Out | undefined;
  onRequest?(from: PeerId, requestId: number, request: Req, nowMs: number): Out | undefined;
  onResponse?(from: PeerId, requestId: number, response: Res, nowMs: number): Out | undefined;
  onError?(
    from: PeerId,
    requestId: number,
    error: { code: WireErrorName; text: string },
    nowMs: number,
  ): void;
}

/** A handler with its body types sealed in, so handlers of different protocols share one table. */
export interface BoundHandler<Out> {
  readonly spec: ProtocolSpec;
  /** Decodes the item with the spec's codec for its kind and calls the handler; a bad body yields actions. */
  handle(channels: Channels, item: InboundItem, nowMs: number): { out?: Out; actions?: ChannelAction[] };
}

export function bindHandler<M, Req, Res, Out>(handler: ProtocolHandler<M, Req, Res, Out>): BoundHandler<Out> {
  const { spec } = handler;
  const decoded = <T, R>(
    channels: Channels,
    item: InboundItem,
    codec: { decode(b: Uint8Array): T; encode(v: T): Uint8Array } | undefined,
    nowMs: number,
    use: (value: T) => R | undefined,
  ): { out?: R; actions?: ChannelAction[] } => {
    // Admission already refused kinds the spec lacks; a handler without the callback ignores the kind.
    if (codec === undefined) return {};
    const result = channels.decodeItem(item, codec, nowMs);
    if (!result.ok) return { actions: result.actions };
    const out = use(result.value);
    return out === undefined ? {} : { out };
  };
  return {
    spec: spec as ProtocolSpec,
    handle(channels, item, nowMs) {
      const { from, requestId } = item;
      switch (item.kind) {
        case "message":
          return decoded(channels, item, spec.message, nowMs, (m) => handler.onMessage?.(from, m, nowMs));
        case "request":
          return decoded(channels, item, spec.request?.request, nowMs, (r) =>
            handler.onRequest?.(from, requestId, r, nowMs),
          );
        case "response":
          return decoded(channels, item, spec.request?.response, nowMs, (r) =>
            handler.onResponse?.(from, requestId, r, nowMs),
          );
        case "error":
          if (item.error !== undefined) handler.onError?.(from, requestId, item.error, nowMs);
          return {};
      }
    },
  };
}
