/**
 * The interned copy of `text`: V8 keeps one flat string per content in its string table, and two interned
 * strings are equal exactly when they are the same object, so `===` and map lookups between them never look
 * at the characters.
 *
 * Why it matters: a string built by concatenation (a template literal, bech32's encoder) is a *cons* string,
 * a tree of its pieces. Compared with an equal string that is not the same object, V8 leaves its fast path
 * for the C++ runtime, which walks both (`Runtime_StringEqual` → `String::SlowEquals`). Counted with
 * `npm run bench:instructions`, instance keys and addresses did that ≈ 40 of the ≈ 70 times per transfer per
 * node it happened.
 *
 * V8 interns every string it uses as a property name; this borrows that, at the cost of one small object,
 * so callers intern what they cache (once per value), not on every lookup. An integer-like text is stored as
 * an element rather than a name and comes back equal but not interned: only slower, never wrong.
 */
export function internString(text: string): string {
  return Object.keys({ [text]: 0 })[0]!;
}
