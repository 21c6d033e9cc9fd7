// Formats (admin): the built-in and published formats, and "Publish a
// version": the request body (format.json mapping, JSON Schema, sample
// orders) is dry-run first (POST /v1/admin/formats?dryRun=true, each
// sample's outcome shown); Publish is enabled only after a clean dry run of
// exactly the body on screen.

import { html, useState } from '../../vendor/preact-htm.js';
import {
  Alert, DataTable, Loading, PageTitle, Status, StatusMessage, Time, JsonBlock, useAsync, useId,
} from '../ui.js';
import { seg } from '../api.js';

function SampleOutcomes({ samples, caption }) {
  return html`<${DataTable} caption=${caption} rows=${samples} rowKey=${(s) => s.index}
    columns=${[
      { key: 'index', label: 'Sample', numeric: true, rowHeader: true },
      { key: 'outcome', label: 'Outcome', render: (s) => html`<${Status} value=${s.outcome} />` },
      {
        key: 'details', label: 'Details',
        render: (s) => (s.outcome === 'rejected'
          ? html`<ul class="plain">${(s.rejections || []).map((r) => html`<li>${r.code} at <code>${r.field || '(order)'}</code>: ${r.message}</li>`)}</ul>`
          : html`<details><summary>Canonical order <span class="visually-hidden">of sample ${s.index}</span></summary><${JsonBlock} value=${s.order} label=${`Canonical order of sample ${s.index}`} /></details>`),
      },
    ]} />`;
}

function Publish({ api, start, onPublished }) {
  const textId = useId('body');
  const fileId = useId('file');
  const [text, setText] = useState(start || '');
  const [checked, setChecked] = useState(null); // the body text of the last clean dry run
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);


  const parse = () => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw { title: 'The request body is not JSON', detail: String(e.message || e), field: 'Request body (JSON)' };
    }
  };
  const run = async (dryRun) => {
    setBusy(true);
    setError(null);
    setMessage('');
    if (dryRun) { setReport(null); setChecked(null); }
    try {
      const body = parse();
      const r = await api.post('/v1/admin/formats', body, dryRun ? { dryRun: 'true' } : undefined);
      setReport(r);
      if (dryRun) {
        const rejected = (r.samples || []).filter((s) => s.outcome !== 'canonical').length;
        setChecked(text);
        setMessage(rejected
          ? `Dry run of ${r.formatId}: ${rejected} of ${r.samples.length} samples rejected; the others yield canonical orders.`
          : `Dry run of ${r.formatId}: every sample yields a canonical order.`);
      } else {
        setChecked(null);
        setMessage(`Published ${r.formatId}.`);
        onPublished(r);
      }
    } catch (e) {
      setError(e);
      if (e.samples) setReport({ formatId: '', samples: e.samples, failed: true });
    } finally {
      setBusy(false);
    }
  };
  const onFile = async (e) => {
    const file = e.currentTarget.files && e.currentTarget.files[0];
    if (!file) return;
    setText(await file.text());
    setChecked(null);
    setReport(null);
  };
  const clean = checked !== null && checked === text;

  return html`<section class="panel">
    <h2 id="publish-h">Publish a version</h2>
    <p>The body is <code>{"format": {…format.json…}, "schema": {…JSON Schema…}, "samples": [orders…]}</code>.
      Run a dry run first; Publish is enabled once the dry run of this exact body succeeds.</p>
    <${StatusMessage} message=${message} />
    <form onSubmit=${(e) => { e.preventDefault(); run(true); }}>
      <div class="field">
        <label for=${fileId}>Request file (JSON)</label>
        <input id=${fileId} type="file" accept="application/json,.json" onChange=${onFile} />
      </div>
      <div class="field">
        <label for=${textId}>Request body (JSON)</label>
        <textarea id=${textId} rows="16" spellcheck="false" class="code" value=${text}
          aria-invalid=${error && error.field === 'Request body (JSON)' ? 'true' : undefined}
          onInput=${(e) => { setText(e.currentTarget.value); }}></textarea>
      </div>
      <div class="actions">
        <button type="submit" disabled=${busy}>Dry run</button>
        <button type="button" class="primary" disabled=${busy || !clean} aria-describedby="publish-why" onClick=${() => run(false)}>Publish</button>
        <span id="publish-why" class="muted">${clean ? 'The dry run of this body succeeded.' : 'Needs a successful dry run of this body.'}</span>
      </div>
    </form>
    <${Alert} error=${error} />
    ${report && report.samples ? html`<${SampleOutcomes} samples=${report.samples}
      caption=${report.failed ? 'Sample outcomes (nothing was published)' : report.dryRun === false ? `Sample outcomes of ${report.formatId} (published)` : `Sample outcomes of ${report.formatId} (dry run)`} />` : ''}
  </section>`;
}

export function FormatsPage({ api }) {
  const list = useAsync(() => api.all('/v1/admin/formats', {}, 1000), []);
  const [start, setStart] = useState('');
  const [startError, setStartError] = useState(null);
  const startFrom = async (f) => {
    setStartError(null);
    try {
      const d = await api.get(`/v1/admin/formats/${seg(f.formatId)}`);
      const format = { ...d.format, version: (d.version || d.format.version || 0) + 1 };
      setStart(JSON.stringify({ format, schema: d.schema, samples: [] }, null, 2));
      const el = document.getElementById('publish-h');
      if (el) el.scrollIntoView();
    } catch (e) {
      setStartError(e);
    }
  };
  return html`
    <${PageTitle}>Formats<//>
    <${Alert} error=${list.error} />
    <${Alert} error=${startError} />
    ${list.loading && !list.data ? html`<${Loading} />` : ''}
    ${list.data ? html`<${DataTable} caption="Formats" rows=${list.data} rowKey=${(f) => f.formatId} empty="No formats."
      columns=${[
        { key: 'formatId', label: 'Format', rowHeader: true, render: (f) => html`<code>${f.formatId}</code>` },
        { key: 'source', label: 'Source' },
        { key: 'description', label: 'Description' },
        { key: 'contentTypes', label: 'Content types', render: (f) => (f.contentTypes || []).join(', ') || '—' },
        { key: 'publishedAt', label: 'Published', render: (f) => (f.publishedAt ? html`<${Time} value=${f.publishedAt} />${f.publishedBy ? ` by ${f.publishedBy}` : ''}` : '—') },
        { key: 'start', label: 'New version', render: (f) => html`<button type="button" class="small" onClick=${() => startFrom(f)}>Start from <span class="visually-hidden">${f.formatId}</span></button>` },
      ]} />` : ''}
    <${Publish} key=${start} api=${api} start=${start} onPublished=${() => list.reload({ quiet: true })} />`;
}
