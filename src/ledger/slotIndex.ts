/**
 * Waiting transfers by (source account, seq): at most one per slot. Keyed by account, then by seq, so a lookup
 * builds no `source:seq` string: the ledger asks about a slot several times per delivered transfer (status,
 * admission, conflict, successor), and a fresh string key is hashed and compared in full on every lookup. The
 * source strings come from the address cache, so their hashes are computed once.
 */
export class SlotIndex {
  private readonly bySource = new Map<string, Map<number, string>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(source: string, seq: number): string | undefined {
    return this.bySource.get(source)?.get(seq);
  }

  has(source: string, seq: number): boolean {
    return this.bySource.get(source)?.has(seq) ?? false;
  }

  set(source: string, seq: number, id: string): void {
    let slots = this.bySource.get(source);
    if (slots === undefined) {
      slots = new Map();
      this.bySource.set(source, slots);
    }
    if (!slots.has(seq)) this.count++;
    slots.set(seq, id);
  }

  delete(source: string, seq: number): void {
    const slots = this.bySource.get(source);
    if (slots === undefined || !slots.delete(seq)) return;
    this.count--;
    // An account with nothing waiting keeps no map: the index is as large as what waits.
    if (slots.size === 0) this.bySource.delete(source);
  }
}
