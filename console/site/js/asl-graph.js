// Pure functions behind the execution page: an Amazon States Language definition as a graph,
// and a run's history events folded into one outcome and one duration per state.
// No DOM here, so node:test covers it offline (console/tests/asl-graph.test.mjs).
//
// References (AWS is the oracle):
// - ASL: https://states-language.net/spec.html and
//   https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
//   (state types Task, Pass, Choice, Wait, Succeed, Fail, Parallel, Map; Next/End; Choice rules and
//   Default; Catch[].Next; Parallel Branches; Map ItemProcessor, or Iterator before 2022).
//   State names are unique in the whole state machine, nested branches included, so an event's
//   state name always identifies one graph node.
// - History events: https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
//   (<Kind>StateEntered / <Kind>StateExited carry the state name; TaskScheduled..TaskFailed,
//   LambdaFunction*, Activity*, ParallelState*, MapState*, MapIteration* do not: they belong to the
//   state their previousEventId chain leads back to; ExecutionSucceeded/Failed/TimedOut/Aborted end it).
//   A caught failure is recorded as the failure event, then <Kind>StateExited (the Catch's output),
//   then the catcher's Next state entered; an uncaught one as the failure event then ExecutionFailed.

/** Pseudo node ids for the start and the end of the top-level state machine. */
export const START_ID = '__start__';
export const END_ID = '__end__';

/** The outcomes a state can have, in the order the legend lists them. */
export const OUTCOMES = ['succeeded', 'failed', 'caught', 'running', 'not-reached'];

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The states of a Map: ItemProcessor (current) or Iterator (deprecated, still accepted by AWS). */
function mapProcessor(state) {
  if (isObject(state.ItemProcessor)) return state.ItemProcessor;
  if (isObject(state.Iterator)) return state.Iterator;
  return null;
}

/** Whether a state ends its scope: End true, or a Succeed/Fail state (terminal by definition). */
function isTerminal(state) {
  return state.End === true || state.Type === 'Succeed' || state.Type === 'Fail';
}

/**
 * The graph of an ASL definition.
 *
 * nodes: {id, label, type, name?, parent?, compound?, starts?, ends?}
 *   - top-level states keep their name as id; a state inside a Parallel branch gets
 *     `<parallel id>/<branch index>/<name>`, inside a Map `<map id>/<name>`, so ids stay unique
 *     and say where the state sits;
 *   - a Parallel state is a compound node holding one compound node per branch (type 'Branch',
 *     id `<parallel id>/<branch index>`); a Map state is a compound node holding its ItemProcessor;
 *   - compound nodes list the ids of their first (`starts`) and last (`ends`) children, so a
 *     layout engine that cannot route edges to a compound node can route them to its children;
 *   - `__start__` (type 'Start') and `__end__` (type 'End') frame the top level.
 * edges: {id, source, target, kind} with kind
 *   'start' (__start__ -> StartAt), 'next', 'choice' (a Choices rule's Next), 'default' (a Choice's
 *   Default), 'catch' (a Catch's Next), 'end' (End true, Succeed or Fail -> __end__, top level only).
 * byName: Map state name -> node id.
 */
