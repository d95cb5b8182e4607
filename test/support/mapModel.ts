import assert from "node:assert/strict";
import fc from "fast-check";

/** What a map under test shares with `Map`: the model it is checked against. */
export interface MapLike<K, V> extends Iterable<[K, V]> {
  readonly size: number;
  get(key: K): V | undefined;
  has(key: K): boolean;
  set(key: K, value: V): unknown;
  delete(key: K): boolean;
}

type MapOp = { readonly kind: "set" | "delete" | "get"; readonly key: number; readonly value: number };

/** Random sets, deletes and gets over keys 0..maxKey. */
export function mapOps(maxKey: number, maxLength: number): fc.Arbitrary<MapOp[]> {
  return fc.array(
    fc.record({
      kind: fc.constantFrom<MapOp["kind"]>("set", "set", "delete", "get"),
      key: fc.integer({ min: 0, max: maxKey }),
      value: fc.integer(),
    }),
    { maxLength },
  );
}

/**
 * Applies `sequence` to `map` and to a `Map`, checking after every operation that they answer, size and
 * iterate alike; `alsoCheck` compares what else the map offers.
 */
export function checkAgainstMap<M extends MapLike<number, number>>(
  map: M,
  sequence: readonly MapOp[],
  alsoCheck: (map: M, model: Map<number, number>) => void,
): void {
  const model = new Map<number, number>();
  for (const op of sequence) {
    if (op.kind === "set") {
      map.set(op.key, op.value);
      model.set(op.key, op.value);
    } else if (op.kind === "delete") assert.equal(map.delete(op.key), model.delete(op.key));
    else assert.equal(map.get(op.key), model.get(op.key));
    assert.equal(map.has(op.key), model.has(op.key));
    assert.equal(map.size, model.size);
    assert.deepEqual([...map], [...model]);
    alsoCheck(map, model);
  }
}
