import { ErrorCode, TallyError } from "../../core/errors.ts";

/** Options come from the node's config, tests and the simulator: each is checked once, at construction. */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw configError(`${name}: a positive integer`);
  return value;
}

export function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw configError(`${name}: a non-negative integer`);
  return value;
}

export function positiveNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw configError(`${name}: a positive number`);
  return value;
}

export function configError(message: string, meta?: Record<string, unknown>): TallyError {
  return new TallyError(ErrorCode.InvalidConfig, `broadcast: ${message}`, meta);
}
