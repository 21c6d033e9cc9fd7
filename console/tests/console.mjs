// The ops console in a real browser (issue 15, tests/console_browser.rs runs it).
//
// Debian's Chromium, headless, driven by playwright-core (no browser of its
// own is downloaded). Every selector is a name the contract promises
// (/tmp/console/CONTRACT.md, "Console UI"): headings, labels, button names,
// roles, data-testids. One fresh browser context per role, signed in through
// the local Cognito's hosted UI exactly as an operator does.
//
//   node console/tests/console.mjs <facts.json>
//
// The facts (written by tests/console_browser.rs): consoleUrl, partnerApi,
// adminApi, cognitoUrl, users {admin, ops, finance: {username, password}},
// demoFeed {feedId, partnerId}, failedFeed {feedId, partnerId},
// deadDelivery {partnerId, deliveryId}, newPartner {name, format},
// screenshotDir, resultFile, stepTimeoutMs, totalTimeoutMs.
//
// It exits 0 when every check passed, 1 on the first failure (with the step,
// what was expected and what the page showed), 2 on the overall time limit.

import { chromium } from 'playwright-core';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const axePath = path.join(here, '..', 'node_modules', 'axe-core', 'axe.min.js');

// ------------------------------------------------------------------ facts

async function readFacts() {
  const arg = process.argv[2] ?? process.env.ZB_CONSOLE_FACTS;
  if (!arg) {
    throw new Error('usage: node console/tests/console.mjs <facts.json> (or ZB_CONSOLE_FACTS=<json>)');
  }
  const text = arg.trim().startsWith('{') ? arg : await readFile(arg, 'utf8');
  return JSON.parse(text);
}

const facts = await readFacts();
const STEP = facts.stepTimeoutMs ?? 20_000;
const TOTAL = facts.totalTimeoutMs ?? 300_000;
const consoleUrl = facts.consoleUrl.endsWith('/') ? facts.consoleUrl : `${facts.consoleUrl}/`;
const adminApi = facts.adminApi.replace(/\/$/, '');
const partnerApi = facts.partnerApi.replace(/\/$/, '');
const shots = facts.screenshotDir;
await mkdir(shots, { recursive: true });

// The order pipeline's top-level states, from the definition the cloud runs.
const pipeline = JSON.parse(await readFile(path.join(repo, 'statemachines', 'order-pipeline.asl.json'), 'utf8'));
const pipelineStates = Object.keys(pipeline.States);
// The webhook delivery's states (a Standard state machine: its executions have a history).
const delivery = JSON.parse(await readFile(path.join(repo, 'statemachines', 'webhook-delivery.asl.json'), 'utf8'));
const deliveryStates = Object.keys(delivery.States);

// ------------------------------------------------------------------ harness

function log(...args) {
  console.log('[console.mjs]', ...args);
}

class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

let currentStep = 'start';
const result = { steps: [] };

async function step(name, fn) {
  currentStep = name;
  log(`step: ${name}`);
  const started = Date.now();
  await fn();
  result.steps.push(name);
  log(`  ok (${Date.now() - started} ms): ${name}`);
}

// A whole run has a bound: a hung browser must not hang `make test`.
const watchdog = setTimeout(() => {
  console.error(`[console.mjs] FAILED: the run took longer than ${TOTAL} ms (at step "${currentStep}")`);
  process.exit(2);
}, TOTAL);
watchdog.unref();

/** Polls `probe` until it returns a truthy value; fails with `describe()` after `ms`. */
async function until(probe, describe, ms = STEP) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) fail(`${await describe()} (after ${ms} ms)`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The visible text of the page's main content, shortened, for failure messages. */
async function pageText(page) {
  try {
    const text = await page.locator('body').innerText({ timeout: 2_000 });
    return text.replace(/\s+/g, ' ').slice(0, 1500);
  } catch (e) {
    return `(no text: ${e.message})`;
  }
}

// ------------------------------------------------------------------ browser

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ],
  timeout: STEP,
});

/** Page errors, console errors (CSP violations are console errors) and API calls, per role. */
const sessions = [];

