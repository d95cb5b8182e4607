import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AddressVersion, encodeAddress } from "../../src/core/address.ts";
import {
  decodeStatusResponse,
  encodeStatusResponse,
  type ProtocolVersion,
} from "../../src/protocols/status/statusMessages.ts";
import {
  answerStatus,
  checkCompatible,
  type StatusIdentity,
} from "../../src/protocols/status/statusProtocol.ts";
import { WatermarkSummary } from "../../src/protocols/status/watermarkSummary.ts";

const GENESIS = "5a".repeat(32);
const BROADCAST = 1;
const STATUS = 2;

function identity(protocols: ProtocolVersion[], overrides: Partial<StatusIdentity> = {}): StatusIdentity {
  return { network: "tally-devnet", genesis: GENESIS, protocols, ...overrides };
}

describe("answering a status request", () => {
  it("reports network, genesis, sorted protocols and the current summary, and survives the wire", () => {
    const key = new Uint8Array(32).fill(7);
    const summary = WatermarkSummary.fromWatermarks([[encodeAddress(AddressVersion.Ed25519, key), 4]]);
    const response = answerStatus(
      {},
      {
        network: "tally-devnet",
        genesis: GENESIS,
        protocols: [
          { id: STATUS, version: 1 },
          { id: BROADCAST, version: 2 },
          { id: BROADCAST, version: 1 },
          { id: STATUS, version: 1 },
        ],
        watermarks: summary,
      },
    );
    assert.deepEqual(response.protocols, [
      { id: BROADCAST, version: 1 },
      { id: BROADCAST, version: 2 },
      { id: STATUS, version: 1 },
    ]);
    assert.equal(response.watermarks, summary.snapshot(), "the shared snapshot, not a copy");
    assert.deepEqual(decodeStatusResponse(encodeStatusResponse(response)), response);
  });
});

describe("judging a peer's status", () => {
  const ours = identity([
    { id: BROADCAST, version: 1 },
    { id: BROADCAST, version: 2 },
    { id: STATUS, version: 1 },
  ]);

  it("agrees on the highest version both sides speak of every shared protocol", () => {
    const theirs = identity([
      { id: BROADCAST, version: 1 },
      { id: BROADCAST, version: 2 },
      { id: BROADCAST, version: 3 },
      { id: STATUS, version: 1 },
      { id: 9, version: 1 },
    ]);
    assert.deepEqual(checkCompatible(ours, theirs, [BROADCAST, STATUS]), {
      kind: "compatible",
      agreed: [
        { id: BROADCAST, version: 2 },
        { id: STATUS, version: 1 },
      ],
    });
  });

  it("names a different network before anything else", () => {
    const theirs = identity([{ id: 9, version: 9 }], { network: "tally-main", genesis: "00".repeat(32) });
    assert.deepEqual(checkCompatible(ours, theirs), {
      kind: "wrongNetwork",
      ours: "tally-devnet",
      theirs: "tally-main",
    });
  });

  it("names a different genesis on the same network", () => {
    const theirs = identity(ours.protocols.slice(), { genesis: "00".repeat(32) });
    assert.deepEqual(checkCompatible(ours, theirs), {
      kind: "wrongGenesis",
      ours: GENESIS,
      theirs: "00".repeat(32),
    });
  });

  it("reports no common protocol when nothing is shared or a required protocol lacks a shared version", () => {
    assert.deepEqual(checkCompatible(ours, identity([{ id: BROADCAST, version: 3 }])), {
      kind: "noCommonProtocol",
      missing: [],
    });
    assert.deepEqual(
      checkCompatible(ours, identity([{ id: BROADCAST, version: 2 }]), [STATUS, BROADCAST, STATUS]),
      {
        kind: "noCommonProtocol",
        missing: [STATUS],
      },
    );
  });
});
