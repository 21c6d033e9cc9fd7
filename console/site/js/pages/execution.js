// #/executions/<arn>: one Step Functions execution of the order pipeline or the webhook delivery
// machine. The state machine is drawn with Cytoscape (positions computed by dagre, top to
// bottom, then Cytoscape's `preset` layout), each state coloured and bordered by its outcome;
// the same facts are in an accessible "States" table (select a row for the state's input,
// output, error and cause) and an "Events" table. Refreshes every 2 s while RUNNING.
//
// CSP (script-src 'self'; style-src 'self'): no inline styles or eval. Cytoscape's own inline
// <style> is pre-empted (see ensureStylesheet); sizes come from css/execution.css, and the
// graph's height is set through element.style, which the CSP allows.

import { html, useState, useEffect, useRef, useMemo } from '../../vendor/preact-htm.js';
import cytoscape from '../../vendor/cytoscape.js';
import { graphlib, layout as dagreLayout } from '../../vendor/dagre.js';
import {
  aslToGraph, outcomes as computeOutcomes, durations as computeDurations, stateDetails, eventStates,
  listStates, OUTCOMES, START_ID, END_ID,
} from '../asl-graph.js';
import {
  Alert, DataTable, JsonBlock, Loading, PageTitle, Forbidden, Status, Time, formatDuration,
  durationBetween, toDate, useAsync, usePolling,
} from '../ui.js';

const ALLOWED_ROLES = ['admin', 'ops'];
const POLL_MS = 2000;

// Cytoscape adds this class to its container and, unless an element with this id exists,
// injects an inline <style> (blocked by the CSP) to make it position: relative.
const CYTOSCAPE_STYLE_ID = '__________cytoscape_stylesheet';

/** Links css/execution.css once (index.html may link it already) and pre-empts Cytoscape's <style>. */
function ensureStylesheet() {
  if (typeof document === 'undefined') return;
  const href = new URL('../../css/execution.css', import.meta.url).href;
  let link = Array.from(document.querySelectorAll('link[rel="stylesheet"]')).find((l) => l.href === href);
  if (!link) {
    link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    document.head.appendChild(link);
  }
  if (!document.getElementById(CYTOSCAPE_STYLE_ID)) {
    if (!link.id) {
      link.id = CYTOSCAPE_STYLE_ID;
    } else {
      const marker = document.createElement('meta');
      marker.id = CYTOSCAPE_STYLE_ID;
      marker.name = 'cytoscape-container-style';
      marker.content = 'css/execution.css';
      document.head.appendChild(marker);
    }
  }
}

ensureStylesheet();

const OUTCOME_TEXT = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  caught: 'Caught',
  running: 'Running',
  'not-reached': 'Not reached',
};

const OUTCOME_MEANING = {
  succeeded: 'entered and exited',
  failed: 'its failure ended the execution',
  caught: 'failed, and a Catch handled it',
  running: 'in progress',
  'not-reached': 'never entered',
};

// Okabe-Ito colours (as in css/execution.css), with a border style per outcome.
const OUTCOME_STYLE = {
  succeeded: { border: '#009e73', fill: '#e3f4ee', style: 'solid', width: 3 },
  failed: { border: '#d55e00', fill: '#fbe7da', style: 'double', width: 7 },
  caught: { border: '#e69f00', fill: '#fdf1d8', style: 'dashed', width: 3 },
  running: { border: '#0072b2', fill: '#e0eef7', style: 'dotted', width: 4 },
  'not-reached': { border: '#767676', fill: '#ffffff', style: 'solid', width: 1 },
};

/** The name in an execution ARN (`…:execution:<machine>:<name>`, `…:express:<machine>:<name>:<id>`). */
function nameFromArn(arn) {
  const parts = String(arn).split(':');
  if (parts[5] === 'express' && parts.length >= 9) return parts[7];
  return parts[parts.length - 1] || String(arn);
}

