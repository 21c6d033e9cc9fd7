//! The state machines and their executions, for the ops console (issue 15):
//!
//! - `GET /v1/admin/state-machines`: DescribeStateMachine of the order
//!   pipeline and webhook-delivery (the ARNs in the environment), each with
//!   its definition as JSON.
//! - `GET /v1/admin/feeds/{feedId}/executions`: the pipeline's executions of
//!   a feed, found in the pipeline's log group (its loggingConfiguration):
//!   Express executions have no other record on AWS, and a Standard pipeline
//!   logs there too, so one way serves both workflow types.
//! - `GET /v1/admin/executions/{executionArn}`: one execution with its
//!   events; a Standard one from DescribeExecution + GetExecutionHistory, an
//!   Express one (`:express:` ARN) from its log lines.

use crate::feeds::find;
use crate::params::id_path;
use crate::{bad_parameter, not_found, Answer, App, Ctx, Fail};
use serde_json::{json, Value};
use zb_shared::executions::{ExecutionArn, ExecutionReader, ExecutionView, ExecutionsError, MachineInfo};
use zb_shared::workflow::ExecutionStarter;

/// A feed id in a path (as feeds.rs bounds it).
const MAX_FEED_ID: usize = 64;
/// An execution ARN: AWS bounds ARNs at 256 characters (…/API_DescribeExecution.html,
/// executionArn); an Express ARN adds an execution id, so allow twice that.
const MAX_ARN: usize = 512;
/// How far before a feed's receipt its first execution may have logged its
/// start: clocks of different services differ a little.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::minutes(5);

/// The state machines the admin API shows, by the key the console uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machines {
    pub order_pipeline: String,
    pub webhook_delivery: String,
}

impl Machines {
    fn keyed(&self) -> [(&'static str, &str); 2] {
        [
            ("order-pipeline", self.order_pipeline.as_str()),
            ("webhook-delivery", self.webhook_delivery.as_str()),
        ]
    }
}

impl From<ExecutionsError> for Fail {
    fn from(e: ExecutionsError) -> Self {
        match e {
            ExecutionsError::Transient(m) => Fail::Unavailable(m),
            ExecutionsError::Failed(m) => Fail::Internal(m),
        }
    }
}

/// DescribeStateMachine, its failures sorted as every dependency's.
async fn describe(reader: &ExecutionReader, arn: &str) -> Result<MachineInfo, Fail> {
    Ok(reader.machine(arn).await?)
}

/// GET /v1/admin/state-machines.
pub async fn state_machines<S: ExecutionStarter>(app: &App<S>, _ctx: &Ctx<'_>) -> Answer {
    let mut items = Vec::new();
    for (key, arn) in app.machines.keyed() {
        let m = describe(&app.executions, arn).await?;
        let definition: Value = serde_json::from_str(&m.definition)
            .map_err(|e| Fail::Internal(format!("the definition of {arn} is not JSON: {e}")))?;
        items.push(json!({
            "key": key,
            "name": m.name,
            "stateMachineArn": m.state_machine_arn,
            "type": m.kind,
            "definition": definition,
        }));
    }
    Ok((200, json!({ "items": items })))
}

/// Who started an execution, by the names we give: `<feedId>-redrive-<n>`
/// (the admin API), `…-sweep-<n>` (the stuck-feed sweeper); any other name
/// was picked by AWS for the EventBridge rule's target.
fn started_by(name: &str, feed_id: &str) -> &'static str {
    let Some(rest) = name.strip_prefix(feed_id) else {
        return "rule";
    };
    if rest.contains("-sweep-") {
        "sweeper"
    } else if rest.starts_with("-redrive-") {
        "redrive"
    } else {
        "rule"
    }
}

