// Overview: per partner orders per minute, rejection rate, failed feeds and
// end-to-end latency (p50/p95) over the last hour, day or week, from the
// hourly volume figures (GET /v1/admin/volume, VolumeHour); for admin and
// ops also the feeds that are stuck or failed and the dead deliveries.
// Refreshes every 10 s while the page is visible ("Live").

import { html, useState, useMemo } from '../../vendor/preact-htm.js';
import {
  Alert, DataTable, Loading, PageTitle, Status, Time, formatDuration, formatNumber, hashFor, useAsync, usePolling,
} from '../ui.js';
import { LineChart, Legend, styleOf } from '../chart.js';
import { navigate } from '../router.js';

const RANGES = [
  { key: 'hour', label: 'Last hour', hours: 1 },
  { key: 'day', label: 'Last day', hours: 24 },
  { key: 'week', label: 'Last week', hours: 168 },
];
const HOUR_MS = 3_600_000;
const LIVE_MS = 10_000;
const STUCK_AFTER_MS = 10 * 60_000;

/** A rate with sensible precision: 120, 2.5, 0.117. */
function formatRate(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  return formatNumber(v, a === 0 ? 0 : a >= 10 ? 0 : a >= 1 ? 1 : a >= 0.1 ? 2 : 3);
}

/** `YYYY-MM-DDTHH` of a time (UTC), as the volume figures key their hours. */
const hourKey = (ms) => new Date(ms).toISOString().slice(0, 13);
const hourStart = (key) => Date.parse(`${key}:00:00Z`);

/** The figures of one range, shaped for charts: x (seconds) and per partner arrays. */
function shape(items, range, now) {
  const firstMs = hourStart(hourKey(now - range.hours * HOUR_MS));
  const lastMs = hourStart(hourKey(now));
  const hours = [];
  for (let t = firstMs; t <= lastMs; t += HOUR_MS) hours.push(t);
  const index = new Map(hours.map((t, i) => [hourKey(t), i]));
  const partners = [...new Set(items.map((v) => v.partnerId))].sort();
  const byPartner = new Map(partners.map((p) => [p, hours.map(() => null)]));
  for (const v of items) {
    const i = index.get(v.hour);
    if (i !== undefined && byPartner.has(v.partnerId)) byPartner.get(v.partnerId)[i] = v;
  }
  // Minutes the current hour has run so far, for a fair rate in it.
  const minutesIn = (t) => (t === lastMs ? Math.max(1, (now - lastMs) / 60_000) : 60);
  const x = hours.map((t) => t / 1000);
  const mk = (fn) => partners.map((p, i) => ({
    label: p,
    style: styleOf(i),
    values: byPartner.get(p).map((v, j) => (v ? fn(v, hours[j]) : null)),
  }));
  const perMinute = mk((v, t) => Number(((v.orders?.received || 0) / minutesIn(t)).toFixed(3)));
  const rejection = mk((v) => (v.orders?.received ? Number(((100 * (v.orders.rejected || 0)) / v.orders.received).toFixed(1)) : null));
  const failed = mk((v) => v.orders?.failed || 0);
  const latency = partners.flatMap((p, i) => {
    const st = styleOf(i);
    const rows = byPartner.get(p);
    return [
      { label: `${p} p50`, style: { ...st, dash: [], m: 0 }, values: rows.map((v) => (v && v.latencyMs ? v.latencyMs.p50 : null)) },
      { label: `${p} p95`, style: { ...st, dash: [8, 4], m: 1 }, values: rows.map((v) => (v && v.latencyMs ? v.latencyMs.p95 : null)) },
    ];
  });
  const totals = partners.map((p) => {
    const rows = byPartner.get(p).filter(Boolean);
    const sum = (f) => rows.reduce((a, v) => a + (f(v) || 0), 0);
    const received = sum((v) => v.orders?.received);
    const rejected = sum((v) => v.orders?.rejected);
    const codes = {};
    for (const v of rows) for (const [c, n] of Object.entries(v.rejectionCodes || {})) codes[c] = (codes[c] || 0) + n;
    const withLatency = rows.filter((v) => v.latencyMs);
    const latest = withLatency[withLatency.length - 1];
    const minutes = (lastMs - firstMs) / 60_000 + minutesIn(lastMs);
    return {
      partnerId: p,
      feeds: sum((v) => v.feeds),
      received,
      rejected,
      failed: sum((v) => v.orders?.failed),
      failedHours: rows.filter((v) => v.orders?.failed).length,
      perMinute: received / minutes,
      peakPerMinute: Math.max(0, ...perMinute.find((s) => s.label === p).values.filter((n) => n !== null)),
      rate: received ? (100 * rejected) / received : null,
      topCodes: Object.entries(codes).sort((a, b) => b[1] - a[1]).slice(0, 3),
      latestP50: latest ? latest.latencyMs.p50 : null,
      latestP95: latest ? latest.latencyMs.p95 : null,
      maxP95: withLatency.length ? Math.max(...withLatency.map((v) => v.latencyMs.p95)) : null,
    };
  });
  return { x, partners, perMinute, rejection, failed, latency, totals };
}

