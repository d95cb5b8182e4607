/**
 * Inserts into an insertion-ordered map used as a bounded cache: a new key in a full map evicts the oldest
 * entry; a key already there keeps its place and only takes the new value.
 */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V, maxEntries: number): void {
  if (cache.size >= maxEntries && !cache.has(key)) cache.delete(cache.keys().next().value as K);
  cache.set(key, value);
}
