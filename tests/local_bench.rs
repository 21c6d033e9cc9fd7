//! The local cloud as a developer's test bench: the AWS CLI (from .venv) and
//! the AWS SDKs create state machines and rules, run TestState and
//! TestEventPattern against it; invalid definitions are refused the way AWS
//! words it; saved edits are picked up while it runs; and `zb test-state`,
//! `zb test-pattern` and `zb logs` answer from the same parts.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use zb_local::reload::ReloadEvent;
use zb_tests::cloud::{binaries, repo, sdk, start, Options};

const WAIT: Duration = Duration::from_secs(60);
const ROLE: &str = "arn:aws:iam::000000000000:role/bench";

/// What a command printed and how it ended.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Runs a program in the repository root, off the async runtime so the
/// in-process cloud keeps serving.
async fn run(program: PathBuf, args: Vec<String>, env: Vec<(&'static str, String)>) -> Ran {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(&program)
            .args(&args)
            .envs(env)
            .current_dir(repo())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
        Ran {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("the command's thread")
}

/// The AWS CLI from .venv (tools/requirements.txt), isolated from any
/// personal AWS configuration, pointed at the local cloud.
async fn aws(endpoint: &str, args: &[&str]) -> Ran {
    let cli = repo().join(".venv/bin/aws");
    assert!(cli.exists(), "{} is missing: run `make tools`", cli.display());
    let nowhere = std::env::temp_dir().join("zb-bench-no-aws-config");
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    all.extend([
        "--endpoint-url".into(),
        endpoint.into(),
        "--output".into(),
        "json".into(),
    ]);
    let env = vec![
        ("AWS_ACCESS_KEY_ID", "local".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
        ("AWS_CONFIG_FILE", nowhere.display().to_string()),
        ("AWS_SHARED_CREDENTIALS_FILE", nowhere.display().to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ("AWS_PAGER", String::new()),
        // TestState and StartSyncExecution carry the host prefix `sync-`, which the CLI adds
        // even to --endpoint-url; sync-127.0.0.1 does not resolve. botocore's documented switch:
        ("AWS_DISABLE_HOST_PREFIX_INJECTION", "true".to_string()),
    ];
    run(cli, all, env).await
}

/// `zb` as built by `cargo build --workspace --bins`.
async fn zb(args: &[&str]) -> Ran {
    let env = vec![("NO_COLOR", "1".to_string())];
    run(binaries().join("zb"), args.iter().map(|a| a.to_string()).collect(), env).await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The sample Validated message Transform takes (events/transform.json).
fn transform_input() -> String {
    read(&repo().join("events/transform.json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_creates_tests_and_matches_on_the_local_cloud() {
    let stack = unique("bench");
    let cloud = start(Options {
        stack: Some(stack.clone()),
        ..Options::default()
    })
    .await;
    let url = cloud.aws_url.clone();

    // create-state-machine, then the machine is listed and described as created.
    let definition = json!({
        "StartAt": "Greet",
        "States": {"Greet": {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('Hello, {}!', $.who)"}, "End": true}}
    })
    .to_string();
    let name = unique("greeter-");
    let created = aws(
        &url,
        &[
            "stepfunctions",
            "create-state-machine",
            "--name",
            &name,
            "--definition",
            &definition,
            "--role-arn",
            ROLE,
        ],
    )
    .await;
    assert!(created.ok, "{}", created.stderr);
    let arn = created.json()["stateMachineArn"]
        .as_str()
        .expect("stateMachineArn")
        .to_string();
    assert_eq!(
        arn,
        format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}")
    );
    let described = aws(
        &url,
        &["stepfunctions", "describe-state-machine", "--state-machine-arn", &arn],
    )
    .await;
    assert!(described.ok, "{}", described.stderr);
    assert_eq!(described.json()["definition"], definition.as_str());
    assert_eq!(described.json()["roleArn"], ROLE);
    let listed = aws(&url, &["stepfunctions", "list-state-machines"]).await.json();
    let names: Vec<&str> = listed["stateMachines"]
        .as_array()
        .expect("stateMachines")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(names.contains(&name.as_str()), "{names:?}");
    assert!(names.contains(&format!("{stack}-order-pipeline").as_str()), "{names:?}");

    // The created machine runs.
    let sync = aws(
        &url,
        &[
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            &arn,
            "--input",
            r#"{"who": "bench"}"#,
        ],
    )
    .await;
    assert!(sync.ok, "{}", sync.stderr);
    let execution = sync.json()["executionArn"].as_str().expect("executionArn").to_string();
    let started = Instant::now();
    let output = loop {
        let d = aws(
            &url,
            &["stepfunctions", "describe-execution", "--execution-arn", &execution],
        )
        .await
        .json();
        if d["status"] != "RUNNING" {
            assert_eq!(d["status"], "SUCCEEDED", "{d}");
            break d["output"].as_str().unwrap_or_default().to_string();
        }
        assert!(started.elapsed() < WAIT, "execution still running");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        serde_json::from_str::<Value>(&output).unwrap(),
        json!({"greeting": "Hello, bench!"})
    );

    // An invalid definition is refused as AWS refuses it.
    let broken = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Gone"}}}).to_string();
    let refused = aws(
        &url,
        &[
            "stepfunctions",
            "create-state-machine",
            "--name",
            &unique("broken-"),
            "--definition",
            &broken,
            "--role-arn",
            ROLE,
        ],
    )
    .await;
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("(InvalidDefinition)")
            && refused
                .stderr
                .contains("Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Gone at /States/A/Next'"),
        "{}",
        refused.stderr
    );

    // test-state at DEBUG on the template's Transform state runs the real transform function.
    let pipeline = aws(
        &url,
        &[
            "stepfunctions",
            "describe-state-machine",
            "--state-machine-arn",
            &format!("arn:aws:states:us-east-1:000000000000:stateMachine:{stack}-order-pipeline"),
        ],
    )
    .await
    .json();
    let pipeline_definition = pipeline["definition"].as_str().expect("definition").to_string();
    let input = transform_input();
    let tested = aws(
        &url,
        &[
            "stepfunctions",
            "test-state",
            "--definition",
            &pipeline_definition,
            "--state-name",
            "Transform",
            "--input",
            &input,
            "--inspection-level",
            "DEBUG",
        ],
    )
    .await;
    assert!(tested.ok, "{}", tested.stderr);
    let tested = tested.json();
    assert_eq!(tested["status"], "SUCCEEDED", "{tested}");
    assert_eq!(tested["nextState"], "Persist");
    let data = &tested["inspectionData"];
    let step = |key: &str| -> Value {
        serde_json::from_str(data[key].as_str().unwrap_or_else(|| panic!("no {key} in {data}"))).expect("JSON text")
    };
    let sent: Value = serde_json::from_str(&input).unwrap();
    assert_eq!(step("input"), sent);
    assert_eq!(step("afterInputPath"), sent);
    assert_eq!(step("afterParameters")["Payload"], sent);
    assert!(
        step("afterParameters")["FunctionName"]
            .as_str()
            .unwrap_or_default()
            .contains(&stack),
        "{data}"
    );
    let result = step("result");
    assert_eq!(result["StatusCode"], 200, "{result}");
    // Transform's own answer: the sample's valid orders, mapped.
    let transformed = &result["Payload"];
    assert_eq!(transformed["feedId"], sent["feedId"]);
    // Canonical orders are order content: always staged, never in a state (issue 16).
    assert!(
        transformed["batch"]["staged"]["parts"].as_u64().is_some_and(|p| p >= 1),
        "{transformed}"
    );
    let output: Value = serde_json::from_str(tested["output"].as_str().expect("output")).unwrap();
    assert_eq!(&output, transformed, "OutputPath $.Payload");

    // test-event-pattern answers with the routing matcher.
    let pattern = json!({"source": ["zerobeta.orders"], "detail": {"status": [{"prefix": "COMPLETED"}]}}).to_string();
    let event = |status: &str| {
        json!({
            "id": "1", "account": "000000000000", "source": "zerobeta.orders", "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1", "resources": [], "detail-type": "OrdersPersisted", "detail": {"status": status}
        })
        .to_string()
    };
    for (status, expected) in [("COMPLETED_WITH_REJECTIONS", true), ("FAILED", false)] {
        let answer = aws(
            &url,
            &[
                "events",
                "test-event-pattern",
                "--event-pattern",
                &pattern,
                "--event",
                &event(status),
            ],
        )
        .await;
        assert!(answer.ok, "{}", answer.stderr);
        assert_eq!(answer.json(), json!({"Result": expected}), "{status}");
    }
    cloud.shutdown().await;
}

/// `aws stepfunctions test-state` with `--mock` and `--variables` (awscli 1.46.3, botocore
/// 1.43.62: both in its TestState model) on a JSONata Task: the mock stands in for the function,
/// the Arguments, result and variables are reported as AWS's API reference describes
/// InspectionData (afterArguments, result, variables), and no function runs (there is none named
/// so in the stack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_tests_a_jsonata_state_with_a_mock() {
    let cloud = start(Options {
        stack: Some(unique("bench")),
        ..Options::default()
    })
    .await;
    let task = json!({
        "QueryLanguage": "JSONata",
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:000000000000:function:NotDeployed",
        "Arguments": {"sku": "{% $states.input.sku %}", "qty": "{% $states.input.qty %}"},
        "Assign": {"total": "{% $states.result.total %}"},
        "Output": {"total": "{% $states.result.total %}", "currency": "{% $currency %}"},
        "Next": "Persist"
    })
    .to_string();
    let mock = json!({"result": json!({"total": 150}).to_string()}).to_string();
    let tested = aws(
        &cloud.aws_url,
        &[
            "stepfunctions",
            "test-state",
            "--definition",
            &task,
            "--role-arn",
            ROLE,
            "--input",
            r#"{"sku": "S1", "qty": 3}"#,
            "--variables",
            r#"{"currency": "EUR"}"#,
            "--mock",
            &mock,
            "--inspection-level",
            "DEBUG",
        ],
    )
    .await;
    assert!(tested.ok, "{}", tested.stderr);
    let tested = tested.json();
    assert_eq!(tested["status"], "SUCCEEDED", "{tested}");
    assert_eq!(tested["nextState"], "Persist", "{tested}");
    let parsed = |v: &Value| -> Value {
        serde_json::from_str(v.as_str().unwrap_or_else(|| panic!("not JSON text: {v} in {tested}"))).expect("JSON text")
    };
    assert_eq!(parsed(&tested["output"]), json!({"total": 150, "currency": "EUR"}));
    let data = &tested["inspectionData"];
    assert_eq!(parsed(&data["input"]), json!({"sku": "S1", "qty": 3}));
    assert_eq!(parsed(&data["afterArguments"]), json!({"sku": "S1", "qty": 3}));
    assert_eq!(parsed(&data["result"]), json!({"total": 150}));
    assert_eq!(parsed(&data["variables"]), json!({"currency": "EUR", "total": 150}));
    // JSONata states have no InputPath or Parameters (AWS API reference, InspectionData).
    assert!(
        data.get("afterInputPath").is_none() && data.get("afterParameters").is_none(),
        "{data}"
    );

    // A mocked error goes through the state's Catch, as on AWS (test_test_state_scenarios.
    // snapshot.json::test_state_task_catch_error).
    let caught = json!({
        "QueryLanguage": "JSONata", "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:000000000000:function:NotDeployed",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "Failed"}],
        "End": true
    })
    .to_string();
    let failed = aws(
        &cloud.aws_url,
        &[
            "stepfunctions",
            "test-state",
            "--definition",
            &caught,
            "--role-arn",
            ROLE,
            "--mock",
            r#"{"errorOutput": {"error": "Busy", "cause": "try later"}}"#,
            "--inspection-level",
            "DEBUG",
        ],
    )
    .await;
    assert!(failed.ok, "{}", failed.stderr);
    let failed = failed.json();
    assert_eq!(failed["status"], "CAUGHT_ERROR", "{failed}");
    assert_eq!(failed["nextState"], "Failed");
    assert_eq!(
        parsed(&failed["output"]),
        json!({"Error": "Busy", "Cause": "try later"})
    );
    assert_eq!(failed["inspectionData"]["errorDetails"], json!({"catchIndex": 0}));
    cloud.shutdown().await;
}

fn sfn_error<E: aws_sdk_sfn::error::ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_definitions_are_refused_saying_what_and_where() {
    let cloud = start(Options::default()).await;
    let sfn = aws_sdk_sfn::Client::new(&sdk(&cloud.aws_url).await);
    let task = "arn:aws:lambda:us-east-1:000000000000:function:f";
    let cases = [
        (
            json!({"States": {"A": {"Type": "Succeed"}}}),
            "SCHEMA_VALIDATION_FAILED: These fields are required: [StartAt] at /",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}),
            "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/A/Next",
        ),
        (
            json!({"StartAt": "A", "States": {
                "A": {"Type": "Task", "Resource": task, "End": true, "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Next": "B"}, {"ErrorEquals": ["Other"], "Next": "B"}]},
                "B": {"Type": "Succeed"}}}),
            "SCHEMA_VALIDATION_FAILED: Catch[0]: States.ALL must appear in the last entry at /States/A/Catch/0",
        ),
        (
            json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"id.$": "States.Guid()"}, "End": true}}}),
            "The value for the field 'id.$' must be a valid JSONPath or a valid intrinsic function call at /States/A/Parameters",
        ),
    ];
    for (i, (definition, expected)) in cases.iter().enumerate() {
        let err = sfn
            .create_state_machine()
            .name(format!("invalid-{i}"))
            .definition(definition.to_string())
            .role_arn(ROLE)
            .send()
            .await
            .expect_err("an invalid definition is refused");
        let (code, message) = sfn_error(&err);
        assert_eq!(code, "InvalidDefinition", "{definition}");
        assert!(
            message.starts_with("Invalid State Machine Definition: '") && message.contains(expected),
            "{definition}\n got: {message}\nwant: {expected}"
        );
        // ValidateStateMachineDefinition says the same, as a diagnostic.
        let checked = sfn
            .validate_state_machine_definition()
            .definition(definition.to_string())
            .send()
            .await
            .expect("ValidateStateMachineDefinition");
        assert_eq!(checked.result().as_str(), "FAIL");
        let d = &checked.diagnostics()[0];
        let said = format!("{}: {} at {}", d.code(), d.message(), d.location().unwrap_or_default());
        assert!(said.contains(expected), "{said}\nwant: {expected}");
    }

    // A good machine, then an invalid update: refused, and the good definition stays.
    let good = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}}).to_string();
    let arn = sfn
        .create_state_machine()
        .name("kept")
        .definition(&good)
        .role_arn(ROLE)
        // Standard: DescribeExecution does not take Express executions
        // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html).
        .r#type(aws_sdk_sfn::types::StateMachineType::Standard)
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn()
        .to_string();
    let err = sfn
        .update_state_machine()
        .state_machine_arn(&arn)
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass"}}}"#)
        .send()
        .await
        .expect_err("an invalid update is refused");
    assert_eq!(sfn_error(&err).0, "InvalidDefinition");
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("Describe");
    assert_eq!(described.definition(), good);
    assert_eq!(described.r#type().as_str(), "STANDARD");

    // A good update is what the next execution runs; then the machine is deleted.
    let updated = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 2, "End": true}}}).to_string();
    sfn.update_state_machine()
        .state_machine_arn(&arn)
        .definition(&updated)
        .send()
        .await
        .expect("UpdateStateMachine");
    let out = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("StartExecution");
    let started = Instant::now();
    loop {
        let d = sfn
            .describe_execution()
            .execution_arn(out.execution_arn())
            .send()
            .await
            .expect("DescribeExecution");
        if d.status().as_str() != "RUNNING" {
            assert_eq!(d.output(), Some("2"));
            break;
        }
        assert!(started.elapsed() < WAIT);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sfn.delete_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect("Delete");
    let gone = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(sfn_error(&gone).0, "StateMachineDoesNotExist");
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_put_through_the_api_routes_events_like_a_template_rule() {
    let stack = unique("bench");
    let cloud = start(Options {
        stack: Some(stack.clone()),
        ..Options::default()
    })
    .await;
    let config = sdk(&cloud.aws_url).await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let bus = cloud.model.buses.first().expect("the template's bus").clone();

    let machine = sfn
        .create_state_machine()
        .name("audit")
        .definition(json!({"StartAt": "Log", "States": {"Log": {"Type": "Pass", "End": true}}}).to_string())
        .role_arn(ROLE)
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn()
        .to_string();
    let pattern = json!({"source": ["bench.audit"], "detail-type": ["Audited"]}).to_string();
    events
        .put_rule()
        .name("audit-rule")
        .event_bus_name(&bus)
        .event_pattern(&pattern)
        .send()
        .await
        .expect("PutRule");
    let targets = events
        .put_targets()
        .rule("audit-rule")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("audit")
                .arn(&machine)
                .input_path("$.detail")
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("PutTargets");
    assert_eq!(targets.failed_entry_count(), 0);
    let listed = events
        .list_rules()
        .event_bus_name(&bus)
        .send()
        .await
        .expect("ListRules");
    let names: Vec<&str> = listed.rules().iter().filter_map(|r| r.name()).collect();
    assert!(names.contains(&"audit-rule"), "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with(&stack)),
        "template rules too: {names:?}"
    );

    let put = |detail_type: &'static str, n: u32| {
        aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source("bench.audit")
            .detail_type(detail_type)
            .detail(json!({"n": n}).to_string())
            .event_bus_name(&bus)
            .build()
    };
    let sent = events
        .put_events()
        .entries(put("Ignored", 1))
        .entries(put("Audited", 2))
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(sent.failed_entry_count(), 0);
    // The matching event starts one execution of the rule's target with its detail.
    let started = Instant::now();
    let execution = loop {
        let list = sfn
            .list_executions()
            .state_machine_arn(&machine)
            .send()
            .await
            .expect("ListExecutions");
        if let Some(e) = list.executions().first() {
            break e.execution_arn().to_string();
        }
        assert!(started.elapsed() < WAIT, "no execution started by the rule");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let d = sfn
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .expect("Describe");
    assert_eq!(
        serde_json::from_str::<Value>(d.input().unwrap_or_default()).unwrap(),
        json!({"n": 2})
    );

    // Without targets the rule can be deleted; it no longer routes.
    events
        .remove_targets()
        .rule("audit-rule")
        .event_bus_name(&bus)
        .ids("audit")
        .send()
        .await
        .expect("RemoveTargets");
    events
        .delete_rule()
        .name("audit-rule")
        .event_bus_name(&bus)
        .send()
        .await
        .expect("DeleteRule");
    let gone = events
        .describe_rule()
        .name("audit-rule")
        .event_bus_name(&bus)
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(
        aws_sdk_eventbridge::error::ProvideErrorMetadata::code(&gone),
        Some("ResourceNotFoundException")
    );
    cloud.shutdown().await;
}

/// A temp copy of template.yaml and statemachines/, and a binaries folder
/// of links to the built functions, that the test may change.
struct Bench {
    dir: PathBuf,
}

impl Bench {
    fn new() -> Bench {
        let dir = std::env::temp_dir().join(unique("zb-bench-"));
        std::fs::create_dir_all(dir.join("statemachines")).expect("temp dir");
        std::fs::create_dir_all(dir.join("bin")).expect("temp dir");
        std::fs::copy(repo().join("template.yaml"), dir.join("template.yaml")).expect("copy template.yaml");
        for entry in std::fs::read_dir(repo().join("statemachines"))
            .expect("statemachines/")
            .flatten()
        {
            std::fs::copy(entry.path(), dir.join("statemachines").join(entry.file_name())).expect("copy definition");
        }
        let model = zb_local::template::load(&dir.join("template.yaml"), "bench", &Default::default())
            .expect("the template copy loads");
        for f in &model.functions {
            std::os::unix::fs::symlink(binaries().join(&f.binary), dir.join("bin").join(&f.binary))
                .expect("link binary");
        }
        Bench { dir }
    }

    fn template(&self) -> PathBuf {
        self.dir.join("template.yaml")
    }

    fn pipeline(&self) -> PathBuf {
        self.dir.join("statemachines/order-pipeline.asl.json")
    }

    /// Points a function's binary at another file, the way a rebuild replaces it.
    fn relink(&self, binary: &str, to: &Path) {
        let tmp = self.dir.join("bin").join(format!(".{binary}.new"));
        std::os::unix::fs::symlink(to, &tmp).expect("link");
        std::fs::rename(&tmp, self.dir.join("bin").join(binary)).expect("replace link");
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The next reload event that `keep` accepts (others are skipped).
async fn next_event(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<ReloadEvent>,
    keep: impl Fn(&ReloadEvent) -> bool,
) -> ReloadEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(e)) if keep(&e) => return e,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the watcher stopped"),
            Err(_) => panic!("no reload event within {WAIT:?}"),
        }
    }
}

