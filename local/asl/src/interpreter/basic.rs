//! Pass, Choice, Wait and Fail: the states that do no work outside the interpreter.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{next_of, Halt, Runtime, Scope, Stage, StatesError, Step};
use crate::choice::{parse_timestamp, ChoiceRule};
use crate::definition::{FailSource, Transition, WaitFor};
use crate::path::type_name;
use crate::retry::ResultPath;
use crate::task::TaskInvoker;
use crate::template::Template;

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
            return Err(Halt::Failed(StatesError {
                error: "States.NoChoiceMatched".to_owned(),
                cause: format!(
                    "No choice rule of state '{}' matched and it has no Default",
                    scope.state.name
                ),
            }));
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
                let seconds = value.as_u64().ok_or_else(|| {
                    scope.runtime(format!(
                        "The SecondsPath '{path}' must select a non-negative integer, got {value}"
                    ))
                })?;
                Duration::from_secs(seconds)
            }
            WaitFor::TimestampPath(path) => {
                let value = self.read(scope, path, effective)?;
                let at = value.as_str().and_then(parse_timestamp).ok_or_else(|| {
                    scope.runtime(format!(
                        "The TimestampPath '{path}' must select an RFC 3339 timestamp, got {value}"
                    ))
                })?;
                until(at)
            }
        };
        Ok(duration)
    }

    pub(super) fn fail(&self, scope: &Scope<'_>, raw: &Value, error: &FailSource, cause: &FailSource) -> Halt {
        let resolve = |source: &FailSource, field: &str| -> Result<String, Halt> {
            let value = match source {
                FailSource::None => return Ok(String::new()),
                FailSource::Fixed(text) => return Ok(text.clone()),
                FailSource::Path(path) => self.read(scope, path, raw)?,
                FailSource::Intrinsic(call) => call
                    .evaluate(raw, &self.context_for(scope, 0))
                    .map_err(|e| scope.runtime(e))?,
            };
            match value {
                Value::String(text) => Ok(text),
                other => Err(scope.runtime(format!("{field} must resolve to a string, got a {}", type_name(&other)))),
            }
        };
        let error = match resolve(error, "ErrorPath") {
            Ok(error) => error,
            Err(halt) => return halt,
        };
        match resolve(cause, "CausePath") {
            Ok(cause) => Halt::Failed(StatesError { error, cause }),
            Err(halt) => halt,
        }
    }
}