function cytoscapeStyle() {
  const style = [
    {
      selector: 'node',
      style: {
        shape: 'round-rectangle',
        width: 'data(width)',
        height: 'data(height)',
        label: 'data(display)',
        'text-wrap': 'wrap',
        'text-valign': 'center',
        'text-halign': 'center',
        'font-family': 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        'font-size': 12,
        color: '#1a1a1a',
        'background-color': '#ffffff',
        'border-color': '#767676',
        'border-width': 1,
      },
    },
    { selector: 'node[type = "Choice"]', style: { shape: 'cut-rectangle' } },
    { selector: 'node[type = "Wait"]', style: { shape: 'barrel' } },
    {
      selector: 'node[type = "Start"], node[type = "End"]',
      style: { shape: 'ellipse', 'background-color': '#f0f0f0', 'border-color': '#555555', 'border-width': 2 },
    },
    {
      selector: ':parent',
      style: {
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -4,
        padding: 14,
        'background-opacity': 0.35,
        'font-weight': 'bold',
        // Edges into the box end where its label sits: keep the label readable.
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.9,
        'text-background-padding': 2,
      },
    },
    { selector: 'node[type = "Branch"]', style: { 'border-style': 'dashed', 'border-color': '#9a9a9a' } },
  ];
  for (const outcome of OUTCOMES) {
    const s = OUTCOME_STYLE[outcome];
    style.push({
      selector: `node[outcome = "${outcome}"][type != "Start"][type != "End"][type != "Branch"]`,
      style: {
        'border-color': s.border, 'border-style': s.style, 'border-width': s.width, 'background-color': s.fill,
      },
    });
  }
  style.push(
    { selector: 'node[outcome = "not-reached"]', style: { color: '#4a4a4a' } },
    { selector: 'node:selected', style: { 'overlay-color': '#0072b2', 'overlay-opacity': 0.15, 'overlay-padding': 6 } },
    {
      selector: 'edge',
      style: {
        width: 1.5,
        'curve-style': 'bezier',
        'line-color': '#6b6b6b',
        'target-arrow-color': '#6b6b6b',
        'target-arrow-shape': 'triangle',
        'arrow-scale': 1,
        'font-size': 10,
        color: '#333333',
        'text-background-color': '#ffffff',
        'text-background-opacity': 1,
        'text-background-padding': 2,
      },
    },
    { selector: 'edge[kind = "catch"]', style: { 'line-style': 'dashed', label: 'catch' } },
    { selector: 'edge[kind = "default"]', style: { 'line-style': 'dotted', label: 'default' } },
  );
  return style;
}

const NODE_HEIGHT = 46;
function nodeWidth(node) {
  if (node.type === 'Start' || node.type === 'End') return 56;
  return Math.max(110, Math.min(260, String(node.label).length * 7.5 + 30));
}

/**
 * Leaf positions (centres) for the graph, laid out top to bottom by dagre. Dagre cannot route an
 * edge to a compound node, so such an edge is routed to the compound's first children (entering)
 * or from its last children (leaving); Cytoscape then draws the real edge to the compound box.
 */
