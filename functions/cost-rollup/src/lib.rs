//! Cost rollup: what each partner and each feed cost, hour by hour, for
//! finance, attributed exactly as `zb cost report` attributes it (the same
//! zb-cost code: REPORT lines, cost records, execution log lines, the same
//! price list), but computed once per closed hour on a schedule and stored,
//! so the admin API reads a few items instead of scanning logs per request.
//!
//! Each run (an EventBridge Scheduled Event; its `time` is the job's only
//! clock) attributes every closed hour after the watermark: it reads each
//! log group's events for the hour (FilterLogEvents), widened by
//! [`zb_cost::usage::WINDOW_MARGIN_MS`] on both sides so that every
//! invocation and execution is seen whole, keeps what belongs to the hour
//! (an invocation by its REPORT line's time, an execution by its last
//! event's), prices it, PutItems the hour's items and then moves the
//! watermark. An hour is closed once that margin has passed after its end,
//! so nothing that belongs to it can still be logged (but for CloudWatch
//! delivering a line later than that).

use chrono::{DateTime, Duration, DurationRound, Utc};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use tracing::Instrument;
use zb_cost::report::CostReport;
use zb_cost::usage::WINDOW_MARGIN_MS;
use zb_cost::{Arch, Choices, LogEvent, PriceBook, Topology, Window};
use zb_shared::cost::CostMeter;
use zb_shared::store::{ByService, CostStore, FeedHour, HourTotal, PartnerHour, StoreError};

/// Hours attributed per run at most. Each hour reads ~92 minutes of every
/// log group, so this bounds one run's reads, memory and duration under the
/// function's timeout (300 s); a job that fell behind (or a first run)
/// catches up 24 hours per run, 24 times faster than hours close, in order.
pub const MAX_HOURS_PER_RUN: usize = 24;

/// The price list `zb cost report` uses by default, compiled in.
const PRICE_LIST: &str = include_str!("../../../pricing/us-east-1.json");

/// `YYYY-MM-DDTHH`: the sort key of the hour items.
pub fn hour_key(hour: DateTime<Utc>) -> String {
    hour.format("%Y-%m-%dT%H").to_string()
}

