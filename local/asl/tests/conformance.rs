//! Conformance with AWS: executions recorded on AWS, run again on this interpreter.
//!
//! `conformance/cases.json` holds executions that LocalStack's Step Functions parity tests
//! recorded against AWS (Apache-2.0; provenance and the extractor in `conformance/SOURCE.md`).
//! Each case cites its source test and snapshot key and carries the definition, the input, the
//! recorded outcome (status, output or error and cause) and what each Lambda call returned.
//!
//! Every case the interpreter accepts must end exactly as it did on AWS, except the differences
//! listed, with their reasons, in `conformance/differences.json` (and README). A case whose
//! definition the interpreter refuses as unsupported (JSONata, variables, non-Lambda service
//! integrations, activities…) does not count: the local cloud does not claim it. A definition it
//! refuses as *invalid* is a failure, since AWS ran it.
//!
//! The pass rate ("N of M AWS-recorded cases") is printed and must match README's.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;
use zb_asl::{execute, ExecutionOptions, HistoryEvent, Outcome, StateMachine, TaskFailure, TaskInvoker};

const CASES: &str = include_str!("conformance/cases.json");
const DIFFERENCES: &str = include_str!("conformance/differences.json");
const README: &str = include_str!("../../../README.md");

#[derive(Deserialize)]
struct Cases {
    masks: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize, Clone)]
struct Case {
    id: String,
    definition: Value,
    input: Value,
    expected: Expected,
    #[serde(default)]
    tasks: Vec<TaskResult>,
    /// The recorded history's event types, in order (absent for choice-operator recordings).
    events: Option<Vec<String>>,
}

#[derive(Deserialize, Clone, Debug)]
struct Expected {
    status: String,
    output: Option<Value>,
    /// Strings, unless the recording parsed a JSON cause into its object.
    error: Option<Value>,
    cause: Option<Value>,
}

/// One recorded Lambda call: which state made it, with what payload, and how it ended.
#[derive(Deserialize, Clone, Debug)]
struct TaskResult {
    state: Option<String>,
    payload: Option<Value>,
    output: Option<Value>,
    error: Option<Value>,
    cause: Option<Value>,
    #[serde(default)]
    timed_out: bool,
}

#[derive(Deserialize)]
struct Difference {
    id: String,
    reason: String,
}

/// Answers each Lambda call with what the same call returned on AWS. Calls are matched by state
/// (every placeholder function is named after its state) and payload, in recorded order, since
/// Map and Parallel iterations may call in another order than AWS did.
struct Replay {
    results: Mutex<Vec<Option<TaskResult>>>,
}

impl Replay {
    fn new(results: &[TaskResult]) -> Self {
        Self {
            results: Mutex::new(results.iter().cloned().map(Some).collect()),
        }
    }

    fn take(&self, state: &str, payload: &Value) -> Option<TaskResult> {
        let mut results = self.results.lock().unwrap();
        let same_state = |r: &TaskResult| r.state.as_deref() == Some(state);
        let same_payload = |r: &TaskResult| r.payload.as_ref() == Some(payload);
        let find = |matches: &dyn Fn(&TaskResult) -> bool| results.iter().position(|r| r.as_ref().is_some_and(matches));
        let index = find(&|r| same_state(r) && same_payload(r))
            .or_else(|| find(&same_state))
            .or_else(|| find(&same_payload))
            // A function named by the input (`FunctionName.$`): the next call AWS made.
            .or_else(|| find(&|_| true))?;
        results[index].take()
    }
}

impl TaskInvoker for Replay {
    fn invoke_lambda(&self, function: &str, payload: Value) -> impl Future<Output = Result<Value, TaskFailure>> + Send {
        let state = function.rsplit(":function:").next().unwrap_or(function).to_owned();
        let recorded = self.take(&state, &payload);
        async move {
            match recorded {
                None => Err(TaskFailure::new(
                    "Conformance.NoRecordedCall",
                    format!("AWS made no call like this one: state {state}, payload {payload}"),
                )),
                Some(r) if r.timed_out => std::future::pending().await,
                Some(r) => match r.error {
                    Some(error) => Err(TaskFailure::new(text(error), r.cause.map(text).unwrap_or_default())),
                    None => Ok(r.output.unwrap_or(Value::Null)),
                },
            }
        }
    }
}

/// A recorded error or cause as the string AWS reported (the recording parsed JSON ones).
fn text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

enum Verdict {
    Pass,
    Unsupported(String),
    Fail(String),
}

async fn run(case: &Case, masks: &[String]) -> Verdict {
    let machine = match StateMachine::parse(&case.definition.to_string()) {
        Ok(machine) => machine,
        Err(e) if e.is_unsupported() => return Verdict::Unsupported(e.to_string()),
        Err(e) => return Verdict::Fail(format!("refused a definition AWS ran: {e}")),
    };
    let mut options = ExecutionOptions::new(
        "arn:aws:states:us-east-1:111111111111:stateMachine:Conformance",
        "conformance",
    );
    // Recorded Waits are seconds long; outcomes do not depend on their length.
    options.time_scale = 0.001;
    let replay = Replay::new(&case.tasks);
    let mut history: Vec<HistoryEvent> = Vec::new();
    let outcome = execute(&machine, case.input.clone(), &replay, options, &mut history).await;
    if let Some(why) = compare(&case.expected, &outcome, masks) {
        return Verdict::Fail(why);
    }
    match &case.events {
        Some(want) => compare_events(want, &history).map_or(Verdict::Pass, Verdict::Fail),
        None => Verdict::Pass,
    }
}

