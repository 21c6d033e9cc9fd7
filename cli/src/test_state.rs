//! `zb test-state <StateMachine> <State> --input <json>`: runs one state of
//! a state machine through the TestState API of the local cloud (a Task runs
//! the real local function) and prints each processing step, marking where
//! the data went wrong. The definition is read from the files, the way
//! reload on save reads it, so an edit is tested before anything else runs.

use crate::aws::{is_emulator_url, Aws, AwsArgs, AwsError, Service};
use crate::logs::{paint, use_color};
use crate::render::Output;
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::types::InspectionLevel;
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TestStateError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(transparent)]
    Template(#[from] zb_local::template::TemplateError),
    #[error("--input is not JSON: {0}")]
    Input(serde_json::Error),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

#[derive(Debug, Args)]
#[command(
    after_help = "The state runs on the local cloud at http://127.0.0.1:4000 (`zb up`) unless --endpoint-url or AWS_ENDPOINT_URL[_SFN] names another. Exit status 0 when the state succeeded, 1 otherwise."
)]
pub struct TestStateArgs {
    /// The state machine: its logical id in template.yaml (OrderPipelineStateMachine), its name, or an ASL file
    pub state_machine: String,
    /// The state to run
    pub state: String,
    /// The state's input, as JSON
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// Read the input from this file instead
    #[arg(long, conflicts_with = "input")]
    pub input_file: Option<PathBuf>,
    /// Retries the matching retrier has already used (TestState's stateConfiguration.retrierRetryCount)
    #[arg(long, default_value_t = 0)]
    pub retry_count: i32,
    /// The repository root (template.yaml)
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Stack name: the local names and ARNs in the definition
    #[arg(long, default_value = "zb")]
    pub stack: String,
    /// Template parameter override, e.g. --param WorkflowType=STANDARD
    #[arg(long = "param", value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))
}

/// The definition to test, with DefinitionSubstitutions applied when it
/// belongs to the template, and a name for it.
fn definition(args: &TestStateArgs) -> Result<(String, String), TestStateError> {
    let params: BTreeMap<String, String> = args.params.iter().cloned().collect();
    let template = args.repo.join("template.yaml");
    let model = zb_local::template::load(&template, &args.stack, &params);
    let as_file = Path::new(&args.state_machine);
    if as_file.is_file() {
        // The template's DefinitionUri file: use the substituted text, as the cloud does.
        let wanted = as_file.canonicalize().ok();
        if let Ok(model) = &model {
            if let Some(sm) = model.state_machines.iter().find(|sm| {
                sm.definition_path.as_ref().and_then(|p| p.canonicalize().ok()) == wanted && wanted.is_some()
            }) {
                return Ok((sm.logical_id.clone(), sm.definition.clone()));
            }
        }
        let text = std::fs::read_to_string(as_file).map_err(|source| TestStateError::Read {
            path: as_file.display().to_string(),
            source,
        })?;
        return Ok((as_file.display().to_string(), text));
    }
    let model = model?;
    match model
        .state_machines
        .iter()
        .find(|sm| sm.logical_id == args.state_machine || sm.name == args.state_machine)
    {
        Some(sm) => Ok((sm.logical_id.clone(), sm.definition.clone())),
        None => {
            let ids: Vec<&str> = model.state_machines.iter().map(|sm| sm.logical_id.as_str()).collect();
            Err(TestStateError::Usage(format!(
                "{} is neither a file nor a state machine in template.yaml; its state machines are {}",
                args.state_machine,
                ids.join(", ")
            )))
        }
    }
}

/// The SDKs send TestState to the API's `sync-` host prefix, which works
/// for `states.<region>.amazonaws.com` but not for an emulator on
/// 127.0.0.1 (`sync-127.0.0.1` does not resolve). The Rust SDK has no
/// switch for it (botocore's is AWS_DISABLE_HOST_PREFIX_INJECTION), so the
/// prefix is taken off again when the endpoint is not AWS.
#[derive(Debug)]
struct NoHostPrefixLocally;

/// `http://sync-127.0.0.1:4000/` -> `http://127.0.0.1:4000/`; None when
/// there is no prefix or the host is AWS's.
fn without_sync_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.strip_prefix("sync-")?;
    let fixed = format!("{scheme}://{host}");
    is_emulator_url(&fixed).then_some(fixed)
}

impl Intercept for NoHostPrefixLocally {
    fn name(&self) -> &'static str {
        "NoHostPrefixLocally"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(fixed) = without_sync_prefix(context.request().uri()) {
            context.request_mut().set_uri(fixed)?;
        }
        Ok(())
    }
}

/// TestState's answer, as the command renders it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Answer {
    pub status: String,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub next_state: Option<String>,
    /// (step label, data), in processing order, as TestState reported them.
    pub steps: Vec<(&'static str, Option<String>)>,
    pub catch_index: Option<i32>,
    pub retry_index: Option<i32>,
    pub retry_backoff_seconds: Option<i32>,
}

