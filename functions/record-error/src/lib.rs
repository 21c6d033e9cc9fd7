//! RecordErrors: writes each rejected order to the errors table (30-day
//! TTL, raw order kept for diagnosis) and publishes OrdersRejected. Given a
//! caught `failure`, the whole feed failed: every order is recorded as
//! PIPELINE_FAILED and the feed is marked FAILED with the cause, so no
//! order behind a 202 is ever silently lost.

use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use std::sync::Arc;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::CostMeter;
use zb_shared::events::{DomainEvent, EventBridgeSink, EventSink, ORDERS_REJECTED};
use zb_shared::feed::{summarize, Failure, FeedStatus};
use zb_shared::format::FormatRegistry;
use zb_shared::pipeline::{run_step, ErrorsRecorded, ErrorsToRecord, FeedRef, StepError};
use zb_shared::rejection::{sequence_hint, Rejection, RejectionCode, Stage};
use zb_shared::store::{ErrorItem, ErrorLog, FeedStore, FeedUpdate, StoreError, ERROR_TTL_SECS};

/// How many rejections the OrdersRejected event lists.
const MAX_LISTED: usize = 100;
/// The longest cause we copy into each error record.
const MAX_CAUSE_CHARS: usize = 1000;

pub struct App<E: EventSink> {
    pub errors: ErrorLog,
    pub feeds: FeedStore,
    pub events: E,
    pub formats: FormatRegistry,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App<EventBridgeSink> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        Ok(Self {
            errors: ErrorLog::new(ddb.clone(), required_env("ERRORS_TABLE")?),
            feeds: FeedStore::new(ddb, required_env("FEEDS_TABLE")?),
            events: EventBridgeSink::from_env(&sdk)?,
            formats: FormatRegistry::builtin()?,
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("record-error"),
        })
    }
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

pub async fn handler<E: EventSink>(
    app: &App<E>,
    event: LambdaEvent<ErrorsToRecord>,
) -> Result<ErrorsRecorded, StepError> {
    let input = event.payload;
    let meter = CostMeter::default();
    let feed: &FeedRef = &input.feed;
    run_step(
        &app.function_name,
        &event.context.request_id,
        feed,
        input.rejections.len(),
        &meter,
        async {
            let now = app.clock.now();
            let now_text = zb_shared::time::format_utc(now);
            // The raw orders, for diagnosis. A missing or unreadable body must not
            // stop us from recording the errors, so it degrades to "no raw order".
            let body: Option<Value> = match app.feeds.get_body(&feed.partner_id, &feed.feed_id, &meter).await? {
                Some(text) => serde_json::from_str(&text).ok(),
                None => None,
            };
            let format = app.formats.get(&feed.format).ok();
            let orders: Vec<Value> = match (&body, &format) {
                (Some(b), Some(f)) => zb_shared::validate::orders_of(f, b).cloned().unwrap_or_default(),
                _ => Vec::new(),
            };

            let (rejections, status) = match &input.failure {
                Some(failure) => {
                    let (pointer, seq_path) = format
                        .as_ref()
                        .map(|f| (f.orders_pointer.clone(), f.mapping.sequence_number.path.clone()))
                        .unwrap_or_default();
                    let rejections = failed_feed_rejections(&orders, &pointer, &seq_path, failure);
                    let (outcomes, mut counts) = summarize(orders.len(), &[], &rejections);
                    counts.received = orders.len();
                    let update = FeedUpdate {
                        status: FeedStatus::Failed,
                        counts,
                        outcomes,
                        failure: Some(failure.clone()),
                        updated_at: now_text.clone(),
                    };
                    match app.feeds.update(&feed.partner_id, &feed.feed_id, &update, &meter).await {
                        Ok(()) => {}
                        // A pipeline started for a feed that was never stored (none we
                        // answered 202 for): record the failure, there is nothing to mark.
                        Err(StoreError::Missing(what)) => tracing::warn!(%what, "no feed record to mark FAILED"),
                        Err(e) => return Err(e.into()),
                    }
                    tracing::warn!(error = %failure.error, "the feed failed; recording every order as an error");
                    (rejections, FeedStatus::Failed)
                }
                None => (input.rejections.clone(), FeedStatus::CompletedWithRejections),
            };

            let items: Vec<ErrorItem> = rejections
                .iter()
                .map(|r| ErrorItem {
                    partner_id: feed.partner_id.clone(),
                    sk: ErrorItem::sort_key(&feed.received_at, &feed.feed_id, r.index),
                    feed_id: feed.feed_id.clone(),
                    index: r.index,
                    sequence_number: r.sequence_number,
                    code: r.code,
                    field: r.field.clone(),
                    message: r.message.clone(),
                    stage: r.stage,
                    raw_order: orders.get(r.index).map(Value::to_string),
                    received_at: feed.received_at.clone(),
                    recorded_at: now_text.clone(),
                    expires_at: now.timestamp() + ERROR_TTL_SECS,
                })
                .collect();
            app.errors.record(&items, &meter).await?;
            app.events
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
                    &meter,
                )
                .await?;
            tracing::info!(recorded = items.len(), "errors recorded");
            let out = ErrorsRecorded {
                feed: feed.clone(),
                recorded: items.len(),
                status,
                failure: input.failure.clone(),
            };
            Ok((out, vec![("OrdersRejected", items.len() as f64)]))
        },
    )
    .await
}
