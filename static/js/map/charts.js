// Charts with uPlot: area held by each faction over time and events per week by type. The slider
// date is drawn as a vertical line; clicking a chart moves the slider to the date under the cursor.
import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { parseISO, toISO } from "./dates.js";
import { formatDate, formatNumber, t } from "./i18n.js";

function seconds(iso) {
  return parseISO(iso) / 1000;
}

export function createChart(container, { steps, series, onPick, bars = false, height = 170 }) {
  let marked = null;
  const xs = steps.map(seconds);
  const barPaths = bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 24] }) : undefined;
  const options = {
    width: Math.max(240, container.clientWidth || 300),
    height,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: true } },
    axes: [
      {
        stroke: "#444",
        grid: { stroke: "#eee" },
        ticks: { stroke: "#ccc" },
        // Dates in the page's language: days and months for short periods, months and years beyond.
        values: (u, splits, axis, space, increment) => splits.map((v) => (v == null ? "" : formatDate(
          toISO(v * 1000), increment >= 28 * 86400 ? "monthYear" : "dayMonth"))),
      },
      {
        stroke: "#444",
        grid: { stroke: "#eee" },
        ticks: { stroke: "#ccc" },
        size: 48,
        values: (u, values) => values.map((v) => (Math.abs(v) >= 1000 ? `${formatNumber(Math.round(v / 1000))}k` : formatNumber(v))),
      },
    ],
    series: [
      { label: t("chart.date"), value: (u, v) => (v == null ? "" : formatDate(toISO(v * 1000))) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.colour,
        width: 2,
        fill: bars ? `${s.colour}cc` : undefined,
        paths: barPaths,
        points: { show: false },
      })),
    ],
    hooks: {
      draw: [
        (u) => {
          if (marked == null) return;
          const x = Math.round(u.valToPos(seconds(marked), "x", true));
          const { ctx } = u;
          ctx.save();
          ctx.strokeStyle = "#c00";
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  };
  const plot = new uPlot(options, [xs, ...series.map((s) => s.values)], container);
  plot.over.style.cursor = "pointer";
  plot.over.addEventListener("click", () => {
    const left = plot.cursor.left;
    if (left == null || left < 0) return;
    onPick(toISO(Math.round(plot.posToVal(left, "x") / 86400) * 86400000));
  });
  const observer = new ResizeObserver(() => {
    const width = container.clientWidth;
    if (width > 0 && Math.abs(width - plot.width) > 4) plot.setSize({ width, height });
  });
  observer.observe(container);

  return {
    mark(date) {
      marked = date;
      plot.redraw(false, false);
    },
  };
}