export function layoutGraph(graph) {
  const g = new graphlib.Graph({ compound: true, multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 42, edgesep: 12, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const hasChildren = new Set(graph.nodes.filter((n) => n.parent !== undefined).map((n) => n.parent));
  for (const node of graph.nodes) {
    if (hasChildren.has(node.id)) g.setNode(node.id, {});
    else g.setNode(node.id, { width: nodeWidth(node), height: NODE_HEIGHT });
  }
  for (const node of graph.nodes) {
    if (node.parent !== undefined && byId.has(node.parent)) g.setParent(node.id, node.parent);
  }
  const resolve = (id, key, depth = 0) => {
    const node = byId.get(id);
    if (!node || !hasChildren.has(id) || depth > 20) return [id];
    return (node[key] || []).flatMap((child) => resolve(child, key, depth + 1));
  };
  for (const edge of graph.edges) {
    for (const source of resolve(edge.source, 'ends')) {
      for (const target of resolve(edge.target, 'starts')) {
        if (source !== target && !hasChildren.has(source) && !hasChildren.has(target)) {
          g.setEdge(source, target, { minlen: 1 }, `${edge.id}|${source}|${target}`);
        }
      }
    }
  }
  dagreLayout(g);
  const positions = new Map();
  for (const node of graph.nodes) {
    if (hasChildren.has(node.id)) continue;
    const laid = g.node(node.id);
    if (laid && Number.isFinite(laid.x) && Number.isFinite(laid.y)) positions.set(node.id, { x: laid.x, y: laid.y });
  }
  const size = g.graph();
  return { positions, width: size.width || 0, height: size.height || 0, compound: hasChildren };
}

/** The outcome of every graph node: states from the events, the rest from the execution. */
function nodeOutcomes(graph, stateOutcomes, status, started) {
  const result = new Map();
  for (const node of graph.nodes) {
    if (node.id === START_ID) result.set(node.id, started ? 'succeeded' : 'not-reached');
    else if (node.id === END_ID) {
      if (status === 'SUCCEEDED') result.set(node.id, 'succeeded');
      else if (status === 'RUNNING' || !status) result.set(node.id, 'not-reached');
      else result.set(node.id, 'failed');
    } else if (stateOutcomes.has(node.id)) result.set(node.id, stateOutcomes.get(node.id));
  }
  // A branch takes its Parallel's outcome.
  for (const node of graph.nodes) {
    if (node.type === 'Branch') result.set(node.id, result.get(node.parent) || 'not-reached');
  }
  return result;
}

function displayLabel(node, outcome, compound) {
  if (node.type === 'Start' || node.type === 'End' || node.type === 'Branch') return node.label;
  const text = OUTCOME_TEXT[outcome] || '';
  // Compound labels sit on one line above the box.
  return compound ? `${node.label} (${node.type}, ${text.toLowerCase()})` : `${node.label}\n${text.toLowerCase()}`;
}

function AslGraph({ definition, nodeOutcome, selected, onSelect, title }) {
  const container = useRef(null);
  const cyRef = useRef(null);
  const onSelectRef = useRef(onSelect);
  onSelectRef.current = onSelect;
  const [failure, setFailure] = useState(null);
  const graph = useMemo(() => aslToGraph(definition), [definition]);

  useEffect(() => {
    if (!container.current) return undefined;
    let cy;
    try {
      const laid = layoutGraph(graph);
      const elements = [];
      for (const node of graph.nodes) {
        const compound = laid.compound.has(node.id);
        const outcome = nodeOutcome.get(node.id) || 'not-reached';
        const data = {
          id: node.id,
          label: node.label,
          type: node.type,
          outcome,
          display: displayLabel(node, outcome, compound),
          width: nodeWidth(node),
          height: NODE_HEIGHT,
        };
        if (node.name !== undefined) data.name = node.name;
        if (node.parent !== undefined) data.parent = node.parent;
        const element = { group: 'nodes', data };
        if (laid.positions.has(node.id)) element.position = laid.positions.get(node.id);
        elements.push(element);
      }
      for (const edge of graph.edges) {
        elements.push({ group: 'edges', data: { id: edge.id, source: edge.source, target: edge.target, kind: edge.kind } });
      }
      // Height from the layout (element.style is allowed by the CSP, style="" is not).
      const height = Math.max(260, Math.min(1100, Math.round(laid.height + 40)));
      container.current.style.height = `${height}px`;
      cy = cytoscape({
        container: container.current,
        elements,
        style: cytoscapeStyle(),
        layout: { name: 'preset', fit: true, padding: 16 },
        minZoom: 0.3,
        maxZoom: 2,
        userZoomingEnabled: false,
        userPanningEnabled: false,
        boxSelectionEnabled: false,
        autoungrabify: true,
        selectionType: 'single',
      });
      cy.on('tap', 'node', (event) => {
        const name = event.target.data('name');
        if (name !== undefined && onSelectRef.current) onSelectRef.current(name);
      });
      cyRef.current = cy;
      window.zbGraph = cy;
      setFailure(null);
    } catch (e) {
      setFailure({ title: 'The graph could not be drawn', detail: String(e && e.message ? e.message : e) });
    }
    const onResize = () => { if (cy) { cy.resize(); cy.fit(undefined, 16); } };
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      if (cy) {
        if (window.zbGraph === cy) delete window.zbGraph;
        cy.destroy();
      }
      cyRef.current = null;
    };
  }, [graph]);

  // New outcomes (polling): update the nodes in place, keeping the layout.
  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.batch(() => {
      cy.nodes().forEach((n) => {
        const outcome = nodeOutcome.get(n.id()) || 'not-reached';
        const node = { label: n.data('label'), type: n.data('type') };
        n.data('outcome', outcome);
        n.data('display', displayLabel(node, outcome, n.isParent()));
      });
    });
  }, [nodeOutcome]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.nodes(':selected').unselect();
    if (selected !== undefined) cy.nodes().filter((n) => n.data('name') === selected).select();
  }, [selected, nodeOutcome]);

  return html`<figure class="zb-asl-figure" data-testid="asl-graph">
    <div class="zb-asl-graph" ref=${container} role="img"
      aria-label=${`${title}: the state machine's states coloured by outcome. The States table below lists the same outcomes.`}></div>
    ${failure ? html`<${Alert} error=${failure} />` : ''}
    <figcaption>
      <strong>${title}.</strong> Each state shows its name and outcome; the colour and border style repeat the outcome:
      <ul class="zb-legend" aria-label="Legend">
        ${OUTCOMES.map((o) => html`<li key=${o}><span class=${`zb-swatch zb-swatch--${o}`} aria-hidden="true"></span>
          <span><strong>${OUTCOME_TEXT[o]}</strong> (${OUTCOME_STYLE[o].style} border): ${OUTCOME_MEANING[o]}</span></li>`)}
      </ul>
      <p class="zb-edge-key">Arrows: solid = next state or Choice rule, dotted “default” = a Choice's Default, dashed “catch” = where a Catch goes. Parallel branches and Map iterations are drawn as boxes around their states.</p>
    </figcaption>
  </figure>`;
}

/** Time spent in a state: finished runs summed; a run still open is only "in progress" while running. */
function durationText(duration, running) {
  if (!duration) return '—';
  const finished = duration.runs - duration.open;
  if (finished === 0) return running && duration.open ? 'in progress' : '—';
  return `${formatDuration(duration.ms)}${running && duration.open ? ' (+ in progress)' : ''}`;
}

function OutcomeText({ outcome }) {
  return html`<span class=${`zb-outcome zb-outcome--${outcome}`}>${OUTCOME_TEXT[outcome] || outcome}</span>`;
}

function sourceText(source) {
  if (source === 'history') return 'Execution history (GetExecutionHistory)';
  if (source === 'log') return 'Execution log lines (CloudWatch Logs)';
  return source || '—';
}

function StateDetails({ name, events, type, outcome, onClose }) {
  const d = stateDetails(events, name);
  const headingId = 'zb-state-details-title';
  return html`<section class="zb-state-details" aria-labelledby=${headingId}>
    <h2 id=${headingId} tabindex="-1">State ${name}</h2>
    <p>${type ? html`${type} state, ` : ''}<${OutcomeText} outcome=${outcome} />${d && d.runs > 1 ? html` — ran ${d.runs} times; the last run is shown.` : ''}</p>
    ${d ? html`<dl>
      <dt>Input</dt><dd><${JsonBlock} value=${d.input} label=${`Input of ${name}`} /></dd>
      <dt>Output</dt><dd><${JsonBlock} value=${d.output} label=${`Output of ${name}`} /></dd>
      <dt>Error</dt><dd>${d.error ? html`<pre tabindex="0"><code>${d.error}</code></pre>` : '—'}</dd>
      <dt>Cause</dt><dd><${JsonBlock} value=${d.cause} label=${`Cause of ${name}`} /></dd>
    </dl>` : html`<p>This state was not entered in this execution.</p>`}
    <button type="button" onClick=${onClose}>Close details</button>
  </section>`;
}

/** The ASL as an object (DescribeStateMachine gives it as JSON text; the admin API parses it). */
function parseDefinition(definition) {
  if (typeof definition === 'string') {
    try { return JSON.parse(definition); } catch { return null; }
  }
  return definition && typeof definition === 'object' ? definition : null;
}

function ExecutionView({ api, arn }) {
  const execution = useAsync(() => api.get(`/v1/admin/executions/${encodeURIComponent(arn)}`), [arn]);
  const machines = useAsync(() => api.get('/v1/admin/state-machines'), []);
  const [selected, setSelected] = useState(undefined);
  const detailsRef = useRef(null);
  const exec = execution.data;
  const running = !!exec && exec.status === 'RUNNING';
  usePolling(() => execution.reload({ quiet: true }), POLL_MS, running);

  const machine = useMemo(() => {
    if (!exec || !machines.data || !Array.isArray(machines.data.items)) return null;
    const sm = exec.stateMachine || {};
    return machines.data.items.find((m) => m.key === sm.key)
      || machines.data.items.find((m) => m.stateMachineArn === sm.stateMachineArn) || null;
  }, [exec, machines.data]);
  const definition = useMemo(() => parseDefinition(machine && machine.definition), [machine]);
  const events = exec && Array.isArray(exec.events) ? exec.events : [];

  const facts = useMemo(() => {
    const graph = definition ? aslToGraph(definition) : null;
    const stateOutcomes = definition ? computeOutcomes(definition, events, exec && exec.status) : new Map();
    const states = definition
      ? listStates(definition)
      : [...new Set(events.map((e) => e.stateName).filter(Boolean))].map((name) => ({ name, id: name }));
    const byName = new Map();
    for (const s of states) byName.set(s.name, stateOutcomes.get(s.id) || 'not-reached');
    if (!definition) {
      // Without the definition (state machines not readable), the outcomes come from the events alone.
      const only = { StartAt: undefined, States: Object.fromEntries(states.map((s) => [s.name, { Type: 'Pass' }])) };
      const fromEvents = computeOutcomes(only, events, exec && exec.status);
      for (const s of states) byName.set(s.name, fromEvents.get(s.name) || 'not-reached');
    }
    const started = events.length > 0 || !!(exec && exec.startDate);
    const nodeOutcome = graph ? nodeOutcomes(graph, stateOutcomes, exec && exec.status, started) : new Map();
    // For nested states, the Parallel or Map state they run in.
    const within = new Map();
    if (graph) {
      const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));
      for (const s of states) {
        let parent = s.parent !== undefined ? nodeById.get(s.parent) : undefined;
        if (parent && parent.type === 'Branch') {
          const branch = parent;
          parent = nodeById.get(branch.parent);
          if (parent) within.set(s.name, `${parent.name}, ${branch.label.toLowerCase()}`);
        } else if (parent) within.set(s.name, parent.name);
      }
    }
    return {
      states, byName, nodeOutcome, within, durations: computeDurations(events), owners: eventStates(events),
    };
  }, [definition, exec]);

  const select = (name) => {
    setSelected((current) => (current === name ? undefined : name));
  };
  useEffect(() => {
    if (selected !== undefined && detailsRef.current) {
      const h = detailsRef.current.querySelector('h2');
      if (h) h.focus({ preventScroll: false });
    }
  }, [selected]);

  const name = (exec && exec.name) || nameFromArn(arn);
  const title = `Execution ${name}`;
  if (execution.loading && !exec) return html`<${PageTitle}>${title}<//><${Loading} />`;
  if (!exec) return html`<${PageTitle}>${title}<//><${Alert} error=${execution.error} />`;

  const start = toDate(exec.startDate) || (events[0] ? toDate(events[0].timestamp) : null);
  const stateType = new Map(facts.states.map((s) => [s.name, s.type]));
  const stateRows = facts.states.map((s) => ({
    ...s, within: facts.within.get(s.name), outcome: facts.byName.get(s.name) || 'not-reached', duration: facts.durations.get(s.name),
  }));
  const eventRows = [...events].sort((a, b) => (Number(a.id) || 0) - (Number(b.id) || 0));

  return html`<div class="zb-execution">
    <${PageTitle}>${title}<//>
    ${execution.error ? html`<${Alert} error=${execution.error} />` : ''}
    <dl class="zb-execution-summary">
      <dt>Status</dt><dd><${Status} value=${exec.status} />${running ? html` <span class="muted">(refreshing every 2 s)</span>` : ''}</dd>
      <dt>State machine</dt><dd>${(exec.stateMachine && exec.stateMachine.key) || '—'}${exec.stateMachine && exec.stateMachine.type ? ` (${exec.stateMachine.type})` : ''}</dd>
      <dt>Execution ARN</dt><dd><code>${exec.executionArn || arn}</code></dd>
      <dt>Started</dt><dd><${Time} value=${exec.startDate} /></dd>
      <dt>Stopped</dt><dd>${exec.stopDate ? html`<${Time} value=${exec.stopDate} />` : '—'}</dd>
      <dt>Duration</dt><dd>${formatDuration(durationBetween(exec.startDate, exec.stopDate || (running ? new Date() : null)))}</dd>
      <dt>Source</dt><dd data-source=${exec.source}>${sourceText(exec.source)}</dd>
      ${exec.error ? html`<dt>Error</dt><dd><code>${exec.error}</code></dd>` : ''}
      ${exec.cause ? html`<dt>Cause</dt><dd><${JsonBlock} value=${exec.cause} label="Execution cause" /></dd>` : ''}
    </dl>
    ${exec.input !== undefined || exec.output !== undefined ? html`<details class="zb-execution-io">
      <summary>Execution input and output</summary>
      <h2>Input</h2><${JsonBlock} value=${exec.input} label="Execution input" />
      <h2>Output</h2><${JsonBlock} value=${exec.output} label="Execution output" />
    </details>` : ''}
    ${machines.error ? html`<${Alert} error=${machines.error} />` : ''}
    ${definition
      ? html`<${AslGraph} definition=${definition} nodeOutcome=${facts.nodeOutcome} selected=${selected}
          onSelect=${select} title=${`State machine ${machine.name || exec.stateMachine.key}`} />`
      : machines.loading ? html`<${Loading} what="Loading the state machine…" />` : ''}
    <div class="zb-execution-layout">
      <${DataTable}
        caption="States"
        className="zb-states"
        columns=${[
          {
            key: 'name', label: 'State', rowHeader: true,
            render: (r) => html`<button type="button" class=${`zb-state-button link-button${r.parent ? ' zb-state-nested' : ''}`}
              aria-pressed=${selected === r.name ? 'true' : 'false'} onClick=${(e) => { e.stopPropagation(); select(r.name); }}>${r.name}</button>`,
          },
          { key: 'type', label: 'Type', render: (r) => (r.within ? `${r.type || '—'} (in ${r.within})` : r.type || '—') },
          { key: 'outcome', label: 'Outcome', render: (r) => html`<${OutcomeText} outcome=${r.outcome} />` },
          { key: 'runs', label: 'Runs', numeric: true, render: (r) => (r.duration ? String(r.duration.runs) : '0') },
          {
            key: 'duration', label: 'Duration', numeric: true,
            render: (r) => durationText(r.duration, running),
          },
        ]}
        rows=${stateRows}
        rowKey=${(r) => r.name}
        rowAttrs=${(r) => ({
          'data-state': r.name,
          'data-outcome': r.outcome,
          class: selected === r.name ? 'is-selected' : undefined,
        })}
        empty="No states."
      />
      <div ref=${detailsRef}>
        ${selected !== undefined
          ? html`<${StateDetails} name=${selected} events=${events} type=${stateType.get(selected)}
              outcome=${facts.byName.get(selected) || 'not-reached'} onClose=${() => setSelected(undefined)} />`
          : html`<p class="muted">Select a state (its button in the States table, or its box in the graph) to see its input, output, error and cause.</p>`}
      </div>
    </div>
    <${DataTable}
      caption="Events"
      className="zb-events"
      columns=${[
        { key: 'id', label: 'Id', numeric: true },
        { key: 'type', label: 'Type', render: (e) => html`<code>${e.type}</code>` },
        { key: 'state', label: 'State', render: (e) => facts.owners.get(e.id) || '—' },
        { key: 'timestamp', label: 'Timestamp', render: (e) => html`<${Time} value=${e.timestamp} />` },
        {
          key: 'since', label: 'Time since start', numeric: true,
          render: (e) => (start && toDate(e.timestamp) ? formatDuration(toDate(e.timestamp).getTime() - start.getTime()) : '—'),
        },
      ]}
      rows=${eventRows}
      rowKey=${(e) => e.id}
      rowAttrs=${(e) => ({ 'data-event-type': e.type })}
      empty="No events recorded for this execution."
    />
  </div>`;
}

/** The page: `arn` is the decoded execution ARN; admin and ops only. */
export function ExecutionPage({ api, arn, roles }) {
  const allowed = !Array.isArray(roles) || roles.some((r) => ALLOWED_ROLES.includes(r));
  if (!allowed) return html`<${Forbidden} title=${`Execution ${nameFromArn(arn)}`} />`;
  return html`<${ExecutionView} api=${api} arn=${arn} />`;
}
