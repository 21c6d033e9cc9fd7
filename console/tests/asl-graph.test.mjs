// Unit tests of console/site/js/asl-graph.js: `node --test console/tests/` (offline, no browser).
// The event sequences follow GetExecutionHistory as AWS records it
// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html), in the
// admin API's flattened shape ({id, previousEventId, timestamp, type, stateName?, input?, output?,
// error?, cause?}).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

import {
  aslToGraph, outcomes, durations, stateDetails, eventStates, listStates, START_ID, END_ID,
} from '../site/js/asl-graph.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const orderPipeline = JSON.parse(readFileSync(join(repo, 'statemachines', 'order-pipeline.asl.json'), 'utf8'));
const webhookDelivery = JSON.parse(readFileSync(join(repo, 'statemachines', 'webhook-delivery.asl.json'), 'utf8'));

const T0 = Date.parse('2025-01-02T03:04:05.000Z');

/** A linear history: each event points at the one before, one second apart unless `at` says. */
function history(steps) {
  let id = 0;
  return steps.map(([type, extra = {}]) => {
    id += 1;
    const { at, prev, ...rest } = extra;
    const seconds = at ?? id - 1;
    return {
      id,
      previousEventId: prev ?? id - 1,
      timestamp: new Date(T0 + seconds * 1000).toISOString(),
      type,
      ...rest,
    };
  });
}

const task = (name, result = 'TaskSucceeded', extra = {}) => [
  ['TaskStateEntered', { stateName: name, input: '{"feedId":"f-1"}' }],
  ['TaskScheduled'],
  ['TaskStarted'],
  [result, extra],
];
const exited = (kind, name, output = '{}') => [`${kind}StateExited`, { stateName: name, output }];

function edgeSet(graph) {
  return new Set(graph.edges.map((e) => `${e.source} -${e.kind}-> ${e.target}`));
}

function asObject(map) {
  return Object.fromEntries(map);
}

test('order pipeline maps to its states and transitions', () => {
  const graph = aslToGraph(orderPipeline);
  const ids = graph.nodes.map((n) => n.id).sort();
  assert.deepEqual(ids, [
    END_ID, START_ID, 'AfterRecordErrors', 'Done', 'FeedFailed', 'HasRejections', 'MarkFeedFailed',
    'Persist', 'RecordErrors', 'Transform', 'Validate',
  ].sort());
  const types = Object.fromEntries(graph.nodes.map((n) => [n.id, n.type]));
  assert.equal(types.Validate, 'Task');
  assert.equal(types.HasRejections, 'Choice');
  assert.equal(types.FeedFailed, 'Fail');
  assert.equal(types.Done, 'Succeed');
  assert.ok(graph.nodes.every((n) => n.parent === undefined));
  assert.deepEqual(edgeSet(graph), new Set([
    `${START_ID} -start-> Validate`,
    'Validate -next-> Transform',
    'Validate -catch-> RecordErrors',
    'Transform -next-> Persist',
    'Transform -catch-> RecordErrors',
    'Persist -next-> HasRejections',
    'Persist -catch-> RecordErrors',
    'HasRejections -choice-> RecordErrors',
    'HasRejections -default-> Done',
    'RecordErrors -next-> AfterRecordErrors',
    'RecordErrors -catch-> MarkFeedFailed',
    'MarkFeedFailed -next-> FeedFailed',
    'MarkFeedFailed -catch-> FeedFailed',
    'AfterRecordErrors -choice-> FeedFailed',
    'AfterRecordErrors -default-> Done',
    `FeedFailed -end-> ${END_ID}`,
    `Done -end-> ${END_ID}`,
  ]));
  assert.equal(new Set(graph.edges.map((e) => e.id)).size, graph.edges.length, 'edge ids are unique');
});

test('webhook delivery maps to its loop, choice and two Succeed ends', () => {
  const graph = aslToGraph(webhookDelivery);
  assert.deepEqual(graph.nodes.map((n) => n.id).sort(), [
    END_ID, START_ID, 'Attempt', 'Backoff', 'DeadLetter', 'Delivered', 'WhatNext',
  ].sort());
  assert.deepEqual(edgeSet(graph), new Set([
    `${START_ID} -start-> Attempt`,
    'Attempt -next-> WhatNext',
    'WhatNext -choice-> Backoff',
    'WhatNext -choice-> Delivered',
    'WhatNext -default-> DeadLetter',
    'Backoff -next-> Attempt',
    `Delivered -end-> ${END_ID}`,
    `DeadLetter -end-> ${END_ID}`,
  ]));
  assert.equal(graph.nodes.find((n) => n.id === 'Backoff').type, 'Wait');
});

