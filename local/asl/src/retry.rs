//! Retriers and catchers: their fields, AWS's error-name matching rules and the backoff delay.

use std::time::Duration;

use rand::Rng as _;
use serde_json::{Map, Value};

use crate::path::{Path, PathError};
use crate::template::{Template, TemplateError};

pub(crate) const STATES_ALL: &str = "States.ALL";
pub(crate) const STATES_RUNTIME: &str = "States.Runtime";
pub(crate) const STATES_TIMEOUT: &str = "States.Timeout";
pub(crate) const STATES_TASK_FAILED: &str = "States.TaskFailed";
pub(crate) const STATES_DATA_LIMIT: &str = "States.DataLimitExceeded";
/// A JSONata expression failed or gave an unusable value; Retry and Catch handle it like any
/// other error ("Transforming data with JSONata in Step Functions", errors).
pub(crate) const STATES_QUERY_EVALUATION: &str = "States.QueryEvaluationError";

/// Why a `Retry` or `Catch` entry is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryError {
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    #[error("{at}.ResultPath: {source}")]
    Path { at: String, source: PathError },
    #[error("{at}: {source}")]
    Template { at: String, source: Box<TemplateError> },
}

/// How the delay between attempts is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

/// One element of `Retry`.
#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

/// A ResultPath: replace the input (`$`, the default), discard the result (`null`), or write at a path.
#[derive(Debug, Clone)]
pub enum ResultPath {
    Replace,
    Discard,
    At(Path),
}

/// One element of `Catch`.
#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: ResultPath,
    /// Variables to set when this catcher handles the error (`$` / `$states.errorOutput` is the
    /// error output).
    pub(crate) assign: Option<Template>,
    /// JSONata only: the state's output when this catcher handles the error (default: the error
    /// output).
    pub(crate) output: Option<Template>,
}

/// True when `pattern` (an ErrorEquals entry) matches the error name, with AWS's rules:
/// States.Runtime is never retried or caught; States.ALL matches everything else except a
/// *terminal* States.DataLimitExceeded (a state's own input or output over the quota);
/// States.TaskFailed matches everything States.ALL does except States.Timeout. Any other pattern
/// matches only its own name.
///
/// The documentation calls every States.DataLimitExceeded terminal, but AWS reports a task
/// *result* over the quota as a task failure (LambdaFunctionFailed/TaskFailed) that States.ALL
/// catches (LocalStack's AWS recordings, error_handling/test_states_errors.snapshot.json::
/// test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response and
/// test_service_task_lambada_catch_state_all_data_limit_exceeded_on_large_utf8_response).
pub(crate) fn error_matches(pattern: &str, error: &str, terminal: bool) -> bool {
    if error == STATES_RUNTIME {
        return false;
    }
    match pattern {
        STATES_ALL => !terminal,
        STATES_TASK_FAILED => !terminal && error != STATES_TIMEOUT,
        _ => pattern == error,
    }
}

/// Index of the first entry whose ErrorEquals matches (first match wins).
pub(crate) fn first_match<'a, I>(lists: I, error: &str, terminal: bool) -> Option<usize>
where
    I: IntoIterator<Item = &'a Vec<String>>,
{
    lists
        .into_iter()
        .position(|list| list.iter().any(|p| error_matches(p, error, terminal)))
}

impl Retrier {
    /// The wait before retry number `retries_so_far + 1` of this retrier, unscaled.
    pub(crate) fn delay(&self, retries_so_far: u64) -> Duration {
        let exponent = i32::try_from(retries_so_far).unwrap_or(i32::MAX);
        let mut seconds = self.interval_seconds as f64 * self.backoff_rate.powi(exponent);
        if let Some(max) = self.max_delay_seconds {
            seconds = seconds.min(max as f64);
        }
        if !seconds.is_finite() {
            seconds = f64::MAX;
        }
        if self.jitter == Jitter::Full && seconds > 0.0 {
            seconds = rand::rng().random_range(0.0..=seconds);
        }
        Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
    }
}

