//! Recording a feed's rejections, or its failure, in the errors table: what
//! RecordErrors does at the end of the pipeline, and what the stuck-feed
//! sweeper does for a feed whose pipeline never finished. Given a failure,
//! every order is recorded as PIPELINE_FAILED and the feed is marked FAILED
//! with the cause, so no order behind a 202 is ever silently lost.

use crate::events::{DomainEvent, EventSink, ORDERS_REJECTED};
use crate::feed::{summarize, Failure, FeedStatus};
use crate::format::FormatRegistry;
use crate::pipeline::{FeedRef, StepError};
use crate::rejection::{sequence_hint, Rejection, RejectionCode, Stage};
use crate::store::{ErrorItem, ErrorLog, FeedStore, FeedUpdate, StoreError, ERROR_TTL_SECS, RAW_ORDER_MAX_BYTES};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// How many rejections the OrdersRejected event lists.
const MAX_LISTED: usize = 100;
/// The longest cause we copy into each error record.
const MAX_CAUSE_CHARS: usize = 1000;

pub struct Recorder<E: EventSink> {
    pub errors: ErrorLog,
    pub feeds: FeedStore,
    pub events: E,
    pub formats: FormatRegistry,
}

impl Recorder<crate::events::EventBridgeSink> {
    /// The recorder of a deployed function: ERRORS_TABLE, FEEDS_TABLE,
    /// EVENT_BUS_NAME and the built-in formats.
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, lambda_runtime::Error> {
        use crate::config::required_env;
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            errors: ErrorLog::new(ddb.clone(), required_env("ERRORS_TABLE")?),
            feeds: FeedStore::new(ddb, required_env("FEEDS_TABLE")?),
            events: crate::events::EventBridgeSink::from_env(sdk)?,
            formats: FormatRegistry::builtin()?,
        })
    }
}

/// What was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub recorded: usize,
    pub status: FeedStatus,
}

/// Every order of a failed feed becomes a PIPELINE_FAILED rejection.
fn failed_feed_rejections(orders: &[Value], orders_pointer: &str, seq_path: &str, failure: &Failure) -> Vec<Rejection> {
    let cause: String = failure.cause.chars().take(MAX_CAUSE_CHARS).collect();
    let message = format!("the pipeline failed ({}): {cause}", failure.error);
    if orders.is_empty() {
        // The body could not be read: record the feed itself.
        return vec![Rejection {
            index: 0,
            sequence_number: None,
            field: String::new(),
            code: RejectionCode::PipelineFailed,
            message,
            stage: Stage::Pipeline,
        }];
    }
    (0..orders.len())
        .map(|index| Rejection {
            index,
            sequence_number: sequence_hint(&orders[index], seq_path),
            field: format!("{orders_pointer}/{index}"),
            code: RejectionCode::PipelineFailed,
            message: message.clone(),
            stage: Stage::Pipeline,
        })
        .collect()
}