export function aslToGraph(definition) {
  const nodes = [];
  const edges = [];
  const byName = new Map();
  const seenEdges = new Set();

  function addEdge(source, target, kind) {
    if (source === undefined || target === undefined) return;
    const key = `${source}\u0000${target}\u0000${kind}`;
    if (seenEdges.has(key)) return;
    seenEdges.add(key);
    edges.push({ id: `${source}->${target}:${kind}`, source, target, kind });
  }

  // Adds the states of one scope (the top level, a branch, a Map's processor) and returns the
  // ids of its StartAt state and its terminal states.
  function addScope(scope, prefix, parent) {
    const states = isObject(scope) && isObject(scope.States) ? scope.States : {};
    const ids = new Map();
    for (const name of Object.keys(states)) ids.set(name, prefix + name);
    const ends = [];
    for (const [name, state] of Object.entries(states)) {
      if (!isObject(state)) continue;
      const id = ids.get(name);
      const type = typeof state.Type === 'string' ? state.Type : 'Unknown';
      const node = { id, label: name, type, name };
      if (parent !== undefined) node.parent = parent;
      nodes.push(node);
      byName.set(name, id);
      const branches = type === 'Parallel' && Array.isArray(state.Branches) ? state.Branches : [];
      if (branches.length > 0) {
        node.compound = true;
        node.starts = [];
        node.ends = [];
        branches.forEach((branch, index) => {
          const branchId = `${id}/${index}`;
          const branchNode = { id: branchId, label: `Branch ${index + 1}`, type: 'Branch', parent: id };
          nodes.push(branchNode);
          const inner = addScope(branch, `${branchId}/`, branchId);
          if (inner.start !== undefined) branchNode.compound = true;
          branchNode.starts = inner.start === undefined ? [] : [inner.start];
          branchNode.ends = inner.ends;
          node.starts.push(branchId);
          node.ends.push(branchId);
        });
      } else if (type === 'Map') {
        const processor = mapProcessor(state);
        if (processor) {
          const inner = addScope(processor, `${id}/`, id);
          node.compound = inner.start !== undefined;
          node.starts = inner.start === undefined ? [] : [inner.start];
          node.ends = inner.ends;
        }
      }
      if (typeof state.Next === 'string') addEdge(id, ids.get(state.Next), 'next');
      if (type === 'Choice') {
        const rules = Array.isArray(state.Choices) ? state.Choices : [];
        for (const rule of rules) {
          if (isObject(rule) && typeof rule.Next === 'string') addEdge(id, ids.get(rule.Next), 'choice');
        }
        if (typeof state.Default === 'string') addEdge(id, ids.get(state.Default), 'default');
      }
      const catchers = Array.isArray(state.Catch) ? state.Catch : [];
      for (const catcher of catchers) {
        if (isObject(catcher) && typeof catcher.Next === 'string') addEdge(id, ids.get(catcher.Next), 'catch');
      }
      if (isTerminal(state)) ends.push(id);
    }
    const start = typeof scope?.StartAt === 'string' ? ids.get(scope.StartAt) : undefined;
    return { start, ends };
  }

  nodes.push({ id: START_ID, label: 'Start', type: 'Start' });
  const top = addScope(definition, '', undefined);
  nodes.push({ id: END_ID, label: 'End', type: 'End' });
  addEdge(START_ID, top.start, 'start');
  for (const id of top.ends) addEdge(id, END_ID, 'end');
  return { nodes, edges, byName };
}

/** Every state of a definition, nested ones included: [{name, type, id, parent?}] in graph order. */
export function listStates(definition) {
  return aslToGraph(definition)
    .nodes.filter((n) => n.name !== undefined)
    .map(({ name, type, id, parent }) => (parent === undefined ? { name, type, id } : { name, type, id, parent }));
}

// ---------------------------------------------------------------------------------------------
// History folding

const STATE_EVENT = /^(Task|Pass|Choice|Wait|Succeed|Fail|Parallel|Map)State(Entered|Exited|Aborted)$/;

// A new attempt of the state's work: a failure before it was retried, not final.
const ATTEMPT_START = new Set([
  'TaskScheduled', 'LambdaFunctionScheduled', 'ActivityScheduled', 'ParallelStateStarted', 'MapStateStarted',
]);
const ATTEMPT_SUCCESS = new Set([
  'TaskSucceeded', 'LambdaFunctionSucceeded', 'ActivitySucceeded', 'ParallelStateSucceeded', 'MapStateSucceeded',
  'MapRunSucceeded',
]);
// MapIterationFailed is left out on purpose: a Map may tolerate failed iterations
// (ToleratedFailurePercentage/Count); only MapStateFailed fails the Map.
const ATTEMPT_FAILURE = new Set([
  'TaskFailed', 'TaskTimedOut', 'TaskStartFailed', 'TaskSubmitFailed',
  'LambdaFunctionFailed', 'LambdaFunctionTimedOut', 'LambdaFunctionStartFailed', 'LambdaFunctionScheduleFailed',
  'ActivityFailed', 'ActivityTimedOut', 'ActivityScheduleFailed',
  'ParallelStateFailed', 'MapStateFailed', 'MapRunFailed', 'EvaluationFailed',
]);
const EXECUTION_END = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/** Which kind of state owns an event that does not name its state (null: any kind). */
function ownerKind(type) {
  if (/^(Task|LambdaFunction|Activity)/.test(type)) return 'Task';
  if (type.startsWith('Parallel')) return 'Parallel';
  if (type.startsWith('Map')) return 'Map';
  return null;
}

function eventStateName(event) {
  if (typeof event.stateName === 'string') return event.stateName;
  if (typeof event.name === 'string') return event.name;
  return undefined;
}

