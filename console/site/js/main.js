// The console: sign-in, the layout (skip link, header, nav by role) and the
// hash router (`#/feeds?status=FAILED`: the page's filters live in the hash
// query, so a view can be bookmarked, shared and reloaded).

import { html, render, useState, useEffect, useRef } from '../vendor/preact-htm.js';
import { loadConfig } from './config.js';
import * as auth from './auth.js';
import { createApi } from './api.js';
import { navigate } from './router.js';
import { Alert, Forbidden, PageTitle, Loading } from './ui.js';
import { OverviewPage } from './pages/overview.js';
import { FeedsPage } from './pages/feeds.js';
import { FeedPage } from './pages/feed.js';
import { ErrorsPage } from './pages/errors.js';
import { DeliveriesPage } from './pages/deliveries.js';
import { PartnersPage, PartnerPage } from './pages/partners.js';
import { FormatsPage } from './pages/formats.js';
import { CostPage } from './pages/cost.js';

const EVERYONE = ['admin', 'ops', 'finance'];
const ADMIN_OPS = ['admin', 'ops'];
const ADMIN = ['admin'];
const ADMIN_FINANCE = ['admin', 'finance'];

/** The main navigation: label, hash, the roles that see it, and the route names it covers. */
const NAV = [
  { label: 'Overview', href: '#/', roles: null, covers: ['overview'] },
  { label: 'Feeds', href: '#/feeds', roles: ADMIN_OPS, covers: ['feeds', 'feed', 'execution'] },
  { label: 'Errors', href: '#/errors', roles: ADMIN_OPS, covers: ['errors'] },
  { label: 'Deliveries', href: '#/deliveries', roles: ADMIN_OPS, covers: ['deliveries', 'delivery-execution'] },
  { label: 'Partners', href: '#/partners', roles: ADMIN, covers: ['partners', 'partner'] },
  { label: 'Formats', href: '#/formats', roles: ADMIN, covers: ['formats'] },
  { label: 'Cost', href: '#/cost', roles: ADMIN_FINANCE, covers: ['cost'] },
];

/** The name in an execution ARN (`…:execution:<machine>:<name>`, `…:express:<machine>:<name>:<id>`). */
function executionNameOf(arn) {
  const parts = String(arn).split(':');
  if (parts[5] === 'express' && parts.length >= 9) return parts[7];
  return parts[parts.length - 1] || arn;
}

/** The execution page (H-D2's module, loaded when first needed so the graph libraries load only there). */
function ExecutionRoute({ api, arn, roles }) {
  const [mod, setMod] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    import('./pages/execution.js').then(
      (m) => { if (live) setMod(m); },
      (e) => { if (live) setError({ title: 'The execution page could not be loaded', detail: String(e && e.message ? e.message : e) }); },
    );
    return () => { live = false; };
  }, []);
  if (error) return html`<${PageTitle}>${`Execution ${executionNameOf(arn)}`}<//><${Alert} error=${error} />`;
  if (!mod) return html`<${PageTitle}>${`Execution ${executionNameOf(arn)}`}<//><${Loading} />`;
  const { ExecutionPage } = mod;
  return html`<${ExecutionPage} api=${api} arn=${arn} roles=${roles} />`;
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

/** The route of a hash: {name, args, params, title, roles, render}. */
function matchRoute(hash) {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const [pathPart, query = ''] = raw.split(/\?(.*)/s);
  const params = new URLSearchParams(query);
  const segs = pathPart.split('/').filter(Boolean);
  const one = (name, title, roles, renderPage) => ({ name, params, title, roles, renderPage, key: raw });
  if (segs.length === 0) return one('overview', 'Overview', EVERYONE, (p) => html`<${OverviewPage} ...${p} />`);
  const [head, arg, ...rest] = segs;
  if (rest.length === 0) {
    switch (head) {
      case 'feeds':
        if (arg === undefined) return one('feeds', 'Feeds', ADMIN_OPS, (p) => html`<${FeedsPage} ...${p} />`);
        {
          const feedId = safeDecode(arg);
          return one('feed', `Feed ${feedId}`, ADMIN_OPS, (p) => html`<${FeedPage} ...${p} feedId=${feedId} />`);
        }
      case 'executions':
        if (arg !== undefined) {
          const arn = safeDecode(arg);
          // A webhook delivery's execution belongs under Deliveries in the nav.
          const name = /-webhook-delivery:/.test(arn) ? 'delivery-execution' : 'execution';
          return one(name, `Execution ${executionNameOf(arn)}`, ADMIN_OPS,
            (p) => html`<${ExecutionRoute} api=${p.api} arn=${arn} roles=${p.roles} />`);
        }
        break;
      case 'errors':
        if (arg === undefined) return one('errors', 'Errors', ADMIN_OPS, (p) => html`<${ErrorsPage} ...${p} />`);
        break;
      case 'deliveries':
        if (arg === undefined) return one('deliveries', 'Deliveries', ADMIN_OPS, (p) => html`<${DeliveriesPage} ...${p} />`);
        break;
      case 'partners':
        if (arg === undefined) return one('partners', 'Partners', ADMIN, (p) => html`<${PartnersPage} ...${p} />`);
        {
          const partnerId = safeDecode(arg);
          return one('partner', `Partner ${partnerId}`, ADMIN, (p) => html`<${PartnerPage} ...${p} partnerId=${partnerId} />`);
        }
      case 'formats':
        if (arg === undefined) return one('formats', 'Formats', ADMIN, (p) => html`<${FormatsPage} ...${p} />`);
        break;
      case 'cost':
        if (arg === undefined) return one('cost', 'Cost', ADMIN_FINANCE, (p) => html`<${CostPage} ...${p} />`);
        break;
      default:
        break;
    }
  }
  return one('not-found', 'Page not found', null, () => html`<${PageTitle}>Page not found<//>
    <p>There is no page at <code>${hash}</code>. Go to the <a href="#/">Overview</a>.</p>`);
}


