/** Inserts into an insertion-ordered map used as a bounded cache, evicting the oldest entry. */
export function remember<K, V>(cache: Map<K, V>, key: K, value: V, maxEntries: number): void {
  if (cache.size >= maxEntries && !cache.has(key)) cache.delete(cache.keys().next().value as K);
  cache.set(key, value);
}
