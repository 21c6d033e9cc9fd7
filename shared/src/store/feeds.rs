//! The feeds table: the feed record (SK `<feedId>`) and, beside it, the raw
//! body the partner sent (SK `<feedId>#body`). The body is the claim check
//! the pipeline reads: a 256 KB feed does not fit in an EventBridge event or
//! a Step Functions payload, and a 202 must never depend on either.

use super::{classify, corrupt, from_item, from_items, n, s, to_item, to_value, Item, Metered, StoreError};
use super::{BadCursor, CursorKeys, KeyType, MetricsStore, Ttl, TTL_ATTRIBUTE};
use crate::cost::CostMeter;
use crate::feed::{Failure, FeedCounts, FeedRecord, FeedStatus, OrderOutcome, OUTCOMES_PER_PAGE};
use crate::metrics::VolumeDelta;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, PutRequest, ReturnConsumedCapacity, TransactWriteItem, Update, WriteRequest,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Bound;

const BODY_SUFFIX: &str = "#body";
const OUTCOMES_INFIX: &str = "#outcomes#";
/// The sparse index of unfinished feeds the stuck-feed sweeper reads.
pub const PENDING_INDEX: &str = "byPending";
/// Shards of the pending index's key. Every feed enters and leaves the
/// index once (two index writes); one key value takes at most 1,000 writes
/// a second, so one shard would cap the platform near 500 feeds/s. Four
/// spread that over four partitions; the sweeper reads all four.
pub const PENDING_SHARDS: u8 = 4;
/// The index that finds a feed's partner from its id (KEYS_ONLY).
pub const FEED_ID_INDEX: &str = "byFeedId";
/// Queries one listing call makes at most: a status that matches little
/// can leave many pages empty, and the answer must stay well within API
/// Gateway's 30 s; the cursor then says where to go on.
const MAX_LIST_QUERIES: usize = 10;

#[derive(Debug, Clone)]
pub struct FeedStore {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) table: String,
    /// Where a finished feed is counted ([`FeedStore::with_metrics`]):
    /// needed by whoever finishes or redrives feeds, not by readers.
    metrics: Option<MetricsStore>,
    /// Retention: bodies, staged batches and outcome pages are kept
    /// `raw_feed_days`, the feed record `order_days` (it is what an order
    /// points to); reads leave expired items out.
    pub(super) ttl: Ttl,
}

/// What a conditional write to a feed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Applied,
    /// The feed already had this terminal status; nothing was written.
    AlreadyFinished(FeedStatus),
}

