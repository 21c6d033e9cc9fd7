// Deliveries: webhook notifications with every attempt (status code,
// latency), replay of a DEAD one, and "Replay all dead since": every DEAD
// delivery last changed at or after a time, one replay request each
// (GET /v1/admin/deliveries, POST …/deliveries/{id}/replay).
//
// Each delivery, and each of its replays, is one run of the STANDARD state
// machine webhook-delivery, named after the delivery (`<deliveryId>`, then
// `<deliveryId>-r<n>` for the n-th replay; shared/src/delivery.rs
// execution_name, openapi-admin.yaml ReplayAccepted). Its ARN is the state
// machine's with `:stateMachine:` turned into `:execution:` plus `:<name>`,
// the form Step Functions gives a Standard execution ARN
// (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html#awsstepfunctions-resources-for-iam-policies),
// so the page links to each run's execution page (its history) from
// GET /v1/admin/state-machines, read once.

import { html, useState, useEffect } from '../../vendor/preact-htm.js';
import {
  Alert, DataTable, Loading, PageTitle, Status, StatusMessage, Time, executionHref, formatDuration, formatNumber, useAsync, useId,
} from '../ui.js';
import { FilterForm, partnerIds, localInputToIso } from '../filters.js';
import { seg } from '../api.js';

const STATUSES = ['PENDING', 'FAILED', 'DELIVERED', 'DEAD'];
const DELIVERY_MACHINE = 'webhook-delivery';

/**
 * The execution name of a delivery's run: `<deliveryId>` for the first,
 * `<deliveryId>-r<n>` for the n-th replay; as the server names it, only
 * [A-Za-z0-9_-] kept and at most 80 characters (Step Functions' limit on a name).
 */
export function deliveryExecutionName(deliveryId, replay = 0) {
  const name = replay > 0 ? `${deliveryId}-r${replay}` : String(deliveryId);
  return Array.from(name).filter((c) => /^[A-Za-z0-9_-]$/.test(c)).slice(0, 80).join('');
}

/** `arn:…:stateMachine:<machine>` + name → `arn:…:execution:<machine>:<name>`; null for another ARN. */
export function standardExecutionArn(stateMachineArn, name) {
  const marker = ':stateMachine:';
  const at = typeof stateMachineArn === 'string' ? stateMachineArn.indexOf(marker) : -1;
  if (at < 0 || !name) return null;
  return `${stateMachineArn.slice(0, at)}:execution:${stateMachineArn.slice(at + marker.length)}:${name}`;
}

/** The webhook-delivery state machine's ARN from GET /v1/admin/state-machines, or null. */
function deliveryMachineArn(machines) {
  const items = machines && Array.isArray(machines.items) ? machines.items : [];
  const machine = items.find((m) => m && m.key === DELIVERY_MACHINE);
  return machine && typeof machine.stateMachineArn === 'string' ? machine.stateMachineArn : null;
}

/** The delivery id, linked to its first run's execution page when the ARN is known. */
function DeliveryLink({ d, machineArn }) {
  const arn = standardExecutionArn(machineArn, deliveryExecutionName(d.deliveryId));
  if (!arn) return html`<code>${d.deliveryId}</code>`;
  return html`<a href=${executionHref(arn)} data-execution=${arn}><code>${d.deliveryId}</code><span class="visually-hidden"> (its execution)</span></a>`;
}

/** The replay count, and a link to each replay's execution page. */
function Replays({ d, machineArn }) {
  const count = Number(d.replays) || 0;
  const links = [];
  for (let n = 1; n <= count; n += 1) {
    const arn = standardExecutionArn(machineArn, deliveryExecutionName(d.deliveryId, n));
    if (arn) links.push({ n, arn });
  }
  return html`${formatNumber(d.replays)}
    ${links.length ? html`<ul class="plain replay-runs">
      ${links.map(({ n, arn }) => html`<li key=${n}><a href=${executionHref(arn)} data-execution=${arn}>
        <span class="visually-hidden">Execution of </span>${`replay\u00a0${n}`}<span class="visually-hidden"> of ${d.deliveryId}</span></a></li>`)}
    </ul>` : ''}`;
}

function Attempts({ d }) {
  const list = d.attempts || [];
  if (list.length === 0) return html`<span>None yet</span>`;
  return html`<ol class="attempts">
    ${list.map((a) => html`<li key=${a.attempt}>
      <span class="visually-hidden">Attempt </span>#${a.attempt}:
      ${a.statusCode ? html` HTTP ${a.statusCode}` : ' no answer'}
      ${' '}in ${formatDuration(a.latencyMs)}
      <br /><span class="muted"><${Time} value=${a.at} /></span>
      ${a.error ? html`<span class="attempt-error">: ${a.error}</span>` : ''}
    </li>`)}
  </ol>`;
}

