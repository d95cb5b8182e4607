import sodium from "sodium-native";
import { ErrorCode, TallyError } from "../core/errors.ts";
import { decodeTransfer } from "../core/transfer.ts";
import { sodiumVerifier } from "../crypto/ed25519Sodium.ts";
import { SignatureAuthorizer } from "../ledger/authorization.ts";
import { Ledger } from "../ledger/ledger.ts";
import { openDatabase, writeBatch } from "../storage/database.ts";
import { LevelLedgerStore } from "../storage/levelLedgerStore.ts";
import { type RingWorkload, ringWorkload } from "./ringWorkload.ts";

export interface IngestBenchOptions {
  /** Distinct signed transfers to ingest. */
  readonly transfers: number;
  /** Transfers per fsynced LevelDB batch: the node's maxEventsPerBatch. */
  readonly batch: number;
  /** An empty or absent directory for the LevelDB; the caller removes it. */
  readonly dir: string;
}

export interface IngestBenchResult {
  readonly transfers: number;
  /** libsodium's crypto_sign_verify_detached over the same signatures: the per-core ceiling. */
  readonly rawVerifyPerSec: number;
  /** Decode → verify → validate + apply → fsynced batch write, per second. */
  readonly ingestPerSec: number;
  /** ingestPerSec / rawVerifyPerSec. */
  readonly ratio: number;
  readonly batch: number;
  /** Checked after the clock stops: the reopened database holds every transfer as applied. */
  readonly persisted: true;
}

/**
 * One node's hot path for delivered transfers, measured against raw signature verification on the same
 * inputs. Everything is signed before either clock starts; the ingest clock covers what the node does per
 * delivered transfer (decode, the ledger's signature check and validation, its queued writes) and one
 * fsynced `writeBatch` per `batch` transfers, as the node's processing loop commits one per step.
 */
export async function runIngestBench(options: IngestBenchOptions): Promise<IngestBenchResult> {
  const { transfers: count, batch, dir } = options;
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError("transfers must be an integer ≥ 1");
  if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError("batch must be an integer ≥ 1");
  const workload = ringWorkload(count);
  const rawVerifyPerSec = rawVerifyRate(workload);
  const ingestPerSec = await ingestRate(workload, batch, dir);
  await checkPersisted(workload, dir);
  return {
    transfers: count,
    rawVerifyPerSec,
    ingestPerSec,
    ratio: ingestPerSec / rawVerifyPerSec,
    batch,
    persisted: true,
  };
}

function rawVerifyRate(workload: RingWorkload): number {
  // Buffers prepared up front: only the verification itself is on the clock.
  const inputs = workload.transfers.map((t, i) => ({
    signature: Buffer.from(t.transfer.signature),
    body: Buffer.from(t.body),
    publicKey: workload.publicKeys[i]!,
  }));
  let valid = 0;
  const start = performance.now();
  for (const { signature, body, publicKey } of inputs) {
    if (sodium.crypto_sign_verify_detached(signature, body, publicKey)) valid++;
  }
  const seconds = (performance.now() - start) / 1000;
  if (valid !== inputs.length) {
    throw new TallyError(
      ErrorCode.BenchIncomplete,
      `${inputs.length - valid} bench signatures did not verify`,
    );
  }
  return inputs.length / seconds;
}

async function ingestRate(workload: RingWorkload, batch: number, dir: string): Promise<number> {
  const db = await openDatabase(dir);
  try {
    const store = await LevelLedgerStore.open(db);
    // The node's wiring (assembleCore.ts): a fresh verified-signature cache, so every transfer is verified.
    const ledger = new Ledger(workload.genesis, store, new SignatureAuthorizer(sodiumVerifier));
    await writeBatch(db, store.takeQueued()); // the genesis accounts, off the clock
    const wire = workload.transfers.map((t) => t.bytes);
    let applied = 0;
    const start = performance.now();
    for (let from = 0; from < wire.length; from += batch) {
      const end = Math.min(wire.length, from + batch);
      for (let i = from; i < end; i++) {
        for (const change of ledger.deliver(decodeTransfer(wire[i]!))) {
          if (change.status === "applied") applied++;
        }
      }
      await writeBatch(db, store.takeQueued());
      store.settleTaken();
    }
    const seconds = (performance.now() - start) / 1000;
    if (applied !== wire.length) {
      throw new TallyError(ErrorCode.BenchIncomplete, `${applied} of ${wire.length} bench transfers applied`);
    }
    return wire.length / seconds;
  } finally {
    await db.close();
  }
}

/** Reopens the database as a restarting node would and checks every transfer's verdict reached disk. */
async function checkPersisted(workload: RingWorkload, dir: string): Promise<void> {
  const db = await openDatabase(dir);
  try {
    const store = await LevelLedgerStore.open(db);
    const missing = workload.transfers.filter((t) => store.getStatus(t.id)?.status !== "applied").length;
    if (missing > 0) {
      throw new TallyError(ErrorCode.BenchIncomplete, `${missing} bench transfers are not applied on disk`);
    }
  } finally {
    await db.close();
  }
}