/// Why `outcome` differs from the recording, or None.
fn compare(expected: &Expected, outcome: &Outcome, masks: &[String]) -> Option<String> {
    let (status, output, error, cause) = observed(outcome);
    if status != expected.status {
        return Some(format!("status {status}, AWS {} ({expected:?})", expected.status));
    }
    if let (Some(want), Some(got)) = (&expected.output, &output) {
        if !matches(want, got, masks) {
            return Some(format!("output {got}, AWS {want}"));
        }
    }
    for (field, want, got) in [("error", &expected.error, &error), ("cause", &expected.cause, &cause)] {
        let same = match (want, got) {
            (None, None) => true,
            (Some(w), Some(g)) => matches(w, &Value::String(g.clone()), masks),
            _ => false,
        };
        if !same {
            return Some(format!("{field} {got:?}, AWS {want:?}"));
        }
    }
    None
}

/// The history's event types against the recording's: in order, except that Map iterations and
/// Parallel branches interleave differently from run to run, so there only the counts of each
/// type must agree. The recorder normalised Parallel histories with LocalStack's
/// `SfnNoneRecursiveParallelTransformer` (localstack-core/localstack/testing/pytest/stepfunctions/
/// utils.py), which sorts each branch block in place and, replacing the block a second time at
/// ParallelStateExited, drops the event before it (ParallelStateSucceeded, ids 12 of 14 in
/// test_parallel_state_order). Parallel's own closing events are therefore not compared.
fn compare_events(want: &[String], history: &[HistoryEvent]) -> Option<String> {
    let got: Vec<&str> = history.iter().map(|e| e.r#type.as_str()).collect();
    let parallel = want.iter().any(|t| t == "ParallelStateStarted");
    // Parallel's closing events (Succeeded, Failed, Aborted, Exited) are not compared.
    let compared = |t: &&str| {
        let closing = t.starts_with("ParallelState") && !t.ends_with("Entered") && !t.ends_with("Started");
        !parallel || !closing
    };
    let want: Vec<&str> = want.iter().map(String::as_str).filter(compared).collect();
    let got: Vec<&str> = got.into_iter().filter(compared).collect();
    let concurrent = want.iter().any(|t| t.starts_with("Map") || t.starts_with("Parallel"));
    let same = if concurrent {
        let count = |types: &[&str]| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            types
                .iter()
                .for_each(|t| *counts.entry((*t).to_owned()).or_default() += 1);
            counts
        };
        count(&want) == count(&got)
    } else {
        want == got
    };
    (!same).then(|| format!("history events {got:?}, AWS {want:?}"))
}

/// (status, output, error, cause) as GetExecutionHistory's terminal event reports them.
fn observed(outcome: &Outcome) -> (&'static str, Option<Value>, Option<String>, Option<String>) {
    match outcome {
        Outcome::Succeeded { output } => ("SUCCEEDED", Some(output.clone()), None, None),
        Outcome::Failed { error, cause } => ("FAILED", None, error.clone(), cause.clone()),
        Outcome::TimedOut => ("TIMED_OUT", None, None, None),
        Outcome::Aborted => ("ABORTED", None, None, None),
    }
}

/// JSON equality where the recording masked run-specific values: a mask token, or a string that
/// is only a `<placeholder>`, matches anything; placeholders inside a string match any text.
/// Numbers must agree in kind too (1 and 1.0 print differently in an execution's output).
fn matches(want: &Value, got: &Value, masks: &[String]) -> bool {
    match (want, got) {
        (Value::String(w), _) if masks.contains(w) || is_placeholder(w) => true,
        (w, Value::String(g)) if w.is_object() || w.is_array() => {
            serde_json::from_str::<Value>(g).is_ok_and(|g| matches(w, &g, masks))
        }
        (Value::String(w), Value::String(g)) => {
            if let (Ok(wj), Ok(gj)) = (serde_json::from_str::<Value>(w), serde_json::from_str::<Value>(g)) {
                if wj.is_object() || wj.is_array() {
                    return matches(&wj, &gj, masks);
                }
            }
            glob(w, g)
        }
        (Value::Object(w), Value::Object(g)) => {
            w.len() == g.len()
                && w.iter()
                    .all(|(k, v)| g.get(k).is_some_and(|gv| run_specific(k, v) || matches(v, gv, masks)))
        }
        (Value::Array(w), Value::Array(g)) => w.len() == g.len() && w.iter().zip(g).all(|(a, b)| matches(a, b, masks)),
        (Value::Number(w), Value::Number(g)) => w.is_f64() == g.is_f64() && w.as_f64() == g.as_f64(),
        _ => want == got,
    }
}