fn parse_hour(key: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(&format!("{key}:00:00"), "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// The hours one run attributes, oldest first: from the hour after the
/// watermark (without one, the 24 hours before the last closed one) to the
/// last closed hour, at most [`MAX_HOURS_PER_RUN`].
pub fn hours_to_attribute(now: DateTime<Utc>, watermark: Option<&str>) -> Vec<DateTime<Utc>> {
    let hour = Duration::hours(1);
    let margin = Duration::milliseconds(WINDOW_MARGIN_MS);
    let Ok(last) = (now - margin).duration_trunc(hour).map(|h| h - hour) else {
        return Vec::new();
    };
    let first = match watermark.and_then(parse_hour) {
        Some(w) => w + hour,
        None => last - hour * (MAX_HOURS_PER_RUN as i32 - 1),
    };
    let mut out = Vec::new();
    let mut h = first;
    while h <= last && out.len() < MAX_HOURS_PER_RUN {
        out.push(h);
        h += hour;
    }
    out
}

pub struct App {
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub store: CostStore,
    /// Every log group read: the functions', the pipeline's execution log,
    /// the partner API's access log (what `zb cost report --source
    /// cloudwatch` reads by default).
    pub groups: Vec<String>,
    pub topology: Topology,
    pub book: PriceBook,
    pub choices: Choices,
    pub function_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error(transparent)]
    Config(#[from] zb_shared::config::ConfigError),
    #[error("the price list compiled in is invalid: {0}")]
    Pricing(#[from] zb_cost::PricingError),
    #[error("DescribeStateMachine {arn}: {detail}")]
    StateMachine { arn: String, detail: String },
    #[error("the event has no RFC 3339 `time` (an EventBridge Scheduled Event has one): {0}")]
    BadEvent(String),
    #[error("FilterLogEvents on {group}: {detail}")]
    Logs {
        group: String,
        detail: String,
        transient: bool,
    },
    #[error("the cost of {hour} could not be stored: {source}")]
    Store {
        hour: String,
        #[source]
        source: StoreError,
    },
}

impl From<RollupError> for lambda_runtime::Diagnostic {
    fn from(e: RollupError) -> Self {
        let error_type = match &e {
            RollupError::Config(_) | RollupError::Pricing(_) | RollupError::StateMachine { .. } => {
                "CostRollupMisconfigured"
            }
            RollupError::BadEvent(_) => "BadEvent",
            RollupError::Logs { transient: true, .. } => "TransientDependencyError",
            RollupError::Store { source, .. } if source.is_transient() => "TransientDependencyError",
            RollupError::Logs { .. } => "LogsError",
            RollupError::Store { .. } => "StoreError",
        };
        Self {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// A comma-separated setting, blanks dropped.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The Lambda architecture this binary was built for: the stack's (every
/// function shares Globals' Architectures), so its GB-seconds are priced at
/// the deployed rate.
pub fn deployed_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::Arm64
    } else {
        Arch::X86_64
    }
}

impl App {
    /// Reads the settings template.yaml gives the function:
    /// LOG_GROUP_PREFIX (`/aws/lambda/<stack>-`), FUNCTIONS and
    /// API_FUNCTIONS (names after the prefix), PIPELINE_LOG_GROUP,
    /// ACCESS_LOG_GROUP, ORDER_PIPELINE_STATE_MACHINE_ARN, METRICS_TABLE.
    pub async fn from_env() -> Result<Self, RollupError> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let prefix = required_env("LOG_GROUP_PREFIX")?;
        let functions = list(&required_env("FUNCTIONS")?);
        let api_functions = list(&required_env("API_FUNCTIONS")?);
        let arn = required_env("ORDER_PIPELINE_STATE_MACHINE_ARN")?;
        // Express bills memory from the definition's size; Step Functions
        // returns the definition as deployed (substitutions applied).
        let sfn = aws_sdk_sfn::Client::new(&sdk);
        let definition = sfn
            .describe_state_machine()
            .state_machine_arn(&arn)
            .send()
            .await
            .map_err(|e| RollupError::StateMachine {
                arn: arn.clone(),
                detail: aws_sdk_sfn::error::DisplayErrorContext(&e).to_string(),
            })?
            .definition
            .len() as u64;
        let stack_prefix = prefix.strip_prefix("/aws/lambda/").unwrap_or(&prefix).to_string();
        let mut groups: Vec<String> = functions.iter().map(|f| format!("{prefix}{f}")).collect();
        groups.push(required_env("PIPELINE_LOG_GROUP")?);
        groups.push(required_env("ACCESS_LOG_GROUP")?);
        Ok(Self {
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            store: CostStore::new(aws_sdk_dynamodb::Client::new(&sdk), required_env("METRICS_TABLE")?),
            groups,
            topology: Topology {
                api_functions: api_functions.iter().map(|f| format!("{stack_prefix}{f}")).collect(),
                definition_bytes: definition,
            },
            book: PriceBook::parse(PRICE_LIST)?,
            choices: Choices {
                arch: deployed_arch(),
                ..Choices::default()
            },
            function_name: zb_shared::config::function_name("cost-rollup"),
        })
    }

    /// The compiled-in price list (what `zb cost report` reads from pricing/).
    pub fn price_list() -> Result<PriceBook, zb_cost::PricingError> {
        PriceBook::parse(PRICE_LIST)
    }
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollupReport {
    /// The hours attributed, `YYYY-MM-DDTHH`, oldest first.
    pub hours: Vec<String>,
    /// The watermark after the run.
    pub watermark: Option<String>,
    pub events_read: u64,
    pub warnings: Vec<String>,
}

/// The EventBridge Scheduled Event: only its `time` is read.
pub async fn handler(app: &App, event: LambdaEvent<Value>) -> Result<RollupReport, RollupError> {
    let now = event
        .payload
        .get("time")
        .and_then(Value::as_str)
        .ok_or_else(|| RollupError::BadEvent("no time".into()))
        .and_then(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| RollupError::BadEvent(format!("{t:?}: {e}")))
        })?;
    let meter = CostMeter::default();
    let (mut cost, started) = zb_shared::cost::CostRecord::start(&app.function_name);
    cost.request_id = Some(event.context.request_id.clone());
    let span = zb_shared::invocation_span!(event.context.request_id.as_str());
    let result = run(app, now, &meter).instrument(span.clone()).await;
    let _entered = span.enter();
    cost.finish(started, &meter).emit();
    match &result {
        Ok(r) => tracing::info!(hours = ?r.hours, watermark = ?r.watermark, events = r.events_read, "cost attributed"),
        Err(e) => tracing::error!(error = %e, "cost rollup failed"),
    }
    result
}

/// Attributes every closed hour after the watermark, as of `now`.
pub async fn run(app: &App, now: DateTime<Utc>, meter: &CostMeter) -> Result<RollupReport, RollupError> {
    let store_err = |hour: &str| {
        let hour = hour.to_string();
        move |source| RollupError::Store { hour, source }
    };
    let watermark = app.store.watermark(meter).await.map_err(store_err("watermark"))?;
    let mut report = RollupReport {
        watermark: watermark.clone(),
        ..RollupReport::default()
    };
    for hour in hours_to_attribute(now, watermark.as_deref()) {
        let key = hour_key(hour);
        let window = Window {
            start_ms: hour.timestamp_millis(),
            end_ms: (hour + Duration::hours(1)).timestamp_millis(),
        };
        let (events, mut warnings) = read_window(app, window).await?;
        report.events_read += events.len() as u64;
        let usage = zb_cost::collect_window(&events, Vec::new(), &app.topology, window);
        let cost = zb_cost::report::build(&usage, &app.book, &app.choices, app.topology.definition_bytes);
        warnings.extend(usage.warnings.iter().cloned());
        let (partners, feeds, total) = hour_items(&key, &usage, &cost, warnings.clone());
        app.store
            .write_hour(&partners, &feeds, &total, meter)
            .await
            .map_err(store_err(&key))?;
        // Only after the hour's items are written: a run that fails between
        // writes the same items again next time.
        app.store
            .advance_watermark(&key, meter)
            .await
            .map_err(store_err(&key))?;
        report.watermark = Some(key.clone());
        report
            .warnings
            .extend(warnings.into_iter().map(|w| format!("{key}: {w}")));
        report.hours.push(key);
    }
    Ok(report)
}

/// Every group's events over the window's read range.
async fn read_window(app: &App, window: Window) -> Result<(Vec<LogEvent>, Vec<String>), RollupError> {
    let (from, to) = window.read_range();
    let mut events = Vec::new();
    let mut warnings = Vec::new();
    for group in &app.groups {
        let mut token: Option<String> = None;
        loop {
            let page = app
                .logs
                .filter_log_events()
                .log_group_name(group)
                .start_time(from)
                // endTime is inclusive; the read range's end is not needed whole.
                .end_time(to)
                .set_next_token(token.take())
                .send()
                .await;
            let page = match page {
                Ok(p) => p,
                // A group that was never written to (a function not yet
                // invoked, access logs off) has nothing to attribute.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    warnings.push(format!("log group {group} does not exist; skipped"));
                    break;
                }
                Err(e) => {
                    let transient = matches!(
                        e,
                        aws_sdk_cloudwatchlogs::error::SdkError::TimeoutError(_)
                            | aws_sdk_cloudwatchlogs::error::SdkError::DispatchFailure(_)
                            | aws_sdk_cloudwatchlogs::error::SdkError::ResponseError(_)
                    ) || e
                        .as_service_error()
                        .is_some_and(|s| s.is_service_unavailable_exception());
                    return Err(RollupError::Logs {
                        group: group.clone(),
                        detail: aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e).to_string(),
                        transient,
                    });
                }
            };
            events.extend(page.events().iter().map(|e| LogEvent {
                log_group_name: group.clone(),
                log_stream_name: e.log_stream_name().unwrap_or_default().to_string(),
                timestamp: e.timestamp().unwrap_or_default(),
                message: e.message().unwrap_or_default().to_string(),
                ingestion_time: e.ingestion_time(),
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok((events, warnings))
}

/// zb-cost's service names (`apiGateway`, ...), as its JSON report spells them.
fn by_service(by: &BTreeMap<zb_cost::Service, zb_cost::Decimal>) -> ByService {
    by.iter()
        .map(|(s, usd)| {
            let name = serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| s.name().to_string());
            (name, *usd)
        })
        .collect()
}

/// The items of one hour, from its report (and its usage, for which feeds
/// were received in it).
pub fn hour_items(
    hour: &str,
    usage: &zb_cost::Usage,
    cost: &CostReport,
    warnings: Vec<String>,
) -> (Vec<PartnerHour>, Vec<FeedHour>, HourTotal) {
    // A feed is received in the hour its POST (ingest, an API request) ended in.
    let received: Vec<(&Option<String>, &Option<String>)> = usage
        .feeds
        .iter()
        .filter(|f| !f.api_requests.is_empty())
        .map(|f| (&f.feed_id, &f.partner_id))
        .collect();
    let partners = cost
        .partners
        .iter()
        .filter_map(|p| {
            let id = p.partner_id.clone()?;
            Some(PartnerHour {
                feeds: received
                    .iter()
                    .filter(|(_, pid)| pid.as_deref() == Some(id.as_str()))
                    .count() as u64,
                partner_id: id,
                hour: hour.to_string(),
                total_usd: p.usd,
                by_service: by_service(&p.by_service),
                orders: p.orders,
            })
        })
        .collect();
    let feeds = cost
        .feeds
        .iter()
        .filter_map(|f| {
            Some(FeedHour {
                feed_id: f.feed_id.clone()?,
                partner_id: f.partner_id.clone(),
                hour: hour.to_string(),
                total_usd: f.usd,
                by_service: by_service(&f.by_service),
                orders: f.orders,
            })
        })
        .collect();
    let total = HourTotal {
        hour: hour.to_string(),
        total_usd: cost.total.usd,
        unattributed_usd: cost.unattributed.usd,
        by_service: by_service(&cost.total.by_service),
        feeds: received.len() as u64,
        pricing_version: cost.pricing.version.clone(),
        warnings,
    };
    (partners, feeds, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    #[test]
    fn an_hour_closes_once_its_margin_has_passed() {
        let keys = |now: &str, w: Option<&str>| -> Vec<String> {
            hours_to_attribute(at(now), w).into_iter().map(hour_key).collect()
        };
        // 14:20 - 16 min = 14:04: 13:00-14:00 is closed.
        assert_eq!(
            keys("2026-11-25T14:20:00Z", Some("2026-11-25T12")),
            vec!["2026-11-25T13"]
        );
        // 14:10: 13:00-14:00 still takes late lines until 14:16.
        assert!(keys("2026-11-25T14:10:00Z", Some("2026-11-25T12")).is_empty());
        assert!(keys("2026-11-25T14:20:00Z", Some("2026-11-25T13")).is_empty());
        // Across midnight, and a first run: the 24 hours before the last closed one.
        assert_eq!(
            keys("2026-11-26T01:30:00Z", Some("2026-11-25T22")),
            vec!["2026-11-25T23", "2026-11-26T00"]
        );
        let first = keys("2026-11-25T14:20:00Z", None);
        assert_eq!(first.len(), MAX_HOURS_PER_RUN);
        assert_eq!(
            (first[0].as_str(), first[23].as_str()),
            ("2026-11-24T14", "2026-11-25T13")
        );
        // Far behind: 24 per run, oldest first.
        let behind = keys("2026-11-25T14:20:00Z", Some("2026-11-20T00"));
        assert_eq!((behind.len(), behind[0].as_str()), (24, "2026-11-20T01"));
    }

    #[test]
    fn the_compiled_price_list_is_the_repositorys() {
        let book = App::price_list().unwrap();
        let repo =
            PriceBook::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pricing/us-east-1.json"))
                .unwrap();
        assert_eq!(book, repo);
    }
}
