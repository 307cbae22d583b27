import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** A CSS custom property of style.css (`--c1` …): the chart follows the theme. */
  color: string;
  /** Values per x (null for a gap). */
  values: (number | null)[];
}

const cssVar = (name: string): string =>
  getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

/**
 * A time-series line chart (uPlot, canvas). `x` is epoch seconds. The canvas is
 * decorative for assistive technology: `summary` is the text alternative, and every
 * figure the chart shows is also in the page as text.
 */
export function Chart(p: {
  title: string;
  x: number[];
  series: ChartSeries[];
  unit?: string;
  summary: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = p.series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: cssVar('--fg-muted'), grid: { stroke: cssVar('--grid') } },
        {
          stroke: cssVar('--fg-muted'),
          grid: { stroke: cssVar('--grid') },
          size: 50,
          ...(p.unit ? { label: p.unit } : {}),
        },
      ],
      series: [
        {},
        ...p.series.map((s) => ({
          label: s.label,
          stroke: cssVar(s.color),
          width: 2,
          points: { show: false },
        })),
      ],
    };
    const u = new uPlot(opts, [p.x, ...p.series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = undefined;
    };
    // Rebuilt only when the set of series changes; data updates go through setData.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([p.x, ...p.series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return (
    <figure class="chart">
      <figcaption>{p.title}</figcaption>
      <div
        ref={box}
        role="img"
        aria-label={`${p.title}: ${p.summary}`}
        data-points={p.x.length}
        data-last={p.x[p.x.length - 1] ?? ''}
      />
      <ul class="legend" aria-hidden="true">
        {p.series.map((s) => (
          <li key={s.label} class={`legend-${s.color.slice(2)}`}>
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}
