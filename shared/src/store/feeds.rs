//! The feeds table: the feed record (SK `<feedId>`) and, beside it, the raw
//! body the partner sent (SK `<feedId>#body`). The body is the claim check
//! the pipeline reads: a 256 KB feed does not fit in an EventBridge event or
//! a Step Functions payload, and a 202 must never depend on either.

use super::{corrupt, from_item, from_items, n, s, to_item, to_value, Item, Metered, StoreError};
use super::{BadCursor, CursorKeys, KeyType};
use crate::cost::CostMeter;
use crate::feed::{Failure, FeedCounts, FeedRecord, FeedStatus, OrderOutcome, OUTCOMES_PER_PAGE};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnConsumedCapacity, WriteRequest};
use serde::Deserialize;
use serde_json::Value;

const BODY_SUFFIX: &str = "#body";
const OUTCOMES_INFIX: &str = "#outcomes#";
/// The sparse index of unfinished feeds the stuck-feed sweeper reads.
pub const PENDING_INDEX: &str = "byPending";
/// Shards of the pending index's key. Every feed enters and leaves the
/// index once (two index writes); one key value takes at most 1,000 writes
/// a second, so one shard would cap the platform near 500 feeds/s. Four
/// spread that over four partitions; the sweeper reads all four.
pub const PENDING_SHARDS: u8 = 4;

#[derive(Debug, Clone)]
pub struct FeedStore {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) table: String,
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
        }
    }

    /// Stores the body, then the record. Both writes are conditional so a
    /// retried request can never overwrite an accepted feed.
    pub async fn create(&self, record: &FeedRecord, body: &str, meter: &CostMeter) -> Result<(), StoreError> {
        let mut body_item = Item::new();
        body_item.insert("partnerId".into(), s(&record.partner_id));
        body_item.insert("feedId".into(), s(format!("{}{BODY_SUFFIX}", record.feed_id)));
        body_item.insert("body".into(), s(body));
        body_item.insert("contentType".into(), s(&record.content_type));
        let mut record_item = to_item(record)?;
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

    /// The partner's feed, or None for an unknown id or another partner's feed.
    pub async fn get(
        &self,
        partner_id: &str,
        feed_id: &str,
        meter: &CostMeter,
    ) -> Result<Option<FeedRecord>, StoreError> {
        if !is_feed_id(feed_id) {
            return Ok(None);
        }
        from_item(self.get_item(partner_id, feed_id.to_string(), meter).await?)
    }

    /// The raw body of a feed.
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
        match item.as_ref().and_then(|i| i.get("body")) {
            Some(AttributeValue::S(body)) => Ok(Some(body.clone())),
            Some(_) => Err(corrupt("the feed body is not a string")),
            None => Ok(None),
        }
    }

    /// Writes the outcome of processing. The feed must exist. The record
    /// keeps the first page of outcomes; the other pages are written first,
    /// as their own items, so a reader never finds a page the record names
    /// missing. A terminal status takes the feed out of the pending index.
    pub async fn update(
        &self,
        partner_id: &str,
        feed_id: &str,
        update: &FeedUpdate,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let mut pages = update.outcomes.chunks(OUTCOMES_PER_PAGE);
        let first = pages.next().unwrap_or_default();
        let rest: Vec<WriteRequest> = pages
            .enumerate()
            .map(|(i, page)| {
                let mut item = Item::new();
                item.insert("partnerId".into(), s(partner_id));
                item.insert("feedId".into(), s(outcome_page_key(feed_id, i + 1)));
                item.insert("outcomes".into(), to_value(page)?);
                let put = PutRequest::builder().set_item(Some(item)).build().map_err(corrupt)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, StoreError>>()?;
        super::batch_write(&self.client, &self.table, rest, meter).await?;
        let page_count = update.outcomes.len().div_ceil(OUTCOMES_PER_PAGE);
        let sets = vec![
            ("counts", to_value(&update.counts)?),
            ("outcomes", to_value(first)?),
            ("outcomePages", n(page_count)),
            ("updatedAt", s(&update.updated_at)),
        ];
        self.update_record(partner_id, feed_id, sets, update.status, update.failure.as_ref(), meter)
            .await
    }

    /// Sets a feed's status (and its failure, if any) without touching its
    /// outcomes: RecordErrors finishing a feed whose outcomes Persist wrote,
    /// or marking a feed FAILED when recording its errors failed.
    pub async fn set_status(
        &self,
        partner_id: &str,
        feed_id: &str,
        status: FeedStatus,
        failure: Option<&Failure>,
        now: &str,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let sets = vec![("updatedAt", s(now))];
        self.update_record(partner_id, feed_id, sets, Some(status), failure, meter)
            .await
    }

    /// Updates an existing feed record: `sets` (attribute, value), the
    /// status and the failure. A terminal status takes the feed out of the
    /// pending index in the same write.
    async fn update_record(
        &self,
        partner_id: &str,
        feed_id: &str,
        mut sets: Vec<(&'static str, AttributeValue)>,
        status: Option<FeedStatus>,
        failure: Option<&Failure>,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        if let Some(status) = status {
            sets.push(("status", to_value(&status)?));
        }
        if let Some(failure) = failure {
            sets.push(("failure", to_value(failure)?));
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(feed_id))
            .condition_expression("attribute_exists(feedId)");
        let mut assignments = Vec::with_capacity(sets.len());
        for (i, (name, value)) in sets.into_iter().enumerate() {
            assignments.push(format!("#a{i} = :v{i}"));
            req = req
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        let mut expr = format!("SET {}", assignments.join(", "));
        if status.is_some_and(FeedStatus::is_terminal) {
            expr.push_str(" REMOVE pendingShard, pendingSince");
        }
        let out = req
            .update_expression(expr)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        if out.is_none() {
            // A failed condition still consumes a write unit.
            meter.dynamodb_write(None);
            return Err(StoreError::Missing(format!("feed {feed_id} of partner {partner_id}")));
        }
        Ok(())
    }

    /// Page `page` (from 1) of a feed's outcomes; None if there is no such page.
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
        match item.and_then(|mut i| i.remove("outcomes")) {
            Some(v) => serde_dynamo::from_attribute_value(v).map(Some).map_err(corrupt),
            None => Ok(None),
        }
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
    /// started once.
    pub async fn claim_sweep(&self, feed: &PendingFeed, now: &str, meter: &CostMeter) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("partnerId", s(&feed.partner_id))
            .key("feedId", s(&feed.feed_id))
            .update_expression("SET sweepAttempts = :next, pendingSince = :now")
            .condition_expression(
                "attribute_exists(pendingShard) AND (attribute_not_exists(sweepAttempts) OR sweepAttempts = :seen)",
            )
            .expression_attribute_values(":next", n(feed.sweep_attempts + 1))
            .expression_attribute_values(":seen", n(feed.sweep_attempts))
            .expression_attribute_values(":now", s(now))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        if out.is_none() {
            meter.dynamodb_write(None);
        }
        Ok(out.is_some())
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