impl<E: EventSink> Recorder<E> {
    /// Records `rejections`, or, given a `failure`, every order of the feed
    /// as PIPELINE_FAILED; then marks the feed finished and publishes
    /// OrdersRejected. Idempotent: error items have deterministic keys.
    pub async fn record(
        &self,
        feed: &FeedRef,
        rejections: Vec<Rejection>,
        failure: Option<&Failure>,
        now: DateTime<Utc>,
        meter: &crate::cost::CostMeter,
    ) -> Result<Recorded, StepError> {
        let now_text = crate::time::format_utc(now);
        // The raw orders, for diagnosis. A missing or unreadable body must not
        // stop us from recording the errors, so it degrades to "no raw order".
        let body: Option<Value> = match self.feeds.get_body(&feed.partner_id, &feed.feed_id, meter).await? {
            Some(text) => serde_json::from_str(&text).ok(),
            None => None,
        };
        let format = self.formats.get(&feed.format).ok();
        let orders: &[Value] = match (&body, &format) {
            (Some(b), Some(f)) => crate::validate::orders_of(f, b).map(Vec::as_slice).unwrap_or_default(),
            _ => &[],
        };
        let orders_pointer = format.as_ref().map(|f| f.orders_pointer.clone()).unwrap_or_default();

        let (rejections, status) = match failure {
            Some(failure) => {
                let seq_path = format
                    .as_ref()
                    .map(|f| f.mapping.sequence_number.path.clone())
                    .unwrap_or_default();
                let rejections = failed_feed_rejections(orders, &orders_pointer, &seq_path, failure);
                (rejections, FeedStatus::Failed)
            }
            None => (rejections, FeedStatus::CompletedWithRejections),
        };

        let items: Vec<ErrorItem> = rejections
            .iter()
            .map(|r| {
                let raw = orders.get(r.index).map(Value::to_string);
                let (raw_order, raw_order_ref) = match raw {
                    Some(raw) if raw.len() > RAW_ORDER_MAX_BYTES => {
                        (None, Some(format!("{orders_pointer}/{}", r.index)))
                    }
                    raw => (raw, None),
                };
                ErrorItem {
                    partner_id: feed.partner_id.clone(),
                    sk: ErrorItem::sort_key(&feed.received_at, &feed.feed_id, r.index),
                    feed_id: feed.feed_id.clone(),
                    index: r.index,
                    sequence_number: r.sequence_number,
                    code: r.code,
                    field: r.field.clone(),
                    message: r.message.clone(),
                    stage: r.stage,
                    raw_order,
                    raw_order_ref,
                    received_at: feed.received_at.clone(),
                    recorded_at: now_text.clone(),
                    expires_at: now.timestamp() + ERROR_TTL_SECS,
                }
            })
            .collect();
        // Errors first, then the feed: a finished feed's errors are all there.
        self.errors.record(&items, meter).await?;
        self.finish(feed, &rejections, orders.len(), status, failure, &now_text, meter)
            .await?;
        self.events
            .publish(
                vec![DomainEvent {
                    detail_type: ORDERS_REJECTED,
                    detail: json!({
                        "feedId": feed.feed_id,
                        "partnerId": feed.partner_id,
                        "correlationId": feed.correlation_id,
                        "status": status,
                        "rejected": items.len(),
                        // Capped: an EventBridge entry is at most 256 KB; the
                        // full list is in the errors table and GET /v1/errors.
                        "rejections": rejections.iter().take(MAX_LISTED).map(|r| json!({
                            "index": r.index, "sequenceNumber": r.sequence_number, "code": r.code, "field": r.field,
                        })).collect::<Vec<_>>(),
                    }),
                }],
                meter,
            )
            .await?;
        tracing::info!(recorded = items.len(), ?status, "errors recorded");
        Ok(Recorded {
            recorded: items.len(),
            status,
        })
    }

    /// Marks the feed finished. After rejections, only the status changes
    /// (Persist wrote the outcomes); after a failure, every order's outcome
    /// is PIPELINE_FAILED.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        feed: &FeedRef,
        rejections: &[Rejection],
        order_count: usize,
        status: FeedStatus,
        failure: Option<&Failure>,
        now: &str,
        meter: &crate::cost::CostMeter,
    ) -> Result<(), StepError> {
        let Some(failure) = failure else {
            return Ok(self
                .feeds
                .set_status(&feed.partner_id, &feed.feed_id, status, None, now, meter)
                .await?);
        };
        let (outcomes, mut counts) = summarize(order_count, &[], rejections);
        counts.received = order_count;
        let update = FeedUpdate {
            status: Some(FeedStatus::Failed),
            counts,
            outcomes,
            failure: Some(failure.clone()),
            updated_at: now.to_string(),
        };
        match self.feeds.update(&feed.partner_id, &feed.feed_id, &update, meter).await {
            Ok(()) => {}
            // A pipeline started for a feed that was never stored (none we
            // answered 202 for): record the failure, there is nothing to mark.
            Err(StoreError::Missing(what)) => tracing::warn!(%what, "no feed record to mark FAILED"),
            Err(e) => return Err(e.into()),
        }
        tracing::warn!(error = %failure.error, "the feed failed; every order recorded as an error");
        Ok(())
    }
}
