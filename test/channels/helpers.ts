import { Channels, type ChannelsOptions } from "../../src/channels/channels.ts";
import type { ChannelCodec, InboundBudget, ProtocolSpec } from "../../src/channels/protocolSpec.ts";
import { ErrorCode, TallyError } from "../../src/core/errors.ts";

/** Bodies are raw bytes; an empty body is "malformed" so tests can provoke decode failures. */
export const rawCodec: ChannelCodec<Uint8Array> = {
  encode: (v) => v,
  decode: (b) => {
    if (b.length === 0) throw new TallyError(ErrorCode.ChannelMalformedBody, "empty body");
    return b;
  },
};

/** u32be counter bodies, so tests can check order and completeness. */
export const counterCodec: ChannelCodec<number> = {
  encode: (n) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  },
  decode: (b) => {
    if (b.length !== 4) throw new TallyError(ErrorCode.ChannelMalformedBody, "expected 4 bytes");
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  },
};

export function budget(
  maxQueuedMessages: number,
  maxQueuedBytes = 1 << 30,
  maxMessagesPerSecond = 1e9,
): InboundBudget {
  return { maxQueuedMessages, maxQueuedBytes, maxMessagesPerSecond };
}

export function gossipSpec(over: Partial<ProtocolSpec> = {}): ProtocolSpec {
  return {
    id: "broadcast",
    code: 1,
    version: 1,
    access: "members",
    budget: { member: budget(1_000), stranger: budget(16) },
    message: counterCodec,
    ...over,
  };
}

export function syncSpec(over: Partial<ProtocolSpec> = {}): ProtocolSpec {
  return {
    id: "sync",
    code: 3,
    version: 2,
    access: "anyone",
    budget: { member: budget(100), stranger: budget(10) },
    request: { request: rawCodec, response: rawCodec, timeoutMs: 1_000, maxOutstandingPerPeer: 4 },
    ...over,
  };
}

export const MEMBERS = ["A", "B", "C", "D", "F"];

export function makeChannels(over: Partial<ChannelsOptions> = {}): Channels {
  const members = new Set(MEMBERS);
  return new Channels({
    protocols: [gossipSpec(), syncSpec()],
    isMember: (p) => members.has(p),
    ...over,
  });
}
