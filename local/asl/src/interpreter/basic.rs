//! Pass, Choice, Wait and Fail: the states that do no work outside the interpreter.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{next_of, Halt, Runtime, Scope, Stage, StatesError, Step};
use crate::choice::{parse_timestamp, ChoiceError, ChoiceRule};
use crate::definition::{FailSource, Transition, WaitFor};
use crate::env::Env;
use crate::path::{type_name, Path, PathError};
use crate::retry::ResultPath;
use crate::task::TaskInvoker;
use crate::template::{Template, TemplateError};
use crate::value::json_text;

impl<I: TaskInvoker> Runtime<'_, I> {
    /// Evaluates a JSONata field of the scope's state with `input` as `$states.input`.
    pub(super) fn jsonata_value(&self, scope: &Scope<'_>, template: &Template, input: &Value) -> Result<Value, Halt> {
        let context = self.context_for(scope, 0);
        let bindings = self.bindings(scope, input, &context, None, None);
        let env = Env {
            bindings: Some(&bindings),
            ..Env::plain(input, &context)
        };
        template.evaluate_in(&env).map_err(|e| scope.template_halt(e))
    }

    /// The end of a JSONata state without a result (Pass, Wait): its Assign and Output.
    fn jsonata_step(
        &self,
        scope: &mut Scope<'_>,
        raw: &Value,
        context: &Value,
        transition: &Transition,
    ) -> Result<Step, Halt> {
        let output = self.conclude_jsonata(scope, raw, None, context)?;
        Ok(Step {
            output,
            next: next_of(transition),
        })
    }

    pub(super) fn pass(
        &self,
        scope: &mut Scope<'_>,
        raw: Value,
        parameters: Option<&Template>,
        result: Option<&Value>,
        result_path: &ResultPath,
        transition: &Transition,
    ) -> Result<Step, Halt> {
        let context = self.context_for(scope, 0);
        if scope.state.jsonata {
            return self.jsonata_step(scope, &raw, &context, transition);
        }
        let effective = self.input_path(scope, &raw)?;
        let effective = self.fill(scope, parameters, effective, &context)?;
        self.note(scope, Stage::AfterParameters, &effective);
        // AWS's DEBUG inspection of a Pass: a Result is reported as `result`, without the
        // input steps; the Pass has no ResultSelector, yet `afterResultSelector` repeats its result
        // (test_test_state_scenarios.snapshot.json::test_base_inspection_level_debug[BASE_PASS_STATE],
        // [BASE_RESULT_PASS_STATE], [IO_PASS_STATE]).
        let result = match result {
            Some(result) => {
                self.unnote_input(scope);
                self.note(scope, Stage::Result, result);
                result.clone()
            }
            None => effective,
        };
        self.note(scope, Stage::AfterResultSelector, &result);
        // JSONPath Assign reads the Pass state's result (LocalStack's state_pass.py, AWS-validated).
        let assign = scope.state.assign.as_ref();
        self.assign_path(scope, assign, &result, &context)?;
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
        let bindings = self.bindings(scope, &raw, &context, None, None);
        let vars = std::sync::Arc::clone(&scope.vars);
        let env = Env {
            input: &effective,
            context: &context,
            vars: &vars,
            bindings: scope.state.jsonata.then_some(&bindings),
        };
        let mut matched = None;
        for rule in rules {
            if rule.condition.evaluate_in(&env).map_err(|e| choice_halt(scope, e))? {
                matched = Some(rule);
                break;
            }
        }
        // The matching rule's Assign/Output apply; the state's own only when Default is taken
        // (LocalStack's state_choice.py, AWS-validated: assign/test_assign_base::test_assign_in_choice).
        let state = scope.state;
        let (assign, output) = match matched {
            Some(rule) => (rule.assign.as_ref(), rule.output.as_ref()),
            None => (state.assign.as_ref(), state.output.as_ref()),
        };
        let next = matched.map(|rule| rule.next.clone());
        let Some(next) = next.or_else(|| default.map(str::to_owned)) else {
            return Err(Halt::Failed(StatesError::new(
                "States.NoChoiceMatched",
                format!(
                    "No choice rule of state '{}' matched and it has no Default",
                    scope.state.name
                ),
            )));
        };
        if state.jsonata {
            let output = self.assign_and_output(scope, assign, output, &bindings, raw)?;
            return Ok(Step {
                output,
                next: Some(next),
            });
        }
        self.assign_path(scope, assign, &effective, &context)?;
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
        let context = self.context_for(scope, 0);
        if scope.state.jsonata {
            return self.jsonata_step(scope, &raw, &context, transition);
        }
        let assign = scope.state.assign.as_ref();
        self.assign_path(scope, assign, &effective, &context)?;
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
            WaitFor::SecondsJsonata(template) => {
                let value = self.jsonata_value(scope, template, effective)?;
                match value.as_u64() {
                    Some(seconds) => Duration::from_secs(seconds),
                    None => {
                        return Err(scope.query_failure(
                            format!(
                                "The JSONata expression '{}' specified for the field 'Seconds' returned an unexpected result type. Expected 'integer', but was '{}' for value: {value}",
                                template.jsonata_source().unwrap_or_default(),
                                type_name(&value)
                            ),
                            "Seconds",
                        ))
                    }
                }
            }
            WaitFor::TimestampJsonata(template) => {
                let value = self.jsonata_value(scope, template, effective)?;
                let at = value.as_str().and_then(parse_timestamp).ok_or_else(|| {
                    scope.query_failure(
                        format!(
                            "The JSONata expression '{}' specified for the field 'Timestamp' returned an unexpected result type. Expected 'timestamp', but was '{}' for value: {value}",
                            template.jsonata_source().unwrap_or_default(),
                            type_name(&value)
                        ),
                        "Timestamp",
                    )
                })?;
                until(at)
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
                evaluation_location: None,
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
            FailSource::Intrinsic(call) => {
                let context = self.context_for(scope, 0);
                let env = Env {
                    vars: &scope.vars,
                    ..Env::plain(raw, &context)
                };
                call.evaluate_in(&env).map_err(|e| scope.runtime(e))?
            }
            FailSource::Jsonata(template) => self.jsonata_value(scope, template, raw)?,
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
        let context = self.context_for(scope, 0);
        let env = Env {
            vars: &scope.vars,
            ..Env::plain(raw, &context)
        };
        let input = path.root(&env).map_err(|e| scope.runtime(e))?.clone();
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

/// A Choice failure: JSONata ones are States.QueryEvaluationError.
fn choice_halt(scope: &Scope<'_>, error: ChoiceError) -> Halt {
    match error {
        ChoiceError::Template(e) => scope.template_halt(e),
        e if e.is_query_evaluation() => scope.query_failure(e, "Condition"),
        e => scope.runtime(e),
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
