// Partners (admin): the list, onboarding (the new API key and webhook
// secret are shown once), and one partner's page: rotate key or secret,
// disable, change webhook URL and rate limit (PATCH, only what changed).

import { html, useState, useEffect } from '../../vendor/preact-htm.js';
import {
  Alert, DataTable, Loading, PageTitle, Status, StatusMessage, Time, useAsync, useId,
} from '../ui.js';
import { seg } from '../api.js';

function partnerHref(id) {
  return `#/partners/${encodeURIComponent(id)}`;
}

/** A secret shown once, with a copy button. */
function Secret({ label, value, testId, note }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try { await navigator.clipboard.writeText(value); setCopied(true); } catch { setCopied(false); }
  };
  return html`<div class="secret">
    <p class="secret-label"><strong>${label}</strong> (shown once: store it now)</p>
    <p><code class="secret-value" data-testid=${testId}>${value}</code></p>
    <p><button type="button" onClick=${copy}>Copy ${label.toLowerCase()}</button> <span aria-live="polite">${copied ? 'Copied.' : ''}</span></p>
    ${note ? html`<p class="muted">${note}</p>` : ''}
  </div>`;
}

function Input({ label, value, onInput, type = 'text', hint, required, invalid, ...rest }) {
  const id = useId('in');
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <input id=${id} type=${type} value=${value} required=${required} aria-invalid=${invalid ? 'true' : undefined}
      aria-describedby=${hint ? `${id}-hint` : undefined} onInput=${(e) => onInput(e.currentTarget.value)} ...${rest} />
    ${hint ? html`<span class="hint" id=${`${id}-hint`}>${hint}</span>` : ''}
  </div>`;
}

/** Is the problem about this body member (`/webhookUrl`, `/rateLimit/rate`)? */
const about = (err, member) => !!(err && err.field && (err.field === member || err.field.startsWith(`${member}/`)));

function Onboard({ api, formats, onCreated }) {
  const [name, setName] = useState('');
  const [format, setFormat] = useState('');
  const [webhookUrl, setWebhookUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const formatId = useId('fmt');
  useEffect(() => { if (!format && formats.length) setFormat(formats[0]); }, [formats.join(',')]);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { name: name.trim(), format };
      if (webhookUrl.trim()) body.webhookUrl = webhookUrl.trim();
      const r = await api.post('/v1/admin/partners', body);
      setCreated(r);
      setName('');
      setWebhookUrl('');
      onCreated(r);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<section class="panel">
    <h2 id="onboard-h">Onboard a partner</h2>
    ${created ? html`<div class="created">
      <p>Partner <a href=${partnerHref(created.partnerId)}>${created.partnerId}</a> created.</p>
      <${Secret} label="API key" value=${created.apiKey} testId="new-api-key" />
      <${Secret} label="Webhook secret" value=${created.webhookSecret} testId="new-webhook-secret" />
    </div>` : ''}
    <form onSubmit=${submit}>
      <${Input} label="Name" value=${name} onInput=${setName} required invalid=${about(error, 'name')} />
      <div class="field">
        <label for=${formatId}>Format</label>
        ${formats.length
          ? html`<select id=${formatId} value=${format} required onChange=${(e) => setFormat(e.currentTarget.value)} aria-invalid=${about(error, 'format') ? 'true' : undefined}>
              ${formats.map((f) => html`<option value=${f} selected=${f === format}>${f}</option>`)}
            </select>`
          : html`<input id=${formatId} type="text" value=${format} required placeholder="partner-a@1" onInput=${(e) => setFormat(e.currentTarget.value)} />`}
      </div>
      <${Input} label="Webhook URL" type="url" value=${webhookUrl} onInput=${setWebhookUrl}
        hint="Optional. https, to a public address; without one, notifications wait in the outbox." invalid=${about(error, 'webhookUrl')} />
      <${Alert} error=${error} />
      <button type="submit" class="primary" disabled=${busy}>Create partner</button>
    </form>
  </section>`;
}