async function newSession(role) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(STEP);
  context.setDefaultNavigationTimeout(STEP);
  const page = await context.newPage();
  const session = { role, context, page, errors: [], adminCalls: [] };
  page.on('pageerror', (e) => session.errors.push(`uncaught exception at ${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') {
      const at = m.location();
      // Chromium fetches /favicon.ico by itself for a page that names no icon;
      // that 404 is the browser's request, not the page's (the console and the
      // hosted UI name none), so it is not an error of theirs.
      if (/\/favicon\.ico$/.test(at.url ?? '')) return;
      session.errors.push(`console error at ${page.url()}: ${m.text()} (${at.url}:${at.lineNumber})`);
    }
  });
  page.on('request', (r) => {
    if (r.url().startsWith(adminApi)) session.adminCalls.push(`${r.method()} ${r.url()}`);
  });
  sessions.push(session);
  return session;
}

function assertNoErrors(session, where) {
  if (session.errors.length) {
    fail(`${session.role}: errors in the page (${where}):\n  ${session.errors.join('\n  ')}`);
  }
}

async function heading(page, name) {
  const h1 = page.getByRole('heading', { level: 1, name, exact: typeof name === 'string' });
  try {
    await h1.first().waitFor({ state: 'visible' });
  } catch {
    const seen = await page.locator('h1').allInnerTexts().catch(() => []);
    fail(`expected h1 ${JSON.stringify(String(name))} at ${page.url()}; h1s: ${JSON.stringify(seen)}; page: ${await pageText(page)}`);
  }
}

/** Goes to a console route (a hash) and waits for its h1. */
async function visit(session, hash, h1) {
  await session.page.goto(`${consoleUrl}${hash}`);
  await heading(session.page, h1);
}

/** An element with role=status (or alert) holding `text`; fails showing what the page said. */
async function statusWith(page, role, text) {
  const loc = page.getByRole(role).filter({ hasText: text });
  try {
    await loc.first().waitFor({ state: 'attached' });
  } catch {
    const alerts = await page.getByRole('alert').allInnerTexts().catch(() => []);
    const statuses = await page.getByRole('status').allInnerTexts().catch(() => []);
    fail(`no role="${role}" containing ${JSON.stringify(text)} at ${page.url()}; ` +
      `alerts: ${JSON.stringify(alerts)}; statuses: ${JSON.stringify(statuses)}`);
  }
}

async function signIn(role) {
  const session = await newSession(role);
  const { page } = session;
  const user = facts.users[role];
  await page.goto(consoleUrl);
  await heading(page, 'ZeroBeta console');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The local Cognito's hosted UI (/oauth2/authorize -> /login).
  try {
    await page.getByLabel('Username', { exact: true }).waitFor();
  } catch {
    fail(`"Sign in" did not lead to the hosted UI's Username field; at ${page.url()}: ${await pageText(page)}`);
  }
  if (!page.url().startsWith(facts.cognitoUrl)) {
    fail(`the sign-in form is at ${page.url()}, not the local Cognito ${facts.cognitoUrl}`);
  }
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // Back at the redirect URI with ?code=&state=; the console exchanges the code.
  const signedIn = page.getByText(/Signed in as/);
  try {
    await signedIn.first().waitFor();
  } catch {
    fail(`${role}: no "Signed in as" after the hosted UI; at ${page.url()}: ${await pageText(page)}`);
  }
  const line = (await signedIn.first().innerText()).replace(/\s+/g, ' ');
  if (!line.includes(`Signed in as ${user.username}`) || !line.includes(role)) {
    fail(`${role}: the header says ${JSON.stringify(line)}, expected "Signed in as ${user.username} (${role})"`);
  }
  if (!page.url().startsWith(consoleUrl)) fail(`${role}: signed in at ${page.url()}, not under ${consoleUrl}`);
  assertNoErrors(session, 'sign-in');
  return session;
}

// ------------------------------------------------------------------ axe-core

const axeSource = await readFile(axePath, 'utf8');

/**
 * Runs axe-core on the page as it is; fails on any violation.
 *
 * The console's CSP (script-src 'self', no 'unsafe-inline') blocks
 * page.addScriptTag, which inserts an inline <script>, and the refusal would
 * itself be a CSP console error. So axe is injected with page.evaluate(source),
 * which runs through the DevTools protocol (Runtime.evaluate) and is not
 * subject to the page's CSP. The context does not use bypassCSP: the console
 * is tested under the very policy it is served with.
 */
async function axe(session, label) {
  const { page } = session;
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  });
  if (violations.length) {
    const lines = violations.map((v) =>
      `- ${v.id} (${v.impact}): ${v.help} ${v.helpUrl}\n` +
      v.nodes.map((n) => `    at ${n.target}: ${String(n.summary).replace(/\n/g, ' | ')}`).join('\n'));
    fail(`axe-core: ${violations.length} violation(s) on ${label} (${page.url()}):\n${lines.join('\n')}`);
  }
  log(`  axe-core: no violations on ${label}`);
}

/** Waits until nothing on the page says it is loading, then a moment for layout. */
async function settled(page) {
  await until(
    async () => (await page.locator('[aria-busy="true"]').count()) === 0,
    async () => `still aria-busy at ${page.url()}`,
  ).catch(() => {});
  await page.waitForTimeout(300);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name), fullPage: true });
}

// ------------------------------------------------------------------ ops

async function readOutcomes(page) {
  return page.evaluate(() => {
    const table = [...document.querySelectorAll('table')].find(
      (t) => t.caption && t.caption.textContent.trim() === 'States',
    );
    if (!table) return null;
    return Object.fromEntries(
      [...table.querySelectorAll('tr[data-state]')].map((tr) => [tr.dataset.state, tr.dataset.outcome]),
    );
  });
}

async function readGraph(page) {
  return page.evaluate(() => {
    const cy = window.zbGraph;
    if (!cy || typeof cy.nodes !== 'function') return null;
    return cy.nodes().map((n) => ({
      id: n.id(),
      name: n.data('name') ?? n.data('stateName') ?? n.data('label') ?? n.id(),
      outcome: n.data('outcome'),
    }));
  });
}

