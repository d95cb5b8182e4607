/**
 * JSON schemas of the REST contract (docs/api.md). They drive request validation and the OpenAPI
 * document at /openapi.json; the wallet's client types mirror them in src/wallet/nodeClient.ts.
 */
export const errorSchema = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

export const hexId = { type: "string", pattern: "^[0-9a-f]{64}$" } as const;
const address = {
  type: "string",
  pattern: "^tly1[02-9ac-hj-np-z]{59}$",
  description: "bech32m address, prefix tly",
} as const;
const amount = {
  type: "string",
  pattern: "^(0|[1-9][0-9]*)$",
  description: "non-negative integer as a decimal string",
} as const;

const hex = (bytes: number) => ({ type: "string", pattern: `^[0-9a-f]{${bytes * 2}}$` }) as const;

/**
 * A shared source's owners, the owner whose request was decided, and their commit certificate (docs/kshared.md,
 * "Certified transfers").
 */
const sharedAuthorization = {
  type: "object",
  additionalProperties: false,
  required: ["definition", "requester", "certificate"],
  properties: {
    definition: {
      type: "object",
      additionalProperties: false,
      required: ["owners", "label"],
      properties: {
        owners: { type: "array", minItems: 1, maxItems: 32, items: hex(32) },
        label: { type: "string" },
      },
    },
    requester: { type: "integer", minimum: 0, maximum: 31 },
    certificate: {
      type: "object",
      additionalProperties: false,
      required: ["round", "signers", "signatures"],
      properties: {
        round: { type: "integer", minimum: 0 },
        signers: {
          type: "array",
          minItems: 1,
          maxItems: 32,
          items: { type: "integer", minimum: 0, maximum: 31 },
        },
        signatures: { type: "array", minItems: 1, maxItems: 32, items: hex(64) },
      },
    },
  },
} as const;

/** Fields of the JSON view: a single-key source has `signature`, a shared source `authorization`. */
const transferJsonShape = {
  type: "object",
  additionalProperties: false,
  required: ["version", "network", "source", "seq", "outputs"],
  properties: {
    version: { type: "integer" },
    network: { type: "string" },
    source: address,
    seq: { type: "integer", minimum: 1 },
    outputs: {
      type: "array",
      minItems: 1,
      maxItems: 64,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["to", "amount"],
        properties: { to: address, amount },
      },
    },
    deps: { type: "array", maxItems: 256, items: hexId },
    memo: { type: "string" },
    signature: hex(64),
    authorization: sharedAuthorization,
  },
} as const;

/** What POST /v1/transfers accepts: exactly one of `signature` and `authorization`. */
export const transferJsonSchema = {
  ...transferJsonShape,
  oneOf: [{ required: ["signature"] }, { required: ["authorization"] }],
} as const;

const rejection = {
  type: "object",
  required: ["code", "message"],
  properties: { code: { type: "string" }, message: { type: "string" } },
} as const;

export const transferStatus = {
  type: "string",
  enum: ["pending", "delivered", "applied", "rejected"],
} as const;

export const submitResponseSchema = {
  type: "object",
  required: ["id", "status"],
  properties: { id: hexId, status: transferStatus },
} as const;

export const transferViewSchema = {
  type: "object",
  required: ["id", "status", "transfer"],
  properties: { id: hexId, status: transferStatus, reason: rejection, transfer: transferJsonShape },
} as const;

export const accountSchema = {
  type: "object",
  required: ["address", "balance", "nextSeq", "pendingDeps"],
  properties: {
    address,
    balance: amount,
    nextSeq: { type: "integer" },
    pendingDeps: { type: "array", items: hexId },
    /** A shared account's definition, when this node knows it (it hosts an owner, or applied a certified transfer). */
    definition: {
      type: "object",
      required: ["owners", "label"],
      properties: { owners: { type: "array", items: { type: "string" } }, label: { type: "string" } },
    },
  },
} as const;

