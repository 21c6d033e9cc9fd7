//! `zb test-state <StateMachine> <State> --input <json>`: runs one state of
//! a state machine through the TestState API of the local cloud (a Task runs
//! the real local function unless mocked) and prints each processing step,
//! marking where the data went wrong. The definition is read from the files,
//! the way reload on save reads it, so an edit is tested before anything else
//! runs. `--mock-result`/`--mock-error`, `--context` and the
//! `stateConfiguration` options are TestState's `mock`, `context` and
//! `stateConfiguration` (AWS API reference, TestState); Map and Parallel
//! states run only with a mock, as on AWS. JSONata states show their data
//! after Arguments, and `--variables` gives the workflow variables the state
//! sees; the variables after the state are shown (TestState `variables`,
//! InspectionData.afterArguments and .variables).

use crate::aws::{is_emulator_url, Aws, AwsArgs, AwsError, Service};
use crate::logs::{paint, use_color};
use crate::render::Output;
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::types::{InspectionLevel, MockErrorOutput, MockInput, MockResponseValidationMode};
use clap::{Args, ValueEnum};
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
    #[error("{option} is not JSON: {source}")]
    NotJson {
        option: &'static str,
        source: serde_json::Error,
    },
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
    #[arg(long, alias = "retrier-retry-count", default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..))]
    pub retry_count: i32,
    /// Mock what the state invokes (a Task) or its children return (Map: an array, Parallel: one result per branch), as JSON
    #[arg(long, conflicts_with_all = ["mock_result_file", "mock_error"])]
    pub mock_result: Option<String>,
    /// Read the mocked result from this file instead
    #[arg(long, conflicts_with = "mock_error")]
    pub mock_result_file: Option<PathBuf>,
    /// Mock a failure with this error name instead of a result
    #[arg(long)]
    pub mock_error: Option<String>,
    /// The mocked failure's cause
    #[arg(long, requires = "mock_error")]
    pub mock_cause: Option<String>,
    /// How strictly a mocked result is checked against the service API's response (TestState's mock.fieldValidationMode)
    #[arg(long, value_enum)]
    pub field_validation_mode: Option<FieldValidationMode>,
    /// The context object ($$) the state sees, as JSON
    #[arg(long, conflicts_with = "context_file")]
    pub context: Option<String>,
    /// Read the context object from this file instead
    #[arg(long)]
    pub context_file: Option<PathBuf>,
    /// The state inside the Map or Parallel the mocked error comes from (stateConfiguration.errorCausedByState)
    #[arg(long)]
    pub error_caused_by_state: Option<String>,
    /// Map iterations that failed (stateConfiguration.mapIterationFailureCount); needs a mock
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..))]
    pub map_iteration_failure_count: Option<i32>,
    /// What a Distributed Map's ItemReader reads, as JSON (stateConfiguration.mapItemReaderData)
    #[arg(long)]
    pub map_item_reader_data: Option<String>,
    /// The workflow variables the state sees, as a JSON object (TestState's variables), e.g. '{"limit": 3}'
    #[arg(long)]
    pub variables: Option<String>,
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

/// TestState's mock.fieldValidationMode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum FieldValidationMode {
    /// Required fields present and every known field of the right type (AWS's default)
    Strict,
    /// Only the fields present are checked
    Present,
    /// No check
    None,
}

impl FieldValidationMode {
    fn sdk(self) -> MockResponseValidationMode {
        match self {
            Self::Strict => MockResponseValidationMode::Strict,
            Self::Present => MockResponseValidationMode::Present,
            Self::None => MockResponseValidationMode::None,
        }
    }
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
    /// The workflow variables after the state (inspectionData.variables).
    pub variables: Option<String>,
}