function Figure({ id, title, rangeLabel, hasData, chart, legendSeries, table, note }) {
  return html`<section class="figure-section">
    <h2 id=${id}>${title}</h2>
    ${note ? html`<p class="muted">${note}</p>` : ''}
    ${hasData
      ? html`<div class="figure-row">
          <figure class="chart-figure">
            ${chart}
            <${Legend} series=${legendSeries} label=${`${title} legend`} />
            <figcaption>${title}, ${rangeLabel.toLowerCase()}, per partner (UTC hours). The table gives the figures.</figcaption>
          </figure>
          <div class="figure-table">${table}</div>
        </div>`
      : html`<p>No traffic in this range.</p>`}
  </section>`;
}

function Volume({ api, range, live }) {
  const [now, setNow] = useState(Date.now());
  const volume = useAsync(async () => {
    const t = Date.now();
    const page = await api.get('/v1/admin/volume', { from: hourKey(t - range.hours * HOUR_MS), to: hourKey(t) });
    setNow(t);
    return page.items || [];
  }, [range.key]);
  usePolling(() => volume.reload({ quiet: true }), LIVE_MS, live);

  const data = useMemo(() => (volume.data ? shape(volume.data, range, now) : null), [volume.data, range.key, now]);
  if (volume.error && !data) return html`<${Alert} error=${volume.error} />`;
  if (!data) return html`<${Loading} what="Loading figures…" />`;
  const has = data.partners.length > 0;
  const t = data.totals;
  const cap = (what) => `${what}, ${range.label.toLowerCase()}`;
  return html`
    ${volume.error ? html`<${Alert} error=${volume.error} />` : ''}
    <p class="muted updated">Figures as of <${Time} value=${new Date(now)} />.</p>
    <${Figure} id="fig-opm" title="Orders per minute" rangeLabel=${range.label} hasData=${has}
      chart=${html`<${LineChart} x=${data.x} series=${data.perMinute} yFormat=${formatRate} />`}
      legendSeries=${data.perMinute}
      table=${html`<${DataTable} caption=${cap('Orders per minute by partner')} rows=${t} rowKey=${(r) => r.partnerId}
        columns=${[
          { key: 'partnerId', label: 'Partner', rowHeader: true },
          { key: 'received', label: 'Orders received', numeric: true, render: (r) => formatNumber(r.received) },
          { key: 'perMinute', label: 'Average per minute', numeric: true, render: (r) => formatRate(r.perMinute) },
          { key: 'peak', label: 'Busiest hour, per minute', numeric: true, render: (r) => formatRate(r.peakPerMinute) },
        ]} />`} />
    <${Figure} id="fig-rej" title="Rejection rate" rangeLabel=${range.label} hasData=${has}
      chart=${html`<${LineChart} x=${data.x} series=${data.rejection} yFormat=${(v) => `${formatNumber(v, v < 10 ? 1 : 0)} %`} />`}
      legendSeries=${data.rejection}
      table=${html`<${DataTable} caption=${cap('Rejection rate by partner')} rows=${t} rowKey=${(r) => r.partnerId}
        columns=${[
          { key: 'partnerId', label: 'Partner', rowHeader: true },
          { key: 'received', label: 'Received', numeric: true, render: (r) => formatNumber(r.received) },
          { key: 'rejected', label: 'Rejected', numeric: true, render: (r) => formatNumber(r.rejected) },
          { key: 'rate', label: 'Rejection rate', numeric: true, render: (r) => (r.rate === null ? '—' : `${formatNumber(r.rate, 1)} %`) },
          { key: 'codes', label: 'Top codes', render: (r) => (r.topCodes.length ? r.topCodes.map(([c, n]) => `${c} (${n})`).join(', ') : '—') },
        ]} />`} />
    <${Figure} id="fig-failed" title="Failed feeds" rangeLabel=${range.label} hasData=${has}
      note="Orders in feeds the pipeline failed, per hour the feeds were received."
      chart=${html`<${LineChart} x=${data.x} series=${data.failed} integer=${true} yFormat=${(v) => formatNumber(v)} />`}
      legendSeries=${data.failed}
      table=${html`<${DataTable} caption=${cap('Failed feeds by partner')} rows=${t} rowKey=${(r) => r.partnerId}
        columns=${[
          { key: 'partnerId', label: 'Partner', rowHeader: true },
          { key: 'feeds', label: 'Finished feeds', numeric: true, render: (r) => formatNumber(r.feeds) },
          { key: 'failed', label: 'Orders in failed feeds', numeric: true, render: (r) => formatNumber(r.failed) },
          { key: 'failedHours', label: 'Hours with failures', numeric: true, render: (r) => formatNumber(r.failedHours) },
        ]} />`} />
    <${Figure} id="fig-lat" title="End-to-end latency (p50/p95)" rangeLabel=${range.label} hasData=${has}
      note="From receipt to finish, per feed; solid lines are p50, dashed lines p95."
      chart=${html`<${LineChart} x=${data.x} series=${data.latency} yFormat=${(v) => formatDuration(v)} />`}
      legendSeries=${data.latency}
      table=${html`<${DataTable} caption=${cap('End-to-end latency by partner')} rows=${t} rowKey=${(r) => r.partnerId}
        columns=${[
          { key: 'partnerId', label: 'Partner', rowHeader: true },
          { key: 'latestP50', label: 'p50 (latest hour)', numeric: true, render: (r) => formatDuration(r.latestP50) },
          { key: 'latestP95', label: 'p95 (latest hour)', numeric: true, render: (r) => formatDuration(r.latestP95) },
          { key: 'maxP95', label: 'Highest hourly p95', numeric: true, render: (r) => formatDuration(r.maxP95) },
        ]} />`} />`;
}

