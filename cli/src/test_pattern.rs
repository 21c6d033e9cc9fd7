//! `zb test-pattern <RuleLogicalId|pattern.json> --event <file>`: does the
//! event match the rule's pattern, and if not, which field failed. The
//! matcher is the one the local cloud routes with (and TestEventPattern
//! answers with); no cloud needs to run.

use crate::logs::{paint, use_color};
use crate::render::Output;
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zb_event_pattern::Pattern;

#[derive(Debug, thiserror::Error)]
pub enum TestPatternError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not JSON: {source}")]
    Json { path: String, source: serde_json::Error },
    #[error(transparent)]
    Template(#[from] zb_local::template::TemplateError),
    #[error("{0}")]
    Usage(String),
    #[error("the pattern of {what} is not valid: {reason}")]
    Pattern { what: String, reason: String },
}

#[derive(Debug, Args)]
#[command(
    after_help = "No cloud is needed: the matcher is the local cloud's own. Exit status 0 on a match, 1 otherwise."
)]
pub struct TestPatternArgs {
    /// A rule in template.yaml (logical id such as NotifyRule, or its name), or a file holding an event pattern
    pub rule: String,
    /// The event: an EventBridge event, or a PutEvents entry (Source, DetailType, Detail)
    #[arg(long, short = 'e')]
    pub event: PathBuf,
    /// The repository root (template.yaml)
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Stack name, for rule names
    #[arg(long, default_value = "zb")]
    pub stack: String,
}

fn read_json(path: &Path) -> Result<Value, TestPatternError> {
    let text = std::fs::read_to_string(path).map_err(|source| TestPatternError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| TestPatternError::Json {
        path: path.display().to_string(),
        source,
    })
}

/// The pattern, and what to call it in messages.
fn pattern_of(args: &TestPatternArgs) -> Result<(String, Value), TestPatternError> {
    let as_file = Path::new(&args.rule);
    if as_file.is_file() {
        return Ok((as_file.display().to_string(), read_json(as_file)?));
    }
    let model = zb_local::template::load(&args.repo.join("template.yaml"), &args.stack, &BTreeMap::new())?;
    match model
        .rules
        .iter()
        .find(|r| r.logical_id == args.rule || r.name == args.rule)
    {
        Some(rule) => Ok((format!("rule {}", rule.logical_id), rule.pattern.clone())),
        None => {
            let ids: Vec<&str> = model.rules.iter().map(|r| r.logical_id.as_str()).collect();
            Err(TestPatternError::Usage(format!(
                "{} is neither a file nor a rule in template.yaml; its rules are {}",
                args.rule,
                ids.join(", ")
            )))
        }
    }
}

/// A PutEvents entry becomes the event EventBridge would build from it; an
/// event is taken as it is.
pub(crate) fn as_event(value: Value) -> Value {
    let is_entry = value.get("DetailType").is_some() || value.get("Detail").is_some();
    if !is_entry || value.get("detail-type").is_some() {
        return value;
    }
    let detail = value
        .get("Detail")
        .and_then(Value::as_str)
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or_else(|| value.get("Detail").cloned().unwrap_or(json!({})));
    json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": value.get("DetailType").cloned().unwrap_or(Value::Null),
        "source": value.get("Source").cloned().unwrap_or(Value::Null),
        "account": zb_local::template::ACCOUNT,
        "time": value.get("Time").cloned().unwrap_or_else(|| json!(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string())),
        "region": zb_local::template::REGION,
        "resources": value.get("Resources").cloned().unwrap_or(json!([])),
        "detail": detail,
    })
}

/// What the command found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub what: String,
    /// None: a match; Some((field, reason)): the first field that failed.
    pub mismatch: Option<(String, String)>,
}

pub(crate) fn render(v: &Verdict, color: bool) -> String {
    match &v.mismatch {
        None => format!("{} — the event matches {}\n", paint(color, "32", "✓ match"), v.what),
        Some((field, reason)) => format!(
            "{} — the event does not match {}\n  field  {}\n  why    {reason}\n",
            paint(color, "1;31", "✗ no match"),
            v.what,
            paint(color, "1", field)
        ),
    }
}

/// True when the event matches.
pub fn run(output: Output, args: TestPatternArgs) -> Result<bool, TestPatternError> {
    let (what, pattern_json) = pattern_of(&args)?;
    let pattern = Pattern::parse(&pattern_json).map_err(|e| TestPatternError::Pattern {
        what: what.clone(),
        reason: e.to_string(),
    })?;
    let event = as_event(read_json(&args.event)?);
    let verdict = Verdict {
        what,
        mismatch: pattern.explain(&event).err().map(|m| (m.field, m.reason)),
    };
    match output {
        Output::Table => print!("{}", render(&verdict, use_color())),
        Output::Json => {
            let mut v = json!({"Result": verdict.mismatch.is_none(), "pattern": verdict.what});
            if let Some((field, reason)) = &verdict.mismatch {
                v["field"] = json!(field);
                v["reason"] = json!(reason);
            }
            println!("{v}");
        }
    }
    Ok(verdict.mismatch.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_events_entry_becomes_an_event() {
        let entry =
            json!({"Source": "zerobeta.orders", "DetailType": "OrdersPersisted", "Detail": "{\"feedId\":\"f\"}"});
        let event = as_event(entry);
        assert_eq!(event["detail-type"], "OrdersPersisted");
        assert_eq!(event["source"], "zerobeta.orders");
        assert_eq!(event["detail"], json!({"feedId": "f"}));
        let already = json!({"detail-type": "X", "source": "s", "detail": {}});
        assert_eq!(as_event(already.clone()), already);
    }

    #[test]
    fn no_match_names_the_field() {
        let text = render(
            &Verdict {
                what: "rule NotifyRule".into(),
                mismatch: Some(("detail-type".into(), "value \"X\" does not match [\"Y\"]".into())),
            },
            false,
        );
        assert_eq!(
            text,
            "✗ no match — the event does not match rule NotifyRule\n  field  detail-type\n  why    value \"X\" does not match [\"Y\"]\n"
        );
        let ok = render(
            &Verdict {
                what: "p.json".into(),
                mismatch: None,
            },
            false,
        );
        assert_eq!(ok, "✓ match — the event matches p.json\n");
    }
}
