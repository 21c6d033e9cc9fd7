//! Pass, Choice, Wait and Fail: the states that do no work outside the interpreter.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{next_of, Halt, Runtime, Scope, Stage, StatesError, Step};
use crate::choice::{parse_timestamp, ChoiceRule};
use crate::definition::{FailSource, Transition, WaitFor};
use crate::path::{type_name, Path, PathError};
use crate::retry::ResultPath;
use crate::task::TaskInvoker;
use crate::template::{Template, TemplateError};
use crate::value::json_text;

impl<I: TaskInvoker> Runtime<'_, I> {
    pub(super) fn pass(
        &self,
        scope: &mut Scope<'_>,
        raw: Value,
        parameters: Option<&Template>,
        result: Option<&Value>,
        result_path: &ResultPath,
        transition: &Transition,
    ) -> Result<Step, Halt> {
        let effective = self.input_path(scope, &raw)?;
        let context = self.context_for(scope, 0);
        let effective = self.fill(scope, parameters, effective, &context)?;
        self.note(scope, Stage::AfterParameters, &effective);
        let result = result.cloned().unwrap_or(effective);
        self.note(scope, Stage::Result, &result);
        let combined = self.result_path(scope, result_path, raw, result)?;
        self.note(scope, Stage::AfterResultPath, &combined);
        Ok(Step {
            output: self.output_path(scope, combined)?,
            next: next_of(transition),
        })
    }

    pub(super) fn choice(
        &self,
        scope: &mut Scope<'_>,
        raw: Value,
        rules: &[ChoiceRule],
        default: Option<&str>,
    ) -> Result<Step, Halt> {
        let effective = self.input_path(scope, &raw)?;
        let context = self.context_for(scope, 0);
        let mut next = None;
        for rule in rules {
            if rule
                .condition
                .evaluate(&effective, &context)
                .map_err(|e| scope.runtime(e))?
            {
                next = Some(rule.next.clone());
                break;
            }
        }
        let Some(next) = next.or_else(|| default.map(str::to_owned)) else {
            return Err(Halt::Failed(StatesError::new(
                "States.NoChoiceMatched",
                format!(
                    "No choice rule of state '{}' matched and it has no Default",
                    scope.state.name
                ),
            )));
        };
        Ok(Step {
            output: self.output_path(scope, effective)?,
            next: Some(next),
        })
    }

    pub(super) async fn wait(
        &self,
        scope: &mut Scope<'_>,
        raw: Value,
        wait: &WaitFor,
        transition: &Transition,
        cancel: &CancellationToken,
    ) -> Result<Step, Halt> {
        let effective = self.input_path(scope, &raw)?;
        let duration = self.wait_duration(scope, wait, &effective)?;
        self.clock.sleep(duration, cancel).await.map_err(|_| Halt::Aborted)?;
        Ok(Step {
            output: self.output_path(scope, effective)?,
            next: next_of(transition),
        })
    }

    /// How long a Wait state waits, reading SecondsPath/TimestampPath from its effective input.
    pub(super) fn wait_duration(&self, scope: &Scope<'_>, wait: &WaitFor, effective: &Value) -> Result<Duration, Halt> {
        let until = |at: chrono::DateTime<chrono::FixedOffset>| {
            (at.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO)
        };
        let duration = match wait {
            WaitFor::Seconds(seconds) => Duration::from_secs(*seconds),
            WaitFor::Timestamp(at) => until(*at),
            WaitFor::SecondsPath(path) => {
                let value = self.read(scope, path, effective)?;
                Duration::from_secs(seconds_at(scope, path, &value)?)
            }
            WaitFor::TimestampPath(path) => {
                let value = self.read(scope, path, effective)?;
                let at = value.as_str().and_then(parse_timestamp).ok_or_else(|| {
                    // AWS's words (test_base_scenarios.py::TestBaseScenarios::test_wait_timestamp_path[NO_T]).
                    let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                    scope.runtime(format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {path} == {shown}"
                    ))
                })?;
                until(at)
            }
        };
        Ok(duration)
    }

    /// Fail: Error/ErrorPath and Cause/CausePath are each optional, and one not given stays absent:
    /// AWS then reports no `error` (or `cause`) at all, not an empty one
    /// (test_base.py::TestSnfBase::test_state_fail_empty).
    pub(super) fn fail(&self, scope: &Scope<'_>, raw: &Value, error: &FailSource, cause: &FailSource) -> Halt {
        let error = match self.fail_field(scope, raw, error, "ErrorPath") {
            Ok(error) => error,
            Err(halt) => return halt,
        };
        match self.fail_field(scope, raw, cause, "CausePath") {
            Ok(cause) => Halt::Failed(StatesError {
                error,
                cause,
                terminal: false,
            }),
            Err(halt) => halt,
        }
    }

    /// One of the Fail state's Error or Cause; `field` names its dynamic form for messages.
    fn fail_field(
        &self,
        scope: &Scope<'_>,
        raw: &Value,
        source: &FailSource,
        field: &str,
    ) -> Result<Option<String>, Halt> {
        let value = match source {
            FailSource::None => return Ok(None),
            FailSource::Fixed(text) => return Ok(Some(text.clone())),
            FailSource::Path(path) => self.fail_path(scope, path, raw, field)?,
            FailSource::Intrinsic(call) => call
                .evaluate(raw, &self.context_for(scope, 0))
                .map_err(|e| scope.runtime(e))?,
        };
        match value {
            Value::String(text) => Ok(Some(text)),
            other => Err(scope.runtime(format!("{field} must resolve to a string, got a {}", type_name(&other)))),
        }
    }

    /// Reads ErrorPath/CausePath. A path that selects nothing fails the way AWS words it, naming the
    /// field and the input (test_base_scenarios.py::TestBaseScenarios::test_invalid_jsonpath
    /// [INVALID_JSONPATH_IN_ERRORPATH] and [ST.INVALID_JSONPATH_IN_CAUSEPATH]).
    fn fail_path(&self, scope: &Scope<'_>, path: &Path, raw: &Value, field: &str) -> Result<Value, Halt> {
        let input = if path.is_context() {
            self.context_for(scope, 0)
        } else {
            raw.clone()
        };
        path.select(&input).map_err(|e| match e {
            PathError::NotFound { .. } => scope.runtime(TemplateError::Missing {
                field: field.to_owned(),
                path: path.to_string(),
                input: json_text(&input),
            }),
            other => scope.runtime(other),
        })
    }
}

/// The number of seconds SecondsPath selected, refused in AWS's words
/// (test_wait.py::TestSfnWait::test_base_wait_seconds_path[-1] and [1.5]).
fn seconds_at(scope: &Scope<'_>, path: &Path, value: &Value) -> Result<u64, Halt> {
    if let Some(seconds) = value.as_u64() {
        return Ok(seconds);
    }
    let shown = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    let problem = if value.is_i64() {
        "references a negative value"
    } else {
        "cannot be parsed as a long value"
    };
    Err(scope.runtime(format!("The SecondsPath parameter {problem}: {path} == {shown}")))
}
