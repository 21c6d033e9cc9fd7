//! Parallel and inline Map: run branches or iterations concurrently, stop the others when one
//! fails, and collect the results in order.

use std::sync::{Arc, Mutex, PoisonError};

use futures::stream::{self, StreamExt as _};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{Halt, Runtime, Scope, StatesError};
use crate::context::ExecutionContext;
use crate::definition::{MapState, ParallelState, Seconds};
use crate::history::details;
use crate::retry::ResultPath;
use crate::task::TaskInvoker;
use crate::template::Template;
use crate::value::json_text;

// AWS runs at most 40 iterations of an inline Map at once, whatever MaxConcurrency says.
const MAX_INLINE_CONCURRENCY: usize = 40;

/// The first failure among concurrent children, with the id of the last event its child recorded.
#[derive(Default)]
struct FirstFailure(Mutex<Option<(StatesError, u64)>>);

impl FirstFailure {
    fn offer(&self, failure: &StatesError, last_event: u64) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some((failure.clone(), last_event));
        }
    }

    fn take(&self) -> Option<(StatesError, u64)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// What the next MapIterationStarted points back to. AWS chains it to the last state event of the
/// iteration that ended most recently (not to that iteration's MapIterationSucceeded), or to
/// MapStateStarted while none has ended: with MaxConcurrency 1, iteration 1 starts after iteration
/// 0's PassStateExited (test_base_scenarios.py::TestBaseScenarios::test_map_state, event 10 -> 8).
struct IterationCursor(Mutex<u64>);

impl IterationCursor {
    fn get(&self) -> u64 {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, last_event: u64) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = last_event;
    }
}

/// How the children of a Parallel or Map state ended, for the ending the two share.
struct Ended {
    /// The state's failed and succeeded events.
    events: (&'static str, &'static str),
    /// The first failure, with the id of the last event its child recorded.
    failure: Option<(StatesError, u64)>,
    /// The id of the last event any child recorded.
    last: u64,
    /// Each child's result, in order; a Map iteration never started counts as aborted.
    outputs: Vec<Result<Value, Halt>>,
}

