import { ErrorCode, TallyError } from "../core/errors.ts";
import { type ProtocolSpec, validateProtocolSpec } from "./protocolSpec.ts";

/** The protocols this node speaks, by wire code and by id; codes and ids are unique. */
export class ProtocolRegistry {
  private readonly byCodeMap = new Map<number, ProtocolSpec>();
  private readonly byIdMap = new Map<string, ProtocolSpec>();

  constructor(specs: readonly ProtocolSpec[] = []) {
    for (const spec of specs) this.register(spec);
  }

  register(spec: ProtocolSpec): void {
    validateProtocolSpec(spec);
    const clash = this.byCodeMap.get(spec.code) ?? this.byIdMap.get(spec.id);
    if (clash !== undefined) {
      throw new TallyError(
        ErrorCode.ChannelDuplicateProtocol,
        `protocol ${spec.id} (code ${spec.code}) clashes with ${clash.id} (code ${clash.code})`,
        { id: spec.id, code: spec.code },
      );
    }
    this.byCodeMap.set(spec.code, spec);
    this.byIdMap.set(spec.id, spec);
  }

  byCode(code: number): ProtocolSpec | undefined {
    return this.byCodeMap.get(code);
  }

  byId(id: string): ProtocolSpec | undefined {
    return this.byIdMap.get(id);
  }

  /** Like `byId`, for local callers naming a protocol they registered: a miss is a programming error. */
  require(id: string): ProtocolSpec {
    const spec = this.byIdMap.get(id);
    if (spec === undefined) {
      throw new TallyError(ErrorCode.ChannelUnknownProtocol, `protocol ${id} is not registered`, { id });
    }
    return spec;
  }

  /** For `GET /v1/node`: what this node speaks, ordered by code. */
  list(): { id: string; version: number }[] {
    return [...this.byCodeMap.values()]
      .sort((a, b) => a.code - b.code)
      .map((s) => ({ id: s.id, version: s.version }));
  }

  all(): ProtocolSpec[] {
    return [...this.byCodeMap.values()];
  }
}
