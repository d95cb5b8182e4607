/** A parsed JSON object (not null, not an array): what a strict reader of JSON input checks before its fields. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