function ReplayAllDead({ api, onDone, onMessage }) {
  const id = useId('dead-since');
  const [since, setSince] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const iso = localInputToIso(since);
    if (!iso) {
      setError({ title: 'Dead since is required', detail: 'Give the time from which DEAD deliveries are replayed.', field: 'Dead since' });
      return;
    }
    setBusy(true);
    onMessage('');
    try {
      const dead = await api.all('/v1/admin/deliveries', { status: 'DEAD' }, 1000);
      const cutoff = Date.parse(iso);
      const chosen = dead.filter((d) => Date.parse(d.updatedAt) >= cutoff);
      let started = 0;
      const failures = [];
      for (const d of chosen) {
        try {
          await api.post(`/v1/admin/partners/${seg(d.partnerId)}/deliveries/${seg(d.deliveryId)}/replay`);
          started += 1;
        } catch (err) {
          failures.push(`${d.deliveryId}: ${err.title}${err.detail ? ` (${err.detail})` : ''}`);
        }
      }
      if (chosen.length === 0) {
        onMessage('No DEAD delivery changed since then: nothing to replay.');
      } else {
        onMessage(`Replay started for ${started} of ${chosen.length} dead deliveries.`);
      }
      if (failures.length) setError({ title: `${failures.length} replays were refused`, detail: failures.join('; ') });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="panel">
    <h2 id="replay-all-h">Replay all dead since</h2>
    <form onSubmit=${submit} class="inline-form">
      <div class="field">
        <label for=${id}>Dead since</label>
        <input id=${id} type="datetime-local" required value=${since} onInput=${(e) => setSince(e.currentTarget.value)}
          aria-describedby=${`${id}-hint`} aria-invalid=${error && error.field === 'Dead since' ? 'true' : undefined} />
        <span class="hint" id=${`${id}-hint`}>Your local time; DEAD deliveries last changed at or after it are sent again, one request each.</span>
      </div>
      <button type="submit" class="primary" disabled=${busy}>Replay all dead</button>
    </form>
    <${Alert} error=${error} />
  </section>`;
}

export function DeliveriesPage({ api, roles, params }) {
  const [partners, setPartners] = useState([]);
  useEffect(() => { partnerIds(api).then(setPartners); }, []);
  const [message, setMessage] = useState('');
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState('');
  const query = { partnerId: params.get('partnerId') || '', status: params.get('status') || '' };
  const key = JSON.stringify(query);
  const list = useAsync(() => api.all('/v1/admin/deliveries', query, 500), [key]);
  const mayReplay = roles.includes('admin') || roles.includes('ops');
  // Read once: the ARN does not change while the page is open.
  const machines = useAsync(() => api.get('/v1/admin/state-machines'), []);
  const machineArn = deliveryMachineArn(machines.data);

  const replay = async (d) => {
    setBusy(`${d.partnerId}/${d.deliveryId}`);
    setActionError(null);
    setMessage('');
    try {
      const r = await api.post(`/v1/admin/partners/${seg(d.partnerId)}/deliveries/${seg(d.deliveryId)}/replay`);
      setMessage(`Replay started: ${r.executionName}`);
      list.reload({ quiet: true });
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy('');
    }
  };

  return html`
    <${PageTitle}>Deliveries<//>
    <${StatusMessage} message=${message} />
    <${Alert} error=${actionError} />
    <${FilterForm} path="/deliveries" params=${params} label="Delivery filters" fields=${[
      { name: 'partnerId', label: 'Partner', suggestions: partners },
      { name: 'status', label: 'Status', type: 'select', options: [['', 'Any'], ...STATUSES.map((s) => [s, s])] },
    ]} />
    ${mayReplay ? html`<${ReplayAllDead} api=${api} onMessage=${setMessage} onDone=${() => list.reload({ quiet: true })} />` : ''}
    <${Alert} error=${list.error} />
    ${machines.error ? html`<p class="muted">Execution links are not available: ${machines.error.title || 'the state machines could not be read'}.</p>` : ''}
    ${list.loading && !list.data ? html`<${Loading} />` : ''}
    ${list.data ? html`<${DataTable} caption="Webhook deliveries" rows=${list.data} rowKey=${(d) => `${d.partnerId}/${d.deliveryId}`}
      empty="No deliveries match."
      columns=${[
        { key: 'deliveryId', label: 'Delivery', rowHeader: true, render: (d) => html`<${DeliveryLink} d=${d} machineArn=${machineArn} />` },
        { key: 'partnerId', label: 'Partner', className: 'nowrap' },
        { key: 'type', label: 'Type' },
        { key: 'status', label: 'Status', render: (d) => html`<${Status} value=${d.status} />` },
        ...(mayReplay ? [{
          key: 'action', label: 'Action',
          render: (d) => (d.status === 'DEAD'
            ? html`<button type="button" onClick=${() => replay(d)} disabled=${busy === `${d.partnerId}/${d.deliveryId}`}>Replay<span class="visually-hidden"> ${d.deliveryId}</span></button>`
            : '—'),
        }] : []),
        { key: 'attempts', label: 'Attempts', render: (d) => html`<${Attempts} d=${d} />` },
        { key: 'replays', label: 'Replays', numeric: true, render: (d) => html`<${Replays} d=${d} machineArn=${machineArn} />` },
        { key: 'updatedAt', label: 'Last change', render: (d) => html`<${Time} value=${d.updatedAt} />` },
        { key: 'lastError', label: 'Last error', render: (d) => d.lastError || '—' },
      ]} />` : ''}`;
}
