//! The messages that flow between the state machine's steps. Every message
//! carries the [`FeedRef`] at its top level, so a Catch (`ResultPath:
//! $.failure`) hands RecordErrors everything it needs from any step. Orders
//! and rejections travel in a [`Carried`] batch, inline or staged, so no
//! message can reach Step Functions' 256 KiB limit.

use crate::claim::{must_stage, BatchContent, Carried};
use crate::feed::{Failure, FeedCounts, FeedStatus};
use crate::order::{IndexedOrder, RawOrder};
use crate::rejection::Rejection;
use serde::de::DeserializeOwned;
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

/// The reference of a stored feed: what a restart of its pipeline (the
/// sweeper's, an operator's redrive) sends as the execution's input.
impl From<&crate::feed::FeedRecord> for FeedRef {
    fn from(f: &crate::feed::FeedRecord) -> Self {
        Self {
            feed_id: f.feed_id.clone(),
            partner_id: f.partner_id.clone(),
            format: f.format.clone(),
            received_at: f.received_at.clone(),
            request_id: f.request_id.clone(),
            correlation_id: f.correlation_id.clone(),
        }
    }
}

/// Validate's batch: the valid raw orders and the rejections so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidBatch {
    pub valid: Vec<RawOrder>,
    pub rejections: Vec<Rejection>,
}

/// Transform's batch: the canonical orders and the rejections so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanonicalBatch {
    pub orders: Vec<IndexedOrder>,
    pub rejections: Vec<Rejection>,
}

impl BatchContent for ValidBatch {
    fn holds_order_content(&self) -> bool {
        !self.valid.is_empty() || !self.rejections.is_empty()
    }
}

impl BatchContent for CanonicalBatch {
    fn holds_order_content(&self) -> bool {
        !self.orders.is_empty() || !self.rejections.is_empty()
    }
}

impl BatchContent for RejectionBatch {
    fn holds_order_content(&self) -> bool {
        !self.rejections.is_empty()
    }
}

/// Persist's batch: every rejection, for RecordErrors. Each batch above has
/// a `rejections` list too, so this reads any step's inline batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectionBatch {
    #[serde(default)]
    pub rejections: Vec<Rejection>,
}

/// Validate's output, Transform's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Validated {
    #[serde(flatten)]
    pub feed: FeedRef,
    pub order_count: usize,
    pub valid_count: usize,
    pub rejected_count: usize,
    pub batch: Carried<ValidBatch>,
}

/// Transform's output, Persist's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transformed {
    #[serde(flatten)]
    pub feed: FeedRef,
    pub order_count: usize,
    pub valid_count: usize,
    pub rejected_count: usize,
    pub batch: Carried<CanonicalBatch>,
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
    pub batch: Carried<RejectionBatch>,
}

/// RecordErrors' input: either Persist's output (rejections to record) or
/// any step's input plus a caught `failure` (the whole feed failed). The
/// batch is read only when there is no failure, so a failed feed is
/// recorded whatever step's batch (or none) came with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorsToRecord {
    #[serde(flatten)]
    pub feed: FeedRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// RecordErrors' own failure, caught by the state machine: the feed is
    /// then only marked FAILED with this cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_failure: Option<Failure>,
}

/// The batch, staged in the feeds table when it holds any order content or
/// is large; only an empty batch travels inline (the claim check, and no
/// order content in state payloads or execution logs: see [`crate::claim`]).
pub async fn carry<T: Serialize + BatchContent>(
    feeds: &crate::store::FeedStore,
    feed: &FeedRef,
    step: &str,
    batch: T,
    meter: &crate::cost::CostMeter,
) -> Result<Carried<T>, StepError> {
    let text = serde_json::to_string(&batch).map_err(|e| StepError::InvalidFeed {
        feed_id: feed.feed_id.clone(),
        detail: format!("the {step} batch does not serialize: {e}"),
    })?;
    if !must_stage(&batch, text.len()) {
        return Ok(Carried::Inline(batch));
    }
    let staged = feeds.stage(&feed.partner_id, &feed.feed_id, step, &text, meter).await?;
    tracing::info!(bytes = staged.bytes, parts = staged.parts, step, "batch staged");
    Ok(Carried::Staged(staged))
}

/// The batch a step received, read back from the feeds table if staged.
pub async fn open<T: DeserializeOwned>(
    feeds: &crate::store::FeedStore,
    feed: &FeedRef,
    batch: Carried<T>,
    meter: &crate::cost::CostMeter,
) -> Result<T, StepError> {
    match batch {
        Carried::Inline(batch) => Ok(batch),
        Carried::Staged(staged) => {
            let text = feeds.unstage(&feed.partner_id, &feed.feed_id, &staged, meter).await?;
            serde_json::from_str(&text).map_err(|e| StepError::InvalidFeed {
                feed_id: feed.feed_id.clone(),
                detail: format!("the staged {} batch is not readable: {}", staged.step, json_error(&e)),
            })
        }
    }
}

/// A JSON error as its kind and position only. serde_json's own message
/// quotes the offending value (`invalid type: string "…"`), and an error
/// message becomes a Lambda error, a caught `failure.cause` in the state
/// payload, the feed record's failure and a log line: none may carry order
/// content (issue 16).
pub fn json_error(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "an I/O error",
        serde_json::error::Category::Syntax => "a syntax error",
        serde_json::error::Category::Data => "a value of the wrong type or shape",
        serde_json::error::Category::Eof => "an unexpected end",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
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
            // The body (or a staged batch) is past its retention: the feed
            // cannot be processed any more, and retrying will not change it.
            Self::Store(crate::store::StoreError::Expired(_)) => "FeedExpired",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_error_names_no_value() {
        let e = serde_json::from_str::<RejectionBatch>(r#"{"rejections": "buyer@example.com"}"#).unwrap_err();
        assert!(e.to_string().contains("buyer@example.com"), "serde_json quotes it: {e}");
        let said = json_error(&e);
        assert!(!said.contains("buyer@example.com"), "{said}");
        assert!(said.contains("line 1"), "{said}");
    }

    #[test]
    fn only_empty_batches_may_travel_inline() {
        assert!(!RejectionBatch::default().holds_order_content());
        let b = ValidBatch {
            valid: vec![],
            rejections: vec![],
        };
        assert!(!b.holds_order_content());
        let b = CanonicalBatch {
            orders: vec![],
            rejections: vec![],
        };
        assert!(!b.holds_order_content());
    }
}