export const proposalRequestSchema = {
  type: "object",
  required: ["to", "amount", "issuedAtMs", "signature"],
  additionalProperties: false,
  properties: {
    to: address,
    amount: { ...amount, maxLength: 39 },
    memo: { type: "string", maxLength: 255 },
    issuedAtMs: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    signature: hex(64),
  },
} as const;

export const proposalSubmittedSchema = {
  type: "object",
  required: ["proposal", "status"],
  properties: { proposal: hexId, status: { type: "string" } },
} as const;

export const proposalListSchema = {
  type: "object",
  required: ["address", "proposals"],
  properties: {
    address,
    proposals: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "seq", "status", "to", "amount"],
        properties: {
          id: hexId,
          seq: { type: "integer" },
          status: { type: "string", enum: ["pending", "decided", "applied", "rejected", "superseded"] },
          transferId: hexId,
          supersededBy: hexId,
          to: address,
          amount,
        },
      },
    },
  },
} as const;

/** `GET /v1/shared/:address/evidence` (src/kshared/evidenceJson.ts): one object shape for the three kinds. */
export const sharedEvidenceSchema = {
  type: "object",
  required: ["address", "equivocations", "proofs"],
  properties: {
    address,
    equivocations: { type: "integer", minimum: 0 },
    proofs: {
      type: "array",
      items: {
        type: "object",
        required: ["kind", "owner", "ownerKey", "seq", "round", "signatures"],
        properties: {
          kind: { type: "string", enum: ["vote", "timeout", "proposal"] },
          owner: { type: "integer", minimum: 0 },
          ownerKey: hex(32),
          phase: { type: "string", enum: ["prepare", "commit"] },
          seq: { type: "integer" },
          round: { type: "integer" },
          digests: { type: "array", items: hexId },
          requesters: { type: "array", items: { type: "integer" } },
          highPrepareRounds: { type: "array", items: { type: ["integer", "null"] } },
          signatures: { type: "array", items: hex(64) },
        },
      },
    },
  },
} as const;

export const accountTransfersSchema = {
  type: "object",
  required: ["address", "transfers"],
  properties: {
    address,
    /** Absent on the last page; pass it back as `before` for the next (older) page. */
    next: { type: "string" },
    transfers: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "status", "direction", "transfer"],
        properties: {
          id: hexId,
          status: transferStatus,
          direction: { type: "string", enum: ["in", "out"] },
          reason: rejection,
          transfer: transferJsonSchema,
        },
      },
    },
  },
} as const;

export const nodeInfoSchema = {
  type: "object",
  required: ["peerId", "version", "network", "broadcast", "peers", "protocols"],
  properties: {
    peerId: { type: "string" },
    version: { type: "string" },
    network: { type: "string" },
    genesis: { type: "string" },
    byzantine: {
      type: "string",
      description: "testing only: the misbehaviour this devnet node was told to adopt",
    },
    broadcast: {
      type: "object",
      properties: {
        mode: { type: "string", enum: ["bracha", "contagion"] },
        params: { type: "object", additionalProperties: { type: "integer" } },
      },
    },
    peers: {
      type: "object",
      properties: { connected: { type: "integer" }, members: { type: "integer" } },
    },
    sync: {
      type: "object",
      description:
        "catch-up: synced or syncing, resolved transfers behind its peers, transfers fetched so far",
      properties: {
        state: { type: "string", enum: ["synced", "syncing"] },
        behind: { type: "integer" },
        fetched: { type: "integer" },
      },
    },
    protocols: {
      type: "array",
      description: "the protocols this node speaks over its peer connections, with their versions",
      items: {
        type: "object",
        required: ["id", "version"],
        properties: { id: { type: "string" }, version: { type: "integer" } },
      },
    },
  },
} as const;

export const idParams = { type: "object", required: ["id"], properties: { id: hexId } } as const;
export const addressParams = {
  type: "object",
  required: ["address"],
  properties: { address: { type: "string" } },
} as const;