/// Fields the recording masked with their own name (`"Date": "date"`, `"RequestId": "RequestId"`),
/// and the Lambda response's Content-Length, which counts the bytes the *function's* runtime
/// wrote (Python's `{"a": 1}` is longer than Rust's `{"a":1}`), not anything Step Functions does.
fn run_specific(key: &str, want: &Value) -> bool {
    key == "Content-Length" || want.as_str().is_some_and(|w| w.eq_ignore_ascii_case(key))
}

fn is_placeholder(s: &str) -> bool {
    s.starts_with('<') && s.ends_with('>') && !s[1..s.len() - 1].contains(['<', '>'])
}

/// `want` with each `<placeholder>` matching any text.
fn glob(want: &str, got: &str) -> bool {
    let mut pieces = Vec::new();
    let mut rest = want;
    while let Some(start) = rest.find('<') {
        match rest[start..].find('>') {
            Some(end) if !rest[start + 1..start + end].contains(['<', ' ']) && end > 1 => {
                pieces.push(&rest[..start]);
                rest = &rest[start + end + 1..];
            }
            _ => break,
        }
    }
    if pieces.is_empty() {
        return want == got;
    }
    pieces.push(rest);
    let mut at = 0;
    let last = pieces.len() - 1;
    for (i, piece) in pieces.iter().enumerate() {
        if i == 0 {
            if !got.starts_with(piece) {
                return false;
            }
            at = piece.len();
        } else if i == last {
            return got.len() >= at + piece.len() && got.ends_with(piece);
        } else {
            match got[at..].find(piece) {
                Some(p) => at += p + piece.len(),
                None => return false,
            }
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_recorded_executions_end_as_they_did_on_aws() {
    let cases: Cases = serde_json::from_str(CASES).expect("conformance/cases.json parses");
    let differences: Vec<Difference> = serde_json::from_str(DIFFERENCES).expect("conformance/differences.json parses");
    let known: BTreeMap<&str, &str> = differences.iter().map(|d| (d.id.as_str(), d.reason.as_str())).collect();

    let runs = cases.cases.iter().map(|case| {
        let masks = &cases.masks;
        async move {
            let verdict = tokio::time::timeout(std::time::Duration::from_secs(60), run(case, masks))
                .await
                .unwrap_or_else(|_| Verdict::Fail("did not finish in 60 s".into()));
            (case.id.as_str(), verdict)
        }
    });
    let verdicts = futures::future::join_all(runs).await;

    let (mut passed, mut supported) = (0, 0);
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    for (id, verdict) in &verdicts {
        match verdict {
            Verdict::Unsupported(why) => *unsupported.entry(reason_class(why)).or_default() += 1,
            Verdict::Pass => {
                supported += 1;
                passed += 1;
                if known.contains_key(id) {
                    fixed.push(*id);
                }
            }
            Verdict::Fail(why) => {
                supported += 1;
                if !known.contains_key(id) {
                    let why: String = why.chars().take(600).collect();
                    unexpected.push(format!("{id}: {why}"));
                }
            }
        }
    }
    let listed = supported - passed;
    println!(
        "{passed} of {supported} AWS-recorded cases pass ({listed} documented differences); {} cases the local cloud does not claim to support:",
        verdicts.len() - supported
    );
    for (why, n) in &unsupported {
        println!("  {n:4}  {why}");
    }
    assert!(
        unexpected.is_empty(),
        "{} cases end differently from AWS:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "listed as differences but now pass; remove them from differences.json and README:\n{}",
        fixed.join("\n")
    );
    let claim = format!("{passed} of {supported} AWS-recorded cases");
    assert!(
        README.contains(&claim),
        "README's local-cloud section must report \"{claim}\""
    );
    for d in &differences {
        assert!(
            README.contains(&d.id),
            "README must list the documented difference {}",
            d.id
        );
    }
}

/// Groups refusals by feature: the message up to the first quote-delimited detail.
fn reason_class(why: &str) -> String {
    why.split(" in state ")
        .next()
        .unwrap_or(why)
        .chars()
        .take(110)
        .collect()
}

#[test]
fn masks_and_placeholders_match_only_where_the_recording_was_masked() {
    let masks = vec!["RandomNumberGenerated".to_owned()];
    assert!(matches(&Value::from("RandomNumberGenerated"), &Value::from(42), &masks));
    assert!(matches(&Value::from("<uuid:1>"), &Value::from("9b1d…"), &masks));
    assert!(glob(
        "arn:<partition>:states:<region>:1:x",
        "arn:aws:states:us-east-1:1:x"
    ));
    assert!(!glob(
        "arn:<partition>:states:<region>:1:x",
        "arn:aws:lambda:us-east-1:1:x"
    ));
    assert!(!matches(&Value::from(1), &Value::from(1.0), &masks));
    assert!(!matches(
        &serde_json::json!({"a": 1}),
        &serde_json::json!({"a": 1, "b": 2}),
        &masks
    ));
    assert!(matches(
        &Value::from("{\"a\":\"<x>\"}"),
        &Value::from("{\"a\": \"y\"}"),
        &masks
    ));
}
