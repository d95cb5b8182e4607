import type { EncodedTransfer } from "../../core/transfer.ts";

/**
 * Transfers this node's API accepted and is broadcasting, indexed by id and by (source, seq) so a
 * delivery can settle every submission for its slot — including a losing double-spend twin — at once.
 */
export class SubmittedTransfers {
  private readonly byId = new Map<string, EncodedTransfer>();
  private readonly bySlot = new Map<string, Set<string>>();

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Oldest first. */
  values(): MapIterator<EncodedTransfer> {
    return this.byId.values();
  }

  get(id: string): EncodedTransfer | undefined {
    return this.byId.get(id);
  }

  add(encoded: EncodedTransfer): void {
    this.byId.set(encoded.id, encoded);
    const slot = slotKey(encoded.transfer.source, encoded.transfer.seq);
    let ids = this.bySlot.get(slot);
    if (ids === undefined) {
      ids = new Set();
      this.bySlot.set(slot, ids);
    }
    ids.add(encoded.id);
  }

  remove(id: string): void {
    const encoded = this.byId.get(id);
    if (encoded === undefined) return;
    this.byId.delete(id);
    const slot = slotKey(encoded.transfer.source, encoded.transfer.seq);
    const ids = this.bySlot.get(slot);
    ids?.delete(id);
    if (ids?.size === 0) this.bySlot.delete(slot);
  }

  /** Whether any submission for (source, seq) is here. */
  hasSlot(source: string, seq: number): boolean {
    return this.bySlot.has(slotKey(source, seq));
  }

  /** Removes and returns every submission for (source, seq). */
  takeSlot(source: string, seq: number): EncodedTransfer[] {
    const slot = slotKey(source, seq);
    const ids = this.bySlot.get(slot);
    if (ids === undefined) return [];
    this.bySlot.delete(slot);
    const out: EncodedTransfer[] = [];
    for (const id of ids) {
      const encoded = this.byId.get(id);
      this.byId.delete(id);
      if (encoded !== undefined) out.push(encoded);
    }
    return out;
  }
}

function slotKey(source: string, seq: number): string {
  return `${source}:${seq}`;
}