function currentHash() {
  // Only `#/…` is a route: a bare fragment (e.g. from an old link) keeps the page.
  return location.hash.startsWith('#/') ? location.hash : '#/';
}

function SignedOut({ error, onSignIn }) {
  useEffect(() => { document.title = 'Sign in · ZeroBeta console'; }, []);
  return html`<main id="main" class="signed-out" tabindex="-1">
    <h1>ZeroBeta console</h1>
    <p>Operators run ZeroBeta here: feeds, errors, webhook deliveries, partners, formats, volume and cost.</p>
    <${Alert} error=${error} />
    <button type="button" class="primary" onClick=${onSignIn}>Sign in</button>
  </main>`;
}

function Layout({ me, roles, route, api, onSignOut }) {
  const mainRef = useRef(null);
  const firstRoute = useRef(true);
  const allowed = !route.roles || route.roles.some((r) => roles.includes(r));

  // After a navigation, move focus to the new page's heading (screen readers
  // then read the new page), but not on the first load.
  useEffect(() => {
    if (firstRoute.current) { firstRoute.current = false; return; }
    const t = setTimeout(() => {
      const h1 = document.getElementById('page-title');
      if (h1) h1.focus({ preventScroll: false });
    }, 0);
    return () => clearTimeout(t);
  }, [route.name, route.key.split('?')[0]]);

  const skip = (e) => {
    e.preventDefault();
    if (mainRef.current) mainRef.current.focus();
  };
  const rolesText = roles.length ? roles.join(', ') : 'no role';
  const pageProps = { api, roles, me, params: route.params, navigate };
  return html`
    <a class="skip-link" href="#main" onClick=${skip}>Skip to content</a>
    <header class="site-header">
      <a class="brand" href="#/">ZeroBeta console</a>
      <div class="who">
        <p>Signed in as <strong>${me.username}</strong> (${rolesText})</p>
        <button type="button" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <nav aria-label="Main" class="main-nav">
      <ul>
        ${NAV.filter((n) => !n.roles || n.roles.some((r) => roles.includes(r))).map((n) => html`
          <li key=${n.href}><a href=${n.href} aria-current=${n.covers.includes(route.name) ? 'page' : undefined}>${n.label}</a></li>`)}
      </ul>
    </nav>
    <main id="main" ref=${mainRef} tabindex="-1">
      ${allowed ? html`<div key=${route.key.split('?')[0]}>${route.renderPage(pageProps)}</div>` : html`<${Forbidden} title=${route.title} />`}
    </main>`;
}

function App() {
  const [phase, setPhase] = useState('loading');
  const [error, setError] = useState(null);
  const [me, setMe] = useState(null);
  const [api, setApi] = useState(null);
  const [hash, setHash] = useState(currentHash());

  useEffect(() => {
    const onHash = () => { if (location.hash.startsWith('#/') || location.hash === '') setHash(currentHash()); };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    (async () => {
      let cfg;
      try {
        cfg = await loadConfig();
      } catch (e) {
        setError({ title: 'The console is not configured', detail: String(e.message || e) });
        setPhase('error');
        return;
      }
      auth.initAuth(cfg);
      const client = createApi(cfg);
      setApi(client);
      try {
        const back = await auth.handleCallback();
        if (back) setHash(currentHash());
      } catch (e) {
        setError({ title: e.title || 'Sign-in failed', detail: e.detail || String(e.message || e) });
        setPhase('signedOut');
        return;
      }
      if (!auth.resume()) {
        setPhase('signedOut');
        return;
      }
      try {
        const who = await client.get('/v1/admin/me');
        setMe(who);
        setPhase('signedIn');
      } catch (e) {
        if (e.status === 401) return; // api.js is already signing in again
        if (e.status === 403) {
          // A valid token of a user in none of the roles: signed in, but every
          // page says the role cannot use it (and calls nothing).
          const c = auth.tokenClaims() || {};
          setMe({ username: c.username || c['cognito:username'] || 'unknown', groups: [].concat(c['cognito:groups'] || []), roles: [] });
          setPhase('signedIn');
          return;
        }
        setError(e);
        setPhase('signedOut');
      }
    })();
  }, []);

  if (phase === 'loading') {
    return html`<main id="main" class="boot"><h1>ZeroBeta console</h1><${Loading} /></main>`;
  }
  if (phase === 'error') {
    return html`<main id="main"><h1>ZeroBeta console</h1><${Alert} error=${error} /></main>`;
  }
  if (phase === 'signedOut' || !me) {
    return html`<${SignedOut} error=${error} onSignIn=${() => auth.signIn()} />`;
  }
  const roles = Array.isArray(me.roles)
    ? me.roles
    : (me.groups || []).filter((g) => EVERYONE.includes(g));
  const route = matchRoute(hash);
  return html`<${Layout} me=${me} roles=${roles} route=${route} api=${api} onSignOut=${() => auth.signOut()} />`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
