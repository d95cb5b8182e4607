import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export interface PlotPoint {
  readonly x: number;
  readonly y: number;
  readonly series: string;
}

export interface LinePlot {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly points: readonly PlotPoint[];
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Draw points only (a scatter), e.g. observed rates against a bound. */
  readonly pointsOnly?: boolean;
  /** Series drawn dashed (e.g. a reference curve), the rest solid. */
  readonly dashedSeries?: readonly string[];
}

/** Renders a line (or scatter) chart as a standalone SVG with vega-lite; no browser or canvas needed. */
export async function renderSvg(plot: LinePlot): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: plot.title,
    width: 480,
    height: 300,
    background: "white",
    data: {
      values: plot.points.map((p) => ({ ...p, dashed: plot.dashedSeries?.includes(p.series) === true })),
    },
    mark: plot.pointsOnly ? { type: "point", filled: true, size: 60 } : { type: "line", point: true },
    encoding: {
      x: {
        field: "x",
        type: "quantitative",
        title: plot.xTitle,
        scale: plot.logX ? { type: "log" } : { zero: false },
      },
      y: { field: "y", type: "quantitative", title: plot.yTitle, scale: plot.logY ? { type: "log" } : {} },
      color: { field: "series", type: "nominal", title: null },
      ...(plot.dashedSeries === undefined
        ? {}
        : {
            strokeDash: {
              field: "dashed",
              type: "nominal",
              legend: null,
              scale: {
                domain: [false, true],
                range: [
                  [1, 0],
                  [6, 4],
                ],
              },
            },
          }),
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