export function PartnersPage({ api }) {
  const [open, setOpen] = useState(false);
  const [formats, setFormats] = useState([]);
  const list = useAsync(() => api.all('/v1/admin/partners', {}, 1000), []);
  useEffect(() => {
    api.all('/v1/admin/formats', {}, 500).then((items) => setFormats(items.map((f) => f.formatId)), () => setFormats([]));
  }, []);
  return html`
    <${PageTitle}>Partners<//>
    <p><button type="button" aria-expanded=${open ? 'true' : 'false'} aria-controls="onboard" onClick=${() => setOpen(!open)}>Onboard partner</button></p>
    <div id="onboard">${open ? html`<${Onboard} api=${api} formats=${formats} onCreated=${() => list.reload({ quiet: true })} />` : ''}</div>
    <${Alert} error=${list.error} />
    ${list.loading && !list.data ? html`<${Loading} />` : ''}
    ${list.data ? html`<${DataTable} caption="Partners" rows=${list.data} rowKey=${(p) => p.partnerId} empty="No partners yet."
      columns=${[
        { key: 'partnerId', label: 'Partner id', rowHeader: true, render: (p) => html`<a href=${partnerHref(p.partnerId)}>${p.partnerId}</a>` },
        { key: 'name', label: 'Name' },
        { key: 'status', label: 'Status', render: (p) => html`<${Status} value=${p.status} />` },
        { key: 'format', label: 'Format' },
        { key: 'webhookUrl', label: 'Webhook', render: (p) => (p.webhookUrl ? html`<span class="break">${p.webhookUrl}</span> ${p.webhookStatus && p.webhookStatus !== 'ENABLED' ? html`<${Status} value=${p.webhookStatus} />` : ''}` : 'None') },
        { key: 'rateLimit', label: 'Rate limit', render: (p) => (p.rateLimit ? `${p.rateLimit.rate}/s, burst ${p.rateLimit.burst}` : 'Default') },
        { key: 'createdAt', label: 'Created', render: (p) => html`<${Time} value=${p.createdAt} />` },
      ]} />` : ''}`;
}

