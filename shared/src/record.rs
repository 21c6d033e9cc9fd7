//! Recording a feed's rejections, or its failure, in the errors table: what
//! RecordErrors does at the end of the pipeline, and what the stuck-feed
//! sweeper does for a feed whose pipeline never finished. Given a failure,
//! every order is recorded as PIPELINE_FAILED and the feed is marked FAILED
//! with the cause, so no order behind a 202 is ever silently lost.
//!
//! Finishing a feed also counts it in its partner's hour (the volume
//! figures, [`crate::metrics`]), in the same transaction as its terminal
//! status; a feed that something else finished meanwhile (the pipeline
//! racing the sweeper, a duplicate execution) is left as it is and counted
//! once.

use crate::events::{DomainEvent, EventSink, ORDERS_REJECTED};
use crate::feed::FeedRecord;
use crate::feed::{summarize, Failure, FeedStatus};
use crate::format::FormatResolver;
use crate::metrics::{receipt_time, VolumeDelta};
use crate::pipeline::{FeedRef, StepError};
use crate::rejection::{sequence_hint, Rejection, RejectionCode, Stage};
use crate::store::{
    ErrorItem, ErrorLog, FeedStore, FeedUpdate, MetricsStore, StoreError, Written, RAW_ORDER_MAX_BYTES,
};
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
    /// The subject index: each rejected raw order's identifiers (issue 16).
    pub privacy: crate::store::PrivacyIndex,
    /// Built-in and published formats: the raw orders of a feed in a format
    /// published at run time are recorded like any other's.
    pub formats: FormatResolver,
}

impl Recorder<crate::events::EventBridgeSink> {
    /// The recorder of a deployed function: ERRORS_TABLE, FEEDS_TABLE
    /// (counting finished feeds in METRICS_TABLE), EVENT_BUS_NAME and the
    /// formats (built-in, then FORMATS_TABLE).
    pub fn from_env(sdk: &aws_config::SdkConfig) -> Result<Self, lambda_runtime::Error> {
        use crate::config::required_env;
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let metrics = MetricsStore::new(ddb.clone(), required_env("METRICS_TABLE")?);
        Ok(Self {
            errors: ErrorLog::new(ddb.clone(), required_env("ERRORS_TABLE")?),
            feeds: FeedStore::new(ddb.clone(), required_env("FEEDS_TABLE")?).with_metrics(metrics),
            events: crate::events::EventBridgeSink::from_env(sdk)?,
            privacy: crate::store::PrivacyIndex::new(ddb.clone(), required_env("PRIVACY_INDEX_TABLE")?),
            formats: FormatResolver::from_env(ddb)?,
        })
    }
}

/// What was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub recorded: usize,
    pub status: FeedStatus,
}