test('a successful order pipeline run: every state on the path succeeded, the rest not reached', () => {
  const events = history([
    ['ExecutionStarted', { input: '{"feedId":"f-1"}' }],
    ...task('Validate'), exited('Task', 'Validate'),
    ...task('Transform'), exited('Task', 'Transform'),
    ...task('Persist'), exited('Task', 'Persist', '{"rejectedCount":0}'),
    ['ChoiceStateEntered', { stateName: 'HasRejections' }], exited('Choice', 'HasRejections'),
    ['SucceedStateEntered', { stateName: 'Done' }], exited('Succeed', 'Done'),
    ['ExecutionSucceeded', { output: '{}' }],
  ]);
  assert.deepEqual(asObject(outcomes(orderPipeline, events)), {
    Validate: 'succeeded',
    Transform: 'succeeded',
    Persist: 'succeeded',
    HasRejections: 'succeeded',
    RecordErrors: 'not-reached',
    MarkFeedFailed: 'not-reached',
    AfterRecordErrors: 'not-reached',
    FeedFailed: 'not-reached',
    Done: 'succeeded',
  });
  // Validate entered at event 2 (1 s) and exited at event 6 (5 s).
  const d = durations(events);
  assert.equal(d.get('Validate').ms, 4000);
  assert.equal(d.get('Validate').runs, 1);
  assert.equal(d.get('Done').ms, 1000);
  assert.equal(d.has('RecordErrors'), false);
  const detail = stateDetails(events, 'Persist');
  assert.equal(detail.input, '{"feedId":"f-1"}');
  assert.equal(detail.output, '{"rejectedCount":0}');
  assert.equal(detail.error, undefined);
});

test('Validate failed and its Catch sent the run to RecordErrors: Validate is caught, FeedFailed failed', () => {
  const cause = '{"errorMessage":"feed f-1 is not valid"}';
  const events = history([
    ['ExecutionStarted'],
    ...task('Validate', 'TaskFailed', { error: 'ValidationError', cause }),
    exited('Task', 'Validate', '{"failure":{"Error":"ValidationError"}}'),
    ...task('RecordErrors'), exited('Task', 'RecordErrors', '{"failure":{}}'),
    ['ChoiceStateEntered', { stateName: 'AfterRecordErrors' }], exited('Choice', 'AfterRecordErrors'),
    ['FailStateEntered', { stateName: 'FeedFailed' }],
    ['ExecutionFailed', { error: 'FeedFailed', cause: 'The order pipeline failed for this feed' }],
  ]);
  assert.deepEqual(asObject(outcomes(orderPipeline, events)), {
    Validate: 'caught',
    Transform: 'not-reached',
    Persist: 'not-reached',
    HasRejections: 'not-reached',
    RecordErrors: 'succeeded',
    MarkFeedFailed: 'not-reached',
    AfterRecordErrors: 'succeeded',
    FeedFailed: 'failed',
    Done: 'not-reached',
  });
  const detail = stateDetails(events, 'Validate');
  assert.equal(detail.error, 'ValidationError');
  assert.equal(detail.cause, cause);
  assert.equal(detail.output, '{"failure":{"Error":"ValidationError"}}');
  const states = eventStates(events);
  assert.equal(states.get(5), 'Validate', 'TaskFailed belongs to Validate through its previousEventId');
  assert.equal(states.get(1), undefined);
});

test('a caught failure is recognised even when the StateExited line is missing (log source)', () => {
  const events = history([
    ['ExecutionStarted'],
    ...task('Validate', 'TaskFailed', { error: 'States.TaskFailed' }),
    ...task('RecordErrors'), exited('Task', 'RecordErrors'),
  ]);
  const result = outcomes(orderPipeline, events);
  assert.equal(result.get('Validate'), 'caught');
  assert.equal(result.get('RecordErrors'), 'succeeded');
});