/** A good feed: every state it ran succeeded, the failure path was never entered. */
const demoExpected = {
  Validate: 'succeeded',
  Transform: 'succeeded',
  Persist: 'succeeded',
  HasRejections: 'succeeded',
  Done: 'succeeded',
  RecordErrors: 'not-reached',
  MarkFeedFailed: 'not-reached',
  AfterRecordErrors: 'not-reached',
  FeedFailed: 'not-reached',
};

/** The state a Catch of `state` matching `error` goes to (ASL: the first Catcher whose ErrorEquals matches). */
function catchTarget(machine, state, error) {
  const catcher = (machine.States[state].Catch ?? []).find(
    (c) => c.ErrorEquals.includes(error) || c.ErrorEquals.includes('States.ALL'),
  );
  return catcher?.Next;
}

/**
 * The failed feed's first run, derived from how order-pipeline.asl.json routes
 * it. The mixed feed has rejections, so Validate -> Transform -> Persist ->
 * HasRejections (rejectedCount > 0) -> RecordErrors. RecordErrorFunction's
 * injected fault (tests/console_browser.rs: "StoreError*1", an error none of
 * its Retry entries names) fails RecordErrors once; its Catch (States.ALL)
 * goes to MarkFeedFailed, which calls the same function, the fault now spent,
 * and succeeds; its Next is the Fail state FeedFailed, whose failure ends the
 * execution. AfterRecordErrors and Done are never entered.
 */
function failedExpectation() {
  const S = pipeline.States;
  const ran = [];
  const check = (ok, what) => {
    if (!ok) fail(`statemachines/order-pipeline.asl.json no longer routes the failed feed as this test expects: ${what}`);
  };
  check(S.Validate.Next === 'Transform' && S.Transform.Next === 'Persist' && S.Persist.Next === 'HasRejections',
    'Validate -> Transform -> Persist -> HasRejections');
  check(S.HasRejections.Choices.some((c) => c.Next === 'RecordErrors'), 'HasRejections -> RecordErrors');
  const retried = (S.RecordErrors.Retry ?? []).some((r) => r.ErrorEquals.includes('StoreError') || r.ErrorEquals.includes('States.ALL'));
  check(!retried, 'RecordErrors retries StoreError (the fault would not reach its Catch)');
  const afterCatch = catchTarget(pipeline, 'RecordErrors', 'StoreError');
  check(afterCatch === 'MarkFeedFailed', `RecordErrors' Catch goes to ${afterCatch}, not MarkFeedFailed`);
  check(S.MarkFeedFailed.Next === 'FeedFailed' && S.FeedFailed.Type === 'Fail', 'MarkFeedFailed -> FeedFailed (a Fail state)');
  ran.push('Validate', 'Transform', 'Persist', 'HasRejections');
  const expected = Object.fromEntries(pipelineStates.map((s) => [s, 'not-reached']));
  for (const s of ran) expected[s] = 'succeeded';
  expected.RecordErrors = 'caught';
  expected.MarkFeedFailed = 'succeeded';
  expected.FeedFailed = 'failed';
  return expected;
}

/**
 * The dead delivery's run, from webhook-delivery.asl.json: its endpoint
 * answered 410 Gone, so Attempt made one POST and returned outcome "dead"
 * (functions/deliver: 410 is a dead letter at once, no retry), WhatNext
 * matched neither "retry" nor "delivered" and took its Default, DeadLetter,
 * a Succeed state: the execution SUCCEEDED; Backoff and Delivered were never
 * entered.
 */
function deadDeliveryExpectation() {
  const S = delivery.States;
  const ok = delivery.StartAt === 'Attempt' && S.Attempt.Next === 'WhatNext' && S.WhatNext.Default === 'DeadLetter' &&
    S.DeadLetter.Type === 'Succeed' && !S.WhatNext.Choices.some((c) => c.StringEquals === 'dead');
  if (!ok) fail('statemachines/webhook-delivery.asl.json no longer routes a dead delivery Attempt -> WhatNext -(Default)-> DeadLetter (Succeed)');
  const expected = Object.fromEntries(deliveryStates.map((s) => [s, 'not-reached']));
  expected.Attempt = 'succeeded';
  expected.WhatNext = 'succeeded';
  expected.DeadLetter = 'succeeded';
  return expected;
}

/** Waits until the States table shows exactly `expected` (a row per state, no other). */
async function exactOutcomes(page, expected, what) {
  let outcomes;
  await until(
    async () => {
      outcomes = await readOutcomes(page);
      return outcomes && JSON.stringify(Object.entries(outcomes).sort()) === JSON.stringify(Object.entries(expected).sort());
    },
    async () => `${what}: the States table shows ${JSON.stringify(outcomes)}, expected exactly ${JSON.stringify(expected)}; ` +
      `page: ${await pageText(page)}`,
  );
  return outcomes;
}

/** window.zbGraph has a node per state with the States table's outcome. */
async function graphAgrees(page, states, what) {
  let nodes;
  await until(
    async () => {
      nodes = await readGraph(page);
      if (!nodes || nodes.length === 0) return false;
      const outcomes = await readOutcomes(page);
      return states.every((state) => {
        const node = nodes.find((n) => n.id === state || n.name === state);
        return node && outcomes && node.outcome === outcomes[state];
      });
    },
    async () => `${what}: window.zbGraph's nodes ${JSON.stringify(nodes)} do not carry the States table's outcomes ` +
      `${JSON.stringify(await readOutcomes(page))}`,
  );
}

