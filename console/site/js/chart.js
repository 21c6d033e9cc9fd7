// A uPlot line chart for a Preact page. The canvas is decorative for
// assistive technology (aria-hidden): every chart is paired with a table or
// summary holding the same figures. Series differ by colour AND dash
// pattern, and the legend below names each one, so colour is not the only
// signal. uPlot's own legend is off (its toggles are mouse-only).

import { html, useEffect, useRef } from '../vendor/preact-htm.js';
import uPlot from '../vendor/uplot.js';

/** Colours with at least 3:1 contrast on white (WCAG 1.4.11); app.css has the same list for legend swatches. */
export const PALETTE = ['#0b62a4', '#c0392b', '#1b7f3b', '#7b3294', '#8a5a00', '#333333', '#b3006b', '#00727a'];
export const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 2], [12, 6], [6, 2, 2, 2]];

/** Colour/dash index of the i-th series (legend swatch class `swatch-<n> dash-<m>`). */
export function styleOf(i) {
  return { color: PALETTE[i % PALETTE.length], dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length], n: i % PALETTE.length, m: Math.floor(i / PALETTE.length) % DASHES.length };
}

/**
 * props: x (epoch seconds, ascending), series [{label, values, style?: {color, dash, n, m}}],
 * yFormat(v) → text for axis ticks, height, label (what the chart shows, for the figcaption-less case)
 * time (x is time; default true), xFormat for a non-time x.
 */
export function LineChart({ x, series, yFormat, height = 220, time = true, points = false, integer = false }) {
  const box = useRef(null);
  const plot = useRef(null);
  const shape = series.map((s) => `${s.label}:${s.values.map((v) => (v === null || v === undefined ? '0' : '1')).join('')}`).join('\u0000');

  useEffect(() => {
    if (!box.current) return undefined;
    const width = Math.max(280, box.current.clientWidth || 600);
    const opts = {
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      scales: { x: { time }, y: { range: (u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 1) * 1.1)] } },
      axes: [
        { stroke: '#333', grid: { stroke: '#e3e3e3' }, ticks: { stroke: '#bbb' } },
        {
          stroke: '#333',
          grid: { stroke: '#e3e3e3' },
          ticks: { stroke: '#bbb' },
          size: 70,
          // Counts: whole-number ticks only.
          ...(integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6] } : {}),
          values: (u, vals) => vals.map((v) => (yFormat ? yFormat(v) : String(v))),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => {
          const st = s.style || styleOf(i);
          // A value with no neighbour draws no line: show the points then.
          const isolated = s.values.some((v, j) => v !== null && v !== undefined
            && (j === 0 || s.values[j - 1] === null || s.values[j - 1] === undefined)
            && (j === s.values.length - 1 || s.values[j + 1] === null || s.values[j + 1] === undefined));
          return { label: s.label, stroke: st.color, dash: st.dash, width: 2, spanGaps: false, points: { show: points || isolated || x.length < 3, size: 7, fill: st.color } };
        }),
      ],
    };
    const u = new uPlot(opts, [x, ...series.map((s) => s.values)], box.current);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = Math.max(280, box.current ? box.current.clientWidth : width);
      if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
    });
    ro.observe(box.current);
    return () => { ro.disconnect(); u.destroy(); plot.current = null; };
  }, [shape, height, time, integer]);

  // Same series, new figures (a live refresh): update in place.
  useEffect(() => {
    if (plot.current) plot.current.setData([x, ...series.map((s) => s.values)]);
  }, [x, series]);

  return html`<div class="chart" ref=${box} aria-hidden="true"></div>`;
}

/** The legend: a list naming each series next to its colour and dash swatch. */
export function Legend({ series, label = 'Legend' }) {
  return html`<ul class="legend" aria-label=${label}>
    ${series.map((s, i) => {
      const st = s.style || styleOf(i);
      return html`<li key=${s.label}><span class=${`swatch swatch-${st.n} dash-${st.m}`} aria-hidden="true"></span>${s.label}</li>`;
    })}
  </ul>`;
}