/// An Express execution's output, from its log group (the pipeline logs at
/// level ALL with execution data by default): AWS serves no
/// DescribeExecution for Express executions
/// (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
async fn finished_output(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, execution: &str) -> Value {
    let started = Instant::now();
    loop {
        if let Some(run) = zb_local::express_logs::finished(logs, group, execution)
            .await
            .expect("FilterLogEvents")
        {
            assert_eq!(run.status, "SUCCEEDED", "{:?}", run.cause);
            return serde_json::from_str(run.output.as_deref().unwrap_or("null")).expect("output");
        }
        assert!(started.elapsed() < WAIT, "execution still running");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_changes_are_picked_up_while_the_cloud_runs() {
    let bench = Bench::new();
    // The pipeline's definition file, replaced by a small machine whose output says its version.
    // Wait 100 s is 1 s at the test cloud's time scale (0.01).
    let version = |v: &str| {
        json!({"StartAt": "Hold", "States": {
            "Hold": {"Type": "Wait", "Seconds": 100, "Next": "Mark"},
            "Mark": {"Type": "Pass", "Result": {"version": v}, "End": true}}})
        .to_string()
    };
    std::fs::write(bench.pipeline(), version("v1")).expect("write v1");
    let stack = unique("bench");
    let mut cloud = start(Options {
        stack: Some(stack.clone()),
        template: Some(bench.template()),
        binaries: Some(bench.dir.join("bin")),
        ..Options::default()
    })
    .await;
    let mut reloads = cloud.watch();
    let config = sdk(&cloud.aws_url).await;
    let sfn = aws_sdk_sfn::Client::new(&config);
    let machine = format!("arn:aws:states:us-east-1:000000000000:stateMachine:{stack}-order-pipeline");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let group = format!("/aws/vendedlogs/states/{stack}-order-pipeline");
    let start_one = || async {
        sfn.start_execution()
            .state_machine_arn(&machine)
            .send()
            .await
            .expect("StartExecution")
            .execution_arn()
            .to_string()
    };

    // Started on v1: it finishes on v1 whatever is saved while it waits.
    let before = start_one().await;

    // A broken save is refused, naming the file and the problem.
    let broken = version("v2").replace("\"Next\":\"Mark\"", "\"Next\":\"Mrak\"");
    std::fs::write(bench.pipeline(), broken).expect("write broken");
    let refused = next_event(&mut reloads, |e| matches!(e, ReloadEvent::Refused { .. })).await;
    let ReloadEvent::Refused { file, problem } = &refused else {
        unreachable!()
    };
    assert_eq!(file, &bench.pipeline(), "{refused}");
    assert!(problem.contains("\"Mrak\" does not name a state"), "{refused}");
    let during = start_one().await;

    // A good save: the next execution follows it.
    let saved = Instant::now();
    std::fs::write(bench.pipeline(), version("v2")).expect("write v2");
    let reloaded = next_event(&mut reloads, |e| matches!(e, ReloadEvent::Reloaded { .. })).await;
    // A figure for the docs, not an assertion: machines are noisy.
    eprintln!("reload: save to installed in {} ms", saved.elapsed().as_millis());
    let ReloadEvent::Reloaded { machines, .. } = &reloaded else {
        unreachable!()
    };
    assert_eq!(machines.updated, ["OrderPipelineStateMachine"], "{reloaded}");
    let after = start_one().await;

    assert_eq!(finished_output(&logs, &group, &before).await, json!({"version": "v1"}));
    assert_eq!(
        finished_output(&logs, &group, &during).await,
        json!({"version": "v1"}),
        "the last good version ran"
    );
    assert_eq!(finished_output(&logs, &group, &after).await, json!({"version": "v2"}));

    // A template that is not YAML any more is refused too, naming template.yaml.
    let good_template = read(&bench.template());
    std::fs::write(bench.template(), format!("{good_template}\n  Broken: [\n")).expect("write template");
    let refused = next_event(&mut reloads, |e| matches!(e, ReloadEvent::Refused { .. })).await;
    let ReloadEvent::Refused { file, problem } = &refused else {
        unreachable!()
    };
    assert_eq!(file, &bench.template(), "{refused}");
    assert!(problem.contains("not valid YAML"), "{refused}");
    assert_eq!(
        finished_output(&logs, &group, &start_one().await).await,
        json!({"version": "v2"}),
        "the last good version ran"
    );

    // template.yaml: a rule's pattern edited on disk is what the bus routes by.
    let events = aws_sdk_eventbridge::Client::new(&config);
    let text = good_template.replacen("- OrdersRejected", "- OrdersRejected\n          - OrdersReplayed", 1);
    std::fs::write(bench.template(), text).expect("write template");
    let reloaded = next_event(&mut reloads, |e| matches!(e, ReloadEvent::Reloaded { .. })).await;
    let ReloadEvent::Reloaded { rules, .. } = &reloaded else {
        unreachable!()
    };
    assert_eq!(rules.updated.len(), 1, "{reloaded}");
    let edited = zb_local::template::load(&bench.template(), &stack, &Default::default()).expect("model");
    let rule = edited
        .rules
        .iter()
        .find(|r| r.logical_id == rules.updated[0])
        .expect("the updated rule");
    let described = events
        .describe_rule()
        .name(&rule.name)
        .event_bus_name(&rule.bus)
        .send()
        .await
        .expect("DescribeRule");
    let pattern = described.event_pattern().unwrap_or_default();
    assert!(pattern.contains("OrdersReplayed"), "{pattern}");

    // A rebuilt binary replaces the function's warm instances.
    let lambda = aws_sdk_lambda::Client::new(&config);
    let transform = edited.function("TransformFunction").expect("TransformFunction").clone();
    let invoke = |payload: String| {
        let lambda = lambda.clone();
        let name = transform.name.clone();
        async move {
            let out = lambda
                .invoke()
                .function_name(name)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .expect("Invoke");
            serde_json::from_slice::<Value>(out.payload().map(|b| b.as_ref()).unwrap_or(b"null")).expect("JSON")
        }
    };
    let warm = invoke(transform_input()).await;
    assert!(
        warm["batch"]["staged"]["step"] == "transform",
        "the real transform answered: {warm}"
    );
    let rebuilt = Instant::now();
    bench.relink(&transform.binary, &binaries().join("zb-lambda-host-test-bootstrap"));
    let replaced = next_event(&mut reloads, |e| matches!(e, ReloadEvent::BinaryReplaced { .. })).await;
    eprintln!("reload: new binary to replaced in {} ms", rebuilt.elapsed().as_millis());
    let ReloadEvent::BinaryReplaced { function, .. } = &replaced else {
        unreachable!()
    };
    assert_eq!(function, &transform.name);
    // The test bootstrap echoes its payload: the new binary answered.
    assert_eq!(
        invoke(json!({"rebuilt": true}).to_string()).await,
        json!({"rebuilt": true})
    );
    cloud.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zb_tests_a_state_a_pattern_and_tails_the_logs() {
    let stack = unique("bench");
    let state_dir = std::env::temp_dir().join(unique("zb-bench-state-"));
    let cloud = start(Options {
        stack: Some(stack.clone()),
        state_dir: Some(state_dir.clone()),
        ..Options::default()
    })
    .await;
    let repo = repo();
    let repo_arg = repo.display().to_string();
    let common = [
        "--repo",
        repo_arg.as_str(),
        "--stack",
        stack.as_str(),
        "--endpoint-url",
        &cloud.aws_url,
    ];

    // A good input: every step, the output and the next state.
    let input = transform_input();
    let mut args = vec![
        "test-state",
        "OrderPipelineStateMachine",
        "Transform",
        "--input",
        &input,
    ];
    args.extend(common);
    let ok = zb(&args).await;
    assert!(ok.ok, "{}\n{}", ok.stdout, ok.stderr);
    for line in [
        "✓ input",
        "✓ after Parameters",
        "✓ result",
        "✓ after ResultPath",
        "✓ output",
        "status      SUCCEEDED",
        "next state  Persist",
    ] {
        assert!(ok.stdout.contains(line), "{line:?} missing from:\n{}", ok.stdout);
    }

    // A bad input: the function fails, the step is marked, the catcher named; exit status 1.
    let bad = json!({"feedId": "f-1", "valid": "not a list"}).to_string();
    let mut args = vec![
        "test-state",
        "statemachines/order-pipeline.asl.json",
        "Transform",
        "--input",
        &bad,
    ];
    args.extend(common);
    // (zb runs in the repository root, so the relative definition path is the repository's.)
    let caught = zb(&args).await;
    assert!(!caught.ok, "{}", caught.stdout);
    assert!(caught.stdout.contains("✓ after Parameters"), "{}", caught.stdout);
    assert!(caught.stdout.contains("✗ result"), "{}", caught.stdout);
    assert!(caught.stdout.contains("status      CAUGHT_ERROR"), "{}", caught.stdout);
    assert!(caught.stdout.contains("caught      by Catch[0]"), "{}", caught.stdout);
    assert!(caught.stdout.contains("next state  RecordErrors"), "{}", caught.stdout);

    // test-pattern: the sample notify event matches NotifyRule; another detail-type names the field.
    let notify = repo.join("events/notify.json");
    let notify_arg = notify.display().to_string();
    let matched = zb(&[
        "test-pattern",
        "NotifyRule",
        "--event",
        &notify_arg,
        "--repo",
        &repo_arg,
    ])
    .await;
    assert!(matched.ok, "{}{}", matched.stdout, matched.stderr);
    assert!(matched.stdout.starts_with("✓ match"), "{}", matched.stdout);
    let other = state_dir.join("other-event.json");
    let mut event: Value = serde_json::from_str(&read(&notify)).unwrap();
    event["detail-type"] = json!("OrderFeedReceived");
    std::fs::write(&other, event.to_string()).unwrap();
    let other_arg = other.display().to_string();
    let missed = zb(&["test-pattern", "NotifyRule", "--event", &other_arg, "--repo", &repo_arg]).await;
    assert!(!missed.ok);
    assert!(missed.stdout.contains("✗ no match"), "{}", missed.stdout);
    assert!(missed.stdout.contains("field  detail-type"), "{}", missed.stdout);
    assert!(missed.stdout.contains("\"OrderFeedReceived\""), "{}", missed.stdout);

    // logs: the transform function's lines from the runs above, with its REPORT lines.
    let state_arg = state_dir.display().to_string();
    let started = Instant::now();
    let logs = loop {
        let logs = zb(&[
            "logs",
            "--function",
            "TransformFunction",
            "--state-dir",
            &state_arg,
            "--repo",
            &repo_arg,
            "--stack",
            &stack,
        ])
        .await;
        if logs.ok && logs.stdout.matches("REPORT RequestId").count() >= 2 {
            break logs;
        }
        assert!(
            started.elapsed() < WAIT,
            "no REPORT lines:\n{}{}",
            logs.stdout,
            logs.stderr
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let model = zb_local::template::load(&repo.join("template.yaml"), &stack, &Default::default()).expect("model");
    let name = &model.function("TransformFunction").expect("TransformFunction").name;
    assert!(
        logs.stdout.lines().all(|l| l.contains(&format!("[{name}]"))),
        "{}",
        logs.stdout
    );
    assert!(!logs.stdout.contains('\x1b'), "NO_COLOR is respected");
    cloud.shutdown().await;
    let _ = std::fs::remove_dir_all(state_dir);
}