test('a retried failure that then succeeds is succeeded, not caught', () => {
  const events = history([
    ['ExecutionStarted'],
    ['TaskStateEntered', { stateName: 'Validate' }],
    ['TaskScheduled'], ['TaskStarted'], ['TaskFailed', { error: 'Lambda.ServiceException' }],
    ['TaskScheduled'], ['TaskStarted'], ['TaskSucceeded'],
    exited('Task', 'Validate'),
    ...task('Transform'),
  ]);
  const result = outcomes(orderPipeline, events);
  assert.equal(result.get('Validate'), 'succeeded');
  assert.equal(result.get('Transform'), 'running');
  assert.equal(result.get('Persist'), 'not-reached');
  const d = durations(events);
  assert.equal(d.get('Transform').open, 1);
  assert.equal(d.get('Transform').ms, 0);
});

test('an uncaught failure fails the state and the run; the status argument wins over the events', () => {
  const events = history([
    ['ExecutionStarted'],
    ...task('Attempt', 'TaskFailed', { error: 'States.Timeout' }),
    ['ExecutionFailed', { error: 'States.Timeout' }],
  ]);
  const result = outcomes(webhookDelivery, events);
  assert.equal(result.get('Attempt'), 'failed');
  assert.equal(result.get('WhatNext'), 'not-reached');

  // A log that lost its terminal line: the described status says how it ended.
  const partial = history([['ExecutionStarted'], ['TaskStateEntered', { stateName: 'Attempt' }]]);
  assert.equal(outcomes(webhookDelivery, partial).get('Attempt'), 'running');
  assert.equal(outcomes(webhookDelivery, partial, 'TIMED_OUT').get('Attempt'), 'failed');
});

test('a loop: states entered several times are summed', () => {
  const events = history([
    ['ExecutionStarted'],
    ...task('Attempt'), exited('Task', 'Attempt', '{"outcome":"retry","waitSeconds":5}'),
    ['ChoiceStateEntered', { stateName: 'WhatNext' }], exited('Choice', 'WhatNext'),
    ['WaitStateEntered', { stateName: 'Backoff' }], exited('Wait', 'Backoff'),
    ...task('Attempt'), exited('Task', 'Attempt', '{"outcome":"delivered"}'),
    ['ChoiceStateEntered', { stateName: 'WhatNext' }], exited('Choice', 'WhatNext'),
    ['SucceedStateEntered', { stateName: 'Delivered' }], exited('Succeed', 'Delivered'),
    ['ExecutionSucceeded'],
  ]);
  assert.deepEqual(asObject(outcomes(webhookDelivery, events)), {
    Attempt: 'succeeded', WhatNext: 'succeeded', Backoff: 'succeeded', Delivered: 'succeeded', DeadLetter: 'not-reached',
  });
  const d = durations(events);
  assert.equal(d.get('Attempt').runs, 2);
  assert.equal(d.get('Attempt').ms, 8000);
  assert.equal(stateDetails(events, 'Attempt').output, '{"outcome":"delivered"}');
});

// A definition with every state type, Parallel branches and a Map (ItemProcessor) and a
// deprecated Iterator.
const nested = {
  StartAt: 'Fan',
  States: {
    Fan: {
      Type: 'Parallel',
      Branches: [
        { StartAt: 'A', States: { A: { Type: 'Pass', End: true } } },
        {
          StartAt: 'B',
          States: {
            B: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Next: 'BOk' },
            BOk: { Type: 'Succeed' },
          },
        },
      ],
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }],
      Next: 'Each',
    },
    Each: {
      Type: 'Map',
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'Work',
        States: {
          Work: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Next: 'Pause' },
          Pause: { Type: 'Wait', Seconds: 1, End: true },
        },
      },
      Next: 'Old',
    },
    Old: {
      Type: 'Map',
      Iterator: { StartAt: 'OldItem', States: { OldItem: { Type: 'Pass', End: true } } },
      End: true,
    },
    Recover: { Type: 'Pass', Next: 'Stop' },
    Stop: { Type: 'Fail', Error: 'Stopped' },
  },
};