/// The subject index entries of a feed's rejected orders: each raw order's
/// identifiers (the customerRef its format maps, read from the raw order
/// since a rejected order has no canonical one, and every e-mail address in
/// it) point at `ERROR#<feedId>#<index>` and `BODY#<feedId>#<index>`. A
/// rejection without its raw order (an unreadable body) has none to index.
fn subject_index_entries(
    partner_id: &str,
    feed_id: &str,
    orders: &[Value],
    rejections: &[Rejection],
    customer_ref_path: Option<&str>,
) -> Vec<(String, String)> {
    use crate::privacy;
    let mut entries = Vec::new();
    for r in rejections {
        let Some(raw) = orders.get(r.index) else { continue };
        let customer_ref = customer_ref_path.and_then(|p| raw.pointer(p)).and_then(Value::as_str);
        let ids = privacy::identifiers_in(raw, customer_ref);
        let refs = [
            privacy::error_ref(feed_id, r.index),
            privacy::body_ref(feed_id, r.index),
        ];
        entries.extend(privacy::index_entries(partner_id, &ids, &refs));
    }
    entries
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
        // The record first: Persist's counts on it are what the finished
        // feed adds to the figures, and a feed something else finished
        // (COMPLETED by the pipeline while the sweeper gave up on it, FAILED
        // by the sweeper before a late execution got here) stays as it is:
        // no errors recorded for it, no event.
        let record = self.feeds.get(&feed.partner_id, &feed.feed_id, meter).await?;
        let target = if failure.is_some() {
            FeedStatus::Failed
        } else {
            FeedStatus::CompletedWithRejections
        };
        if let Some(r) = record.as_ref().filter(|r| r.status.is_terminal() && r.status != target) {
            tracing::warn!(status = ?r.status, wanted = ?target, "the feed was finished otherwise; left as it is");
            return Ok(Recorded {
                recorded: 0,
                status: r.status,
            });
        }
        // The raw orders, for diagnosis. A missing or unreadable body must not
        // stop us from recording the errors, so it degrades to "no raw order".
        // A body past its retention is as good as missing here.
        let body: Option<Value> = match self.feeds.get_body(&feed.partner_id, &feed.feed_id, meter).await {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) | Err(StoreError::Expired(_)) => None,
            Err(e) => return Err(e.into()),
        };
        // As with the body: a format that cannot be read now costs the raw
        // orders, never the recording.
        let format = self.formats.get(&feed.format, meter).await.ok();
        let orders: &[Value] = match (&body, &format) {
            (Some(b), Some(f)) => crate::validate::orders_of(f, b).map(Vec::as_slice).unwrap_or_default(),
            _ => &[],
        };
        let orders_pointer = format.as_ref().map(|f| f.orders_pointer.clone()).unwrap_or_default();

        let rejections = match failure {
            Some(failure) => {
                let seq_path = format
                    .as_ref()
                    .map(|f| f.mapping.sequence_number.path.clone())
                    .unwrap_or_default();
                failed_feed_rejections(orders, &orders_pointer, &seq_path, failure)
            }
            None => rejections,
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
                    expires_at: self.errors.expires_at(now),
                }
            })
            .collect();
        // Errors first, then the feed: a finished feed's errors are all there.
        self.errors.record(&items, meter).await?;
        // Their subjects too, before the feed is finished (a retry writes
        // the same index items again).
        let customer_ref_path = format
            .as_ref()
            .and_then(|f| f.mapping.customer_ref.as_ref())
            .map(|f| f.path.as_str());
        let index = subject_index_entries(&feed.partner_id, &feed.feed_id, orders, &rejections, customer_ref_path);
        self.privacy
            .put(&feed.partner_id, &index, self.privacy.expires_at(now), meter)
            .await?;
        let status = self
            .finish(feed, record.as_ref(), &rejections, orders.len(), failure, now, meter)
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

    /// Marks the feed finished and counts it; returns the status it has.
    /// After rejections, only the status changes (Persist wrote the
    /// outcomes and counts, which are what the feed adds to the figures);
    /// after a failure, every order's outcome is PIPELINE_FAILED and every
    /// order counts as failed.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        feed: &FeedRef,
        record: Option<&FeedRecord>,
        rejections: &[Rejection],
        order_count: usize,
        failure: Option<&Failure>,
        now: DateTime<Utc>,
        meter: &crate::cost::CostMeter,
    ) -> Result<FeedStatus, StepError> {
        let now_text = crate::time::format_utc(now);
        let received = receipt_time(&feed.received_at, now);
        let Some(failure) = failure else {
            let record = record
                .ok_or_else(|| StoreError::Missing(format!("feed {} of partner {}", feed.feed_id, feed.partner_id)))?;
            let volume = VolumeDelta::completed(received, now, &record.counts, rejections.iter().map(|r| r.code));
            let written = self
                .feeds
                .finish_status(
                    &feed.partner_id,
                    &feed.feed_id,
                    FeedStatus::CompletedWithRejections,
                    None,
                    &now_text,
                    &volume,
                    meter,
                )
                .await?;
            return Ok(status_after(written, FeedStatus::CompletedWithRejections));
        };
        let (outcomes, mut counts) = summarize(order_count, &[], rejections);
        counts.received = order_count;
        let update = FeedUpdate {
            status: Some(FeedStatus::Failed),
            counts,
            outcomes,
            failure: Some(failure.clone()),
            updated_at: now_text,
        };
        // Every order the partner sent counts as failed: the record's count
        // (the body may be what could not be read).
        let orders = record.map_or(order_count, |r| r.order_count);
        let volume = VolumeDelta::failed(received, now, orders);
        let status = match self
            .feeds
            .finish(&feed.partner_id, &feed.feed_id, &update, &volume, meter)
            .await
        {
            Ok(written) => status_after(written, FeedStatus::Failed),
            // A pipeline started for a feed that was never stored (none we
            // answered 202 for): record the failure, there is nothing to mark.
            Err(StoreError::Missing(what)) => {
                tracing::warn!(%what, "no feed record to mark FAILED");
                FeedStatus::Failed
            }
            Err(e) => return Err(e.into()),
        };
        tracing::warn!(error = %failure.error, "the feed failed; every order recorded as an error");
        Ok(status)
    }

    /// MarkFeedFailed: RecordErrors itself failed, so only the feed is
    /// marked FAILED with that cause (the one write most likely still to
    /// succeed) and counted, every order as failed. A feed already finished
    /// is left as it is; returns the status the feed has.
    pub async fn mark_failed(
        &self,
        feed: &FeedRef,
        failure: &Failure,
        now: DateTime<Utc>,
        meter: &crate::cost::CostMeter,
    ) -> Result<FeedStatus, StepError> {
        let Some(record) = self.feeds.get(&feed.partner_id, &feed.feed_id, meter).await? else {
            return Err(StoreError::Missing(format!("feed {} of partner {}", feed.feed_id, feed.partner_id)).into());
        };
        if record.status.is_terminal() {
            return Ok(record.status);
        }
        let volume = VolumeDelta::failed(receipt_time(&feed.received_at, now), now, record.order_count);
        let written = self
            .feeds
            .finish_status(
                &feed.partner_id,
                &feed.feed_id,
                FeedStatus::Failed,
                Some(failure),
                &crate::time::format_utc(now),
                &volume,
                meter,
            )
            .await?;
        Ok(status_after(written, FeedStatus::Failed))
    }
}

/// The status a feed has after a finishing write that wanted `wanted`.
fn status_after(written: Written, wanted: FeedStatus) -> FeedStatus {
    match written {
        Written::Applied => wanted,
        Written::AlreadyFinished(status) => status,
    }
}