fn rfc3339_ms(ms: i64) -> String {
    zb_shared::time::format_utc(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

/// GET /v1/admin/feeds/{feedId}/executions: oldest first.
pub async fn of_feed<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let feed_id = id_path(ctx, "feedId", MAX_FEED_ID)?;
    tracing::Span::current().record("feedId", feed_id.as_str());
    let feed = find(app, ctx, &feed_id).await?;
    let pipeline = describe(&app.executions, &app.machines.order_pipeline).await?;
    let Some(group) = pipeline.log_group else {
        return Err(Fail::Internal(format!(
            "the order pipeline {} logs to no log group",
            app.machines.order_pipeline
        )));
    };
    let since = zb_shared::time::parse_rfc3339(&feed.received_at)
        .ok()
        .map(|t| t - CLOCK_SLACK);
    let runs = app.executions.runs_for_feed(&group, &feed_id, since).await?;
    let items: Vec<Value> = runs
        .iter()
        .map(|r| {
            let name = ExecutionArn::parse(&r.execution_arn)
                .map(|a| a.name)
                .unwrap_or_default();
            let mut v = json!({
                "executionArn": r.execution_arn,
                "name": name,
                "status": r.status,
                "startDate": rfc3339_ms(r.start_ms),
                "by": started_by(&name, &feed_id),
            });
            if let Some(stop) = r.stop_ms {
                v["stopDate"] = json!(rfc3339_ms(stop));
            }
            v
        })
        .collect();
    Ok((200, json!({ "items": items })))
}

/// `%XX` sequences decoded (API Gateway may hand the path parameter on
/// either way); None when one is malformed or the result is not UTF-8.
fn percent_decoded(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn bad_arn(detail: impl Into<String>) -> Fail {
    bad_parameter("executionArn", detail).into()
}

/// The `{executionArn}` of the path, decoded and taken apart.
fn arn_path(ctx: &Ctx<'_>) -> Result<(String, ExecutionArn), Fail> {
    let raw = ctx.path_param("executionArn");
    let arn = percent_decoded(raw).ok_or_else(|| bad_arn("a %-escape is malformed"))?;
    if arn.is_empty() || arn.len() > MAX_ARN || !arn.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad_arn(format!("must be 1 to {MAX_ARN} printable characters")));
    }
    let parsed = ExecutionArn::parse(&arn).ok_or_else(|| {
        bad_arn("not an execution ARN (arn:<partition>:states:<region>:<account>:execution|express:<machine>:<name>)")
    })?;
    Ok((arn, parsed))
}

fn view_body(key: &str, machine_arn: &str, express: bool, v: ExecutionView) -> Value {
    // An ARN's resource type says the workflow type: `express` or `execution`.
    let kind = if express { "EXPRESS" } else { "STANDARD" };
    let mut body = json!({
        "executionArn": v.execution_arn,
        "name": v.name,
        "stateMachine": {"key": key, "type": kind, "stateMachineArn": machine_arn},
        "status": v.status,
        "startDate": zb_shared::time::format_utc(v.start),
        "source": v.source,
        "events": v.events,
    });
    if let Some(stop) = v.stop {
        body["stopDate"] = json!(zb_shared::time::format_utc(stop));
    }
    for (name, value) in [
        ("input", v.input),
        ("output", v.output),
        ("error", v.error),
        ("cause", v.cause),
    ] {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    body
}

/// GET /v1/admin/executions/{executionArn}.
pub async fn show<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let (arn, parsed) = arn_path(ctx)?;
    let missing = || -> Fail { not_found(format!("no execution {arn} of this stack's state machines")).into() };
    let (key, machine_arn) = app
        .machines
        .keyed()
        .into_iter()
        .find(|(_, m)| parsed.of_machine(m))
        .ok_or_else(missing)?;
    let view = if parsed.express {
        // Express executions exist only in their machine's log group.
        let machine = describe(&app.executions, machine_arn).await?;
        match machine.log_group {
            Some(group) => app.executions.from_log(&group, &arn).await?,
            None => None,
        }
    } else {
        app.executions.from_history(&arn).await?
    };
    let view = view.ok_or_else(missing)?;
    Ok((200, view_body(key, machine_arn, parsed.express, view)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starters_are_told_by_the_names_we_give() {
        let f = "0190a000-0000-7000-8000-000000000001";
        assert_eq!(started_by("5b7f0c1e-aaaa-4bbb-8ccc-000000000000", f), "rule");
        assert_eq!(started_by(&format!("{f}-redrive-2"), f), "redrive");
        assert_eq!(started_by(&format!("{f}-sweep-1"), f), "sweeper");
        assert_eq!(started_by(&format!("{f}-redrive-1-sweep-3"), f), "sweeper");
    }

    #[test]
    fn arns_are_taken_encoded_or_not() {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:n";
        assert_eq!(percent_decoded(arn).as_deref(), Some(arn));
        assert_eq!(
            percent_decoded("arn%3Aaws%3Astates%3Aus-east-1%3A123456789012%3Aexecution%3Am%3An").as_deref(),
            Some(arn)
        );
        assert_eq!(percent_decoded("arn%3"), None);
        assert_eq!(percent_decoded("arn%zz"), None);
        assert_eq!(percent_decoded("%ff"), None);
    }
}