test('Parallel and Map become compound nodes with prefixed ids', () => {
  const graph = aslToGraph(nested);
  const byId = Object.fromEntries(graph.nodes.map((n) => [n.id, n]));
  assert.equal(byId.Fan.compound, true);
  assert.deepEqual(byId.Fan.starts, ['Fan/0', 'Fan/1']);
  assert.equal(byId['Fan/0'].type, 'Branch');
  assert.equal(byId['Fan/0'].parent, 'Fan');
  assert.equal(byId['Fan/0/A'].parent, 'Fan/0');
  assert.equal(byId['Fan/0/A'].label, 'A');
  assert.equal(byId['Fan/1/B'].parent, 'Fan/1');
  assert.deepEqual(byId['Fan/1'].starts, ['Fan/1/B']);
  assert.deepEqual(byId['Fan/1'].ends, ['Fan/1/BOk']);
  assert.equal(byId['Each/Work'].parent, 'Each');
  assert.deepEqual(byId.Each.starts, ['Each/Work']);
  assert.deepEqual(byId.Each.ends, ['Each/Pause']);
  assert.equal(byId['Old/OldItem'].parent, 'Old', 'a deprecated Iterator is drawn like an ItemProcessor');
  assert.equal(graph.byName.get('Work'), 'Each/Work');
  assert.deepEqual(edgeSet(graph), new Set([
    `${START_ID} -start-> Fan`,
    'Fan -next-> Each',
    'Fan -catch-> Recover',
    'Fan/1/B -next-> Fan/1/BOk',
    'Each -next-> Old',
    'Each/Work -next-> Each/Pause',
    `Old -end-> ${END_ID}`,
    'Recover -next-> Stop',
    `Stop -end-> ${END_ID}`,
  ]));
  assert.deepEqual(listStates(nested).map((s) => s.name),
    ['Fan', 'A', 'B', 'BOk', 'Each', 'Work', 'Pause', 'Old', 'OldItem', 'Recover', 'Stop']);
});

test('Parallel and Map run: branches interleave, Map iterations repeat the same states', () => {
  // Ids are explicit: branches and iterations run concurrently and chain by previousEventId.
  const at = (s) => new Date(T0 + s * 1000).toISOString();
  const e = (id, previousEventId, type, extra = {}) => ({ id, previousEventId, timestamp: at(id), type, ...extra });
  const events = [
    e(1, 0, 'ExecutionStarted'),
    e(2, 1, 'ParallelStateEntered', { stateName: 'Fan' }),
    e(3, 2, 'ParallelStateStarted'),
    e(4, 3, 'PassStateEntered', { stateName: 'A' }),
    e(5, 3, 'TaskStateEntered', { stateName: 'B' }),
    e(6, 4, 'PassStateExited', { stateName: 'A' }),
    e(7, 5, 'TaskScheduled'),
    e(8, 7, 'TaskStarted'),
    e(9, 8, 'TaskSucceeded'),
    e(10, 9, 'TaskStateExited', { stateName: 'B' }),
    e(11, 10, 'SucceedStateEntered', { stateName: 'BOk' }),
    e(12, 11, 'SucceedStateExited', { stateName: 'BOk' }),
    e(13, 12, 'ParallelStateSucceeded'),
    e(14, 13, 'ParallelStateExited', { stateName: 'Fan' }),
    e(15, 14, 'MapStateEntered', { stateName: 'Each' }),
    e(16, 15, 'MapStateStarted'),
    e(17, 16, 'MapIterationStarted'),
    e(18, 17, 'TaskStateEntered', { stateName: 'Work' }),
    e(19, 16, 'MapIterationStarted'),
    e(20, 19, 'TaskStateEntered', { stateName: 'Work' }),
    e(21, 18, 'TaskScheduled'),
    e(22, 20, 'TaskScheduled'),
    e(23, 21, 'TaskSucceeded'),
    e(24, 22, 'TaskSucceeded'),
    e(25, 23, 'TaskStateExited', { stateName: 'Work' }),
    e(26, 24, 'TaskStateExited', { stateName: 'Work' }),
    e(27, 25, 'WaitStateEntered', { stateName: 'Pause' }),
    e(28, 26, 'WaitStateEntered', { stateName: 'Pause' }),
    e(29, 27, 'WaitStateExited', { stateName: 'Pause' }),
  ];
  // Still running: one Pause is waiting.
  const running = outcomes(nested, events);
  assert.deepEqual(asObject(running), {
    Fan: 'succeeded', 'Fan/0/A': 'succeeded', 'Fan/1/B': 'succeeded', 'Fan/1/BOk': 'succeeded',
    Each: 'running', 'Each/Work': 'succeeded', 'Each/Pause': 'running',
    Old: 'not-reached', 'Old/OldItem': 'not-reached', Recover: 'not-reached', Stop: 'not-reached',
  });
  const d = durations(events);
  assert.equal(d.get('Work').runs, 2);
  assert.equal(d.get('Work').ms, (25 - 18 + 26 - 20) * 1000);
  assert.equal(d.get('Pause').open, 1);
  const states = eventStates(events);
  assert.equal(states.get(22), 'Work');
  assert.equal(states.get(19), 'Each', 'MapIterationStarted belongs to the Map');
  assert.equal(states.get(13), 'Fan', 'ParallelStateSucceeded belongs to the Parallel, not the last branch state');
});