pub(crate) fn parse_retriers(value: &Value, at: &str) -> Result<Vec<Retrier>, RetryError> {
    let items = value
        .as_array()
        .ok_or_else(|| invalid(at, "must be an array of retriers"))?;
    let mut retriers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let map = item
            .as_object()
            .ok_or_else(|| invalid(&at, "a retrier must be a JSON object"))?;
        check_fields(
            map,
            &at,
            &[
                "ErrorEquals",
                "IntervalSeconds",
                "MaxAttempts",
                "BackoffRate",
                "MaxDelaySeconds",
                "JitterStrategy",
                "Comment",
            ],
        )?;
        let error_equals = parse_error_equals(map, &at, i + 1 == items.len())?;
        let interval_seconds = positive_int(map, "IntervalSeconds", &at, 1)?.unwrap_or(1);
        let max_attempts = match map.get("MaxAttempts") {
            None => 3,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| invalid(&at, "\"MaxAttempts\" must be a non-negative integer"))?,
        };
        let backoff_rate = match map.get("BackoffRate") {
            None => 2.0,
            Some(v) => v
                .as_f64()
                .filter(|r| *r >= 1.0 && r.is_finite())
                .ok_or_else(|| invalid(&at, "\"BackoffRate\" must be a number greater than or equal to 1.0"))?,
        };
        let max_delay_seconds = positive_int(map, "MaxDelaySeconds", &at, 1)?;
        let jitter = match map.get("JitterStrategy") {
            None => Jitter::None,
            Some(Value::String(s)) if s == "NONE" => Jitter::None,
            Some(Value::String(s)) if s == "FULL" => Jitter::Full,
            Some(_) => return Err(invalid(&at, "\"JitterStrategy\" must be \"FULL\" or \"NONE\"")),
        };
        retriers.push(Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        });
    }
    Ok(retriers)
}

/// Parses `Catch`; `jsonata` catchers take Output and `{% %}` Assign values instead of ResultPath.
pub(crate) fn parse_catchers(value: &Value, at: &str, jsonata: bool) -> Result<Vec<Catcher>, RetryError> {
    let items = value
        .as_array()
        .ok_or_else(|| invalid(at, "must be an array of catchers"))?;
    let mut catchers = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let map = item
            .as_object()
            .ok_or_else(|| invalid(&at, "a catcher must be a JSON object"))?;
        let allowed: &[&str] = if jsonata {
            &["ErrorEquals", "Next", "Output", "Assign", "Comment"]
        } else {
            &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"]
        };
        check_fields(map, &at, allowed)?;
        let template = |key: &str| -> Result<Option<Template>, RetryError> {
            let Some(value) = map.get(key) else { return Ok(None) };
            let compiled = if jsonata {
                Template::compile_jsonata(value, key)
            } else {
                Template::compile(value)
            };
            compiled.map(Some).map_err(|source| RetryError::Template {
                at: format!("{at}.{key}"),
                source: Box::new(source),
            })
        };
        let error_equals = parse_error_equals(map, &at, i + 1 == items.len())?;
        let next = match map.get("Next") {
            Some(Value::String(next)) => next.clone(),
            _ => return Err(invalid(&at, "a catcher must have a string \"Next\"")),
        };
        let result_path = match map.get("ResultPath") {
            None => ResultPath::Replace,
            Some(Value::Null) => ResultPath::Discard,
            Some(Value::String(text)) => {
                parse_result_path(text).map_err(|source| RetryError::Path { at: at.clone(), source })?
            }
            Some(_) => return Err(invalid(&at, "\"ResultPath\" must be a path or null")),
        };
        catchers.push(Catcher {
            error_equals,
            next,
            result_path,
            assign: template("Assign")?,
            output: template("Output")?,
        });
    }
    Ok(catchers)
}

/// Parses a ResultPath value: a reference path that may not address the context object.
pub(crate) fn parse_result_path(text: &str) -> Result<ResultPath, PathError> {
    if text.starts_with("$$") {
        return Err(PathError::Syntax {
            path: text.to_owned(),
            reason: "ResultPath cannot write to the context object".to_owned(),
        });
    }
    let path = Path::parse_reference(text)?;
    Ok(if text == "$" {
        ResultPath::Replace
    } else {
        ResultPath::At(path)
    })
}