function timeOf(event) {
  const t = typeof event.timestamp === 'number' ? event.timestamp * 1000 : Date.parse(event.timestamp);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Folds history events (the admin API's flattened shape: {id, previousEventId, timestamp, type,
 * stateName?, input?, output?, error?, cause?}) into state runs, one per StateEntered.
 *
 * Returns {runs, owner, status}: runs [{name, kind, enteredId, entered, exited?, exitedId?, input?,
 * output?, error?, cause?, failed (a failure not followed by a retry or success), caught, aborted,
 * failures (count of failed attempts)}], owner Map eventId -> run index (which state an event
 * belongs to), status 'RUNNING' or the terminal status the events say.
 */
export function foldEvents(events) {
  const sorted = [...(Array.isArray(events) ? events : [])]
    .filter(isObject)
    .sort((a, b) => (Number(a.id) || 0) - (Number(b.id) || 0));
  const runs = [];
  const open = [];
  const owner = new Map();
  let status = 'RUNNING';
  let execution = {};

  const openRun = (index) => open.includes(index);
  const close = (index) => {
    const at = open.indexOf(index);
    if (at >= 0) open.splice(at, 1);
  };
  const lastOpen = (kind) => {
    for (let i = open.length - 1; i >= 0; i -= 1) {
      if (kind === null || runs[open[i]].kind === kind) return open[i];
    }
    return undefined;
  };

  for (const event of sorted) {
    const type = String(event.type ?? '');
    const prevOwner = owner.get(event.previousEventId);
    const stateEvent = STATE_EVENT.exec(type);
    if (stateEvent) {
      const [, kind, phase] = stateEvent;
      const name = eventStateName(event);
      if (phase === 'Entered') {
        // A state entered straight from a failed one that never said StateExited: the failure
        // was caught and this is the Catch's Next (AWS records the exit, but logs may miss it).
        if (prevOwner !== undefined && openRun(prevOwner) && runs[prevOwner].failed) {
          const from = runs[prevOwner];
          from.caught = true;
          from.failed = false;
          from.exited = timeOf(event);
          close(prevOwner);
        }
        runs.push({
          name, kind, enteredId: event.id, entered: timeOf(event), input: event.input,
          failed: false, caught: false, aborted: false, failures: 0,
        });
        const index = runs.length - 1;
        open.push(index);
        owner.set(event.id, index);
        continue;
      }
      // Exited/Aborted: prefer the causal chain, then the latest open run of that name.
      let index = prevOwner !== undefined && openRun(prevOwner) && runs[prevOwner].name === name
        ? prevOwner : undefined;
      if (index === undefined) {
        for (let i = open.length - 1; i >= 0; i -= 1) {
          if (runs[open[i]].name === name) { index = open[i]; break; }
        }
      }
      if (index === undefined && name === undefined) index = lastOpen(kind);
      if (index === undefined) continue;
      owner.set(event.id, index);
      const run = runs[index];
      if (phase === 'Aborted') {
        run.aborted = true;
        close(index);
        continue;
      }
      run.exited = timeOf(event);
      run.exitedId = event.id;
      if (event.output !== undefined) run.output = event.output;
      if (run.failed) {
        // Exited after a final failure: a Catch handled it.
        run.caught = true;
        run.failed = false;
      }
      close(index);
      continue;
    }
    if (type === 'ExecutionStarted') {
      execution = { ...execution, started: timeOf(event), input: event.input };
      continue;
    }
    if (EXECUTION_END[type]) {
      status = EXECUTION_END[type];
      execution = { ...execution, stopped: timeOf(event), output: event.output, error: event.error, cause: event.cause };
      continue;
    }
    // Work inside a state: find the state through the previousEventId chain, checking the kind
    // (a ParallelStateFailed points at the failed branch's last event, not at the Parallel).
    // The admin API also puts a stateName on these events (inherited along the chain), which
    // serves when the chain is broken; it is not trusted over the kind check, because it
    // inherits the failed branch state's name into ParallelStateFailed.
    const kind = ownerKind(type);
    const fits = (i) => i !== undefined && openRun(i) && (kind === null || runs[i].kind === kind);
    let index = fits(prevOwner) ? prevOwner : undefined;
    const hinted = eventStateName(event);
    if (index === undefined && hinted !== undefined) {
      for (let i = open.length - 1; i >= 0; i -= 1) {
        if (runs[open[i]].name === hinted && fits(open[i])) { index = open[i]; break; }
      }
    }
    if (index === undefined) index = lastOpen(kind);
    if (index === undefined) continue;
    owner.set(event.id, index);
    const run = runs[index];
    if (ATTEMPT_START.has(type)) {
      run.failed = false;
    } else if (ATTEMPT_SUCCESS.has(type)) {
      run.failed = false;
    } else if (ATTEMPT_FAILURE.has(type)) {
      run.failed = true;
      run.failures += 1;
      run.error = event.error ?? (type.endsWith('TimedOut') ? 'States.Timeout' : type);
      run.cause = event.cause;
    }
  }
  return { runs, owner, status, execution };
}

