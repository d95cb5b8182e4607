/**
 * The analysis plots of docs/analysis.md §6, as vega-lite specifications rendered to standalone SVG (no
 * browser or canvas). src/sim/plot.ts draws one mark per chart; these need layers (dashed estimates next to
 * measurements, error bars, the y = x line), so they build their own specifications.
 */

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

const WIDTH = 520;
const HEIGHT = 320;

export async function renderSpec(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export interface MessagesPoint {
  readonly nodes: number;
  readonly messages: number;
  readonly protocol: "contagion" | "Bracha";
  /** "simulated" (solid), "estimate" (dashed: messages.ts) or "estimate, distinct peers" (dotted). */
  readonly source: "simulated" | "estimate" | "estimate, distinct peers";
}

/** Messages per node per broadcast against N, both axes logarithmic; estimates dashed. */
export function messagesVsNSpec(points: readonly MessagesPoint[], title: string): TopLevelSpec {
  const data = points.map((p) => ({ ...p, series: `${p.protocol}, ${p.source}` }));
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    background: "white",
    data: { values: data },
    encoding: {
      x: { field: "nodes", type: "quantitative", title: "N (nodes)", scale: { type: "log" } },
      y: {
        field: "messages",
        type: "quantitative",
        title: "messages per node per broadcast",
        scale: { type: "log" },
      },
      color: { field: "protocol", type: "nominal", title: "protocol" },
      strokeDash: {
        field: "source",
        type: "nominal",
        title: "source",
        scale: {
          domain: ["simulated", "estimate"],
          range: [
            [1, 0],
            [6, 4],
          ],
        },
      },
      detail: { field: "series", type: "nominal" },
    },
    layer: [
      { mark: { type: "line" } },
      {
        mark: { type: "point", filled: true, size: 50 },
        encoding: {
          shape: {
            field: "source",
            type: "nominal",
            title: "source",
            scale: {
              domain: ["simulated", "estimate", "estimate, distinct peers"],
              range: ["square", "circle", "triangle-up"],
            },
            legend: { labelLimit: 200 },
          },
        },
      },
    ],
  };
}

export interface RatePoint {
  /** Echo sample size E of the scaled family. */
  readonly sampleSize: number;
  readonly byzantine: number;
  readonly property: string;
  readonly bound: number;
  /** Observed rate; null when nothing was observed (0 cannot sit on a log axis). */
  readonly observed: number | null;
  readonly upper95: number;
}

const PROPERTY_ORDER = ["validity", "consistency", "totality"];

/** Points, with the 95 % interval as a rule from the observed rate (or the floor) up to its upper end. */
function rateRows(points: readonly RatePoint[], floor: number) {
  return points.map((p) => ({
    ...p,
    panel: `f = ${p.byzantine}`,
    // Side by side instead of on top of each other: ±2 % of E per property.
    sampleShown: p.sampleSize * (1 + 0.02 * (PROPERTY_ORDER.indexOf(p.property) - 1)),
    boundShown: Math.max(p.bound, floor),
    observedShown: p.observed === null ? floor : Math.max(p.observed, floor),
    upperShown: Math.max(p.upper95, floor),
    what: p.observed === null ? "0 observed (drawn at the floor)" : "observed rate",
  }));
}

const WHAT_SHAPES = {
  domain: ["observed rate", "0 observed (drawn at the floor)"],
  range: ["circle", "triangle-down"],
};

/** The point shape by kind of point (observed rate, bound …), with its legend: the same in both rate plots. */
const WHAT_SHAPE = {
  field: "what",
  type: "nominal",
  title: null,
  scale: WHAT_SHAPES,
  legend: { labelLimit: 260 },
} as const;

/**
 * Observed violation rate (points, a rule up to the 95 % upper confidence end) and bound (dashed line)
 * against the echo sample size, one panel per Byzantine fraction, log y.
 */
export function violationsVsSampleSpec(
  points: readonly RatePoint[],
  title: string,
  floor: number,
): TopLevelSpec {
  const y = (field: string) => ({
    field,
    type: "quantitative" as const,
    title: "violations per broadcast",
    scale: { type: "log" as const, domain: [floor, 1] },
  });
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    background: "white",
    data: { values: rateRows(points, floor) },
    facet: { column: { field: "panel", type: "nominal", title: null } },
    resolve: { scale: { x: "independent" } },
    spec: {
      width: 300,
      height: HEIGHT,
      encoding: {
        x: {
          field: "sampleShown",
          type: "quantitative",
          title: "echo sample E (R, D scaled alike)",
          scale: { zero: false },
        },
        color: { field: "property", type: "nominal", title: "property", sort: PROPERTY_ORDER },
      },
      layer: [
        {
          mark: { type: "line", strokeDash: [6, 4] },
          encoding: { x: { field: "sampleSize", type: "quantitative" }, y: y("boundShown") },
        },
        {
          mark: { type: "rule", opacity: 0.6 },
          encoding: { y: y("observedShown"), y2: { field: "upperShown" } },
        },
        {
          mark: { type: "point", filled: true, size: 50 },
          encoding: {
            y: y("observedShown"),
            shape: WHAT_SHAPE,
          },
        },
      ],
    },
  };
}

/** Observed rate (a rule up to its 95 % upper end) against the bound, log–log, with the line y = x. */
export function boundVsObservedSpec(
  points: readonly RatePoint[],
  title: string,
  floor: number,
): TopLevelSpec {
  const axis = (field: string, axisTitle: string) => ({
    field,
    type: "quantitative" as const,
    title: axisTitle,
    scale: { type: "log" as const, domain: [floor, 1] },
  });
  const x = axis("boundShown", "bound (boundsFor)");
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    width: 400,
    height: 400,
    background: "white",
    layer: [
      {
        data: {
          values: [
            { boundShown: floor, observedShown: floor },
            { boundShown: 1, observedShown: 1 },
          ],
        },
        mark: { type: "line", color: "#888", strokeDash: [4, 3] },
        encoding: { x, y: axis("observedShown", "violations per broadcast") },
      },
      {
        data: { values: rateRows(points, floor) },
        encoding: {
          x,
          color: { field: "property", type: "nominal", title: "property", sort: PROPERTY_ORDER },
        },
        layer: [
          {
            mark: { type: "rule", opacity: 0.5 },
            encoding: { y: axis("observedShown", "violations per broadcast"), y2: { field: "upperShown" } },
          },
          {
            mark: { type: "point", filled: true, size: 60 },
            encoding: {
              y: axis("observedShown", "violations per broadcast"),
              shape: WHAT_SHAPE,
            },
          },
        ],
      },
    ],
  };
}