function StuckFeeds({ api, live }) {
  const feeds = useAsync(async () => {
    const cutoff = Date.now() - STUCK_AFTER_MS;
    const [failed, received] = await Promise.all([
      api.all('/v1/admin/feeds', { status: 'FAILED' }, 200),
      api.all('/v1/admin/feeds', { status: 'RECEIVED', to: new Date(cutoff).toISOString().replace(/\.\d{3}Z$/, 'Z') }, 200),
    ]);
    const stuck = received.filter((f) => Date.parse(f.receivedAt) <= cutoff);
    return [...failed, ...stuck].sort((a, b) => String(b.updatedAt).localeCompare(String(a.updatedAt)));
  }, []);
  usePolling(() => feeds.reload({ quiet: true }), LIVE_MS, live);
  return html`<section>
    <h2 id="stuck-h">Stuck or failed feeds</h2>
    <p class="muted">FAILED feeds, and feeds still RECEIVED more than 10 minutes after they arrived.</p>
    <${Alert} error=${feeds.error} />
    ${feeds.data === undefined && !feeds.error ? html`<${Loading} />` : ''}
    ${feeds.data ? html`<${DataTable} caption="Stuck or failed feeds" rows=${feeds.data} rowKey=${(f) => f.feedId}
      empty="No feed is stuck or failed."
      columns=${[
        { key: 'feedId', label: 'Feed', rowHeader: true, render: (f) => html`<a href=${`#/feeds/${encodeURIComponent(f.feedId)}`}>${f.feedId}</a>` },
        { key: 'partnerId', label: 'Partner', className: 'nowrap' },
        { key: 'status', label: 'Status', render: (f) => html`<${Status} value=${f.status} />` },
        { key: 'receivedAt', label: 'Received', render: (f) => html`<${Time} value=${f.receivedAt} />` },
        { key: 'failure', label: 'Failure', render: (f) => (f.failure ? `${f.failure.error}: ${f.failure.cause}` : '—') },
      ]} />` : ''}
  </section>`;
}

function DeadDeliveries({ api, live }) {
  const dead = useAsync(() => api.all('/v1/admin/deliveries', { status: 'DEAD' }, 200), []);
  usePolling(() => dead.reload({ quiet: true }), LIVE_MS, live);
  return html`<section>
    <h2 id="dead-h">Dead deliveries</h2>
    <p class="muted">Webhook notifications that ran out of attempts. <a href="#/deliveries?status=DEAD">Replay them on the Deliveries page</a>.</p>
    <${Alert} error=${dead.error} />
    ${dead.data === undefined && !dead.error ? html`<${Loading} />` : ''}
    ${dead.data ? html`<${DataTable} caption="Dead deliveries" rows=${dead.data} rowKey=${(d) => `${d.partnerId}/${d.deliveryId}`}
      empty="No dead deliveries."
      columns=${[
        { key: 'deliveryId', label: 'Delivery', rowHeader: true },
        { key: 'partnerId', label: 'Partner', className: 'nowrap' },
        { key: 'type', label: 'Type' },
        { key: 'attempts', label: 'Attempts', numeric: true, render: (d) => formatNumber((d.attempts || []).length) },
        { key: 'updatedAt', label: 'Last change', render: (d) => html`<${Time} value=${d.updatedAt} />` },
        { key: 'lastError', label: 'Last error', render: (d) => d.lastError || '—' },
      ]} />` : ''}
  </section>`;
}

export function OverviewPage({ api, roles, params }) {
  const range = RANGES.find((r) => r.key === params.get('range')) || RANGES[1];
  const [live, setLive] = useState(true);
  const opsView = roles.includes('admin') || roles.includes('ops');
  const choose = (r) => navigate(hashFor('/', { range: r.key }));
  return html`
    <${PageTitle}>Overview<//>
    <div class="toolbar">
      <div role="group" aria-label="Time range" class="segmented">
        ${RANGES.map((r) => html`<button type="button" key=${r.key} aria-pressed=${r.key === range.key ? 'true' : 'false'} onClick=${() => choose(r)}>${r.label}</button>`)}
      </div>
      <button type="button" class="live" aria-pressed=${live ? 'true' : 'false'} onClick=${() => setLive(!live)}
        title="Refresh every 10 seconds while this page is visible">Live</button>
      <span class="muted">${live ? 'Refreshing every 10 s while visible.' : 'Live refresh paused.'}</span>
    </div>
    <${Volume} api=${api} range=${range} live=${live} />
    ${opsView ? html`<${StuckFeeds} api=${api} live=${live} /><${DeadDeliveries} api=${api} live=${live} />` : ''}
  `;
}

