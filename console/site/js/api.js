// The admin API client: bearer token, X-Request-ID, JSON in and out, and
// every refusal turned into {title, detail, status, field} for an Alert.
// Problems are RFC 9457 (application/problem+json); API Gateway's own
// answers are {"message": ...}.

import { accessToken, refresh, signIn, clearTokens } from './auth.js';

export class ApiError extends Error {
  constructor({ title, detail, status, field, fieldDetail, errors, samples, requestId }) {
    super(detail ? `${title}: ${detail}` : title);
    this.title = title;
    this.detail = detail || '';
    this.status = status || 0;
    this.field = field || '';
    this.fieldDetail = fieldDetail || '';
    this.errors = errors || [];
    this.samples = samples;
    this.requestId = requestId || '';
  }
}

function requestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The first field a problem names (`/webhookUrl` → webhookUrl, or a parameter). */
function fieldOf(errors) {
  const e = (errors || [])[0];
  if (!e) return '';
  if (e.parameter) return e.parameter;
  if (e.header) return e.header;
  if (typeof e.pointer === 'string') return e.pointer.replace(/^\//, '') || '(body)';
  return '';
}

async function toError(res, id) {
  const type = res.headers.get('content-type') || '';
  let body = null;
  try { body = type.includes('json') ? await res.json() : null; } catch { body = null; }
  if (body && (type.includes('problem+json') || body.title)) {
    const first = (body.errors || [])[0];
    return new ApiError({
      title: body.title || res.statusText || 'Error',
      detail: body.detail || '',
      fieldDetail: first && first.detail && first.detail !== body.detail ? first.detail : '',
      status: body.status || res.status,
      field: fieldOf(body.errors),
      errors: body.errors,
      samples: body.samples,
      requestId: body.requestId || res.headers.get('x-request-id') || id,
    });
  }
  return new ApiError({
    title: (body && body.message) || res.statusText || `HTTP ${res.status}`,
    detail: body && body.message ? `The API answered HTTP ${res.status}.` : '',
    status: res.status,
    requestId: res.headers.get('x-request-id') || id,
  });
}

/** `api.get('/v1/admin/feeds', {status: 'FAILED'})`, `api.post(path, body, query)`, `api.patch(path, body)`. */
export function createApi(config) {
  const base = config.adminApi;

  async function call(method, path, { query, body } = {}, retried = false) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    const url = `${base}${path}${q.toString() ? `?${q}` : ''}`;
    const token = await accessToken();
    if (!token) {
      signIn();
      throw new ApiError({ title: 'Signed out', detail: 'Sign in again.', status: 401 });
    }
    const id = requestId();
    const headers = { Authorization: `Bearer ${token}`, 'X-Request-ID': id, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError({ title: 'The admin API cannot be reached', detail: String(e && e.message ? e.message : e), status: 0, requestId: id });
    }
    if (res.status === 401) {
      // An expired or revoked token: refresh once, else sign in again.
      if (!retried) {
        try {
          await refresh();
          return call(method, path, { query, body }, true);
        } catch { /* fall through to a new sign-in */ }
      }
      clearTokens();
      signIn();
      throw new ApiError({ title: 'Signed out', detail: 'Your session ended; signing in again.', status: 401, requestId: id });
    }
    if (!res.ok) throw await toError(res, id);
    if (res.status === 204) return null;
    const text = await res.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError({ title: 'Unreadable answer', detail: 'The API answered something that is not JSON.', status: res.status, requestId: id });
    }
  }

  return {
    get: (path, query) => call('GET', path, { query }),
    post: (path, body, query) => call('POST', path, { body, query }),
    patch: (path, body) => call('PATCH', path, { body }),
    /** Every page of a list (`items` + `nextCursor`), up to `max` items. */
    async all(path, query = {}, max = 1000) {
      const items = [];
      let cursor;
      do {
        const page = await call('GET', path, { query: { ...query, limit: 100, cursor } });
        items.push(...(page.items || []));
        cursor = page.nextCursor;
      } while (cursor && items.length < max);
      return items;
    },
  };
}

/** Path segment encoding for ids put in a route. */
export const seg = (s) => encodeURIComponent(String(s));
