import { ErrorCode, TallyError } from "../core/errors.ts";

/**
 * The cursor of an account's history pages: the node's history position of the last entry handed out, in
 * decimal. Positions only grow (every resolved transfer appends above all earlier ones), so "older than the
 * cursor" names the same entries however many transfers land meanwhile. A cursor is meaningful only on the
 * node that issued it; clients treat it as opaque.
 */

/** Positions are stored as 16 decimal digits (storage/buckets.ts `sortableNumber`). */
const CURSOR_SHAPE = /^[1-9][0-9]{0,15}$/;

export function encodeHistoryCursor(position: number): string {
  return String(position);
}

export function decodeHistoryCursor(cursor: string): number {
  const position = Number(cursor);
  if (!CURSOR_SHAPE.test(cursor) || !Number.isSafeInteger(position)) {
    throw new TallyError(ErrorCode.InvalidCursor, "before: not a history cursor this API hands out");
  }
  return position;
}
