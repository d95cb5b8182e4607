/**
 * The interned copy of `text`: V8 keeps one flat string per content in its string table, and two interned
 * strings are equal exactly when they are the same object, so `===` and map lookups between them never look
 * at the characters.
 *
 * Why it matters: a string built by concatenation (a template literal, bech32's encoder) is a *cons* string,
 * a tree of its pieces. Compared with an equal string that is not the same object, V8 leaves its fast path
 * for the C++ runtime, which walks both (`Runtime_StringEqual` → `String::SlowEquals`).
 *
 * V8 interns every string it uses as a property name; this borrows that, at the cost of one small object and
 * an insertion into V8's string table: ≈ 1.5 µs in a microbenchmark, up to ≈ 4 µs in a loaded node, whose
 * table is large. So it suits values made rarely and compared often — addresses, spelled once per cache
 * entry — not one per transfer: instance keys are flat strings instead (`instanceKey`). An integer-like text
 * is stored as an element rather than a name and comes back equal but not interned: only slower, never wrong.
 */
export function internString(text: string): string {
  return Object.keys({ [text]: 0 })[0]!;
}