/// Which feeds [`FeedStore::list`] returns. `status` is the stored text
/// (`FAILED`, …); `from`/`to` bound the time of receipt, both inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedFilter {
    pub status: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A FAILED feed put back to RECEIVED by [`FeedStore::reopen_for_redrive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reopened {
    /// How often the feed has been redriven, this time included (1, 2, …):
    /// the execution name's `<n>`.
    pub redrive_count: u32,
    /// The feed as it is now (RECEIVED, no failure).
    pub feed: FeedRecord,
}

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("no such feed")]
    NotFound,
    #[error("only a FAILED feed can be redriven; this one is {status}")]
    NotFailed { status: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The outcome persist or record-error writes onto a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedUpdate {
    /// None leaves the status as it is (Persist, when RecordErrors still has
    /// rejections to record: the feed is finished only once they are).
    pub status: Option<FeedStatus>,
    pub counts: FeedCounts,
    pub outcomes: Vec<OrderOutcome>,
    pub failure: Option<Failure>,
    pub updated_at: String,
}

/// An unfinished feed, as the pending index holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingFeed {
    pub partner_id: String,
    pub feed_id: String,
    pub format: String,
    pub received_at: String,
    pub request_id: String,
    pub correlation_id: String,
    pub pending_since: String,
    #[serde(default)]
    pub sweep_attempts: u32,
}

/// The pending-index shard of a feed: from its id's last hex digit, which
/// is random in a UUIDv7 (the first ones are the time).
pub fn pending_shard(feed_id: &str) -> String {
    let digit = feed_id.chars().next_back().and_then(|c| c.to_digit(16)).unwrap_or(0);
    format!("P{}", digit % u32::from(PENDING_SHARDS))
}

/// Feed ids are UUIDs we mint; anything else (such as `<id>#body`) is
/// refused before it reaches DynamoDB, so the body item is never served as
/// a feed.
pub fn is_feed_id(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok()
}

impl FeedStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            metrics: None,
            ttl: Ttl::default(),
        }
    }

    ttl_builders!();

    /// The same store, counting the feeds it finishes (or reopens) in
    /// `metrics`. The pipeline's finishing steps and the redrive need it;
    /// without it they fail rather than let the figures drift.
    pub fn with_metrics(mut self, metrics: MetricsStore) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Stores the body, then the record. Both writes are conditional so a
    /// retried request can never overwrite an accepted feed.
    pub async fn create(&self, record: &FeedRecord, body: &str, meter: &CostMeter) -> Result<(), StoreError> {
        let mut body_item = Item::new();
        body_item.insert("partnerId".into(), s(&record.partner_id));
        body_item.insert("feedId".into(), s(format!("{}{BODY_SUFFIX}", record.feed_id)));
        body_item.insert("body".into(), s(body));
        body_item.insert("contentType".into(), s(&record.content_type));
        body_item.insert(
            TTL_ATTRIBUTE.into(),
            n(self.ttl.expires_in(self.ttl.retention.raw_feed_days)),
        );
        let mut record_item = to_item(record)?;
        record_item.insert(
            TTL_ATTRIBUTE.into(),
            n(self.ttl.expires_in(self.ttl.retention.order_days)),
        );
        if !record.status.is_terminal() {
            record_item.insert("pendingShard".into(), s(pending_shard(&record.feed_id)));
            record_item.insert("pendingSince".into(), s(&record.received_at));
        }
        for item in [body_item, record_item] {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(feedId)")
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .metered(meter)?;
        }
        Ok(())
    }

    pub(super) async fn get_item(
        &self,
        partner_id: &str,
        sk: String,
        meter: &CostMeter,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(sk))
            // The pipeline reads right after ingest wrote.
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(out.item)
    }

    /// [`Self::get_item`], with an expired item taken for a missing one.
    pub(super) async fn live_item(
        &self,
        partner_id: &str,
        sk: String,
        meter: &CostMeter,
    ) -> Result<Option<Item>, StoreError> {
        Ok(self
            .get_item(partner_id, sk, meter)
            .await?
            .filter(|item| self.ttl.is_live(item)))
    }

    /// The partner's feed, or None for an unknown id or another partner's
    /// feed (or one past its retention).
    pub async fn get(
        &self,
        partner_id: &str,
        feed_id: &str,
        meter: &CostMeter,
    ) -> Result<Option<FeedRecord>, StoreError> {
        if !is_feed_id(feed_id) {
            return Ok(None);
        }
        from_item(self.live_item(partner_id, feed_id.to_string(), meter).await?)
    }

    /// The raw body of a feed. A body past its retention is
    /// [`StoreError::Expired`]: the feed cannot be processed any more.
    pub async fn get_body(
        &self,
        partner_id: &str,
        feed_id: &str,
        meter: &CostMeter,
    ) -> Result<Option<String>, StoreError> {
        if !is_feed_id(feed_id) {
            return Ok(None);
        }
        let item = self
            .get_item(partner_id, format!("{feed_id}{BODY_SUFFIX}"), meter)
            .await?;
        if item.as_ref().is_some_and(|i| !self.ttl.is_live(i)) {
            return Err(StoreError::Expired(format!("the body of feed {feed_id}")));
        }
        match item.as_ref().and_then(|i| i.get("body")) {
            Some(AttributeValue::S(body)) => Ok(Some(body.clone())),
            Some(_) => Err(corrupt("the feed body is not a string")),
            None => Ok(None),
        }
    }

    /// Writes the outcome of processing onto an unfinished feed (Persist,
    /// when RecordErrors still has rejections to record). A terminal status
    /// goes through [`FeedStore::finish`] instead, which counts the feed in
    /// the volume figures. The outcome pages beyond the first are written
    /// first, as their own items, so a reader never finds a page the record
    /// names missing. A feed that is already finished is left as it is
    /// ([`Written::AlreadyFinished`]): a late or repeated step never
    /// rewrites a finished feed.
    pub async fn update(
        &self,
        partner_id: &str,
        feed_id: &str,
        update: &FeedUpdate,
        meter: &CostMeter,
    ) -> Result<Written, StoreError> {
        if update.status.is_some_and(FeedStatus::is_terminal) {
            return Err(StoreError::Failed(format!(
                "feed {feed_id}: a terminal status is written by finish, which counts it"
            )));
        }
        let sets = self.write_outcomes(partner_id, feed_id, update, meter).await?;
        let change = RecordChange::new(sets, update.status, update.failure.as_ref())?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(feed_id))
            .update_expression(change.update)
            .condition_expression(change.condition)
            .set_expression_attribute_names(Some(change.names))
            .set_expression_attribute_values(Some(change.values))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        if out.is_some() {
            return Ok(Written::Applied);
        }
        // A failed condition still consumes a write unit.
        meter.dynamodb_write(None);
        self.already_finished(partner_id, feed_id, meter).await
    }

    /// Finishes a feed: writes its outcome with a terminal status (taking it
    /// out of the pending index) and adds `volume` to its partner's hour, in
    /// one transaction conditional on the feed not being finished yet. So an
    /// at-least-once retry, a duplicate execution or a sweeper racing the
    /// pipeline finishes it once and counts it once; the others get
    /// [`Written::AlreadyFinished`] and change nothing. A FAILED feed's
    /// contribution is also kept on its record (`volume`), for a redrive to
    /// take back; only FAILED feeds are redriven, and the copy would make
    /// every other record bigger, which a transaction bills twice.
    pub async fn finish(
        &self,
        partner_id: &str,
        feed_id: &str,
        update: &FeedUpdate,
        volume: &VolumeDelta,
        meter: &CostMeter,
    ) -> Result<Written, StoreError> {
        let status = terminal(update.status, feed_id)?;
        let mut sets = self.write_outcomes(partner_id, feed_id, update, meter).await?;
        if status == FeedStatus::Failed {
            sets.push(("volume", to_value(volume)?));
        }
        let change = RecordChange::new(sets, Some(status), update.failure.as_ref())?;
        self.finish_record(partner_id, feed_id, change, volume, meter).await
    }

    /// Finishes a feed without touching its outcomes: RecordErrors after
    /// Persist wrote them, or MarkFeedFailed. Counted like [`Self::finish`].
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_status(
        &self,
        partner_id: &str,
        feed_id: &str,
        status: FeedStatus,
        failure: Option<&Failure>,
        now: &str,
        volume: &VolumeDelta,
        meter: &CostMeter,
    ) -> Result<Written, StoreError> {
        let status = terminal(Some(status), feed_id)?;
        let mut sets = vec![("updatedAt", s(now))];
        if status == FeedStatus::Failed {
            sets.push(("volume", to_value(volume)?));
        }
        let change = RecordChange::new(sets, Some(status), failure)?;
        self.finish_record(partner_id, feed_id, change, volume, meter).await
    }

    /// The outcome pages beyond the first, written now; returns the record's
    /// attributes for the rest.
    async fn write_outcomes(
        &self,
        partner_id: &str,
        feed_id: &str,
        update: &FeedUpdate,
        meter: &CostMeter,
    ) -> Result<Vec<(&'static str, AttributeValue)>, StoreError> {
        let mut pages = update.outcomes.chunks(OUTCOMES_PER_PAGE);
        let first = pages.next().unwrap_or_default();
        let rest: Vec<WriteRequest> = pages
            .enumerate()
            .map(|(i, page)| {
                let mut item = Item::new();
                item.insert("partnerId".into(), s(partner_id));
                item.insert("feedId".into(), s(outcome_page_key(feed_id, i + 1)));
                item.insert("outcomes".into(), to_value(page)?);
                item.insert(
                    TTL_ATTRIBUTE.into(),
                    n(self.ttl.expires_in(self.ttl.retention.raw_feed_days)),
                );
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(corrupt)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, StoreError>>()?;
        super::batch_write(&self.client, &self.table, rest, meter).await?;
        let page_count = update.outcomes.len().div_ceil(OUTCOMES_PER_PAGE);
        Ok(vec![
            ("counts", to_value(&update.counts)?),
            ("outcomes", to_value(first)?),
            ("outcomePages", n(page_count)),
            ("updatedAt", s(&update.updated_at)),
        ])
    }

    /// The finishing transaction: the record's change and the volume ADD.
    async fn finish_record(
        &self,
        partner_id: &str,
        feed_id: &str,
        change: RecordChange,
        volume: &VolumeDelta,
        meter: &CostMeter,
    ) -> Result<Written, StoreError> {
        let metrics = self.metrics()?;
        let record = Update::builder()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(feed_id))
            .update_expression(change.update)
            .condition_expression(change.condition)
            .set_expression_attribute_names(Some(change.names))
            .set_expression_attribute_values(Some(change.values))
            .build()
            .map_err(corrupt)?;
        let out = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(record).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(metrics.add(partner_id, volume)?)
                    .build(),
            )
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .record_consumed(meter);
        match out {
            Ok(_) => Ok(Written::Applied),
            Err(e) => match first_cancellation(&e) {
                Cancelled::Condition => {
                    meter.dynamodb_write(None);
                    self.already_finished(partner_id, feed_id, meter).await
                }
                Cancelled::Other(reasons) => Err(StoreError::Transient(format!(
                    "finishing feed {feed_id} was cancelled: {reasons}"
                ))),
                Cancelled::No => Err(classify(e)),
            },
        }
    }

    fn metrics(&self) -> Result<&MetricsStore, StoreError> {
        self.metrics.as_ref().ok_or_else(|| {
            StoreError::Failed(
                "this FeedStore has no metrics table (with_metrics): finishing a feed must count it".into(),
            )
        })
    }

    /// After a failed condition: the feed is missing, or already finished.
    async fn already_finished(
        &self,
        partner_id: &str,
        feed_id: &str,
        meter: &CostMeter,
    ) -> Result<Written, StoreError> {
        match self.status_of(partner_id, feed_id, meter).await? {
            Some(status) => {
                tracing::info!(feedId = %feed_id, ?status, "the feed was already finished; left as it is");
                Ok(Written::AlreadyFinished(status))
            }
            None => Err(StoreError::Missing(format!("feed {feed_id} of partner {partner_id}"))),
        }
    }

    /// A feed's status (strongly consistent), None if there is no such feed.
    async fn status_of(
        &self,
        partner_id: &str,
        feed_id: &str,
        meter: &CostMeter,
    ) -> Result<Option<FeedStatus>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(feed_id))
            .projection_expression("#st")
            .expression_attribute_names("#st", "status")
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        match out.item.and_then(|mut i| i.remove("status")) {
            Some(v) => serde_dynamo::from_attribute_value(v).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    /// Page `page` (from 1) of a feed's outcomes; None if there is no such
    /// page. Pages are kept RawFeedRetentionDays, less than the record: one
    /// past it is [`StoreError::Expired`].
    pub async fn outcome_page(
        &self,
        partner_id: &str,
        feed_id: &str,
        page: usize,
        meter: &CostMeter,
    ) -> Result<Option<Vec<OrderOutcome>>, StoreError> {
        if !is_feed_id(feed_id) || page == 0 {
            return Ok(None);
        }
        let item = self
            .get_item(partner_id, outcome_page_key(feed_id, page), meter)
            .await?;
        if item.as_ref().is_some_and(|i| !self.ttl.is_live(i)) {
            return Err(StoreError::Expired(format!("outcome page {page} of feed {feed_id}")));
        }
        match item.and_then(|mut i| i.remove("outcomes")) {
            Some(v) => serde_dynamo::from_attribute_value(v).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    /// The partner a feed belongs to, from the byFeedId index (KEYS_ONLY,
    /// eventually consistent: a feed accepted a moment ago may not be there
    /// yet). None for an unknown id.
    pub async fn find_partner(&self, feed_id: &str, meter: &CostMeter) -> Result<Option<String>, StoreError> {
        if !is_feed_id(feed_id) {
            return Ok(None);
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(FEED_ID_INDEX)
            .key_condition_expression("feedId = :f")
            .expression_attribute_values(":f", s(feed_id))
            .limit(1)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(out
            .items()
            .first()
            .and_then(|item| super::str_attr(item, "partnerId"))
            .map(str::to_string))
    }

    /// A partner's feeds, newest first, up to `limit` (1..=1000), and the
    /// cursor of the next page (None: the last). A Query on the partner with
    /// a feedId range: feed ids are UUIDv7, whose first 48 bits are the
    /// time they were minted (at receipt, by ingest), so `from`/`to` become
    /// a key range to the millisecond. The body, outcome pages and staged
    /// batches share the partition under `<feedId>#…`; a filter on
    /// `status` (which only records have) skips them, and `filter.status`
    /// is one more filter term. What a Query reads before its filter is
    /// billed, bodies included (see the report in BENCHMARKS.md).
    pub async fn list(
        &self,
        partner_id: &str,
        filter: &FeedFilter,
        limit: usize,
        cursor: Option<&str>,
        meter: &CostMeter,
    ) -> Result<Result<(Vec<FeedRecord>, Option<String>), BadCursor>, StoreError> {
        let limit = limit.clamp(1, 1000);
        let lo = filter.from.map(id_prefix);
        let hi = filter.to.map(|t| format!("{}~", id_prefix(t)));
        if let (Some(lo), Some(hi)) = (&lo, &hi) {
            if lo > hi {
                return Ok(Ok((Vec::new(), None)));
            }
        }
        let range = (
            lo.as_deref().map_or(Bound::Unbounded, Bound::Included),
            hi.as_deref().map_or(Bound::Unbounded, Bound::Included),
        );
        let Ok(mut start) = LIST_CURSOR.start_key(cursor, ("partnerId", partner_id), "feedId", range) else {
            return Ok(Err(BadCursor));
        };
        let key_condition = match (&lo, &hi) {
            (Some(_), Some(_)) => "partnerId = :p AND feedId BETWEEN :lo AND :hi",
            (Some(_), None) => "partnerId = :p AND feedId >= :lo",
            (None, Some(_)) => "partnerId = :p AND feedId <= :hi",
            (None, None) => "partnerId = :p",
        };
        let filter_expression = match filter.status {
            Some(_) => "attribute_exists(#st) AND #st = :status",
            None => "attribute_exists(#st)",
        };
        let mut feeds = Vec::new();
        for _ in 0..MAX_LIST_QUERIES {
            let want = limit - feeds.len();
            // A record is usually followed by its body: ask for two items
            // per feed still wanted (and a little more), at most 1,000.
            let page = i32::try_from((want * 2 + 2).min(1000)).unwrap_or(1000);
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(key_condition)
                .expression_attribute_names("#st", "status")
                // Set whole, so before the TTL filter adds its own values.
                .set_expression_attribute_values({
                    let mut values = HashMap::from([(":p".to_string(), s(partner_id))]);
                    if let Some(lo) = &lo {
                        values.insert(":lo".into(), s(lo));
                    }
                    if let Some(hi) = &hi {
                        values.insert(":hi".into(), s(hi));
                    }
                    if let Some(status) = &filter.status {
                        values.insert(":status".into(), s(status));
                    }
                    Some(values)
                });
            let out = self
                .ttl
                .filter_query(query, Some(filter_expression))
                .scan_index_forward(false)
                .limit(page)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .metered(meter)?;
            let mut items = from_items::<FeedRecord>(out.items)?.into_iter();
            for record in items.by_ref() {
                feeds.push(record);
                if feeds.len() == limit {
                    break;
                }
            }
            let more = items.next().is_some() || out.last_evaluated_key.is_some();
            if feeds.len() == limit {
                let next = more
                    .then(|| {
                        feeds
                            .last()
                            .map(|f| LIST_CURSOR.encode(partner_id, [Value::from(f.feed_id.as_str())]))
                    })
                    .flatten();
                return Ok(Ok((feeds, next)));
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(Ok((feeds, None))),
            }
        }
        // Out of queries with the page not full: go on from where we stopped.
        let next = start
            .as_ref()
            .and_then(|key| super::str_attr(key, "feedId"))
            .map(|at| LIST_CURSOR.encode(partner_id, [Value::from(at)]));
        Ok(Ok((feeds, next)))
    }

    /// Puts a FAILED feed back to RECEIVED for a redrive: its redrive count
    /// goes up by one, it is back in the pending index (so the sweeper
    /// watches it again, with its restarts counted afresh) and its failure
    /// is removed; in the same transaction its earlier contribution to the
    /// volume figures is taken back, so it counts once, when the rerun
    /// finishes. Conditional on the feed still being FAILED with the redrive
    /// count read: of two concurrent redrives, one wins and the other is
    /// told the feed is no longer FAILED. Every pipeline step is idempotent,
    /// so orders stored before the failure stay stored and none is stored
    /// twice.
    pub async fn reopen_for_redrive(
        &self,
        partner_id: &str,
        feed_id: &str,
        now: &str,
        meter: &CostMeter,
    ) -> Result<Reopened, RedriveError> {
        if !is_feed_id(feed_id) {
            return Err(RedriveError::NotFound);
        }
        let Some(item) = self.live_item(partner_id, feed_id.to_string(), meter).await? else {
            return Err(RedriveError::NotFound);
        };
        let seen = super::num_attr::<u32>(&item, "redriveCount").unwrap_or(0);
        let earlier: Option<VolumeDelta> = match item.get("volume") {
            Some(v) => Some(serde_dynamo::from_attribute_value(v.clone()).map_err(corrupt)?),
            None => None,
        };
        let Some(mut feed) = from_item::<FeedRecord>(Some(item))? else {
            return Err(RedriveError::NotFound);
        };
        if feed.status != FeedStatus::Failed {
            return Err(RedriveError::NotFailed {
                status: status_text(feed.status),
            });
        }
        let next = seen.saturating_add(1);
        let values = HashMap::from([
            (":received".to_string(), to_value(&FeedStatus::Received)?),
            (":failed".to_string(), to_value(&FeedStatus::Failed)?),
            (":next".to_string(), n(next)),
            (":seen".to_string(), n(seen)),
            (":shard".to_string(), s(pending_shard(feed_id))),
            (":now".to_string(), s(now)),
            (":zero".to_string(), n(0)),
        ]);
        let record = Update::builder()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(feed_id))
            .update_expression(
                "SET #st = :received, redriveCount = :next, pendingShard = :shard, pendingSince = :now, \
                 updatedAt = :now, sweepAttempts = :zero REMOVE failure, volume",
            )
            .condition_expression("#st = :failed AND (attribute_not_exists(redriveCount) OR redriveCount = :seen)")
            .expression_attribute_names("#st", "status")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(corrupt)?;
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(record).build());
        // A feed that failed before the figures existed has nothing to take back.
        if let Some(earlier) = &earlier {
            let back = self.metrics()?.add(partner_id, &earlier.negated())?;
            tx = tx.transact_items(TransactWriteItem::builder().update(back).build());
        }
        let out = tx
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .record_consumed(meter);
        if let Err(e) = out {
            return Err(match first_cancellation(&e) {
                Cancelled::Condition => {
                    meter.dynamodb_write(None);
                    match self.status_of(partner_id, feed_id, meter).await? {
                        None => RedriveError::NotFound,
                        Some(FeedStatus::Failed) => RedriveError::Store(StoreError::Transient(format!(
                            "feed {feed_id} is being redriven by someone else"
                        ))),
                        Some(status) => RedriveError::NotFailed {
                            status: status_text(status),
                        },
                    }
                }
                Cancelled::Other(reasons) => RedriveError::Store(StoreError::Transient(format!(
                    "reopening feed {feed_id} was cancelled: {reasons}"
                ))),
                Cancelled::No => RedriveError::Store(classify(e)),
            });
        }
        feed.status = FeedStatus::Received;
        feed.failure = None;
        feed.updated_at = now.to_string();
        feed.sweep_attempts = 0;
        Ok(Reopened {
            redrive_count: next,
            feed,
        })
    }

    /// Unfinished feeds of one pending-index shard that nothing has touched
    /// since `before`: the stuck-feed sweeper's candidates.
    pub async fn pending_before(
        &self,
        shard: &str,
        before: &str,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Vec<PendingFeed>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(PENDING_INDEX)
            .key_condition_expression("pendingShard = :shard AND pendingSince < :before")
            .expression_attribute_values(":shard", s(shard))
            .expression_attribute_values(":before", s(before))
            .limit(limit)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        from_items(out.items)
    }

    /// Claims one sweep of an unfinished feed: counts the attempt and moves
    /// it to the back of the pending index. False when another sweeper got
    /// there first or the feed finished meanwhile, so each attempt is
    /// started once. Claimed: the feed's redrive count (the restart's name
    /// carries it, [`crate::feed::sweep_execution_name`]).
    pub async fn claim_sweep(
        &self,
        feed: &PendingFeed,
        now: &str,
        meter: &CostMeter,
    ) -> Result<Option<u32>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("partnerId", s(&feed.partner_id))
            .key("feedId", s(&feed.feed_id))
            // redriveCount is not in the pending index's projection (changing
            // a GSI's projection means rebuilding it), so the claim reads it back.
            .update_expression(
                "SET sweepAttempts = :next, pendingSince = :now, redriveCount = if_not_exists(redriveCount, :zero)",
            )
            .condition_expression(
                "attribute_exists(pendingShard) AND (attribute_not_exists(sweepAttempts) OR sweepAttempts = :seen)",
            )
            .expression_attribute_values(":next", n(feed.sweep_attempts + 1))
            .expression_attribute_values(":seen", n(feed.sweep_attempts))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":zero", n(0u32))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        let Some(out) = out else {
            meter.dynamodb_write(None);
            return Ok(None);
        };
        let redrives = out
            .attributes()
            .and_then(|a| a.get("redriveCount"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Some(redrives))
    }
}