fn parse_error_equals(map: &Map<String, Value>, at: &str, is_last: bool) -> Result<Vec<String>, RetryError> {
    let names: Vec<String> = map
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .and_then(|items| items.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| invalid(at, "\"ErrorEquals\" must be a non-empty array of error names"))?;
    if names.iter().any(|n| n == STATES_ALL) {
        if names.len() > 1 {
            return Err(invalid(at, "States.ALL must appear alone in \"ErrorEquals\""));
        }
        if !is_last {
            return Err(invalid(at, "States.ALL must appear in the last entry"));
        }
    }
    Ok(names)
}

fn positive_int(map: &Map<String, Value>, field: &str, at: &str, min: u64) -> Result<Option<u64>, RetryError> {
    match map.get(field) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= min)
            .map(Some)
            .ok_or_else(|| invalid(at, &format!("\"{field}\" must be a positive integer"))),
    }
}

fn check_fields(map: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), RetryError> {
    for key in map.keys() {
        if allowed.contains(&key.as_str()) {
            continue;
        }
        return Err(invalid(at, &format!("unknown field \"{key}\"")));
    }
    Ok(())
}

fn invalid(at: &str, message: &str) -> RetryError {
    RetryError::Invalid {
        at: at.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn matching_rules() {
        let cases = [
            ("States.ALL", "CustomError", true),
            ("States.ALL", "States.Timeout", true),
            ("States.ALL", "States.Runtime", false),
            ("States.DataLimitExceeded", "States.DataLimitExceeded", true),
            ("States.DataLimitExceeded", "States.DataLimitExceeded", true),
            ("States.Runtime", "States.Runtime", false),
            ("States.TaskFailed", "Lambda.Unknown", true),
            ("States.TaskFailed", "States.Timeout", false),
            ("States.Timeout", "States.Timeout", true),
            ("ErrorA", "ErrorB", false),
        ];
        for (pattern, error, expected) in cases {
            assert_eq!(error_matches(pattern, error, false), expected, "{pattern} vs {error}");
        }
        // A state's own input/output over the quota is terminal; a task result over it is not.
        assert!(!error_matches("States.ALL", STATES_DATA_LIMIT, true));
        assert!(!error_matches("States.TaskFailed", STATES_DATA_LIMIT, true));
        assert!(error_matches("States.ALL", STATES_DATA_LIMIT, false));
        assert!(error_matches(STATES_DATA_LIMIT, STATES_DATA_LIMIT, true));
    }

    #[test]
    fn defaults_and_backoff() {
        let retriers = parse_retriers(&json!([{"ErrorEquals": ["X"]}]), "Retry").unwrap();
        let r = &retriers[0];
        assert_eq!((r.interval_seconds, r.max_attempts, r.backoff_rate), (1, 3, 2.0));
        assert_eq!(r.delay(0), Duration::from_secs(1));
        assert_eq!(r.delay(2), Duration::from_secs(4));
        let capped = parse_retriers(
            &json!([{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 2.0, "MaxDelaySeconds": 4}]),
            "Retry",
        )
        .unwrap();
        assert_eq!(capped[0].delay(0), Duration::from_secs(3));
        assert_eq!(capped[0].delay(1), Duration::from_secs(4));
    }

    #[test]
    fn full_jitter_stays_within_the_backoff() {
        let retriers = parse_retriers(
            &json!([{"ErrorEquals": ["X"], "IntervalSeconds": 2, "JitterStrategy": "FULL"}]),
            "Retry",
        )
        .unwrap();
        for _ in 0..50 {
            assert!(retriers[0].delay(1) <= Duration::from_secs(4));
        }
    }

    #[test]
    fn states_all_must_be_alone_and_last() {
        let not_alone = parse_retriers(&json!([{"ErrorEquals": ["States.ALL", "X"]}]), "Retry").unwrap_err();
        assert!(not_alone.to_string().contains("alone"), "{not_alone}");
        let not_last = parse_catchers(
            &json!([{"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["X"], "Next": "B"}]),
            "Catch",
            false,
        )
        .unwrap_err();
        assert_eq!(
            not_last.to_string(),
            "Catch[0]: States.ALL must appear in the last entry"
        );
    }
}