/// The processing steps of a state type, as (label, inspectionData field).
fn steps_of(state_type: &str) -> &'static [(&'static str, &'static str)] {
    match state_type {
        "Task" => &[
            ("input", "input"),
            ("after InputPath", "afterInputPath"),
            ("after Parameters", "afterParameters"),
            ("result", "result"),
            ("after ResultSelector", "afterResultSelector"),
            ("after ResultPath", "afterResultPath"),
        ],
        "Pass" => &[
            ("input", "input"),
            ("after InputPath", "afterInputPath"),
            ("after Parameters", "afterParameters"),
            ("result", "result"),
            ("after ResultPath", "afterResultPath"),
        ],
        "Fail" => &[("input", "input")],
        _ => &[("input", "input"), ("after InputPath", "afterInputPath")],
    }
}

impl Answer {
    fn from_sdk(out: &aws_sdk_sfn::operation::test_state::TestStateOutput, state_type: &str) -> Answer {
        let data = out.inspection_data();
        let field = |name: &str| -> Option<String> {
            let d = data?;
            match name {
                "input" => d.input(),
                "afterInputPath" => d.after_input_path(),
                "afterParameters" => d.after_parameters(),
                "result" => d.result(),
                "afterResultSelector" => d.after_result_selector(),
                "afterResultPath" => d.after_result_path(),
                _ => None,
            }
            .map(str::to_string)
        };
        let details = data.and_then(|d| d.error_details());
        Answer {
            status: out.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            output: out.output().map(str::to_string),
            error: out.error().map(str::to_string),
            cause: out.cause().map(str::to_string),
            next_state: out.next_state().map(str::to_string),
            steps: steps_of(state_type)
                .iter()
                .map(|(label, f)| (*label, field(f)))
                .collect(),
            catch_index: details.and_then(|d| d.catch_index()),
            retry_index: details.and_then(|d| d.retry_index()),
            retry_backoff_seconds: details.and_then(|d| d.retry_backoff_interval_seconds()),
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"status": self.status});
        for (key, value) in [
            ("output", &self.output),
            ("error", &self.error),
            ("cause", &self.cause),
            ("nextState", &self.next_state),
        ] {
            if let Some(value) = value {
                v[key] = json!(value);
            }
        }
        let steps: serde_json::Map<String, Value> = self
            .steps
            .iter()
            .filter_map(|(label, data)| data.as_ref().map(|d| (label.to_string(), json!(d))))
            .collect();
        v["steps"] = Value::Object(steps);
        v
    }
}

/// Compact JSON for one line; whole when `full`.
fn show(data: &str, full: bool) -> String {
    let compact = serde_json::from_str::<Value>(data).map_or_else(|_| data.to_string(), |v| v.to_string());
    if full || compact.chars().count() <= 200 {
        compact
    } else {
        format!("{}…", compact.chars().take(199).collect::<String>())
    }
}

/// The report: each step with its data; the step where the data went wrong
/// marked ✗ with the error, and the steps after it not reached.
pub(crate) fn render(title: &str, a: &Answer, color: bool, full: bool) -> String {
    let failed = a.status != "SUCCEEDED";
    let width = a.steps.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0).max(6);
    let mut out = format!("{title}\n");
    let mut broke = false;
    let row = |mark: &str, label: &str, text: String| format!("  {mark} {label:<width$}  {text}\n");
    // The ✗ row, with the error and its cause, where the data went wrong.
    let failure_row = |label: &str| {
        let why = format!(
            "{}: {}",
            a.error.as_deref().unwrap_or("error"),
            a.cause.as_deref().unwrap_or_default()
        );
        row(&paint(color, "1;31", "✗"), label, paint(color, "31", &why))
    };
    for (label, data) in &a.steps {
        match data {
            Some(d) if !broke => out += &row(&paint(color, "32", "✓"), label, show(d, full)),
            _ if failed && !broke => {
                broke = true;
                out += &failure_row(label);
            }
            _ => out += &row(" ", label, paint(color, "2", "(not reached)")),
        }
    }
    let label = "output";
    match (&a.output, failed) {
        (Some(o), false) => out += &row(&paint(color, "32", "✓"), label, show(o, full)),
        // Every step had data: the failure came after them (OutputPath, or a Fail state).
        (None, true) if !broke => out += &failure_row(label),
        _ => out += &row(" ", label, paint(color, "2", "(not reached)")),
    }
    let status = match a.status.as_str() {
        "SUCCEEDED" => paint(color, "32", &a.status),
        "FAILED" => paint(color, "1;31", &a.status),
        _ => paint(color, "33", &a.status),
    };
    out += &format!("status      {status}\n");
    if let Some(i) = a.retry_index {
        let wait = a
            .retry_backoff_seconds
            .map(|s| format!(" after {s} s"))
            .unwrap_or_default();
        out += &format!("retry       Retry[{i}] would run the state again{wait}\n");
    }
    if let Some(i) = a.catch_index {
        out += &format!("caught      by Catch[{i}]\n");
        if let Some(o) = &a.output {
            out += &format!("output      {}\n", show(o, full));
        }
    }
    match &a.next_state {
        Some(next) => out += &format!("next state  {next}\n"),
        None if !failed => out += "next state  (none: the end)\n",
        None => {}
    }
    out
}

