// One feed: its status, counts, failure, per-order outcomes, the pipeline
// executions that ran it (each linking to its execution page), and Redrive
// for a FAILED feed (admin, ops). Refreshes while the feed is RECEIVED (a
// redrive makes it RECEIVED again, so the page follows it to its end without
// a reload), and the executions list while one of them is RUNNING: the feed
// is finished by a task before its execution ends, so the list may still
// show it RUNNING when the feed stops being RECEIVED.

import { html, useState, useEffect, useRef } from '../../vendor/preact-htm.js';
import {
  Alert, DataTable, Loading, PageTitle, Status, StatusMessage, Time, executionHref, formatDuration, durationBetween, formatNumber, useAsync, usePolling,
} from '../ui.js';
import { seg } from '../api.js';

const POLL_MS = 3000;

function Executions({ api, feedId, pollKey }) {
  const list = useAsync(() => api.get(`/v1/admin/feeds/${seg(feedId)}/executions`), [feedId, pollKey]);
  const items = list.data ? list.data.items || [] : [];
  const anyRunning = items.some((x) => x.status === 'RUNNING');
  usePolling(() => list.reload({ quiet: true }), POLL_MS, anyRunning);
  return html`<section>
    <h2 id="exec-h">Executions</h2>
    <${Alert} error=${list.error} />
    ${list.loading && !list.data ? html`<${Loading} />` : ''}
    ${list.data ? (items.length === 0
      ? html`<p>No pipeline execution found for this feed yet.</p>`
      : html`<ol class="executions">
          ${items.map((x) => html`<li key=${x.executionArn}>
            <a href=${executionHref(x.executionArn)}>${x.name}</a>
            ${' '}<${Status} value=${x.status} />
            <span class="muted"> started <${Time} value=${x.startDate} />${x.stopDate ? `, took ${formatDuration(durationBetween(x.startDate, x.stopDate))}` : ''}${x.by ? `, by ${x.by}` : ''}</span>
          </li>`)}
        </ol>`) : ''}
  </section>`;
}

export function FeedPage({ api, roles, feedId }) {
  const [message, setMessage] = useState('');
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [pollKey, setPollKey] = useState(0);
  const feed = useAsync(() => api.get(`/v1/admin/feeds/${seg(feedId)}`), [feedId]);
  const f = feed.data;
  const running = f && f.status === 'RECEIVED';
  usePolling(() => { feed.reload({ quiet: true }); setPollKey((k) => k + 1); }, POLL_MS, !!running);
  // A status change (RECEIVED -> COMPLETED…, FAILED -> RECEIVED) reads the
  // executions again: the last poll may have read them just before it.
  const lastStatus = useRef(undefined);
  const status = f ? f.status : undefined;
  useEffect(() => {
    if (lastStatus.current !== undefined && status !== undefined && status !== lastStatus.current) {
      setPollKey((k) => k + 1);
    }
    if (status !== undefined) lastStatus.current = status;
  }, [status]);
  const mayRedrive = roles.includes('admin') || roles.includes('ops');

  const redrive = async () => {
    setBusy(true);
    setActionError(null);
    setMessage('');
    try {
      const r = await api.post(`/v1/admin/feeds/${seg(feedId)}/redrive`);
      setMessage(`Redrive started: ${r.executionName}`);
      await feed.reload({ quiet: true });
      setPollKey((k) => k + 1);
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };

  return html`
    <${PageTitle}>${`Feed ${feedId}`}<//>
    <${StatusMessage} message=${message} />
    <${Alert} error=${actionError} />
    <${Alert} error=${feed.error} />
    ${feed.loading && !f ? html`<${Loading} />` : ''}
    ${f ? html`
      <div class="summary">
        <p class="feed-status">Status: <${Status} value=${f.status} />${running ? html` <span class="muted">(still running; this page refreshes every few seconds)</span>` : ''}</p>
        ${mayRedrive && f.status === 'FAILED'
          ? html`<p><button type="button" class="primary" onClick=${redrive} disabled=${busy}>Redrive</button></p>`
          : ''}
      </div>
      ${f.failure ? html`<div class="failure"><h2>Failure</h2><p><strong>${f.failure.error}</strong></p><p>${f.failure.cause}</p></div>` : ''}
      <dl class="facts">
        <div><dt>Partner</dt><dd>${f.partnerId}</dd></div>
        <div><dt>Format</dt><dd>${f.format}</dd></div>
        <div><dt>Received</dt><dd><${Time} value=${f.receivedAt} /></dd></div>
        <div><dt>Updated</dt><dd><${Time} value=${f.updatedAt} /></dd></div>
        <div><dt>Orders</dt><dd>${formatNumber(f.orderCount)}</dd></div>
        <div><dt>Persisted</dt><dd>${formatNumber(f.counts?.persisted)}</dd></div>
        <div><dt>Duplicates</dt><dd>${formatNumber(f.counts?.duplicate)}</dd></div>
        <div><dt>Rejected</dt><dd>${formatNumber(f.counts?.rejected)}</dd></div>
        ${f.redriveCount ? html`<div><dt>Redrives</dt><dd>${formatNumber(f.redriveCount)}</dd></div>` : ''}
        ${f.requestId ? html`<div><dt>Request id</dt><dd><code>${f.requestId}</code></dd></div>` : ''}
        ${f.correlationId ? html`<div><dt>Correlation id</dt><dd><code>${f.correlationId}</code></dd></div>` : ''}
      </dl>
      <section>
        <h2 id="outcomes-h">Order outcomes</h2>
        ${(f.orders || []).length >= 100 ? html`<p class="muted">The first 100 orders.</p>` : ''}
        <${DataTable} caption="Per-order outcomes" rows=${f.orders || []} rowKey=${(o) => o.index}
          empty=${running ? 'No outcomes yet: the feed is still running.' : 'No per-order outcomes.'}
          columns=${[
            { key: 'index', label: 'Index', numeric: true, rowHeader: true },
            { key: 'sequenceNumber', label: 'Sequence number', numeric: true },
            { key: 'outcome', label: 'Outcome', render: (o) => html`<${Status} value=${o.outcome} />` },
            { key: 'code', label: 'Code' },
            { key: 'field', label: 'Field', render: (o) => (o.field ? html`<code>${o.field}</code>` : '—') },
          ]} />
      </section>
      <${Executions} api=${api} feedId=${feedId} pollKey=${pollKey} />
      <p><a href=${`#/errors?partnerId=${encodeURIComponent(f.partnerId)}`}>Rejected orders of ${f.partnerId}</a></p>
    ` : ''}`;
}