/// The processing steps of a state type, as (label, inspectionData field). A
/// JSONata state has no InputPath, Parameters, ResultSelector or ResultPath:
/// a Task reports its data after Arguments and its result, the others their
/// input only (AWS API reference, InspectionData; test_state_configuration.
/// snapshot.json::test_state_configuration_retrier_retry_count[DEBUG],
/// test_test_state_mock_scenarios.snapshot.json::
/// test_io_jsonata_parallel_state_mock_success[DEBUG]).
fn steps_of(state_type: &str, jsonata: bool) -> &'static [(&'static str, &'static str)] {
    if jsonata {
        return match state_type {
            "Task" => &[
                ("input", "input"),
                ("after Arguments", "afterArguments"),
                ("result", "result"),
            ],
            _ => &[("input", "input")],
        };
    }
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
        // A mocked Map and Parallel report these (test_state_context_object.snapshot.json::
        // test_state_map_context_object, test_test_state_mock_scenarios.snapshot.json::
        // test_io_parallel_state_mock_success).
        "Map" => &[
            ("input", "input"),
            ("after InputPath", "afterInputPath"),
            ("after ItemsPath", "afterItemsPath"),
            ("after ResultSelector", "afterResultSelector"),
            ("after ResultPath", "afterResultPath"),
        ],
        "Parallel" => &[
            ("input", "input"),
            ("after ResultSelector", "afterResultSelector"),
            ("after ResultPath", "afterResultPath"),
        ],
        _ => &[("input", "input"), ("after InputPath", "afterInputPath")],
    }
}

impl Answer {
    fn from_sdk(out: &aws_sdk_sfn::operation::test_state::TestStateOutput, state_type: &str, jsonata: bool) -> Answer {
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
                "afterItemsPath" => d.after_items_path(),
                "afterArguments" => d.after_arguments(),
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
            steps: steps_of(state_type, jsonata)
                .iter()
                .map(|(label, f)| (*label, field(f)))
                .collect(),
            catch_index: details.and_then(|d| d.catch_index()),
            retry_index: details.and_then(|d| d.retry_index()),
            retry_backoff_seconds: details.and_then(|d| d.retry_backoff_interval_seconds()),
            variables: data.and_then(|d| d.variables()).map(str::to_string),
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"status": self.status});
        for (key, value) in [
            ("output", &self.output),
            ("error", &self.error),
            ("cause", &self.cause),
            ("nextState", &self.next_state),
            ("variables", &self.variables),
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
    if let Some(v) = &a.variables {
        out += &format!("variables   {}\n", show(v, full));
    }
    match &a.next_state {
        Some(next) => out += &format!("next state  {next}\n"),
        None if !failed => out += "next state  (none: the end)\n",
        None => {}
    }
    out
}