pub async fn run(aws_args: &AwsArgs, output: Output, args: TestStateArgs) -> Result<bool, TestStateError> {
    let (machine, definition) = definition(&args)?;
    let input_text = match &args.input_file {
        Some(path) => std::fs::read_to_string(path).map_err(|source| TestStateError::Read {
            path: path.display().to_string(),
            source,
        })?,
        None => args.input.clone(),
    };
    let input: Value = serde_json::from_str(&input_text).map_err(TestStateError::Input)?;
    // Which steps to show; the cloud checks the definition again and says what is wrong with it.
    let state_type = zb_asl::StateMachine::parse(&definition)
        .ok()
        .and_then(|m| zb_asl::TestTarget::in_machine(&m, &args.state).ok())
        .map_or("Task", |t| t.type_name());

    let mut aws_args = aws_args.clone();
    if aws_args.endpoint_for(Service::StepFunctions).is_none() {
        // The definition carries the local cloud's names and ARNs: test it there (as --local).
        aws_args.local = true;
    }
    let aws = Aws::load(&aws_args).await;
    let target = aws.target(Service::StepFunctions);
    let client = aws_sdk_sfn::Client::new(&aws.config);
    let mut request = client
        .test_state()
        .definition(&definition)
        .state_name(&args.state)
        .input(input.to_string())
        .inspection_level(InspectionLevel::Debug);
    if args.retry_count > 0 {
        request = request.state_configuration(
            aws_sdk_sfn::types::TestStateConfiguration::builder()
                .retrier_retry_count(args.retry_count)
                .build(),
        );
    }
    let out = request
        .customize()
        .interceptor(NoHostPrefixLocally)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&target, "TestState", e))?;
    let answer = Answer::from_sdk(&out, state_type);
    match output {
        Output::Table => {
            let title = format!(
                "TestState {machine} › {} ({state_type}) on {}",
                args.state,
                target.describe()
            );
            print!("{}", render(&title, &answer, use_color(), false));
        }
        Output::Json => println!("{}", answer.to_json()),
    }
    Ok(answer.status == "SUCCEEDED")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(steps: [Option<&str>; 6]) -> Vec<(&'static str, Option<String>)> {
        steps_of("Task")
            .iter()
            .zip(steps)
            .map(|((label, _), d)| (*label, d.map(str::to_string)))
            .collect()
    }

    #[test]
    fn the_sync_prefix_comes_off_for_local_endpoints_only() {
        assert_eq!(
            without_sync_prefix("http://sync-127.0.0.1:4000/").as_deref(),
            Some("http://127.0.0.1:4000/")
        );
        assert_eq!(without_sync_prefix("http://127.0.0.1:4000/"), None);
        assert_eq!(
            without_sync_prefix("https://sync-states.us-east-1.amazonaws.com/"),
            None
        );
    }

    #[test]
    fn a_failure_is_marked_at_the_step_that_had_no_data() {
        let a = Answer {
            status: "FAILED".into(),
            error: Some("States.Runtime".into()),
            cause: Some("The JSONPath '$.feedId' could not be found".into()),
            steps: task([Some(r#"{"x":1}"#), Some(r#"{"x":1}"#), None, None, None, None]),
            ..Answer::default()
        };
        let text = render("T", &a, false, false);
        assert_eq!(
            text,
            "T\n  \
             ✓ input                 {\"x\":1}\n  \
             ✓ after InputPath       {\"x\":1}\n  \
             ✗ after Parameters      States.Runtime: The JSONPath '$.feedId' could not be found\n    \
             result                (not reached)\n    \
             after ResultSelector  (not reached)\n    \
             after ResultPath      (not reached)\n    \
             output                (not reached)\n\
             status      FAILED\n"
        );
    }

    #[test]
    fn a_caught_error_shows_the_catcher_and_where_it_goes() {
        let a = Answer {
            status: "CAUGHT_ERROR".into(),
            error: Some("ValidationError".into()),
            cause: Some("bad".into()),
            output: Some(r#"{"failure":{"Error":"ValidationError"}}"#.into()),
            next_state: Some("RecordErrors".into()),
            catch_index: Some(0),
            steps: task([Some("{}"), Some("{}"), Some("{}"), None, None, None]),
            ..Answer::default()
        };
        let text = render("T", &a, false, false);
        assert!(
            text.contains("✗ result                ValidationError: bad\n"),
            "{text}"
        );
        assert!(text.contains("caught      by Catch[0]\n"), "{text}");
        assert!(text.contains("next state  RecordErrors\n"), "{text}");
    }

    #[test]
    fn success_shows_every_step_and_the_output() {
        let a = Answer {
            status: "SUCCEEDED".into(),
            output: Some(r#"{ "ok": true }"#.into()),
            next_state: Some("Next".into()),
            steps: task([Some("{}"); 6]),
            ..Answer::default()
        };
        let text = render("T", &a, false, false);
        assert!(!text.contains('✗') && !text.contains("not reached"), "{text}");
        assert!(text.contains("✓ output                {\"ok\":true}\n"), "{text}");
        assert!(text.ends_with("status      SUCCEEDED\nnext state  Next\n"), "{text}");
    }
}
