//! Persist: writes canonical orders idempotently, keyed by (partnerId,
//! sequenceNumber) with a conditional write. A replay is `duplicate` and
//! changes nothing; a different order under a used sequence number is
//! rejected SEQUENCE_CONFLICT. Then it records the feed's outcome and
//! publishes OrdersPersisted.

use futures::stream::{self, StreamExt};
use lambda_runtime::LambdaEvent;
use serde_json::json;
use std::sync::Arc;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::CostMeter;
use zb_shared::events::{DomainEvent, EventBridgeSink, EventSink, ORDERS_PERSISTED};
use zb_shared::feed::{summarize, FeedStatus, Outcome};
use zb_shared::format::{FormatError, FormatResolver};
use zb_shared::metrics::{receipt_time, VolumeDelta};
use zb_shared::order::IndexedOrder;
use zb_shared::pipeline::{carry, open, run_step, Persisted, RejectionBatch, StepError, Transformed};
use zb_shared::privacy;
use zb_shared::rejection::{Rejection, RejectionCode, Stage};
use zb_shared::store::{
    FeedStore, FeedUpdate, MetricsStore, OrderStore, PrivacyIndex, PutOutcome, StoreError, StoredOrder,
};

/// Concurrent conditional writes per invocation: enough to hide DynamoDB's
/// latency, small enough to stay clear of partition throttling.
const WRITE_CONCURRENCY: usize = 16;

pub struct App<E: EventSink> {
    pub orders: OrderStore,
    pub feeds: FeedStore,
    pub events: E,
    /// The subject index: each stored order's identifiers (issue 16).
    pub privacy: PrivacyIndex,
    /// Built-in formats, then the formats table (each version read once).
    pub formats: FormatResolver,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App<EventBridgeSink> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        Ok(Self {
            orders: OrderStore::new(ddb.clone(), required_env("ORDERS_TABLE")?),
            // Finishing a feed counts it in the volume figures (METRICS_TABLE).
            feeds: FeedStore::new(ddb.clone(), required_env("FEEDS_TABLE")?)
                .with_metrics(MetricsStore::new(ddb.clone(), required_env("METRICS_TABLE")?)),
            events: EventBridgeSink::from_env(&sdk)?,
            privacy: PrivacyIndex::new(ddb.clone(), required_env("PRIVACY_INDEX_TABLE")?),
            formats: FormatResolver::from_env(ddb)?,
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("persist"),
        })
    }
}

enum Written {
    Stored(usize, u64, Outcome),
    Conflict(Rejection),
}

