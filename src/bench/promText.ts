/**
 * Just enough of the Prometheus text exposition format to read a node's `/metrics`: sample lines
 * `name{label="value",…} number`, comments skipped. Label values are taken verbatim (the node's labels hold
 * no escaped quotes); a line that does not parse is ignored rather than failing the benchmark.
 */
export type PromSamples = ReadonlyMap<string, number>;

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/;

/** Every sample of the text, keyed by `name` or `name{labels}` exactly as written. */
export function parsePromText(text: string): PromSamples {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE_RE.exec(line);
    if (m === null) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    samples.set(`${m[1]}${m[2] ?? ""}`, value);
  }
  return samples;
}

/** One sample by name and a single label, e.g. `sample(s, "tally_p2p", "counter", "bytesOut")`; 0 if absent. */
export function sample(samples: PromSamples, name: string, label?: string, value?: string): number {
  const key = label === undefined ? name : `${name}{${label}="${value}"}`;
  return samples.get(key) ?? 0;
}