function runOutcome(run, status) {
  if (run.caught) return 'caught';
  if (run.exited !== undefined) return 'succeeded';
  // Never exited.
  if (run.failed || run.kind === 'Fail') return 'failed';
  if (status === 'RUNNING' && !run.aborted) return 'running';
  // Stopped inside the state (timed out, aborted, or a sibling branch failed): it did not finish.
  return 'failed';
}

// When a state ran several times (a loop, Map iterations), the most telling run wins.
const PRECEDENCE = { running: 4, failed: 3, caught: 2, succeeded: 1, 'not-reached': 0 };

/**
 * The outcome of every state of the definition, keyed by graph node id:
 * 'succeeded' (entered and exited), 'failed' (its failure ended the execution, or the execution
 * stopped inside it; a Fail state that was entered), 'caught' (it failed and a Catch handled it),
 * 'running' (entered, execution still running), 'not-reached' (never entered).
 * `status` (the execution's status from DescribeExecution) wins over what the events say, for
 * logs that miss the terminal line.
 */
export function outcomes(definition, events, status) {
  const graph = aslToGraph(definition);
  const folded = foldEvents(events);
  const effective = typeof status === 'string' && status !== '' ? status : folded.status;
  const result = new Map();
  for (const node of graph.nodes) {
    if (node.name !== undefined) result.set(node.id, 'not-reached');
  }
  for (const run of folded.runs) {
    const id = graph.byName.get(run.name);
    if (id === undefined) continue;
    const outcome = runOutcome(run, effective);
    if (PRECEDENCE[outcome] > PRECEDENCE[result.get(id)]) result.set(id, outcome);
  }
  return result;
}

/**
 * Time spent in each state, keyed by state name: {ms (sum over finished runs, entered -> exited),
 * runs (how many times entered), open (runs not exited yet), entered (first entry, epoch ms)}.
 */
export function durations(events) {
  const { runs } = foldEvents(events);
  const result = new Map();
  for (const run of runs) {
    if (run.name === undefined) continue;
    const entry = result.get(run.name) ?? { ms: 0, runs: 0, open: 0, entered: run.entered };
    entry.runs += 1;
    if (run.exited !== undefined && run.entered !== undefined) entry.ms += Math.max(0, run.exited - run.entered);
    else entry.open += 1;
    if (entry.entered === undefined || (run.entered !== undefined && run.entered < entry.entered)) {
      entry.entered = run.entered;
    }
    result.set(run.name, entry);
  }
  return result;
}

/**
 * What the page shows for a selected state: its last run's input, output, error and cause
 * (JSON text as the events carry it), or null when the state never ran.
 */
export function stateDetails(events, name) {
  const { runs } = foldEvents(events);
  for (let i = runs.length - 1; i >= 0; i -= 1) {
    const run = runs[i];
    if (run.name === name) {
      const count = runs.filter((r) => r.name === name).length;
      return { input: run.input, output: run.output, error: run.error, cause: run.cause, runs: count };
    }
  }
  return null;
}

/**
 * The state each event belongs to: the state a StateEntered/Exited names, else the state the
 * fold attributed it to (kind-aware: ParallelStateFailed belongs to the Parallel), else the
 * event's own stateName. Execution events belong to none.
 */
export function eventStates(events) {
  const { runs, owner } = foldEvents(events);
  const result = new Map();
  for (const event of Array.isArray(events) ? events : []) {
    if (!isObject(event)) continue;
    const type = String(event.type ?? '');
    if (type.startsWith('Execution')) continue;
    const own = eventStateName(event);
    const index = owner.get(event.id);
    const folded = index !== undefined ? runs[index].name : undefined;
    const name = STATE_EVENT.test(type) ? own ?? folded : folded ?? own;
    if (name !== undefined) result.set(event.id, name);
  }
  return result;
}