pub async fn handler<E: EventSink>(app: &App<E>, event: LambdaEvent<Transformed>) -> Result<Persisted, StepError> {
    let input = event.payload;
    let meter = CostMeter::default();
    let feed = &input.feed;
    run_step(
        &app.function_name,
        &event.context.request_id,
        feed,
        input.valid_count,
        &meter,
        async {
            let format = app
                .formats
                .get(&feed.format, &meter)
                .await
                .map_err(FormatError::into_step_error)?;
            let batch = open(&app.feeds, feed, input.batch, &meter).await?;
            let now = zb_shared::time::format_utc(app.clock.now());
            let write = |o: &IndexedOrder| {
                let stored = StoredOrder {
                    partner_id: feed.partner_id.clone(),
                    order: o.order.clone(),
                    feed_id: feed.feed_id.clone(),
                    received_at: feed.received_at.clone(),
                    order_hash: o.order.content_hash(),
                    persisted_at: now.clone(),
                };
                let index = o.index;
                let seq_path = format.mapping.sequence_number.path.clone();
                let orders_pointer = format.orders_pointer.clone();
                let meter = &meter;
                async move {
                    let seq = stored.order.sequence_number;
                    let outcome = match app.orders.put_if_absent(&stored, meter).await? {
                        PutOutcome::Created => Written::Stored(index, seq, Outcome::Persisted),
                        // This feed wrote it on an earlier attempt of this step.
                        PutOutcome::Exists { order_hash, feed_id }
                            if order_hash == stored.order_hash && feed_id == stored.feed_id =>
                        {
                            Written::Stored(index, seq, Outcome::Persisted)
                        }
                        PutOutcome::Exists { order_hash, .. } if order_hash == stored.order_hash => {
                            Written::Stored(index, seq, Outcome::Duplicate)
                        }
                        PutOutcome::Exists { feed_id, .. } => Written::Conflict(Rejection {
                            index,
                            sequence_number: Some(seq),
                            field: format!("{orders_pointer}/{index}{seq_path}"),
                            code: RejectionCode::SequenceConflict,
                            message: format!(
                                "sequence number {seq} already holds a different order (first sent in feed {feed_id})"
                            ),
                            stage: Stage::Persist,
                        }),
                    };
                    Ok::<_, StoreError>(outcome)
                }
            };
            let results: Vec<Result<Written, StoreError>> = stream::iter(batch.orders.iter())
                .map(write)
                .buffer_unordered(WRITE_CONCURRENCY)
                .collect()
                .await;

            let mut stored = Vec::new();
            let mut rejections = batch.rejections;
            for r in results {
                match r? {
                    Written::Stored(index, seq, outcome) => stored.push((index, seq, outcome)),
                    Written::Conflict(rejection) => rejections.push(rejection),
                }
            }
            rejections.sort_by_key(|r| r.index);
            // Before the feed is finished: a retry after a failure here
            // writes the same index items again.
            index_subjects(app, &format, feed, &batch.orders, &stored, &meter).await?;
            let (outcomes, counts) = summarize(input.order_count, &stored, &rejections);
            let status = counts.status();
            let update = FeedUpdate {
                // With rejections the feed is finished by RecordErrors,
                // once they are recorded.
                status: (status == FeedStatus::Completed).then_some(status),
                counts,
                outcomes,
                failure: None,
                updated_at: now.clone(),
            };
            if status == FeedStatus::Completed {
                // Finished here: counted in the same transaction, once.
                let finished_at = app.clock.now();
                let received = receipt_time(&feed.received_at, finished_at);
                let volume = VolumeDelta::completed(received, finished_at, &counts, []);
                app.feeds
                    .finish(&feed.partner_id, &feed.feed_id, &update, &volume, &meter)
                    .await?;
            } else {
                app.feeds
                    .update(&feed.partner_id, &feed.feed_id, &update, &meter)
                    .await?;
            }
            app.events
                .publish(
                    vec![DomainEvent {
                        detail_type: ORDERS_PERSISTED,
                        detail: json!({
                            "feedId": feed.feed_id,
                            "partnerId": feed.partner_id,
                            "correlationId": feed.correlation_id,
                            "status": status,
                            "counts": counts,
                        }),
                    }],
                    &meter,
                )
                .await?;
            tracing::info!(
                persisted = counts.persisted,
                duplicate = counts.duplicate,
                rejected = counts.rejected,
                "persisted"
            );
            let rejected_count = rejections.len();
            let out = Persisted {
                feed: feed.clone(),
                order_count: input.order_count,
                status,
                counts,
                rejected_count,
                batch: carry(&app.feeds, feed, "persist", RejectionBatch { rejections }, &meter).await?,
            };
            Ok((out, vec![("OrdersPersisted", counts.persisted as f64)]))
        },
    )
    .await
}

/// Writes the subject index of the orders this feed stored (persisted or
/// duplicate): each one's identifiers (its customerRef and every e-mail
/// address in its raw order) point at `ORDER#<seq>` and
/// `BODY#<feedId>#<index>`. The raw orders come from the stored body (the
/// message carries canonical orders only): one more GetItem per feed.
/// SEQUENCE_CONFLICTs are left to RecordErrors, which indexes the rejected
/// order under `ERROR#`; their `ORDER#` is another order.
async fn index_subjects<E: EventSink>(
    app: &App<E>,
    format: &zb_shared::format::Format,
    feed: &zb_shared::pipeline::FeedRef,
    orders: &[IndexedOrder],
    stored: &[(usize, u64, Outcome)],
    meter: &CostMeter,
) -> Result<(), StoreError> {
    if stored.is_empty() {
        return Ok(());
    }
    // A body gone (past its retention) or unreadable leaves the
    // customerRefs, which the canonical orders carry.
    let body: Option<serde_json::Value> = match app.feeds.get_body(&feed.partner_id, &feed.feed_id, meter).await {
        Ok(Some(text)) => serde_json::from_str(&text).ok(),
        Ok(None) | Err(StoreError::Expired(_)) => None,
        Err(e) => return Err(e),
    };
    let raw_orders: &[serde_json::Value] = body
        .as_ref()
        .and_then(|b| zb_shared::validate::orders_of(format, b).ok())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let by_index: std::collections::HashMap<usize, &IndexedOrder> = orders.iter().map(|o| (o.index, o)).collect();
    let mut entries = Vec::new();
    for &(index, seq, _) in stored {
        let customer_ref = by_index.get(&index).and_then(|o| o.order.customer_ref.as_deref());
        let raw = raw_orders.get(index).unwrap_or(&serde_json::Value::Null);
        let ids = privacy::identifiers_in(raw, customer_ref);
        let refs = [privacy::order_ref(seq), privacy::body_ref(&feed.feed_id, index)];
        entries.extend(privacy::index_entries(&feed.partner_id, &ids, &refs));
    }
    let expires_at = app.privacy.expires_at(app.clock.now());
    app.privacy.put(&feed.partner_id, &entries, expires_at, meter).await
}