test('a failed branch: the Parallel is caught, the branch state failed, its sibling succeeded', () => {
  const at = (s) => new Date(T0 + s * 1000).toISOString();
  const e = (id, previousEventId, type, extra = {}) => ({ id, previousEventId, timestamp: at(id), type, ...extra });
  const events = [
    e(1, 0, 'ExecutionStarted'),
    e(2, 1, 'ParallelStateEntered', { stateName: 'Fan' }),
    e(3, 2, 'ParallelStateStarted'),
    e(4, 3, 'PassStateEntered', { stateName: 'A' }),
    e(5, 3, 'TaskStateEntered', { stateName: 'B' }),
    e(6, 4, 'PassStateExited', { stateName: 'A' }),
    e(7, 5, 'TaskScheduled'),
    e(8, 7, 'TaskStarted'),
    e(9, 8, 'TaskFailed', { error: 'Boom', cause: 'bad' }),
    e(10, 9, 'ParallelStateFailed'),
    e(11, 10, 'ParallelStateExited', { stateName: 'Fan', output: '{"Error":"Boom"}' }),
    e(12, 11, 'PassStateEntered', { stateName: 'Recover' }),
    e(13, 12, 'PassStateExited', { stateName: 'Recover' }),
    e(14, 13, 'FailStateEntered', { stateName: 'Stop' }),
    e(15, 14, 'ExecutionFailed', { error: 'Stopped' }),
  ];
  assert.deepEqual(asObject(outcomes(nested, events)), {
    Fan: 'caught', 'Fan/0/A': 'succeeded', 'Fan/1/B': 'failed', 'Fan/1/BOk': 'not-reached',
    Each: 'not-reached', 'Each/Work': 'not-reached', 'Each/Pause': 'not-reached',
    Old: 'not-reached', 'Old/OldItem': 'not-reached', Recover: 'succeeded', Stop: 'failed',
  });
  assert.equal(stateDetails(events, 'B').error, 'Boom');
  assert.equal(stateDetails(events, 'Fan').error, 'ParallelStateFailed');
});

test('odd input does not throw', () => {
  assert.deepEqual(aslToGraph({}).edges, []);
  assert.equal(aslToGraph(null).nodes.length, 2);
  assert.equal(outcomes(orderPipeline, undefined).get('Validate'), 'not-reached');
  assert.equal(durations([{ type: 'TaskStateExited' }, null, 7]).size, 0);
  const unknownNext = aslToGraph({ StartAt: 'X', States: { X: { Type: 'Pass', Next: 'Nowhere' } } });
  assert.deepEqual(unknownNext.edges.map((e) => e.kind), ['start']);
});

test('the admin API shape: stateName inherited along the chain onto every event of a state', () => {
  // shared/src/executions views(): events between a state's entry and exit carry its name, so a
  // ParallelStateFailed right after the failed branch task inherits that task's name.
  const at = (s) => new Date(T0 + s * 1000).toISOString();
  const e = (id, previousEventId, type, extra = {}) => ({ id, previousEventId, timestamp: at(id), type, ...extra });
  const events = [
    e(1, 0, 'ExecutionStarted'),
    e(2, 1, 'ParallelStateEntered', { stateName: 'Fan' }),
    e(3, 2, 'ParallelStateStarted', { stateName: 'Fan' }),
    e(4, 3, 'PassStateEntered', { stateName: 'A' }),
    e(5, 3, 'TaskStateEntered', { stateName: 'B' }),
    e(6, 4, 'PassStateExited', { stateName: 'A' }),
    e(7, 5, 'TaskScheduled', { stateName: 'B' }),
    e(8, 7, 'TaskStarted', { stateName: 'B' }),
    e(9, 8, 'TaskFailed', { stateName: 'B', error: 'Boom' }),
    e(10, 9, 'ParallelStateFailed', { stateName: 'B' }),
    e(11, 10, 'ParallelStateExited', { stateName: 'Fan' }),
    e(12, 11, 'PassStateEntered', { stateName: 'Recover' }),
    e(13, 12, 'PassStateExited', { stateName: 'Recover' }),
    e(14, 13, 'FailStateEntered', { stateName: 'Stop' }),
    e(15, 14, 'ExecutionFailed', { error: 'Stopped' }),
  ];
  const result = outcomes(nested, events);
  assert.equal(result.get('Fan'), 'caught');
  assert.equal(result.get('Fan/1/B'), 'failed');
  assert.equal(result.get('Stop'), 'failed');
  const states = eventStates(events);
  assert.equal(states.get(10), 'Fan');
  assert.equal(states.get(9), 'B');
  assert.equal(states.get(15), undefined);

  // A broken chain (previousEventId 0, as a log may give): the stateName places the event.
  const broken = history([
    ['ExecutionStarted'],
    ['TaskStateEntered', { stateName: 'Validate' }],
    ['TaskFailed', { stateName: 'Validate', error: 'X', prev: 0 }],
    ['TaskStateExited', { stateName: 'Validate', prev: 0 }],
  ]);
  assert.equal(outcomes(orderPipeline, broken).get('Validate'), 'caught');
});

