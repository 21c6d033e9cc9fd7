//! Workflow variables ("Passing data between states with variables"): evaluating Assign (JSONPath
//! and JSONata), Output, and applying the assignments when the state exits.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Halt, Runtime, Scope, StatesError};
use crate::definition::State;
use crate::env::{jsonata_bindings, Env};
use crate::history::details;
use crate::retry::{Catcher, STATES_DATA_LIMIT};
use crate::task::TaskInvoker;
use crate::template::Template;

// AWS's variable quotas ("Passing data between states with variables", Limits,
// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html#limits): one
// variable, and all the variables of one Assign together, at most 256 KiB; all stored variables
// of an execution at most 10 MiB. Sizes are those of the values' JSON text, as for payloads.
pub(crate) const MAX_VARIABLE_BYTES: usize = 256 * 1024;
pub(crate) const MAX_ASSIGN_BYTES: usize = 256 * 1024;
pub(crate) const MAX_EXECUTION_VARIABLE_BYTES: usize = 10 * 1024 * 1024;

fn size(value: &Value) -> usize {
    value.to_string().len()
}

/// A variable quota exceeded. The page gives the quotas but not the error: this is the one AWS
/// documents for every data-size quota (States.DataLimitExceeded, "Error handling in Step
/// Functions"), terminal like an oversized state output. The cause is our wording.
fn over_quota(scope: &Scope<'_>, what: String) -> Halt {
    let mut error = StatesError::new(
        STATES_DATA_LIMIT,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {what}",
            scope.state.name, scope.entered_id
        ),
    );
    error.terminal = true;
    Halt::Failed(error)
}

/// Keeps what an Assign evaluated to, once it is within the per-variable and per-Assign quotas.
fn keep_assigned(scope: &mut Scope<'_>, value: &Value) -> Result<(), Halt> {
    let Some(assigned) = value.as_object() else {
        scope.assigned = None;
        return Ok(());
    };
    let mut total = 0;
    for (name, value) in assigned {
        let bytes = size(value);
        if bytes > MAX_VARIABLE_BYTES {
            return Err(over_quota(
                scope,
                format!("The value assigned to the variable '{name}' is {bytes} bytes, over the {MAX_VARIABLE_BYTES}-byte quota of a single variable."),
            ));
        }
        total += bytes;
    }
    if total > MAX_ASSIGN_BYTES {
        return Err(over_quota(
            scope,
            format!("The variables assigned by one Assign are {total} bytes together, over the {MAX_ASSIGN_BYTES}-byte quota of an Assign field."),
        ));
    }
    scope.assigned = Some(assigned.clone());
    Ok(())
}

/// The bytes a set of variables holds, for the execution's total when the set goes out of scope.
pub(super) fn stored_bytes(vars: &Map<String, Value>) -> usize {
    vars.values().map(size).sum()
}

/// The variables a state sees: the enclosing scopes' and its own set's.
pub(super) fn visible(outer: &Map<String, Value>, inner: &Map<String, Value>) -> Arc<Map<String, Value>> {
    let mut all = outer.clone();
    all.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())));
    Arc::new(all)
}

