// Feeds: every partner's feeds, newest first within a partner, filtered by
// partner, status, time of receipt, or the order (sequence number) a feed
// stored (GET /v1/admin/feeds).

import { html, useState, useEffect } from '../../vendor/preact-htm.js';
import { Alert, DataTable, Loading, PageTitle, Status, Time, formatNumber, useAsync } from '../ui.js';
import { FilterForm, partnerIds } from '../filters.js';

export const FEED_STATUSES = ['RECEIVED', 'COMPLETED', 'COMPLETED_WITH_REJECTIONS', 'FAILED'];

export function feedHref(feedId) {
  return `#/feeds/${encodeURIComponent(feedId)}`;
}

export function FeedsPage({ api, params }) {
  const [partners, setPartners] = useState([]);
  useEffect(() => { partnerIds(api).then(setPartners); }, []);
  const query = {
    partnerId: params.get('partnerId') || '',
    status: params.get('status') || '',
    from: params.get('from') || '',
    to: params.get('to') || '',
    orderId: params.get('orderId') || '',
  };
  const key = JSON.stringify(query);
  const [extra, setExtra] = useState({ items: [], cursor: null, loading: false, error: null });
  const first = useAsync(() => api.get('/v1/admin/feeds', { ...query, limit: 50 }), [key]);
  useEffect(() => { setExtra({ items: [], cursor: null, loading: false, error: null }); }, [key]);

  const next = extra.cursor !== null ? extra.cursor : first.data && first.data.nextCursor;
  const more = async () => {
    setExtra((s) => ({ ...s, loading: true, error: null }));
    try {
      const page = await api.get('/v1/admin/feeds', { ...query, limit: 50, cursor: next });
      setExtra((s) => ({ items: [...s.items, ...(page.items || [])], cursor: page.nextCursor || '', loading: false, error: null }));
    } catch (e) {
      setExtra((s) => ({ ...s, loading: false, error: e }));
    }
  };
  const rows = first.data ? [...(first.data.items || []), ...extra.items] : [];
  const filtered = Object.values(query).some(Boolean);

  return html`
    <${PageTitle}>Feeds<//>
    <${FilterForm} path="/feeds" params=${params} label="Feed filters" fields=${[
      { name: 'partnerId', label: 'Partner', suggestions: partners },
      { name: 'status', label: 'Status', type: 'select', options: [['', 'Any'], ...FEED_STATUSES.map((s) => [s, s])] },
      { name: 'from', label: 'From', type: 'datetime', hint: 'Received at or after (your local time)' },
      { name: 'to', label: 'To', type: 'datetime', hint: 'Received at or before (your local time)' },
      { name: 'orderId', label: 'Order id', type: 'number', hint: "An order's sequence number; needs Partner" },
    ]} />
    <${Alert} error=${first.error} />
    ${first.loading && !first.data ? html`<${Loading} />` : ''}
    ${first.data ? html`
      <${DataTable} caption=${filtered ? 'Feeds matching the filters' : 'Feeds'} rows=${rows} rowKey=${(f) => f.feedId}
        empty="No feeds match."
        columns=${[
          { key: 'feedId', label: 'Feed id', rowHeader: true, render: (f) => html`<a href=${feedHref(f.feedId)}>${f.feedId}</a>` },
          { key: 'partnerId', label: 'Partner', className: 'nowrap' },
          { key: 'status', label: 'Status', render: (f) => html`<${Status} value=${f.status} />` },
          { key: 'format', label: 'Format' },
          { key: 'receivedAt', label: 'Received', render: (f) => html`<${Time} value=${f.receivedAt} />` },
          { key: 'updatedAt', label: 'Updated', render: (f) => html`<${Time} value=${f.updatedAt} />` },
          { key: 'orderCount', label: 'Orders', numeric: true, render: (f) => formatNumber(f.orderCount) },
          { key: 'persisted', label: 'Persisted', numeric: true, render: (f) => formatNumber(f.counts?.persisted) },
          { key: 'duplicate', label: 'Duplicates', numeric: true, render: (f) => formatNumber(f.counts?.duplicate) },
          { key: 'rejected', label: 'Rejected', numeric: true, render: (f) => formatNumber(f.counts?.rejected) },
        ]} />
      <${Alert} error=${extra.error} />
      ${next ? html`<p><button type="button" onClick=${more} disabled=${extra.loading}>${extra.loading ? 'Loading…' : 'Load more feeds'}</button></p>` : ''}
    ` : ''}`;
}
