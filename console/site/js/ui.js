// Small shared pieces of the console: alerts, status badges, tables, dates,
// durations, data loading and polling. Every page (and the execution page)
// builds on these, so their names and props stay stable.
//
// CSP: nothing here writes inline styles or evaluates strings; colours and
// shapes come from app.css classes only.

import { html, useState, useEffect, useRef, useCallback } from '../vendor/preact-htm.js';

export { html };

// ---------------------------------------------------------------- formatting

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** A Date from an RFC 3339 text, epoch milliseconds or a Date; null if none. */
export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `2026-01-31 09:15:02 UTC`: every time in the console is shown in UTC, as the API keeps it. */
export function formatDate(value) {
  const d = toDate(value);
  if (!d) return '—';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

/** A duration in milliseconds as `350 ms`, `2.4 s`, `3 min 5 s`, `2 h 4 min`. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return '—';
  const n = Number(ms);
  if (n < 0) return '—';
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} s`;
  const s = Math.round(n / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const m = Math.round(s / 60);
  if (m < 24 * 60) return `${Math.floor(m / 60)} h ${m % 60} min`;
  const h = Math.round(m / 60);
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Milliseconds between two times (RFC 3339 or Date), or null. */
export function durationBetween(start, end) {
  const a = toDate(start);
  const b = toDate(end);
  return a && b ? b.getTime() - a.getTime() : null;
}

/** A count with thousands separators. */
export function formatNumber(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  return Number(n).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `<time>` with the machine-readable value and the UTC text. */
export function Time({ value }) {
  const d = toDate(value);
  if (!d) return html`<span>—</span>`;
  return html`<time datetime=${d.toISOString()}>${formatDate(d)}</time>`;
}

// ---------------------------------------------------------------- messages

/**
 * An error shown to the user, in role="alert". `error` is the API wrapper's
 * {title, detail, status, field} or a plain text.
 */
export function Alert({ error, children }) {
  if (!error && !children) return null;
  if (children) return html`<div class="alert" role="alert">${children}</div>`;
  if (typeof error === 'string') return html`<div class="alert" role="alert"><p>${error}</p></div>`;
  return html`<div class="alert" role="alert">
    <p class="alert-title"><strong>${error.title || 'Error'}</strong>${error.status ? html` <span class="muted">(HTTP ${error.status})</span>` : ''}</p>
    ${error.detail ? html`<p>${error.detail}</p>` : ''}
    ${error.field ? html`<p>Field: <code>${error.field}</code>${error.fieldDetail ? ` (${error.fieldDetail})` : ''}</p>` : ''}
    ${error.requestId ? html`<p class="muted">Request id: <code>${error.requestId}</code></p>` : ''}
  </div>`;
}

/**
 * The page's polite live region (role="status"). Rendered even when empty,
 * so a message put in it later is announced. One per page.
 */
export function StatusMessage({ message }) {
  return html`<div class="status-message" role="status" aria-live="polite">${message ? html`<p>${message}</p>` : ''}</div>`;
}

/** "Loading…" while the first answer is on its way. */
export function Loading({ what = 'Loading…' }) {
  return html`<p class="loading muted">${what}</p>`;
}

// ---------------------------------------------------------------- statuses

const GOOD = new Set(['COMPLETED', 'SUCCEEDED', 'DELIVERED', 'ACTIVE', 'ENABLED', 'persisted', 'canonical', 'succeeded']);
const WARN = new Set(['COMPLETED_WITH_REJECTIONS', 'PENDING', 'RUNNING', 'RECEIVED', 'duplicate', 'caught', 'PENDING_REDRIVE']);
const BAD = new Set(['FAILED', 'DEAD', 'TIMED_OUT', 'ABORTED', 'DISABLED', 'rejected', 'failed']);

/** good | warn | bad | neutral for a status word. */
export function statusTone(value) {
  if (GOOD.has(value)) return 'good';
  if (WARN.has(value)) return 'warn';
  if (BAD.has(value)) return 'bad';
  return 'neutral';
}

/**
 * A status badge: its text is the status itself; the colour and a CSS
 * glyph (✓, !, ✕) are extras, so colour is never the only signal.
 */
export function Status({ value, label }) {
  if (value === null || value === undefined || value === '') return html`<span>—</span>`;
  return html`<span class=${`status status-${statusTone(value)}`} data-status=${value}>${label || value}</span>`;
}

// ---------------------------------------------------------------- tables

/**
 * A data table with a caption and column headers (scope="col"), in a
 * focusable scroll container for narrow screens.
 *
 * columns: [{ key, label, render?(row, i), numeric?, rowHeader?, className? }]
 * rows: array; rowKey(row, i) → key; rowAttrs(row, i) → extra <tr> attributes
 * (e.g. { 'data-state': ..., class: ..., onClick: ... }).
 */
export function DataTable({ caption, columns, rows, rowKey, rowAttrs, empty = 'Nothing to show.', className = '' }) {
  const list = rows || [];
  // Focusable so a keyboard can scroll a wide table (axe scrollable-region-focusable);
  // unnamed, so its caption text never shadows a form field's label.
  return html`<div class="table-wrap" tabindex="0">
    <table class=${`data ${className}`}>
      <caption>${caption}</caption>
      <thead><tr>${columns.map((c) => html`<th scope="col" class=${c.numeric ? 'num' : ''}>${c.label}</th>`)}</tr></thead>
      <tbody>
        ${list.length === 0
          ? html`<tr><td colspan=${columns.length} class="empty">${empty}</td></tr>`
          : list.map((row, i) => html`<tr key=${rowKey ? rowKey(row, i) : i} ...${rowAttrs ? rowAttrs(row, i) : {}}>
              ${columns.map((c) => {
                const content = c.render ? c.render(row, i) : cell(row[c.key]);
                const cls = [c.numeric ? 'num' : '', c.className || ''].join(' ').trim();
                return c.rowHeader
                  ? html`<th scope="row" class=${cls}>${content}</th>`
                  : html`<td class=${cls}>${content}</td>`;
              })}
            </tr>`)}
      </tbody>
    </table>
  </div>`;
}

function cell(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Pretty JSON (a JSON text is parsed first) in a scrollable, focusable <pre>. */
export function JsonBlock({ value, label }) {
  let text = value;
  if (typeof value === 'string') {
    try { text = JSON.stringify(JSON.parse(value), null, 2); } catch { text = value; }
  } else if (value !== undefined) {
    text = JSON.stringify(value, null, 2);
  }
  if (text === undefined || text === null) return html`<span>—</span>`;
  return html`<pre class="json" tabindex="0" aria-label=${label}><code>${text}</code></pre>`;
}

// ---------------------------------------------------------------- pages

/** The page heading (focus target after navigation) and document title. */
export function PageTitle({ children, title }) {
  const text = title || (typeof children === 'string' ? children : '');
  useEffect(() => {
    if (text) document.title = `${text} · ZeroBeta console`;
  }, [text]);
  return html`<h1 id="page-title" tabindex="-1">${children}</h1>`;
}

/** What a role may not use: the page's h1 and the alert, nothing else (no API call). */
export function Forbidden({ title }) {
  return html`<${PageTitle}>${title}<//>
    <div class="alert" role="alert"><p>Your role cannot use this page.</p></div>`;
}

// ---------------------------------------------------------------- data hooks

/**
 * Runs `fn()` (a promise) when deps change; `reload({quiet: true})` keeps the
 * current data on screen while it refreshes. Stale answers are dropped.
 */
export function useAsync(fn, deps) {
  const [state, setState] = useState({ loading: true, data: undefined, error: null });
  const generation = useRef(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const reload = useCallback((opts = {}) => {
    const mine = ++generation.current;
    if (!opts.quiet) setState((s) => ({ ...s, loading: true, error: null }));
    return Promise.resolve()
      .then(() => fnRef.current())
      .then(
        (data) => { if (mine === generation.current) setState({ loading: false, data, error: null }); },
        (error) => { if (mine === generation.current) setState((s) => ({ loading: false, data: opts.quiet ? s.data : undefined, error })); },
      );
  }, []);
  useEffect(() => {
    reload();
    return () => { generation.current++; };
  }, deps);
  return { ...state, reload };
}

/**
 * Calls `fn` every `ms` while `enabled` and the document is visible, and at
 * once when the document becomes visible again.
 */
export function usePolling(fn, ms, enabled = true) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (!enabled) return undefined;
    const tick = () => { if (document.visibilityState === 'visible') fnRef.current(); };
    const id = setInterval(tick, ms);
    const onVisible = () => { if (document.visibilityState === 'visible') fnRef.current(); };
    document.addEventListener('visibilitychange', onVisible);
    return () => { clearInterval(id); document.removeEventListener('visibilitychange', onVisible); };
  }, [ms, enabled]);
}

// ---------------------------------------------------------------- forms

let idCounter = 0;
/** A unique id for label/input pairs. */
export function useId(prefix = 'f') {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${++idCounter}`;
  return ref.current;
}

/** `datetime-local` value (the browser's local time) → RFC 3339 UTC, or ''. */
export function localInputToIso(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A URL hash for a page and its filters: `#/feeds?status=FAILED`. Empty values are left out. */
export function hashFor(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

/** The link to an execution's page. */
export function executionHref(arn) {
  return `#/executions/${encodeURIComponent(arn)}`;
}