impl<I: TaskInvoker> Runtime<'_, I> {
    /// JSONata bindings for the scope's state: `$states` and the variables at state entry.
    pub(super) fn bindings(
        &self,
        scope: &Scope<'_>,
        input: &Value,
        context: &Value,
        result: Option<&Value>,
        error_output: Option<&Value>,
    ) -> Map<String, Value> {
        jsonata_bindings(&scope.vars, input, context, result, error_output)
    }

    /// A JSONPath state's Assign: `.$` values read `dollar` (the state's result, or the error
    /// output in a Catch), `$$` and the variables at state entry.
    pub(super) fn assign_path(
        &self,
        scope: &mut Scope<'_>,
        assign: Option<&Template>,
        dollar: &Value,
        context: &Value,
    ) -> Result<(), Halt> {
        let Some(assign) = assign else { return Ok(()) };
        let vars = Arc::clone(&scope.vars);
        let env = Env {
            vars: &vars,
            ..Env::plain(dollar, context)
        };
        let value = assign.evaluate_in(&env).map_err(|e| scope.template_halt(e))?;
        keep_assigned(scope, &value)
    }

    /// A JSONata state's Assign and Output, evaluated against the same bindings: Output does not
    /// see what Assign sets ("Passing data between states with variables", evaluation order).
    /// Without Output the state's output is `default`.
    pub(super) fn assign_and_output(
        &self,
        scope: &mut Scope<'_>,
        assign: Option<&Template>,
        output: Option<&Template>,
        bindings: &Map<String, Value>,
        default: Value,
    ) -> Result<Value, Halt> {
        let env = Env {
            bindings: Some(bindings),
            ..Env::plain(&Value::Null, &Value::Null)
        };
        if let Some(assign) = assign {
            let value = assign.evaluate_in(&env).map_err(|e| scope.template_halt(e))?;
            keep_assigned(scope, &value)?;
        }
        match output {
            Some(output) => output.evaluate_in(&env).map_err(|e| scope.template_halt(e)),
            None => Ok(default),
        }
    }

    /// The state's Assign and Output once its result is known (`result` None for states that
    /// produce none: their output defaults to the input). JSONPath states apply only Assign, with
    /// `$` the result; the caller goes on with ResultSelector/ResultPath/OutputPath.
    pub(super) fn conclude_jsonata(
        &self,
        scope: &mut Scope<'_>,
        raw: &Value,
        result: Option<Value>,
        context: &Value,
    ) -> Result<Value, Halt> {
        let state = scope.state;
        let bindings = self.bindings(scope, raw, context, result.as_ref(), None);
        let default = result.unwrap_or_else(|| raw.clone());
        self.assign_and_output(scope, state.assign.as_ref(), state.output.as_ref(), &bindings, default)
    }

    /// A catcher's output: JSONata Assign/Output over `$states.errorOutput` (default output: the
    /// error output); JSONPath Assign over `$` = the error output, then ResultPath.
    pub(super) fn catch_output(
        &self,
        scope: &mut Scope<'_>,
        catcher: &Catcher,
        raw: &Value,
        error_output: Value,
        retries: u64,
    ) -> Result<Value, Halt> {
        let context = self.context_for(scope, retries);
        // The failed attempt's own assignments never happened.
        scope.assigned = None;
        if scope.state.jsonata {
            let bindings = self.bindings(scope, raw, &context, None, Some(&error_output));
            return self.assign_and_output(
                scope,
                catcher.assign.as_ref(),
                catcher.output.as_ref(),
                &bindings,
                error_output,
            );
        }
        self.assign_path(scope, catcher.assign.as_ref(), &error_output, &context)?;
        self.result_path(scope, &catcher.result_path, raw.clone(), error_output)
    }

    /// Applies the state's assignments to its set's variables. A variable of an enclosing scope
    /// cannot be assigned from a Parallel branch or Map iteration, and the execution's variables
    /// (every scope's, concurrent branches and iterations included) stay within 10 MiB.
    pub(super) fn apply_assigned(
        &self,
        scope: &mut Scope<'_>,
        outer: &Map<String, Value>,
        inner: &mut Map<String, Value>,
    ) -> Result<(), Halt> {
        let Some(assigned) = &scope.assigned else { return Ok(()) };
        if let Some((name, value)) = assigned.iter().find(|(name, _)| outer.contains_key(*name)) {
            // LocalStack's wording (asl/eval/variable_store.py::IllegalOuterScopeWrite).
            return Err(scope.runtime(format!(
                "Cannot bind value '{value}' to variable '{name}' as it belongs to an outer scope."
            )));
        }
        let added: usize = assigned.values().map(size).sum();
        let replaced: usize = assigned.keys().filter_map(|name| inner.get(name)).map(size).sum();
        let stored = |total: usize| (total + added).saturating_sub(replaced);
        let kept = self
            .variable_bytes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |total| {
                Some(stored(total)).filter(|after| *after <= MAX_EXECUTION_VARIABLE_BYTES)
            });
        if let Err(total) = kept {
            return Err(over_quota(
                scope,
                format!(
                    "The execution's variables would be {} bytes, over the {MAX_EXECUTION_VARIABLE_BYTES}-byte quota of an execution.",
                    stored(total)
                ),
            ));
        }
        inner.extend(assigned.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    /// Records the EvaluationFailed event of a JSONata failure (once) and returns its id, or
    /// `prev` when the failure is not a JSONata one.
    pub(super) fn record_evaluation_failed(&self, state: &State, prev: u64, failure: &mut super::StatesError) -> u64 {
        let Some(location) = failure.evaluation_location.take() else {
            return prev;
        };
        let event = details::evaluation_failed(
            &state.name,
            &location,
            failure.error.as_deref().unwrap_or_default(),
            failure.cause.as_deref().unwrap_or_default(),
        );
        self.recorder.record(prev, "EvaluationFailed", Some(event))
    }
}
