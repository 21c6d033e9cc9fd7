//! Sweeper: the safety net under "a 202 means the feed finishes". Run on a
//! schedule, it finds feeds that are still unfinished (in the sparse
//! `byPending` index) and untouched for longer than the stuck bound: their
//! OrderFeedReceived never started an execution (a target that exhausted
//! its retries, an Express execution lost at start), or the execution died
//! where no Catch could act (an execution timeout, a bug).
//!
//! Each such feed is restarted: StartExecution of the order pipeline with
//! the feed's reference, which is idempotent (conditional order writes,
//! deterministic error keys). After `max_restarts` restarts the feed is
//! marked FAILED with every order recorded as PIPELINE_FAILED, without any
//! help from Step Functions, so even a pipeline that cannot start at all
//! ends every accepted feed. Each attempt is claimed with a conditional
//! write first, so overlapping sweeps start nothing twice.

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tracing::Instrument;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::CostMeter;
use zb_shared::events::{EventBridgeSink, EventSink};
use zb_shared::feed::Failure;
use zb_shared::pipeline::FeedRef;
use zb_shared::record::Recorder;
use zb_shared::store::{PendingFeed, StoreError, PENDING_SHARDS};
use zb_shared::workflow::{ExecutionStarter, SfnStarter};

/// Candidates read per shard and run: bounds one run's work (and its
/// duration under the function's timeout); a longer backlog is taken by the
/// next runs.
const PER_SHARD: i32 = 100;

/// The error the sweeper gives a feed it had to fail.
pub const FEED_STUCK: &str = "FeedStuck";

