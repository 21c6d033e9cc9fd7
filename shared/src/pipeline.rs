//! The messages that flow between the state machine's steps. Every message
//! carries the [`FeedRef`] at its top level, so a Catch (`ResultPath:
//! $.failure`) hands RecordErrors everything it needs from any step.

use crate::feed::{Failure, FeedCounts, FeedStatus};
use crate::order::{IndexedOrder, RawOrder};
use crate::rejection::Rejection;
use serde::{Deserialize, Serialize};

/// Identifies a feed; the detail of `OrderFeedReceived` and the state
/// machine's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedRef {
    pub feed_id: String,
    pub partner_id: String,
    /// `<name>@<version>`.
    pub format: String,
    pub received_at: String,
    pub request_id: String,
    pub correlation_id: String,
}

/// Validate's output, Transform's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validated {
    #[serde(flatten)]
    pub feed: FeedRef,
    pub order_count: usize,
    pub valid: Vec<RawOrder>,
    pub rejections: Vec<Rejection>,
}

/// Transform's output, Persist's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transformed {
    #[serde(flatten)]
    pub feed: FeedRef,
    pub order_count: usize,
    pub orders: Vec<IndexedOrder>,
    pub rejections: Vec<Rejection>,
}

/// Persist's output; `rejectedCount` drives the HasRejections choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Persisted {
    #[serde(flatten)]
    pub feed: FeedRef,
    pub order_count: usize,
    pub status: FeedStatus,
    pub counts: FeedCounts,
    pub rejected_count: usize,
    pub rejections: Vec<Rejection>,
}

/// RecordErrors' input: either Persist's output (rejections to record) or
/// any step's input plus a caught `failure` (the whole feed failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorsToRecord {
    #[serde(flatten)]
    pub feed: FeedRef,
    #[serde(default)]
    pub rejections: Vec<Rejection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// RecordErrors' output. `failure` is passed on so the state machine can
/// end a failed feed in its Fail state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorsRecorded {
    #[serde(flatten)]
    pub feed: FeedRef,
    pub recorded: usize,
    pub status: FeedStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// Why a pipeline step failed. The Diagnostic error types are stable names
/// the state machine's Retry and Catch match on: only
/// `TransientDependencyError` is retried.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Events(#[from] crate::events::EventError),
    #[error(transparent)]
    Format(#[from] crate::format::FormatError),
    #[error("feed {0} has no stored body")]
    FeedNotFound(String),
    #[error("the stored body of feed {feed_id} is not a feed: {detail}")]
    InvalidFeed { feed_id: String, detail: String },
}

impl StepError {
    /// The stable error type name.
    pub fn error_type(&self) -> &'static str {
        use crate::events::EventError;
        match self {
            Self::Store(e) if e.is_transient() => "TransientDependencyError",
            Self::Events(EventError::Transient(_)) => "TransientDependencyError",
            Self::Store(crate::store::StoreError::Missing(_)) => "FeedNotFound",
            Self::Store(_) => "StoreError",
            Self::Events(_) => "EventRejected",
            Self::Format(_) => "UnknownFormat",
            Self::FeedNotFound(_) => "FeedNotFound",
            Self::InvalidFeed { .. } => "InvalidPipelineInput",
        }
    }
}

impl From<StepError> for lambda_runtime::Diagnostic {
    fn from(e: StepError) -> Self {
        Self {
            error_type: e.error_type().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// Runs a pipeline step inside its log span, then emits its cost record.
/// The step returns its output and the order metrics to publish.
pub async fn run_step<T, F>(
    function_name: &str,
    request_id: &str,
    feed: &FeedRef,
    orders: usize,
    meter: &crate::cost::CostMeter,
    step: F,
) -> Result<T, StepError>
where
    F: std::future::Future<Output = Result<(T, Vec<(&'static str, f64)>), StepError>>,
{
    use tracing::Instrument;
    let span = crate::invocation_span!(request_id);
    span.record("feedId", feed.feed_id.as_str());
    span.record("partnerId", feed.partner_id.as_str());
    span.record("correlationId", feed.correlation_id.as_str());
    let (mut cost, started) = crate::cost::CostRecord::start(function_name);
    cost.request_id = Some(request_id.to_string());
    cost.feed_id = Some(feed.feed_id.clone());
    cost.partner_id = Some(feed.partner_id.clone());
    cost.orders = orders;
    let result = step.instrument(span.clone()).await;
    let _entered = span.enter();
    match &result {
        Ok((_, metrics)) => {
            cost.metrics = metrics.clone();
            tracing::info!("step succeeded");
        }
        Err(e) => tracing::error!(error = %e, error_type = e.error_type(), "step failed"),
    }
    cost.finish(started, meter).emit();
    result.map(|(value, _)| value)
}