/** The text of the execution summary's <dd> after the <dt> `term`. */
async function summaryValue(page, term) {
  return page.evaluate((t) => {
    const dt = [...document.querySelectorAll('dl dt')].find((x) => x.textContent.trim() === t);
    const dd = dt && dt.nextElementSibling;
    return dd ? dd.textContent.replace(/\s+/g, ' ').trim() : null;
  }, term);
}

/** Waits until the execution summary's Status is `want` (the page refreshes while RUNNING). */
async function statusIs(page, want, what) {
  let seen;
  await until(
    async () => {
      seen = await summaryValue(page, 'Status');
      return seen === want;
    },
    async () => `${what}: Status is ${JSON.stringify(seen)}, expected ${want}`,
  );
}

async function opsChecks(ops) {
  const { page } = ops;
  const demo = facts.demoFeed;

  await step('ops: the demo feed links to its execution', async () => {
    await visit(ops, `#/feeds/${demo.feedId}`, `Feed ${demo.feedId}`);
    const link = page.locator('a[href^="#/executions/"]').first();
    try {
      await link.waitFor();
    } catch {
      fail(`the feed page lists no link to #/executions/<arn>: ${await pageText(page)}`);
    }
    if ((await page.getByRole('button', { name: 'Redrive', exact: true }).count()) !== 0) {
      fail('a finished (COMPLETED) feed offers "Redrive"; only FAILED ones may');
    }
    const href = await link.getAttribute('href');
    const arn = decodeURIComponent(href.slice('#/executions/'.length));
    // The rule starts the pipeline under a generated name, so the ARN need not name the feed.
    if (!/^arn:aws:states:[^:]+:\d{12}:(express|execution):[^:]+:[^:]+$/.test(arn)) {
      fail(`the execution link ${href} does not hold an execution ARN`);
    }
    await link.click();
    await heading(page, /^Execution /);
    assertNoErrors(ops, 'execution page');
  });

  await step('ops: the States table gives each state its outcome', async () => {
    let outcomes;
    await until(
      async () => {
        outcomes = await readOutcomes(page);
        return outcomes && Object.entries(demoExpected).every(([s, o]) => outcomes[s] === o);
      },
      async () => `States table (caption "States", tr[data-state][data-outcome]) shows ${JSON.stringify(outcomes)}, ` +
        `expected ${JSON.stringify(demoExpected)}; page: ${await pageText(page)}`,
    );
    const missing = pipelineStates.filter((s) => !(s in outcomes));
    if (missing.length) fail(`the States table has no row for ${missing.join(', ')}: ${JSON.stringify(outcomes)}`);
    const bad = Object.entries(outcomes).filter(
      ([, o]) => !['succeeded', 'failed', 'caught', 'not-reached'].includes(o),
    );
    if (bad.length) fail(`outcomes outside succeeded|failed|caught|not-reached: ${JSON.stringify(bad)}`);
  });

  await step('ops: window.zbGraph nodes carry the same outcomes', async () => {
    try {
      await page.locator('figure[data-testid="asl-graph"]').waitFor();
    } catch {
      fail('no <figure data-testid="asl-graph"> on the execution page');
    }
    if ((await page.locator('figure[data-testid="asl-graph"] canvas').count()) === 0) {
      fail('the asl-graph figure holds no canvas');
    }
    let nodes;
    await until(
      async () => {
        nodes = await readGraph(page);
        return nodes && nodes.length > 0;
      },
      async () => `window.zbGraph is not a Cytoscape instance with nodes (${JSON.stringify(nodes)})`,
    );
    const outcomes = await readOutcomes(page);
    for (const state of pipelineStates) {
      const node = nodes.find((n) => n.id === state || n.name === state);
      if (!node) fail(`window.zbGraph has no node for state ${state}: ${JSON.stringify(nodes)}`);
      if (node.outcome !== outcomes[state]) {
        fail(`graph node ${state} has outcome ${JSON.stringify(node.outcome)}, the States table ${JSON.stringify(outcomes[state])}`);
      }
    }
  });

  await step('ops: the Events table lists the execution history', async () => {
    const events = page.getByRole('table', { name: 'Events', exact: true });
    try {
      await events.waitFor();
    } catch {
      fail(`no table with caption "Events": ${await pageText(page)}`);
    }
    const text = await events.innerText();
    for (const type of ['TaskStateEntered', 'Validate']) {
      if (!text.includes(type)) fail(`the Events table does not mention ${type}: ${text.slice(0, 800)}`);
    }
    assertNoErrors(ops, 'execution page');
  });

  await step('ops: the failed feed\'s rule-started execution shows where it failed', async () => {
    const failed = facts.failedFeed;
    const expected = failedExpectation();
    await visit(ops, `#/feeds/${failed.feedId}`, `Feed ${failed.feedId}`);
    const status = page.locator('p.feed-status [data-status]');
    try {
      await status.waitFor();
    } catch {
      fail(`no status on the failed feed's page: ${await pageText(page)}`);
    }
    if ((await status.getAttribute('data-status')) !== 'FAILED') {
      fail(`the failed feed's page says ${await status.innerText()}, not FAILED`);
    }
    // The Executions list is oldest first: its first entry is the run the rule started.
    const first = page.locator('ol.executions > li').first();
    try {
      await first.waitFor();
    } catch {
      fail(`the failed feed's page lists no execution: ${await pageText(page)}`);
    }
    // The list refreshes while an execution is RUNNING, so wait for the run's end rather than assume it.
    let entry;
    await until(
      async () => {
        entry = (await first.innerText()).replace(/\s+/g, ' ');
        return /\bFAILED\b/.test(entry) && /by rule\b/.test(entry);
      },
      async () => `the failed feed's first execution is ${JSON.stringify(entry)}, expected a FAILED one "by rule"`,
    );
    await first.locator('a[href^="#/executions/"]').click();
    await heading(page, /^Execution /);
    await exactOutcomes(page, expected, 'the failed feed\'s execution');
    await graphAgrees(page, pipelineStates, 'the failed feed\'s execution');
    await statusIs(page, 'FAILED', 'the failed feed\'s execution');
    // The pipeline is an Express state machine: its story comes from its log lines.
    const source = await page.locator('[data-source]').first().getAttribute('data-source');
    if (source !== 'log') fail(`the Express execution's source is ${JSON.stringify(source)}, not "log"`);
    // The caught failure is the injected one.
    await page.getByRole('table', { name: 'States', exact: true }).getByRole('button', { name: 'RecordErrors', exact: true }).click();
    const details = page.locator('section.zb-state-details');
    try {
      await details.getByText('StoreError').first().waitFor();
    } catch {
      fail(`RecordErrors' details do not name the injected StoreError: ${await details.innerText().catch(() => '(none)')}`);
    }
    await settled(page);
    await shot(page, 'execution-failed.png');
    assertNoErrors(ops, 'the failed execution');
  });

  await step('ops: redrive the failed feed; its page follows it to COMPLETED without a reload', async () => {
    const failed = facts.failedFeed;
    await visit(ops, `#/feeds/${failed.feedId}`, `Feed ${failed.feedId}`);
    const button = page.getByRole('button', { name: 'Redrive', exact: true });
    try {
      await button.waitFor();
    } catch {
      fail(`no "Redrive" button on the FAILED feed's page: ${await pageText(page)}`);
    }
    // A mark that a reload or a navigation would wipe.
    await page.evaluate(() => { window.zbTestSamePage = true; });
    const hash = new URL(page.url()).hash;
    await button.click();
    await statusWith(page, 'status', 'Redrive started');
    const status = page.locator('p.feed-status [data-status]');
    log(`  after Redrive the page says ${await status.getAttribute('data-status').catch(() => '?')}`);
    // The pipeline runs on its own; the page polls while RECEIVED (every 3 s).
    try {
      await page.locator('p.feed-status [data-status^="COMPLETED"]').waitFor({ timeout: 3 * STEP });
    } catch {
      fail(`the feed page did not come to a COMPLETED status by itself within ${3 * STEP} ms; it says ` +
        `${JSON.stringify(await status.innerText().catch(() => '?'))}: ${await pageText(page)}`);
    }
    const same = await page.evaluate(() => window.zbTestSamePage === true);
    if (!same || new URL(page.url()).hash !== hash) fail(`the page was reloaded or left (${page.url()}) while waiting`);
    // The executions list follows too: the redrive's run, by redrive, SUCCEEDED.
    const run = page.locator('ol.executions > li').filter({ hasText: `${failed.feedId}-redrive-1` });
    try {
      await run.filter({ hasText: 'SUCCEEDED' }).filter({ hasText: 'by redrive' }).first().waitFor({ timeout: 2 * STEP });
    } catch {
      fail(`the Executions list does not come to show ${failed.feedId}-redrive-1 SUCCEEDED by redrive: ` +
        `${JSON.stringify(await page.locator('ol.executions').innerText().catch(() => '(none)'))}`);
    }
    assertNoErrors(ops, 'redrive');
  });

  await step('ops: the dead delivery links to its Standard execution and its history', async () => {
    const dead = facts.deadDelivery;
    const expected = deadDeliveryExpectation();
    await visit(ops, '#/deliveries', 'Deliveries');
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader').filter({ hasText: dead.deliveryId }) });
    const link = row.locator('a[href^="#/executions/"]').first();
    try {
      await link.waitFor();
    } catch {
      fail(`the dead delivery's row has no link to #/executions/<arn>: ${await pageText(page)}`);
    }
    const href = await link.getAttribute('href');
    const arn = decodeURIComponent(href.slice('#/executions/'.length));
    const escaped = dead.deliveryId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (!new RegExp(`^arn:aws:states:[^:]+:\\d{12}:execution:[^:]+:${escaped}$`).test(arn)) {
      fail(`the delivery's execution link ${href} is not a Standard execution ARN named ${dead.deliveryId}`);
    }
    await link.click();
    await heading(page, `Execution ${dead.deliveryId}`);
    const source = page.locator('[data-source]').first();
    try {
      await source.waitFor();
    } catch {
      fail(`the delivery's execution page shows no source: ${await pageText(page)}`);
    }
    if ((await source.getAttribute('data-source')) !== 'history') {
      fail(`the delivery's execution source is ${await source.getAttribute('data-source')}, not "history"`);
    }
    if (!(await source.innerText()).includes('Execution history')) {
      fail(`the Source says ${JSON.stringify(await source.innerText())}, not the execution history`);
    }
    const machine = await summaryValue(page, 'State machine');
    if (machine !== 'webhook-delivery (STANDARD)') fail(`the State machine is ${JSON.stringify(machine)}, not "webhook-delivery (STANDARD)"`);
    await exactOutcomes(page, expected, 'the dead delivery\'s execution');
    await graphAgrees(page, deliveryStates, 'the dead delivery\'s execution');
    // DeadLetter is a Succeed state: the run SUCCEEDED.
    await statusIs(page, 'SUCCEEDED', 'the dead delivery\'s execution');
    // Attempt ran once and said the delivery is dead.
    const attemptRow = page.locator('tr[data-state="Attempt"]');
    const runs = (await attemptRow.locator('td').nth(2).innerText()).trim();
    if (runs !== '1') fail(`Attempt ran ${runs} times, expected once (410 is dead at once)`);
    await page.getByRole('table', { name: 'States', exact: true }).getByRole('button', { name: 'Attempt', exact: true }).click();
    const output = page.getByLabel('Output of Attempt', { exact: true });
    try {
      await output.waitFor();
    } catch {
      fail(`selecting Attempt shows no output: ${await pageText(page)}`);
    }
    const said = await output.innerText();
    if (!/"outcome":\s*"dead"/.test(said)) fail(`Attempt's output does not say outcome "dead": ${said.slice(0, 500)}`);
    const events = await page.getByRole('table', { name: 'Events', exact: true }).innerText();
    for (const type of ['ExecutionStarted', 'TaskStateEntered', 'ExecutionSucceeded']) {
      if (!events.includes(type)) fail(`the history's Events table does not list ${type}: ${events.slice(0, 800)}`);
    }
    await settled(page);
    await shot(page, 'execution-delivery.png');
    await axe(ops, 'a Standard execution');
    assertNoErrors(ops, 'the delivery\'s execution');
  });

  await step('ops: replay the dead delivery; the replay links to its own execution', async () => {
    const dead = facts.deadDelivery;
    await visit(ops, '#/deliveries', 'Deliveries');
    const button = page.getByRole('button', { name: `Replay ${dead.deliveryId}`, exact: true });
    try {
      await button.waitFor();
    } catch {
      fail(`no button "Replay ${dead.deliveryId}" on Deliveries: ${await pageText(page)}`);
    }
    await button.click();
    await statusWith(page, 'status', 'Replay started');
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader').filter({ hasText: dead.deliveryId }) });
    const replay = row.locator(`a[href$="${encodeURIComponent(`:${dead.deliveryId}-r1`)}"]`);
    try {
      await replay.first().waitFor();
    } catch {
      fail(`after the replay, the delivery's row has no link to the execution ${dead.deliveryId}-r1: ` +
        `${JSON.stringify(await row.first().innerText().catch(() => '(no row)'))}`);
    }
    assertNoErrors(ops, 'replay');
  });
}