pub struct App<E: EventSink, S: ExecutionStarter> {
    pub recorder: Recorder<E>,
    pub pipeline: S,
    pub clock: Arc<dyn Clock>,
    /// A feed untouched for this long is stuck (STUCK_FEED_AFTER_SECONDS).
    pub stuck_after: chrono::Duration,
    /// Restarts before the feed is failed (STUCK_FEED_MAX_RESTARTS).
    pub max_restarts: u32,
    pub function_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Config(#[from] zb_shared::config::ConfigError),
    #[error("{name} must be a whole number, got {value:?}")]
    BadSetting { name: &'static str, value: String },
    #[error("no shard of the pending index could be read: {0}")]
    Unreadable(StoreError),
}

impl From<SweepError> for lambda_runtime::Diagnostic {
    fn from(e: SweepError) -> Self {
        let error_type = match &e {
            SweepError::Config(_) | SweepError::BadSetting { .. } => "SweeperMisconfigured",
            SweepError::Unreadable(e) if e.is_transient() => "TransientDependencyError",
            SweepError::Unreadable(_) => "StoreError",
        };
        Self {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

fn setting(name: &'static str) -> Result<u64, SweepError> {
    let value = zb_shared::config::required_env(name)?;
    value.parse().map_err(|_| SweepError::BadSetting { name, value })
}

impl App<EventBridgeSink, SfnStarter> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let stuck_after = i64::try_from(setting("STUCK_FEED_AFTER_SECONDS")?).unwrap_or(i64::MAX / 1000);
        Ok(Self {
            recorder: Recorder::from_env(&sdk)?,
            pipeline: SfnStarter::new(
                aws_sdk_sfn::Client::new(&sdk),
                required_env("ORDER_PIPELINE_STATE_MACHINE_ARN")?,
            ),
            clock: Arc::new(SystemClock),
            stuck_after: chrono::Duration::seconds(stuck_after),
            max_restarts: u32::try_from(setting("STUCK_FEED_MAX_RESTARTS")?).unwrap_or(u32::MAX),
            function_name: zb_shared::config::function_name("sweeper"),
        })
    }
}

/// What one run did, by feed id.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub restarted: Vec<String>,
    pub failed: Vec<String>,
    /// Candidates another sweep or the pipeline itself got to first.
    pub skipped: usize,
    /// Feeds whose restart or failure could not be written; the next run
    /// sees them again.
    pub errors: usize,
}

fn feed_ref(p: &PendingFeed) -> FeedRef {
    FeedRef {
        feed_id: p.feed_id.clone(),
        partner_id: p.partner_id.clone(),
        format: p.format.clone(),
        received_at: p.received_at.clone(),
        request_id: p.request_id.clone(),
        correlation_id: p.correlation_id.clone(),
    }
}

/// The EventBridge scheduled event (or anything, for a manual run): the
/// sweep reads nothing from it.
pub async fn handler<E: EventSink, S: ExecutionStarter>(
    app: &App<E, S>,
    event: LambdaEvent<Value>,
) -> Result<SweepReport, SweepError> {
    let meter = CostMeter::default();
    let (mut cost, started) = zb_shared::cost::CostRecord::start(&app.function_name);
    cost.request_id = Some(event.context.request_id.clone());
    let span = zb_shared::invocation_span!(event.context.request_id.as_str());
    let result = sweep(app, &meter).instrument(span.clone()).await;
    let _entered = span.enter();
    cost.finish(started, &meter).emit();
    let report = result?;
    // No dimension: stuck feeds are alarming whoever's they are.
    zb_shared::cost::emit_platform_metrics(&[
        ("StuckFeedsRestarted", report.restarted.len() as f64),
        ("StuckFeedsFailed", report.failed.len() as f64),
        ("StuckFeedSweepErrors", report.errors as f64),
    ]);
    Ok(report)
}

async fn sweep<E: EventSink, S: ExecutionStarter>(
    app: &App<E, S>,
    meter: &CostMeter,
) -> Result<SweepReport, SweepError> {
    let now = app.clock.now();
    let now_text = zb_shared::time::format_utc(now);
    let cutoff = zb_shared::time::format_utc(now - app.stuck_after);
    let mut report = SweepReport::default();
    let mut unreadable = Vec::new();
    for shard in 0..PENDING_SHARDS {
        let shard = format!("P{shard}");
        let stuck = match app
            .recorder
            .feeds
            .pending_before(&shard, &cutoff, PER_SHARD, meter)
            .await
        {
            Ok(stuck) => stuck,
            Err(e) => {
                tracing::error!(%shard, error = %e, "could not read a shard of the pending index");
                unreadable.push(e);
                continue;
            }
        };
        for feed in stuck {
            sweep_one(app, &feed, now, &now_text, meter, &mut report).await;
        }
    }
    if unreadable.len() == usize::from(PENDING_SHARDS) {
        if let Some(e) = unreadable.pop() {
            return Err(SweepError::Unreadable(e));
        }
    }
    tracing::info!(
        restarted = report.restarted.len(),
        failed = report.failed.len(),
        skipped = report.skipped,
        errors = report.errors,
        "sweep done"
    );
    Ok(report)
}

async fn sweep_one<E: EventSink, S: ExecutionStarter>(
    app: &App<E, S>,
    feed: &PendingFeed,
    now: chrono::DateTime<chrono::Utc>,
    now_text: &str,
    meter: &CostMeter,
    report: &mut SweepReport,
) {
    let feeds = &app.recorder.feeds;
    let redrives = match feeds.claim_sweep(feed, now_text, meter).await {
        Ok(Some(redrives)) => redrives,
        Ok(None) => {
            report.skipped += 1;
            return;
        }
        Err(e) => {
            tracing::error!(feedId = %feed.feed_id, error = %e, "could not claim a stuck feed");
            report.errors += 1;
            return;
        }
    };
    let reference = feed_ref(feed);
    if feed.sweep_attempts < app.max_restarts {
        let attempt = feed.sweep_attempts + 1;
        // A name per attempt: a retried start of the same attempt is the same execution.
        let name = zb_shared::feed::sweep_execution_name(&feed.feed_id, redrives, attempt);
        let input = json!(reference).to_string();
        match app.pipeline.start(&name, input).await {
            Ok(_) => {
                tracing::warn!(feedId = %feed.feed_id, attempt, since = %feed.pending_since, "stuck feed restarted");
                report.restarted.push(feed.feed_id.clone());
            }
            // The attempt is counted; the next sweep after the stuck bound tries again.
            Err(e) => {
                tracing::error!(feedId = %feed.feed_id, attempt, error = %e, "could not restart a stuck feed");
                report.errors += 1;
            }
        }
        return;
    }
    let failure = Failure {
        error: FEED_STUCK.into(),
        cause: format!(
            "the pipeline did not finish this feed (received {}) after {} restarts by the stuck-feed sweeper",
            feed.received_at, feed.sweep_attempts
        ),
    };
    match app
        .recorder
        .record(&reference, Vec::new(), Some(&failure), now, meter)
        .await
    {
        Ok(_) => {
            tracing::error!(feedId = %feed.feed_id, "stuck feed failed; every order recorded as PIPELINE_FAILED");
            report.failed.push(feed.feed_id.clone());
        }
        Err(e) => {
            tracing::error!(feedId = %feed.feed_id, error = %e, "could not fail a stuck feed");
            report.errors += 1;
        }
    }
}