export function PartnerPage({ api, partnerId }) {
  const partner = useAsync(() => api.get(`/v1/admin/partners/${seg(partnerId)}`), [partnerId]);
  const [message, setMessage] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [newKey, setNewKey] = useState(null);
  const [newSecret, setNewSecret] = useState(null);
  const [webhookUrl, setWebhookUrl] = useState('');
  const [rate, setRate] = useState('');
  const [burst, setBurst] = useState('');
  const p = partner.data;
  useEffect(() => {
    if (!p) return;
    setWebhookUrl(p.webhookUrl || '');
    setRate(p.rateLimit ? String(p.rateLimit.rate) : '');
    setBurst(p.rateLimit ? String(p.rateLimit.burst) : '');
  }, [p]);

  const act = async (fn) => {
    setBusy(true);
    setError(null);
    setMessage('');
    try {
      await fn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const rotateKey = () => act(async () => {
    const r = await api.post(`/v1/admin/partners/${seg(partnerId)}/rotate-key`);
    setNewKey(r);
    setMessage('New API key issued.');
  });
  const rotateSecret = () => act(async () => {
    const r = await api.post(`/v1/admin/partners/${seg(partnerId)}/rotate-secret`);
    setNewSecret(r);
    setMessage('New webhook secret issued.');
  });
  const disable = () => act(async () => {
    await api.post(`/v1/admin/partners/${seg(partnerId)}/disable`);
    await partner.reload({ quiet: true });
    setMessage(`Partner ${partnerId} disabled.`);
  });
  const save = (e) => {
    e.preventDefault();
    act(async () => {
      const body = {};
      const url = webhookUrl.trim();
      if (url !== (p.webhookUrl || '')) body.webhookUrl = url || null;
      const r = rate.trim();
      const b = burst.trim();
      const was = p.rateLimit || null;
      if (r || b) {
        if (!r || !b) {
          throw { title: 'Rate limit incomplete', detail: 'Give both the rate (requests per second) and the burst.', field: r ? 'rateLimit/burst' : 'rateLimit/rate' };
        }
        const rl = { rate: Number(r), burst: Number(b) };
        if (!was || was.rate !== rl.rate || was.burst !== rl.burst) body.rateLimit = rl;
      }
      if (Object.keys(body).length === 0) {
        setMessage('Nothing changed.');
        return;
      }
      await api.patch(`/v1/admin/partners/${seg(partnerId)}`, body);
      await partner.reload({ quiet: true });
      setMessage('Saved.');
    });
  };

  return html`
    <${PageTitle}>${`Partner ${partnerId}`}<//>
    <p><a href="#/partners">All partners</a></p>
    <${StatusMessage} message=${message} />
    <${Alert} error=${error} />
    <${Alert} error=${partner.error} />
    ${partner.loading && !p ? html`<${Loading} />` : ''}
    ${p ? html`
      <dl class="facts">
        <div><dt>Name</dt><dd>${p.name}</dd></div>
        <div><dt>Status</dt><dd><${Status} value=${p.status} /></dd></div>
        <div><dt>Format</dt><dd>${p.format}</dd></div>
        <div><dt>Webhook</dt><dd>${p.webhookUrl ? html`<span class="break">${p.webhookUrl}</span>` : 'None'}${p.webhookStatus ? html` <${Status} value=${p.webhookStatus} />` : ''}${p.webhookDisabledReason ? ` (${p.webhookDisabledReason})` : ''}</dd></div>
        <div><dt>Rate limit</dt><dd>${p.rateLimit ? `${p.rateLimit.rate} requests per second, burst ${p.rateLimit.burst}` : 'Default'}</dd></div>
        <div><dt>Created</dt><dd><${Time} value=${p.createdAt} /></dd></div>
      </dl>
      <section class="panel">
        <h2 id="creds-h">Credentials</h2>
        <div class="actions">
          <button type="button" onClick=${rotateKey} disabled=${busy}>Rotate key</button>
          <button type="button" onClick=${rotateSecret} disabled=${busy}>Rotate secret</button>
          <button type="button" class="danger" onClick=${disable} disabled=${busy || p.status === 'DISABLED'}>Disable</button>
        </div>
        ${newKey ? html`<${Secret} label="API key" value=${newKey.apiKey} testId="new-api-key"
          note=${newKey.previousValidUntil ? html`The previous key keeps working until <${Time} value=${newKey.previousValidUntil} />.` : ''} />` : ''}
        ${newSecret ? html`<${Secret} label="Webhook secret" value=${newSecret.webhookSecret} testId="new-webhook-secret"
          note=${newSecret.previousValidUntil ? html`Deliveries are also signed with the previous secret until <${Time} value=${newSecret.previousValidUntil} />.` : ''} />` : ''}
      </section>
      <section class="panel">
        <h2 id="settings-h">Settings</h2>
        <form onSubmit=${save}>
          <${Input} label="Webhook URL" type="url" value=${webhookUrl} onInput=${setWebhookUrl}
            hint="Empty removes the webhook (notifications then wait in the outbox)." invalid=${about(error, 'webhookUrl')} />
          <${Input} label="Rate limit (requests per second)" type="number" min="1" step="1" value=${rate} onInput=${setRate}
            hint="Empty keeps the defaults." invalid=${about(error, 'rateLimit/rate') || about(error, 'rateLimit')} />
          <${Input} label="Burst" type="number" min="1" step="1" value=${burst} onInput=${setBurst}
            hint="Requests the partner may send at once." invalid=${about(error, 'rateLimit/burst') || about(error, 'rateLimit')} />
          <button type="submit" class="primary" disabled=${busy}>Save</button>
        </form>
      </section>
    ` : ''}`;
}
