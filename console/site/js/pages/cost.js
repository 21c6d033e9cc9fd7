// Cost (admin, finance): what each partner cost per UTC day, by AWS service
// (GET /v1/admin/cost, closed hours only), as a table and a chart; and one
// feed's cost by service (GET /v1/admin/cost/feeds/{feedId}).

import { html, useState, useEffect, useMemo } from '../../vendor/preact-htm.js';
import { Alert, DataTable, Loading, PageTitle, formatNumber, hashFor, useAsync, useId } from '../ui.js';
import { FilterForm } from '../filters.js';
import { LineChart, Legend, styleOf } from '../chart.js';
import { navigate } from '../router.js';
import { seg } from '../api.js';

/** USD as the API gives it (an exact decimal text), for display. */
function usd(v) {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  if (Number.isNaN(n)) return String(v);
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: n !== 0 && Math.abs(n) < 0.01 ? 6 : 4 })}`;
}

function FeedCost({ api, params }) {
  const id = useId('feed-id');
  const current = params.get('feedId') || '';
  const [value, setValue] = useState(current);
  useEffect(() => { setValue(current); }, [current]);
  const cost = useAsync(() => (current ? api.get(`/v1/admin/cost/feeds/${seg(current)}`) : Promise.resolve(null)), [current]);
  const submit = (e) => {
    e.preventDefault();
    const q = Object.fromEntries(params.entries());
    navigate(hashFor('/cost', { ...q, feedId: value.trim() }));
  };
  const c = cost.data;
  const rows = c ? Object.entries(c.byService || {}).sort((a, b) => Number(b[1]) - Number(a[1])).map(([service, amount]) => ({ service, amount })) : [];
  return html`<section class="panel">
    <h2 id="feed-cost-h">One feed's cost</h2>
    <form onSubmit=${submit} class="inline-form">
      <div class="field">
        <label for=${id}>Feed id</label>
        <input id=${id} type="text" spellcheck="false" autocomplete="off" required value=${value} onInput=${(e) => setValue(e.currentTarget.value)}
          aria-describedby=${`${id}-hint`} />
        <span class="hint" id=${`${id}-hint`}>Known once the hourly cost job has rolled up the hours the feed ran in.</span>
      </div>
      <button type="submit" class="primary">Show feed cost</button>
    </form>
    ${current ? html`<${Alert} error=${cost.error} />` : ''}
    ${current && cost.loading && !c ? html`<${Loading} />` : ''}
    ${c ? html`<${DataTable} caption=${`Cost of feed ${c.feedId} (${c.partnerId}) by service`} rows=${[...rows, { service: 'Total', amount: c.totalUsd, total: true }]}
      rowKey=${(r) => r.service} rowAttrs=${(r) => (r.total ? { class: 'total' } : {})}
      columns=${[
        { key: 'service', label: 'Service', rowHeader: true },
        { key: 'amount', label: 'Cost (USD)', numeric: true, render: (r) => usd(r.amount) },
      ]} />` : ''}
  </section>`;
}

export function CostPage({ api, params }) {
  const query = { partnerId: params.get('partnerId') || '', from: params.get('from') || '', to: params.get('to') || '' };
  const key = JSON.stringify(query);
  const cost = useAsync(() => api.get('/v1/admin/cost', query), [key]);
  const items = cost.data ? cost.data.items || [] : [];
  const services = useMemo(() => [...new Set(items.flatMap((d) => Object.keys(d.byService || {})))].sort(), [cost.data]);
  const chart = useMemo(() => {
    const days = [...new Set(items.map((d) => d.day))].sort();
    const partners = [...new Set(items.map((d) => d.partnerId))].sort();
    const idx = new Map(days.map((d, i) => [d, i]));
    const series = partners.map((p, i) => {
      const values = days.map(() => null);
      for (const d of items) if (d.partnerId === p) values[idx.get(d.day)] = Number(d.totalUsd);
      return { label: p, style: styleOf(i), values };
    });
    return { x: days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000), series };
  }, [cost.data]);
  const totals = useMemo(() => {
    const m = new Map();
    for (const d of items) {
      const t = m.get(d.partnerId) || { partnerId: d.partnerId, usd: 0, feeds: 0, days: 0 };
      t.usd += Number(d.totalUsd) || 0;
      t.feeds += d.feeds || 0;
      t.days += 1;
      m.set(d.partnerId, t);
    }
    return [...m.values()].sort((a, b) => a.partnerId.localeCompare(b.partnerId));
  }, [cost.data]);
  const sorted = [...items].sort((a, b) => b.day.localeCompare(a.day) || a.partnerId.localeCompare(b.partnerId));

  return html`
    <${PageTitle}>Cost<//>
    <p class="muted">Per UTC day, from the hourly cost job (closed hours only), in US dollars.</p>
    <${FilterForm} path="/cost" params=${params} label="Cost filters" extra=${params.get('feedId') ? { feedId: params.get('feedId') } : {}} fields=${[
      { name: 'partnerId', label: 'Partner' },
      { name: 'from', label: 'From', type: 'date', hint: 'First day (UTC)' },
      { name: 'to', label: 'To', type: 'date', hint: 'Last day (UTC)' },
    ]} />
    <${Alert} error=${cost.error} />
    ${cost.loading && !cost.data ? html`<${Loading} />` : ''}
    ${cost.data ? html`
      <section>
        <h2 id="cost-days-h">Cost per partner per day</h2>
        ${items.length === 0 ? html`<p>No cost figures in this range yet.</p>` : html`
          <div class="figure-row">
            <figure class="chart-figure">
              <${LineChart} x=${chart.x} series=${chart.series} yFormat=${(v) => usd(v)} points=${true} />
              <${Legend} series=${chart.series} label="Cost chart legend" />
              <figcaption>Daily cost per partner (USD). The tables give the figures.</figcaption>
            </figure>
            <div class="figure-table">
              <${DataTable} caption="Total cost per partner in the range" rows=${totals} rowKey=${(t) => t.partnerId}
                columns=${[
                  { key: 'partnerId', label: 'Partner', rowHeader: true },
                  { key: 'usd', label: 'Total (USD)', numeric: true, render: (t) => usd(t.usd.toFixed(6)) },
                  { key: 'feeds', label: 'Feeds', numeric: true, render: (t) => formatNumber(t.feeds) },
                  { key: 'days', label: 'Days', numeric: true, render: (t) => formatNumber(t.days) },
                ]} />
            </div>
          </div>`}
        <${DataTable} caption="Cost per partner per day (USD)" rows=${sorted} rowKey=${(d) => `${d.partnerId}/${d.day}`}
          empty="No cost figures in this range yet."
          columns=${[
            { key: 'day', label: 'Day', rowHeader: true },
            { key: 'partnerId', label: 'Partner', className: 'nowrap' },
            { key: 'feeds', label: 'Feeds', numeric: true, render: (d) => formatNumber(d.feeds) },
            { key: 'totalUsd', label: 'Total', numeric: true, render: (d) => usd(d.totalUsd) },
            ...services.map((s) => ({ key: `svc-${s}`, label: s, numeric: true, render: (d) => usd((d.byService || {})[s]) })),
          ]} />
      </section>` : ''}
    <${FeedCost} api=${api} params=${params} />`;
}
