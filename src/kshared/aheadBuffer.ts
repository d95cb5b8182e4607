import type { CommitteeMessage, OwnerIndex } from "./committeeTypes.ts";

/**
 * Messages for the seq after the current one, held until the current seq is decided (then replayed):
 * the others often finish a seq a few milliseconds earlier. At most `perOwner` per sending owner.
 */
export class AheadBuffer {
  private messages = new Map<OwnerIndex, CommitteeMessage[]>();
  private readonly perOwner: number;

  constructor(perOwner: number) {
    this.perOwner = perOwner;
  }

  /** False if this owner's share is full. */
  add(from: OwnerIndex, message: CommitteeMessage): boolean {
    const held = this.messages.get(from) ?? [];
    if (held.length >= this.perOwner) return false;
    held.push(message);
    this.messages.set(from, held);
    return true;
  }

  /** Everything held, emptying the buffer. */
  take(): [OwnerIndex, CommitteeMessage][] {
    const taken = [...this.messages].flatMap(([from, list]) =>
      list.map((m): [OwnerIndex, CommitteeMessage] => [from, m]),
    );
    this.messages = new Map();
    return taken;
  }
}