/// A cursor to a feed's outcome page: bound to the partner, the feed and
/// a page the feed has, like every other listing's.
const OUTCOMES_CURSOR: CursorKeys = CursorKeys {
    listing: "feed-outcomes",
    keys: &[("f", "feedId", KeyType::S), ("o", "page", KeyType::N)],
};

/// The cursor to outcome page `page` of a feed.
pub fn outcome_cursor(partner_id: &str, feed_id: &str, page: usize) -> String {
    OUTCOMES_CURSOR.encode(partner_id, [Value::from(feed_id), Value::from(page)])
}

/// The outcome page a cursor names, if it was issued for this partner and
/// feed and the feed has that page (pages 1..pages; the record holds 0).
pub fn outcome_page_of(partner_id: &str, feed_id: &str, cursor: &str, pages: usize) -> Result<usize, BadCursor> {
    let key = OUTCOMES_CURSOR.decode(cursor, partner_id)?;
    if super::str_attr(&key, "feedId") != Some(feed_id) {
        return Err(BadCursor);
    }
    match super::num_attr::<usize>(&key, "page") {
        Some(page) if (1..pages).contains(&page) => Ok(page),
        _ => Err(BadCursor),
    }
}

fn outcome_page_key(feed_id: &str, page: usize) -> String {
    format!("{feed_id}{OUTCOMES_INFIX}{page:04}")
}

