// Sign-in with the Cognito hosted UI: OAuth 2.0 authorization code grant
// with PKCE (RFC 7636, S256), as a public client (no secret).
// Endpoints per the Cognito developer guide: /oauth2/authorize
// (authorization-endpoint.html), /oauth2/token (token-endpoint.html, form
// encoded; grant_type authorization_code and refresh_token), /logout
// (logout-endpoint.html, client_id + logout_uri).
//
// Tokens live in sessionStorage: they end with the tab, and are never in
// localStorage or cookies. The access token is what the admin API's JWT
// authorizer accepts (ID tokens lack the scope it requires).

const KEY_TOKENS = 'zb.tokens';
const KEY_PKCE = 'zb.pkce';
const KEY_RETURN = 'zb.returnHash';
// Refresh this long before the access token expires.
const REFRESH_MARGIN_MS = 60_000;

let config = null;
let refreshTimer = null;
let refreshing = null;

export function initAuth(cfg) {
  config = cfg;
}

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(byteCount = 32) {
  const bytes = new Uint8Array(byteCount);
  crypto.getRandomValues(bytes);
  return b64url(bytes);
}

async function s256(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

function readJson(key) {
  try {
    const v = sessionStorage.getItem(key);
    return v ? JSON.parse(v) : null;
  } catch {
    return null;
  }
}

export function getTokens() {
  return readJson(KEY_TOKENS);
}

function saveTokens(answer, previous) {
  const tokens = {
    accessToken: answer.access_token,
    idToken: answer.id_token || (previous && previous.idToken) || null,
    // A refresh answers no new refresh token (Cognito): keep the one we have.
    refreshToken: answer.refresh_token || (previous && previous.refreshToken) || null,
    expiresAt: Date.now() + Number(answer.expires_in || 3600) * 1000,
  };
  sessionStorage.setItem(KEY_TOKENS, JSON.stringify(tokens));
  scheduleRefresh(tokens);
  return tokens;
}

export function clearTokens() {
  sessionStorage.removeItem(KEY_TOKENS);
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
}

function scheduleRefresh(tokens) {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  if (!tokens || !tokens.refreshToken) return;
  const wait = Math.max(5_000, tokens.expiresAt - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => { refresh().catch(() => {}); }, wait);
}

/** Redirects to the hosted UI; comes back at redirectUri with ?code=&state=. */
export async function signIn() {
  const verifier = randomString(48);
  const state = randomString(24);
  const challenge = await s256(verifier);
  sessionStorage.setItem(KEY_PKCE, JSON.stringify({ verifier, state }));
  const hash = location.hash && location.hash.startsWith('#/') ? location.hash : '';
  sessionStorage.setItem(KEY_RETURN, hash);
  const a = config.auth;
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: a.clientId,
    redirect_uri: a.redirectUri,
    scope: (a.scopes || ['openid']).join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${a.hostedUi}/oauth2/authorize?${q}`);
}

async function tokenRequest(form) {
  const res = await fetch(`${config.auth.hostedUi}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  if (!res.ok || !body || !body.access_token) {
    const err = new Error((body && (body.error_description || body.error)) || `token endpoint answered HTTP ${res.status}`);
    err.title = 'Sign-in failed';
    err.detail = err.message;
    err.status = res.status;
    throw err;
  }
  return body;
}

/**
 * At the redirect URI: if the query carries `code` (or `error`), finish the
 * sign-in and clean the URL. Returns the hash to go back to, or null when
 * this was not a callback. Throws a {title, detail} on a bad callback.
 */
export async function handleCallback() {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const saved = readJson(KEY_PKCE);
  sessionStorage.removeItem(KEY_PKCE);
  const back = sessionStorage.getItem(KEY_RETURN) || '#/';
  sessionStorage.removeItem(KEY_RETURN);
  // Drop ?code=&state= from the address bar (and history) at once.
  history.replaceState(null, '', `${location.pathname}${back}`);
  if (params.has('error')) {
    throw { title: 'Sign-in failed', detail: params.get('error_description') || params.get('error') };
  }
  if (!saved || !saved.state || saved.state !== params.get('state')) {
    throw { title: 'Sign-in failed', detail: 'The sign-in answer does not match the request (state). Sign in again.' };
  }
  const answer = await tokenRequest({
    grant_type: 'authorization_code',
    client_id: config.auth.clientId,
    code: params.get('code'),
    redirect_uri: config.auth.redirectUri,
    code_verifier: saved.verifier,
  });
  saveTokens(answer, null);
  return back;
}

/** New access (and ID) tokens from the refresh token; one at a time. */
export function refresh() {
  if (refreshing) return refreshing;
  const tokens = getTokens();
  if (!tokens || !tokens.refreshToken) return Promise.reject(new Error('no refresh token'));
  refreshing = tokenRequest({
    grant_type: 'refresh_token',
    client_id: config.auth.clientId,
    refresh_token: tokens.refreshToken,
  })
    .then((answer) => saveTokens(answer, tokens))
    .finally(() => { refreshing = null; });
  return refreshing;
}

/** The access token, refreshed first when it is about to expire; null if signed out. */
export async function accessToken() {
  const tokens = getTokens();
  if (!tokens || !tokens.accessToken) return null;
  if (tokens.expiresAt - Date.now() < 30_000 && tokens.refreshToken) {
    try {
      return (await refresh()).accessToken;
    } catch {
      return tokens.expiresAt > Date.now() ? tokens.accessToken : null;
    }
  }
  return tokens.accessToken;
}

/**
 * The access token's claims (not verified here: the API's JWT authorizer
 * does that). Only for showing who is signed in when /me refuses them.
 */
export function tokenClaims() {
  const tokens = getTokens();
  if (!tokens || !tokens.accessToken) return null;
  try {
    const part = tokens.accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** Resumes the refresh schedule after a reload of the page. */
export function resume() {
  const tokens = getTokens();
  if (tokens) scheduleRefresh(tokens);
  return !!tokens;
}

/** Forgets the tokens and ends the hosted UI session. */
export function signOut() {
  clearTokens();
  const a = config.auth;
  const q = new URLSearchParams({ client_id: a.clientId, logout_uri: a.logoutUri || a.redirectUri });
  location.assign(`${a.hostedUi}/logout?${q}`);
}
