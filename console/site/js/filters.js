// The filter form of a list page. Its values live in the URL hash query
// (`#/feeds?status=FAILED&from=2026-01-31T09:00:00Z`), so applying a filter
// is a navigation and a filtered view can be bookmarked or shared.

import { html, useState, useEffect } from '../vendor/preact-htm.js';
import { hashFor, useId } from './ui.js';
import { navigate } from './router.js';

const pad = (n) => String(n).padStart(2, '0');

/** RFC 3339 → the `datetime-local` value of the same instant in the browser's time zone. */
export function isoToLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value (browser time zone) → RFC 3339 UTC, or ''. */
export function localInputToIso(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function Field({ field, value, onInput }) {
  const id = useId('filter');
  const hintId = `${id}-hint`;
  const common = { id, name: field.name, onInput: (e) => onInput(field.name, e.currentTarget.value), 'aria-describedby': field.hint ? hintId : undefined };
  let control;
  if (field.type === 'select') {
    control = html`<select ...${common} value=${value} onChange=${common.onInput}>
      ${(field.options || []).map((o) => {
        const [v, label] = Array.isArray(o) ? o : [o, o || 'Any'];
        return html`<option value=${v} selected=${v === value}>${label}</option>`;
      })}
    </select>`;
  } else if (field.type === 'datetime') {
    control = html`<input type="datetime-local" ...${common} value=${value} />`;
  } else if (field.type === 'date') {
    control = html`<input type="date" ...${common} value=${value} />`;
  } else if (field.type === 'number') {
    control = html`<input type="number" inputmode="numeric" min="0" ...${common} value=${value} />`;
  } else {
    const listId = field.suggestions && field.suggestions.length ? `${id}-list` : undefined;
    control = html`<input type="text" autocomplete="off" spellcheck="false" list=${listId} ...${common} value=${value} />
      ${listId ? html`<datalist id=${listId}>${field.suggestions.map((s) => html`<option value=${s}></option>`)}</datalist>` : ''}`;
  }
  return html`<div class="field">
    <label for=${id}>${field.label}</label>
    ${control}
    ${field.hint ? html`<span class="hint" id=${hintId}>${field.hint}</span>` : ''}
  </div>`;
}

/**
 * fields: [{name, label, type: text|select|datetime|date|number, options?, suggestions?, hint?}].
 * Datetime fields are RFC 3339 in the hash and local time in the input.
 */
export function FilterForm({ path, fields, params, label = 'Filters', extra = {} }) {
  const fromParams = () => Object.fromEntries(fields.map((f) => {
    const v = params.get(f.name) || '';
    return [f.name, f.type === 'datetime' ? isoToLocalInput(v) : v];
  }));
  const [values, setValues] = useState(fromParams);
  const key = params.toString();
  useEffect(() => { setValues(fromParams()); }, [key]);
  const onInput = (name, v) => setValues((s) => ({ ...s, [name]: v }));
  const apply = (e) => {
    e.preventDefault();
    const out = { ...extra };
    for (const f of fields) {
      const v = (values[f.name] || '').trim();
      out[f.name] = f.type === 'datetime' ? localInputToIso(v) : v;
    }
    navigate(hashFor(path, out));
  };
  const clear = () => navigate(hashFor(path, extra));
  return html`<form class="filters" aria-label=${label} onSubmit=${apply}>
    <div class="filter-fields">
      ${fields.map((f) => html`<${Field} key=${f.name} field=${f} value=${values[f.name] || ''} onInput=${onInput} />`)}
    </div>
    <div class="actions">
      <button type="submit" class="primary">Apply filters</button>
      <button type="button" onClick=${clear}>Clear filters</button>
    </div>
  </form>`;
}

/** The partner ids (for suggestions), or [] when they cannot be listed. */
export async function partnerIds(api) {
  try {
    const items = await api.all('/v1/admin/partners', {}, 500);
    return items.map((p) => p.partnerId).sort();
  } catch {
    return [];
  }
}
