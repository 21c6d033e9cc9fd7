// Errors: rejected orders (kept 30 days), grouped by partner and rejection
// code, with the field at fault, the order as the partner sent it, and when
// the record expires (GET /v1/admin/errors).

import { html, useState, useEffect } from '../../vendor/preact-htm.js';
import { Alert, DataTable, Loading, PageTitle, Time, JsonBlock, formatNumber, useAsync } from '../ui.js';
import { FilterForm, partnerIds } from '../filters.js';

/** How long an error record is kept: DynamoDB TTL at recordedAt + 30 days (shared/src/store/error_log.rs ERROR_TTL_SECS). */
const ERROR_TTL_MS = 30 * 24 * 3600 * 1000;

export const REJECTION_CODES = [
  'MISSING_FIELD', 'WRONG_TYPE', 'UNKNOWN_FIELD', 'OUT_OF_RANGE', 'INVALID_VALUE', 'SCHEMA_VIOLATION',
  'INVALID_SEQUENCE_NUMBER', 'INVALID_QUANTITY', 'UNKNOWN_CURRENCY', 'INVALID_AMOUNT', 'INVALID_TIMESTAMP',
  'EVENT_TIME_IN_FUTURE', 'EVENT_TIME_TOO_OLD', 'TOTAL_MISMATCH', 'DUPLICATE_SEQUENCE', 'SEQUENCE_CONFLICT', 'PIPELINE_FAILED',
];

/** When the record's TTL deletes it: `expiresAt` (epoch seconds) when the API gives it, else recordedAt + 30 days. */
function expiresAt(e) {
  if (typeof e.expiresAt === 'number') return new Date(e.expiresAt * 1000);
  if (typeof e.ttl === 'number') return new Date(e.ttl * 1000);
  const t = Date.parse(e.recordedAt || e.receivedAt);
  return Number.isNaN(t) ? null : new Date(t + ERROR_TTL_MS);
}

function group(items) {
  const groups = new Map();
  for (const e of items) {
    const k = `${e.partnerId}\u0000${e.code}`;
    if (!groups.has(k)) groups.set(k, { partnerId: e.partnerId, code: e.code, items: [], fields: new Set() });
    const g = groups.get(k);
    g.items.push(e);
    if (e.field) g.fields.add(e.field);
  }
  return [...groups.values()].sort((a, b) => a.partnerId.localeCompare(b.partnerId) || b.items.length - a.items.length);
}

export function ErrorsPage({ api, roles, params }) {
  const [partners, setPartners] = useState([]);
  useEffect(() => { partnerIds(api).then(setPartners); }, []);
  const query = {
    partnerId: params.get('partnerId') || '',
    code: params.get('code') || '',
    from: params.get('from') || '',
    to: params.get('to') || '',
  };
  const key = JSON.stringify(query);
  const errors = useAsync(() => api.all('/v1/admin/errors', query, 500), [key]);
  const showRaw = roles.includes('admin') || roles.includes('ops');
  const groups = errors.data ? group(errors.data) : [];

  return html`
    <${PageTitle}>Errors<//>
    <p class="muted">Rejected orders, kept 30 days after they were recorded.</p>
    <${FilterForm} path="/errors" params=${params} label="Error filters" fields=${[
      { name: 'partnerId', label: 'Partner', suggestions: partners },
      { name: 'code', label: 'Code', type: 'select', options: [['', 'Any'], ...REJECTION_CODES.map((c) => [c, c])] },
      { name: 'from', label: 'From', type: 'datetime', hint: 'Feed received at or after (your local time)' },
      { name: 'to', label: 'To', type: 'datetime', hint: 'Feed received at or before (your local time)' },
    ]} />
    <${Alert} error=${errors.error} />
    ${errors.loading && !errors.data ? html`<${Loading} />` : ''}
    ${errors.data ? html`
      <${DataTable} caption="Rejections by partner and code" rows=${groups} rowKey=${(g) => `${g.partnerId}/${g.code}`}
        empty="No rejected orders match."
        columns=${[
          { key: 'partnerId', label: 'Partner', rowHeader: true },
          { key: 'code', label: 'Code', render: (g) => html`<a href=${`#group-${g.partnerId}-${g.code}`} onClick=${(ev) => jump(ev, `group-${g.partnerId}-${g.code}`)}>${g.code}</a>` },
          { key: 'fields', label: 'Fields at fault', render: (g) => [...g.fields].join(', ') || '—' },
          { key: 'count', label: 'Rejected orders', numeric: true, render: (g) => formatNumber(g.items.length) },
        ]} />
      ${errors.data.length >= 500 ? html`<p class="muted">Showing the first 500 rejections; narrow the filters to see others.</p>` : ''}
      ${groups.map((g) => html`<section key=${`${g.partnerId}/${g.code}`} class="error-group">
        <h2 id=${`group-${g.partnerId}-${g.code}`} tabindex="-1">${g.partnerId}: ${g.code} (${g.items.length})</h2>
        <${DataTable} caption=${`${g.code} rejections of ${g.partnerId}`} rows=${g.items} rowKey=${(e) => `${e.feedId}/${e.index}`}
          columns=${[
            { key: 'feedId', label: 'Feed', rowHeader: true, render: (e) => html`<a href=${`#/feeds/${encodeURIComponent(e.feedId)}`}>${e.feedId}</a>` },
            { key: 'index', label: 'Index', numeric: true },
            { key: 'sequenceNumber', label: 'Sequence number', numeric: true },
            { key: 'field', label: 'Field', render: (e) => (e.field ? html`<code>${e.field}</code>` : '—') },
            { key: 'message', label: 'Message' },
            { key: 'stage', label: 'Stage' },
            { key: 'receivedAt', label: 'Received', render: (e) => html`<${Time} value=${e.receivedAt} />` },
            { key: 'expires', label: 'Expires', render: (e) => html`<${Time} value=${expiresAt(e)} />` },
            ...(showRaw ? [{ key: 'raw', label: 'Raw order', render: (e) => rawOrder(e) }] : []),
          ]} />
      </section>`)}
    ` : ''}`;
}

function jump(ev, id) {
  // In-page links must not change the hash (it holds the route).
  ev.preventDefault();
  const el = document.getElementById(id);
  if (el) { el.scrollIntoView(); el.focus(); }
}

function rawOrder(e) {
  if (e.rawOrder) {
    return html`<details><summary>Show raw order <span class="visually-hidden">${e.feedId} #${e.index}</span></summary><${JsonBlock} value=${e.rawOrder} label=${`Raw order ${e.feedId} #${e.index}`} /></details>`;
  }
  if (e.rawOrderRef) return html`<span>Too large to copy: <code>${e.rawOrderRef}</code> in the feed body</span>`;
  return '—';
}
