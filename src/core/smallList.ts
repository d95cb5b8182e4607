/**
 * A list that keeps its first two items in fields of its own and makes an array only for a third.
 *
 * Why: a node keeps a few short lists per transfer in flight (a slot's commitment entries, the records that
 * hold them: one or two items each), and they live as long as the transfer does, so a scavenge copies them.
 * An empty `[]` given one item by `push` gets room for 17 (V8 grows a backing store by half plus 16): an
 * array of one or two items costs ≈ 180 bytes and two objects, this ≈ 40 bytes and one.
 */
export class SmallList<T> {
  private count = 0;
  private first: T | undefined;
  private second: T | undefined;
  private rest: T[] | undefined;

  get length(): number {
    return this.count;
  }

  /** The item at `index` (0 ≤ index < length). */
  at(index: number): T {
    if (!(index >= 0 && index < this.count))
      throw new RangeError(`index ${index} outside 0..${this.count - 1}`);
    if (index === 0) return this.first as T;
    if (index === 1) return this.second as T;
    return this.rest![index - 2]!;
  }

  /** The last item, or undefined if the list is empty. */
  last(): T | undefined {
    return this.count === 0 ? undefined : this.at(this.count - 1);
  }

  push(item: T): void {
    if (this.count === 0) this.first = item;
    else if (this.count === 1) this.second = item;
    else {
      this.rest ??= [];
      this.rest.push(item);
    }
    this.count++;
  }

  clear(): void {
    this.count = 0;
    this.first = undefined;
    this.second = undefined;
    this.rest = undefined;
  }

  some(predicate: (item: T) => boolean): boolean {
    for (let i = 0; i < this.count; i++) if (predicate(this.at(i))) return true;
    return false;
  }

  /** Calls `fn` for every item in order, with no iterator. */
  forEach(fn: (item: T) => void): void {
    for (let i = 0; i < this.count; i++) fn(this.at(i));
  }
}