/// Reads a JSON option given inline or as a file, checked to be JSON so a typo is caught before
/// the call; None when neither is given.
fn json_option(
    option: &'static str,
    inline: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<String>, TestStateError> {
    let text = match (inline, file) {
        (Some(text), _) => text.to_owned(),
        (None, Some(path)) => std::fs::read_to_string(path).map_err(|source| TestStateError::Read {
            path: path.display().to_string(),
            source,
        })?,
        (None, None) => return Ok(None),
    };
    serde_json::from_str::<Value>(&text).map_err(|source| TestStateError::NotJson { option, source })?;
    Ok(Some(text))
}

/// TestState's `mock` from --mock-result(-file) or --mock-error/--mock-cause.
fn mock_input(args: &TestStateArgs) -> Result<Option<MockInput>, TestStateError> {
    let result = json_option(
        "--mock-result",
        args.mock_result.as_deref(),
        args.mock_result_file.as_deref(),
    )?;
    let mut mock = match (result, &args.mock_error) {
        (Some(result), _) => MockInput::builder().result(result),
        (None, Some(error)) => MockInput::builder().error_output(
            MockErrorOutput::builder()
                .error(error)
                .cause(args.mock_cause.clone().unwrap_or_default())
                .build(),
        ),
        (None, None) if args.field_validation_mode.is_some() => {
            return Err(TestStateError::Usage(
                "--field-validation-mode applies to a mocked result: add --mock-result".to_owned(),
            ))
        }
        (None, None) => return Ok(None),
    };
    if let Some(mode) = args.field_validation_mode {
        mock = mock.field_validation_mode(mode.sdk());
    }
    Ok(Some(mock.build()))
}

/// TestState's `stateConfiguration`; None when no option sets any of it.
fn state_configuration(
    args: &TestStateArgs,
) -> Result<Option<aws_sdk_sfn::types::TestStateConfiguration>, TestStateError> {
    let reader_data = json_option("--map-item-reader-data", args.map_item_reader_data.as_deref(), None)?;
    if args.retry_count == 0
        && args.error_caused_by_state.is_none()
        && args.map_iteration_failure_count.is_none()
        && reader_data.is_none()
    {
        return Ok(None);
    }
    let mut config = aws_sdk_sfn::types::TestStateConfiguration::builder()
        .set_error_caused_by_state(args.error_caused_by_state.clone())
        .set_map_iteration_failure_count(args.map_iteration_failure_count)
        .set_map_item_reader_data(reader_data);
    if args.retry_count > 0 {
        config = config.retrier_retry_count(args.retry_count);
    }
    Ok(Some(config.build()))
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
    let target_state = zb_asl::StateMachine::parse(&definition)
        .ok()
        .and_then(|m| zb_asl::TestTarget::in_machine(&m, &args.state).ok());
    let state_type = target_state.as_ref().map_or("Task", |t| t.type_name());
    let jsonata = target_state.as_ref().is_some_and(|t| t.jsonata());

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
    if let Some(mock) = mock_input(&args)? {
        request = request.mock(mock);
    }
    if let Some(context) = json_option("--context", args.context.as_deref(), args.context_file.as_deref())? {
        request = request.context(context);
    }
    if let Some(config) = state_configuration(&args)? {
        request = request.state_configuration(config);
    }
    if let Some(variables) = json_option("--variables", args.variables.as_deref(), None)? {
        request = request.variables(variables);
    }
    let out = request
        .customize()
        .interceptor(NoHostPrefixLocally)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(&target, "TestState", e))?;
    let answer = Answer::from_sdk(&out, state_type, jsonata);
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
        steps_of("Task", false)
            .iter()
            .zip(steps)
            .map(|((label, _), d)| (*label, d.map(str::to_string)))
            .collect()
    }

    fn args(extra: &[&str]) -> Result<TestStateArgs, clap::Error> {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Wrapper {
            #[command(flatten)]
            args: TestStateArgs,
        }
        let argv = ["test-state", "Machine", "State"].iter().chain(extra).copied();
        Wrapper::try_parse_from(argv).map(|w| w.args)
    }

    #[test]
    fn mock_context_and_configuration_options_become_the_request_members() {
        let a = args(&[
            "--mock-error",
            "MockException",
            "--mock-cause",
            "why",
            "--retrier-retry-count",
            "4",
        ])
        .unwrap();
        let mock = mock_input(&a).unwrap().unwrap();
        let error = mock.error_output().unwrap();
        assert_eq!((error.error(), error.cause()), (Some("MockException"), Some("why")));
        let config = state_configuration(&a).unwrap().unwrap();
        assert_eq!(config.retrier_retry_count(), Some(4));

        let a = args(&["--mock-result", "[1,2]", "--field-validation-mode", "PRESENT"]).unwrap();
        let mock = mock_input(&a).unwrap().unwrap();
        assert_eq!(mock.result(), Some("[1,2]"));
        assert_eq!(mock.field_validation_mode(), Some(&MockResponseValidationMode::Present));

        assert!(args(&["--mock-result", "{}", "--mock-error", "E"]).is_err());
        assert!(args(&["--mock-cause", "c"]).is_err());
        let a = args(&["--field-validation-mode", "NONE"]).unwrap();
        assert!(matches!(mock_input(&a), Err(TestStateError::Usage(_))));
        let a = args(&["--context", "{not json"]).unwrap();
        assert!(matches!(
            json_option("--context", a.context.as_deref(), None),
            Err(TestStateError::NotJson { .. })
        ));
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

    // A JSONata Task shows its data after Arguments and its result, then the variables after the
    // state (InspectionData.afterArguments and .variables, AWS API reference).
    #[test]
    fn a_jsonata_task_shows_arguments_and_variables() {
        let steps = steps_of("Task", true)
            .iter()
            .zip([Some(r#"{"sku":"S1"}"#), Some(r#"{"sku":"S1"}"#), Some(r#"{"total":1}"#)])
            .map(|((label, _), d)| (*label, d.map(str::to_string)))
            .collect();
        let a = Answer {
            status: "SUCCEEDED".into(),
            output: Some(r#"{"total":1}"#.into()),
            steps,
            variables: Some(r#"{"total": 1}"#.into()),
            ..Answer::default()
        };
        let text = render("T", &a, false, false);
        assert!(text.contains("✓ after Arguments  {\"sku\":\"S1\"}\n"), "{text}");
        assert!(text.contains("variables   {\"total\":1}\n"), "{text}");
        assert!(!text.contains("InputPath"), "{text}");
        let a = args(&["--variables", r#"{"limit": 3}"#]).unwrap();
        assert_eq!(a.variables.as_deref(), Some(r#"{"limit": 3}"#));
    }
}