impl<I: TaskInvoker> Runtime<'_, I> {
    pub(super) async fn parallel_attempt(
        &self,
        scope: &mut Scope<'_>,
        parallel: &ParallelState,
        raw: &Value,
        effective: &Value,
        retries: u64,
        cancel: &CancellationToken,
    ) -> Result<Value, Halt> {
        let context = self.context_for(scope, retries);
        let input = self.fill(scope, parallel.parameters.as_ref(), effective.clone(), &context)?;
        let started = self.recorder.record(scope.prev, "ParallelStateStarted", None);
        scope.prev = started;

        let siblings = cancel.child_token();
        let first_failure = FirstFailure::default();
        let vars = &scope.vars;
        let branches = parallel.branches.iter().map(|branch| {
            let (siblings, first_failure, input) = (&siblings, &first_failure, input.clone());
            let outer = Arc::clone(vars);
            async move {
                let (result, last) = self.run_set(branch, input, siblings, started, outer).await;
                if let Err(Halt::Failed(failure)) = &result {
                    first_failure.offer(failure, last);
                    siblings.cancel();
                }
                (result, last)
            }
        });
        let finished = futures::future::join_all(branches).await;
        let ended = Ended {
            events: ("ParallelStateFailed", "ParallelStateSucceeded"),
            failure: first_failure.take(),
            last: finished.iter().map(|(_, last)| *last).max().unwrap_or(started),
            outputs: finished.into_iter().map(|(result, _)| result).collect(),
        };
        let result = &parallel.result;
        self.finish(scope, ended, result.selector.as_ref(), &result.path, raw, &context)
    }

    pub(super) async fn map_attempt(
        &self,
        scope: &mut Scope<'_>,
        map: &MapState,
        raw: &Value,
        effective: &Value,
        retries: u64,
        cancel: &CancellationToken,
    ) -> Result<Value, Halt> {
        let context = self.context_for(scope, retries);
        let items = match self.map_items(scope, map, effective) {
            Ok(items) => items,
            Err(halt) => {
                // AWS records MapStateFailed after the EvaluationFailed of bad Items, though the
                // Map never started (test_base_scenarios.py::test_map_state_items_input_types).
                if scope.state.jsonata {
                    scope.pending_failed = Some("MapStateFailed");
                }
                return Err(halt);
            }
        };
        let limit = match &map.max_concurrency_expr {
            Some(template) => {
                let value = self.jsonata_value(scope, template, raw)?;
                let n = value.as_u64().ok_or_else(|| {
                    scope.query_failure(
                        format!(
                            "The JSONata expression '{}' specified for the field 'MaxConcurrency' returned an unexpected result type. Expected 'integer', but was '{}' for value: {value}",
                            template.jsonata_source().unwrap_or_default(),
                            crate::path::type_name(&value)
                        ),
                        "MaxConcurrency",
                    )
                })?;
                self.max_concurrency(scope, Some(&Seconds::Fixed(n)), effective)?
            }
            None => self.max_concurrency(scope, map.max_concurrency.as_ref(), effective)?,
        };
        let started = self
            .recorder
            .record(scope.prev, "MapStateStarted", Some(details::map_started(items.len())));
        scope.prev = started;

        let siblings = cancel.child_token();
        let first_failure = FirstFailure::default();
        let cursor = IterationCursor(Mutex::new(started));
        let name = scope.state.name.as_str();
        let scope_ref = &*scope;
        let vars = &scope.vars;
        // Collected into a Vec first: a lazily mapped iterator inside the stream makes the future's
        // Send check trip over the closure's higher-ranked lifetimes.
        let iterations: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let (siblings, first_failure, context, cursor) = (&siblings, &first_failure, &context, &cursor);
                let outer = Arc::clone(vars);
                async move {
                    // Iterations not yet started when a sibling fails are never started.
                    if siblings.is_cancelled() {
                        return (index, None);
                    }
                    let begun = self.recorder.record(
                        cursor.get(),
                        "MapIterationStarted",
                        Some(details::map_iteration("mapIterationStartedEventDetails", name, index)),
                    );
                    let item_context = ExecutionContext::with_map_item(context, index, item);
                    let input = match map.item_selector.as_ref() {
                        // ItemSelector reads the Map's effective input, plus $$.Map.Item for the item
                        // (JSONata: $states.input and $states.context.Map.Item).
                        Some(selector) => self.fill(scope_ref, Some(selector), effective.clone(), &item_context),
                        None => Ok(item.clone()),
                    };
                    let (result, last) = match input {
                        Ok(input) => self.run_set(&map.processor, input, siblings, begun, outer).await,
                        Err(halt) => (Err(halt), begun),
                    };
                    cursor.set(last);
                    let (kind, key) = match &result {
                        Ok(_) => ("MapIterationSucceeded", "mapIterationSucceededEventDetails"),
                        Err(Halt::Failed(failure)) => {
                            first_failure.offer(failure, last);
                            siblings.cancel();
                            ("MapIterationFailed", "mapIterationFailedEventDetails")
                        }
                        Err(Halt::Aborted) => ("MapIterationAborted", "mapIterationAbortedEventDetails"),
                    };
                    let last = self
                        .recorder
                        .record(last, kind, Some(details::map_iteration(key, name, index)));
                    (index, Some((result, last)))
                }
            })
            .collect();
        let mut finished: Vec<_> = stream::iter(iterations).buffer_unordered(limit).collect().await;
        finished.sort_by_key(|(index, _)| *index);
        let ended = Ended {
            events: ("MapStateFailed", "MapStateSucceeded"),
            failure: first_failure.take(),
            last: finished
                .iter()
                .filter_map(|(_, run)| run.as_ref().map(|(_, last)| *last))
                .max()
                .unwrap_or(started),
            outputs: finished
                .into_iter()
                .map(|(_, run)| run.map_or(Err(Halt::Aborted), |(result, _)| result))
                .collect(),
        };
        let result = &map.result;
        self.finish(scope, ended, result.selector.as_ref(), &result.path, raw, &context)
    }

    /// The ending Parallel and Map share: the first failing child fails the state; otherwise the
    /// results, in order, go through ResultSelector, ResultPath and OutputPath.
    ///
    /// The failed event is left pending for Retry to decide on (see `settle_failed_event`); it
    /// points to the failing child's last state event, not its MapIterationFailed. The succeeded
    /// event points to the children's last event and, unlike every other event, does not become
    /// the previous event of the StateExited after it (test_base_scenarios.py::TestBaseScenarios::
    /// test_map_state: MapStateSucceeded 38 and MapStateExited 39 both point to 37;
    /// ::test_map_state_catch: MapStateFailed 9 points to FailStateEntered 7).
    fn finish(
        &self,
        scope: &mut Scope<'_>,
        ended: Ended,
        selector: Option<&Template>,
        path: &ResultPath,
        raw: &Value,
        context: &Value,
    ) -> Result<Value, Halt> {
        let (failed, succeeded) = ended.events;
        if let Some((failure, failed_at)) = ended.failure {
            scope.prev = failed_at;
            scope.pending_failed = Some(failed);
            return Err(Halt::Failed(failure));
        }
        scope.prev = ended.last;
        let outputs = ended.outputs.into_iter().collect::<Result<Vec<_>, _>>()?;
        self.recorder.record(ended.last, succeeded, None);

        let outputs = Value::Array(outputs);
        if scope.state.jsonata {
            return self.conclude_jsonata(scope, raw, Some(outputs), context);
        }
        // JSONPath Assign reads the raw result, before ResultSelector.
        let assign = scope.state.assign.as_ref();
        self.assign_path(scope, assign, &outputs, context)?;
        let selected = self.fill(scope, selector, outputs, context)?;
        let combined = self.result_path(scope, path, raw.clone(), selected)?;
        self.output_path(scope, combined)
    }

    /// The array a Map iterates: ItemsPath (JSONPath) or Items (JSONata) of the input, or the
    /// input itself; refused in AWS's words when it is not an array (test_base_scenarios.py::
    /// test_map_state_items_input_types and ::test_map_state_items_variable_sampling).
    pub(super) fn map_items(&self, scope: &Scope<'_>, map: &MapState, effective: &Value) -> Result<Vec<Value>, Halt> {
        let items = match (&map.items, &map.items_path) {
            (Some(template), _) => self.jsonata_value(scope, template, effective)?,
            (None, Some(path)) => self.read(scope, path, effective)?,
            (None, None) => effective.clone(),
        };
        match (items, &map.items) {
            (Value::Array(items), _) => Ok(items),
            (other, Some(template)) => Err(scope.query_failure(
                format!(
                    "The JSONata expression '{}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{}' for value: {}",
                    template.jsonata_source().unwrap_or_default(),
                    crate::path::type_name(&other),
                    json_text(&other)
                ),
                "Items",
            )),
            (other, None) if scope.state.jsonata => Err(scope.query_failure(
                format!("Map state input must be an array but was: {}", json_text(&other)),
                "Items",
            )),
            (other, None) => Err(scope.runtime(format!("Map items must be a JSON array, got {other}"))),
        }
    }

    /// How many iterations may run at once: MaxConcurrency(Path), 0 meaning no limit of its own.
    fn max_concurrency(&self, scope: &Scope<'_>, setting: Option<&Seconds>, input: &Value) -> Result<usize, Halt> {
        let requested = match setting {
            None => 0,
            Some(Seconds::Fixed(n)) => *n,
            Some(Seconds::Path(path)) => {
                let value = self.read(scope, path, input)?;
                // A numeric string counts (assign/test_assign_reference_variables.py::
                // test_reference_in_map_state[MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH]: "1").
                let parsed = value.as_str().and_then(|text| text.parse::<u64>().ok());
                value.as_u64().or(parsed).ok_or_else(|| {
                    // AWS's words, the value unquoted if a string (test_base_scenarios.py::
                    // TestBaseScenarios::test_max_concurrency_path[NoNumber] and [max_concurrency_value0]).
                    let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                    scope.runtime(format!(
                        "The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: {path}"
                    ))
                })?
            }
        };
        let requested = usize::try_from(requested).unwrap_or(MAX_INLINE_CONCURRENCY);
        Ok(if requested == 0 {
            MAX_INLINE_CONCURRENCY
        } else {
            requested.min(MAX_INLINE_CONCURRENCY)
        })
    }
}