/// A listing cursor: the feedId (or a key beside a record) to go on after.
const LIST_CURSOR: CursorKeys = CursorKeys {
    listing: "feeds",
    keys: &[("f", "feedId", KeyType::S)],
};

/// The first 13 characters of every UUIDv7 minted in millisecond `t`
/// (`tttttttt-tttt`, its 48-bit Unix time in lowercase hex), which sort
/// as the time.
pub fn id_prefix(t: DateTime<Utc>) -> String {
    let ms = u64::try_from(t.timestamp_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    format!("{:08x}-{:04x}", ms >> 16, ms & 0xffff)
}

fn status_text(status: FeedStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A terminal status, or the error a finish without one is.
fn terminal(status: Option<FeedStatus>, feed_id: &str) -> Result<FeedStatus, StoreError> {
    match status {
        Some(status) if status.is_terminal() => Ok(status),
        _ => Err(StoreError::Failed(format!(
            "feed {feed_id}: finish needs a terminal status, got {status:?}"
        ))),
    }
}

/// A feed record's change: SET `sets`, the status and the failure; a
/// terminal status also takes the feed out of the pending index. The
/// condition: the feed exists and is not finished, so a finished feed is
/// never written again (a redrive reopens it first).
struct RecordChange {
    update: String,
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl RecordChange {
    fn new(
        mut sets: Vec<(&'static str, AttributeValue)>,
        status: Option<FeedStatus>,
        failure: Option<&Failure>,
    ) -> Result<Self, StoreError> {
        if let Some(status) = status {
            sets.push(("status", to_value(&status)?));
        }
        if let Some(failure) = failure {
            sets.push(("failure", to_value(failure)?));
        }
        let mut names = HashMap::from([("#st".to_string(), "status".to_string())]);
        let mut values = HashMap::from([(":unfinished".to_string(), to_value(&FeedStatus::Received)?)]);
        let mut assignments = Vec::with_capacity(sets.len());
        for (i, (name, value)) in sets.into_iter().enumerate() {
            let placeholder = if name == "status" {
                "#st".to_string()
            } else {
                let p = format!("#a{i}");
                names.insert(p.clone(), name.to_string());
                p
            };
            assignments.push(format!("{placeholder} = :v{i}"));
            values.insert(format!(":v{i}"), value);
        }
        let mut update = format!("SET {}", assignments.join(", "));
        if status.is_some_and(FeedStatus::is_terminal) {
            update.push_str(" REMOVE pendingShard, pendingSince");
        }
        Ok(Self {
            update,
            condition: "attribute_exists(feedId) AND #st = :unfinished".into(),
            names,
            values,
        })
    }
}

/// Why a transaction was cancelled, judged by its first item (the feed
/// record, whose condition is the only one we set).
enum Cancelled {
    /// The record's condition failed.
    Condition,
    /// Cancelled for another reason (a conflicting transaction, throttling):
    /// worth retrying.
    Other(String),
    /// Not a cancellation.
    No,
}

fn first_cancellation<R>(e: &SdkError<TransactWriteItemsError, R>) -> Cancelled {
    let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error() else {
        return Cancelled::No;
    };
    let codes: Vec<&str> = c
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or("None"))
        .collect();
    if codes.first() == Some(&"ConditionalCheckFailed") {
        Cancelled::Condition
    } else {
        Cancelled::Other(codes.join(", "))
    }
}