// The repo's recorded histories (cli/fixtures, see its README), flattened as the admin API
// flattens them (shared/src/executions): the `<kind>EventDetails` (or a log line's `details`)
// give stateName/input/output/error/cause, timestamps become RFC 3339.
const fixtures = join(repo, 'cli', 'fixtures');

function flatten(id, previousEventId, ms, type, details = {}) {
  const event = { id, previousEventId, timestamp: new Date(ms).toISOString(), type };
  if (/State(Entered|Exited)$/.test(type) && typeof details.name === 'string') event.stateName = details.name;
  for (const key of ['input', 'output', 'error', 'cause']) {
    if (typeof details[key] === 'string') event[key] = details[key];
  }
  return event;
}

function fromHistory(file) {
  const body = JSON.parse(readFileSync(join(fixtures, file), 'utf8'));
  return body.events.map((e) => {
    const key = Object.keys(e).find((k) => k.endsWith('EventDetails'));
    return flatten(e.id, e.previousEventId, Math.round(e.timestamp * 1000), e.type, key ? e[key] : {});
  });
}

function fromLog(file, arnSuffix) {
  return readFileSync(join(fixtures, file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
    .filter((line) => line.execution_arn.endsWith(arnSuffix))
    .map((line) => flatten(Number(line.id), Number(line.previous_event_id), Number(line.event_timestamp), line.type, line.details));
}

test('recorded history: Transform retried then succeeded, Persist caught into RecordErrors, FeedFailed', () => {
  const events = fromHistory('pipeline-retried-caught.json');
  assert.deepEqual(asObject(outcomes(orderPipeline, events)), {
    Validate: 'succeeded',
    Transform: 'succeeded',
    Persist: 'caught',
    HasRejections: 'not-reached',
    RecordErrors: 'succeeded',
    MarkFeedFailed: 'not-reached',
    AfterRecordErrors: 'succeeded',
    FeedFailed: 'failed',
    Done: 'not-reached',
  });
  assert.equal(stateDetails(events, 'Persist').error, 'StoreError');
  assert.equal(eventStates(events).get(13), 'Transform');

  const ok = fromHistory('pipeline-succeeded.json');
  const result = outcomes(orderPipeline, ok);
  assert.equal([...result.values()].filter((o) => o === 'succeeded').length, 5);
  assert.equal(result.get('Done'), 'succeeded');
});

test('recorded Express log lines: two interleaved executions, one caught at Validate', () => {
  const good = fromLog('express-log-events.jsonl', '1d2e3f4a5b6c');
  const bad = fromLog('express-log-events.jsonl', '1a0f9e8d7c6b');
  assert.equal(outcomes(orderPipeline, good).get('Done'), 'succeeded');
  assert.deepEqual(asObject(outcomes(orderPipeline, bad)), {
    Validate: 'caught',
    Transform: 'not-reached',
    Persist: 'not-reached',
    HasRejections: 'not-reached',
    RecordErrors: 'succeeded',
    MarkFeedFailed: 'not-reached',
    AfterRecordErrors: 'succeeded',
    FeedFailed: 'failed',
    Done: 'not-reached',
  });
  assert.equal(stateDetails(bad, 'Validate').error, 'FeedNotFound');
});

test('the AWS documentation sample history (HelloWorld Pass state)', () => {
  const events = fromHistory('aws-docs-get-execution-history.json');
  const definition = { StartAt: 'HelloWorld', States: { HelloWorld: { Type: 'Pass', End: true } } };
  assert.equal(outcomes(definition, events).get('HelloWorld'), 'succeeded');
  assert.equal(durations(events).get('HelloWorld').runs, 1);
});