// ------------------------------------------------------------------ admin

/** A Partner A (partner-a@1) feed of `n` orders placed a minute ago (openapi.yaml, PartnerAFeedV1). */
function partnerAFeed(n) {
  const createdAt = Date.now() - 60_000;
  const orders = [];
  for (let seq = 1; seq <= n; seq += 1) {
    orders.push({
      sequenceNumber: seq,
      orderId: `BROWSER-${seq}`,
      createdAt,
      currency: 'EUR',
      totalCents: 1250,
      customer: { id: `browser-${seq}` },
      items: [
        { sku: 'SKU-1', quantity: 2, unitPriceCents: 500 },
        { sku: 'SKU-2', quantity: 1, unitPriceCents: 250 },
      ],
    });
  }
  return { orders };
}

async function valueOf(locator) {
  const tag = await locator.evaluate((e) => e.tagName);
  return (tag === 'INPUT' || tag === 'TEXTAREA' ? await locator.inputValue() : await locator.innerText()).trim();
}

async function adminChecks(admin) {
  const { page } = admin;

  await step('admin: the Overview shows its sections', async () => {
    await visit(admin, '#/', 'Overview');
    // Keyboard: the first Tab reaches the skip link, and Enter on it moves focus into the content.
    // A fresh load, so Tab starts from the top of the document.
    await page.reload();
    await heading(page, 'Overview');
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
    if (first !== 'Skip to content') fail(`the first Tab stop is ${JSON.stringify(first)}, not the "Skip to content" link`);
    await page.keyboard.press('Enter');
    const inMain = await page.evaluate(() => {
      const main = document.getElementById('main') ?? document.querySelector('main');
      return !!main && (main === document.activeElement || main.contains(document.activeElement));
    });
    if (!inMain) fail('Enter on "Skip to content" does not move focus into the main content');
    for (const name of ['Last hour', 'Last day', 'Last week']) {
      const b = page.getByRole('button', { name, exact: true });
      if ((await b.count()) !== 1) fail(`Overview: no range button "${name}"`);
      if ((await b.getAttribute('aria-pressed')) === null) fail(`Overview: "${name}" has no aria-pressed`);
    }
    for (const name of [
      'Orders per minute',
      'Rejection rate',
      'Failed feeds',
      'End-to-end latency (p50/p95)',
      'Stuck or failed feeds',
      'Dead deliveries',
    ]) {
      try {
        await page.getByRole('heading', { level: 2, name, exact: true }).waitFor();
      } catch {
        fail(`Overview: no h2 "${name}": ${await pageText(page)}`);
      }
    }
    await settled(page);
    await shot(page, 'overview.png');
    await axe(admin, 'Overview');
  });

  await step('admin: Feeds lists the demo feed, with its filters', async () => {
    await visit(admin, '#/feeds', 'Feeds');
    for (const label of ['Partner', 'Status', 'From', 'To', 'Order id']) {
      if ((await page.getByLabel(label, { exact: true }).count()) === 0) fail(`Feeds: no input labelled "${label}"`);
    }
    const link = page.locator(`a[href="#/feeds/${facts.demoFeed.feedId}"]`);
    try {
      await link.first().waitFor();
    } catch {
      fail(`Feeds: no link to #/feeds/${facts.demoFeed.feedId}: ${await pageText(page)}`);
    }
    await settled(page);
    await shot(page, 'feeds.png');
    await axe(admin, 'Feeds');
  });

  await step('admin: a feed and its execution', async () => {
    await visit(admin, `#/feeds/${facts.demoFeed.feedId}`, `Feed ${facts.demoFeed.feedId}`);
    const link = page.locator('a[href^="#/executions/"]').first();
    await link.waitFor();
    await settled(page);
    await axe(admin, 'a feed');
    await link.click();
    await heading(page, /^Execution /);
    await until(
      async () => {
        const o = await readOutcomes(page);
        return o && o.Validate === 'succeeded';
      },
      async () => `the execution's States table did not fill: ${await pageText(page)}`,
    );
    await settled(page);
    await shot(page, 'execution.png');
    await axe(admin, 'an execution');
  });

  await step('admin: Errors', async () => {
    await visit(admin, '#/errors', 'Errors');
    // The mixed demo feed's rejection, in a table with an "Expires" column.
    const rejections = page.getByRole('table').filter({ hasText: 'MISSING_FIELD' });
    try {
      await rejections.first().waitFor();
    } catch {
      fail(`Errors shows no table with the mixed feed's MISSING_FIELD rejection: ${await pageText(page)}`);
    }
    const expires = page.getByRole('columnheader', { name: 'Expires', exact: true });
    if ((await expires.count()) === 0) fail(`Errors has no "Expires" column header: ${await pageText(page)}`);
    await settled(page);
    await axe(admin, 'Errors');
  });

  await step('admin: Deliveries', async () => {
    await visit(admin, '#/deliveries', 'Deliveries');
    try {
      await page.getByText(facts.deadDelivery.deliveryId).first().waitFor();
    } catch {
      fail(`Deliveries does not show ${facts.deadDelivery.deliveryId}: ${await pageText(page)}`);
    }
    await settled(page);
    await shot(page, 'deliveries.png');
    await axe(admin, 'Deliveries');
  });

  await step('admin: Cost', async () => {
    await visit(admin, '#/cost', 'Cost');
    if ((await page.getByLabel('Feed id', { exact: true }).count()) === 0) fail('Cost: no input labelled "Feed id"');
    await settled(page);
    await shot(page, 'cost.png');
    await axe(admin, 'Cost');
  });

  let apiKey;
  await step('admin: onboard a partner', async () => {
    await visit(admin, '#/partners', 'Partners');
    await settled(page);
    await axe(admin, 'Partners');
    await page.getByRole('button', { name: 'Onboard partner', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill(facts.newPartner.name);
    const format = page.getByLabel('Format', { exact: true });
    if ((await format.evaluate((e) => e.tagName)) === 'SELECT') {
      await format.selectOption(facts.newPartner.format);
    } else {
      await format.fill(facts.newPartner.format);
    }
    if ((await page.getByLabel('Webhook URL', { exact: true }).count()) === 0) {
      fail('the onboarding form has no field labelled "Webhook URL"');
    }
    await shot(page, 'partners.png');
    await axe(admin, 'the onboarding form');
    await page.getByRole('button', { name: 'Create partner', exact: true }).click();
    const key = page.getByTestId('new-api-key');
    try {
      await key.waitFor();
    } catch {
      const alerts = await page.getByRole('alert').allInnerTexts().catch(() => []);
      fail(`no [data-testid="new-api-key"] after "Create partner"; alerts: ${JSON.stringify(alerts)}; page: ${await pageText(page)}`);
    }
    apiKey = await valueOf(key);
    if (apiKey.length < 16) fail(`[data-testid="new-api-key"] holds ${JSON.stringify(apiKey)}, not an API key`);
    const secret = await valueOf(page.getByTestId('new-webhook-secret'));
    if (!secret.startsWith('whsec_')) fail('[data-testid="new-webhook-secret"] does not hold a whsec_ secret');
    await axe(admin, 'the new partner\'s credentials');
    assertNoErrors(admin, 'onboarding');
  });

  await step('the new partner\'s key posts a feed (202)', async () => {
    const orders = 2;
    const r = await fetch(`${partnerApi}/v1/feeds`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify(partnerAFeed(orders)),
      signal: AbortSignal.timeout(STEP),
    });
    const body = await r.json().catch(() => null);
    if (r.status !== 202) fail(`POST ${partnerApi}/v1/feeds with the new key answered ${r.status}: ${JSON.stringify(body)}`);
    if (!body || typeof body.feedId !== 'string') fail(`the 202 has no feedId: ${JSON.stringify(body)}`);
    result.newPartner = { name: facts.newPartner.name, feedId: body.feedId, orders };
  });
}

// ------------------------------------------------------------------ finance

/** The access token the console keeps in sessionStorage, whatever its key. */
async function accessToken(page) {
  return page.evaluate(() => {
    const jwt = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
    const isAccess = (t) => {
      if (typeof t !== 'string' || !jwt.test(t)) return false;
      try {
        const claims = JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
        return claims.token_use === 'access';
      } catch {
        return false;
      }
    };
    const search = (v) => {
      if (isAccess(v)) return v;
      if (v && typeof v === 'object') {
        for (const x of Object.values(v)) {
          const found = search(x);
          if (found) return found;
        }
      }
      return null;
    };
    for (let i = 0; i < sessionStorage.length; i += 1) {
      const raw = sessionStorage.getItem(sessionStorage.key(i));
      let value = raw;
      try {
        value = JSON.parse(raw);
      } catch {
        // a bare token
      }
      const found = search(value);
      if (found) return found;
    }
    return null;
  });
}

async function financeChecks(finance) {
  const { page } = finance;
  await step('finance: no Partners link in the Main nav', async () => {
    const nav = page.getByRole('navigation', { name: 'Main', exact: true });
    try {
      await nav.getByRole('link', { name: 'Overview', exact: true }).waitFor();
    } catch {
      fail(`no <nav aria-label="Main"> with an Overview link: ${await pageText(page)}`);
    }
    const links = await nav.getByRole('link').allInnerTexts();
    if (links.some((l) => l.trim() === 'Partners')) fail(`finance sees a Partners link: ${JSON.stringify(links)}`);
    if (!links.some((l) => l.trim() === 'Cost')) fail(`finance does not see the Cost link: ${JSON.stringify(links)}`);
  });

  await step('finance: #/partners says the role cannot use it, and calls no API for it', async () => {
    finance.adminCalls.length = 0;
    await visit(finance, '#/partners', 'Partners');
    await statusWith(page, 'alert', 'Your role cannot use this page.');
    await page.waitForTimeout(500);
    const partnerCalls = finance.adminCalls.filter((c) => c.includes('/v1/admin/partners'));
    if (partnerCalls.length) fail(`#/partners called the API for finance: ${partnerCalls.join(', ')}`);
    assertNoErrors(finance, '#/partners');
  });

  await step('finance: the admin API refuses finance\'s own token for partners (403)', async () => {
    const token = await accessToken(page);
    if (!token) fail('no access token (token_use "access") in sessionStorage');
    const call = (p) =>
      fetch(`${adminApi}${p}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(STEP) });
    const me = await call('/v1/admin/me');
    if (me.status !== 200) fail(`GET /v1/admin/me with finance's token answered ${me.status}: the token is not valid`);
    const partners = await call('/v1/admin/partners');
    if (partners.status !== 403) {
      fail(`GET /v1/admin/partners with finance's token answered ${partners.status}, expected 403: ${await partners.text()}`);
    }
  });

  await step('finance: Sign out goes through the hosted UI\'s logout and back, signed out', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    try {
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    } catch {
      fail(`no "Sign in" button after "Sign out"; at ${page.url()}: ${await pageText(page)}`);
    }
    if (!page.url().startsWith(consoleUrl)) fail(`signed out at ${page.url()}, not back at ${consoleUrl}`);
    await heading(page, 'ZeroBeta console');
    if (await accessToken(page)) fail('an access token is still in sessionStorage after "Sign out"');
    assertNoErrors(finance, 'sign-out');
  });
}

// ------------------------------------------------------------------ run

let code = 0;
try {
  const as = async (role) => {
    let session;
    await step(`${role}: sign in through the hosted UI`, async () => {
      session = await signIn(role);
    });
    return session;
  };
  await opsChecks(await as('ops'));
  await adminChecks(await as('admin'));
  await financeChecks(await as('finance'));
  for (const s of sessions) assertNoErrors(s, 'end of run');
  log(`PASSED: ${result.steps.length} steps`);
} catch (e) {
  code = 1;
  const what = e instanceof Failure ? e.message : (e.stack ?? String(e));
  console.error(`[console.mjs] FAILED at step "${currentStep}":\n${what}`);
  for (const s of sessions) {
    if (s.errors.length) console.error(`[console.mjs] ${s.role}'s page errors:\n  ${s.errors.join('\n  ')}`);
    await s.page.screenshot({ path: path.join(shots, `failure-${s.role}.png`), fullPage: true }).catch(() => {});
  }
  result.failure = { step: currentStep, message: what };
} finally {
  if (facts.resultFile) await writeFile(facts.resultFile, JSON.stringify(result, null, 2)).catch(() => {});
  await browser.close().catch(() => {});
}
process.exit(code);
