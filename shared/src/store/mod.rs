//! DynamoDB adapters, one per table. Each asks for ReturnConsumedCapacity
//! TOTAL on every call and adds it to the invocation's [`CostMeter`]
//! (see `call`); paged reads share `cursor`.
//!
//! [`CostMeter`]: crate::cost::CostMeter

mod audit;
mod call;
mod cost_rollup;
mod cursor;
mod deliveries;
mod error_log;
mod feeds;
mod formats;
mod idempotency;
mod metrics;
mod orders;
mod outbox;
mod partners;
mod rate_limits;
mod stage;

pub use audit::{AuditFilter, AuditStore, AUDIT_STREAM};
pub use cost_rollup::{ByService, CostDay, CostStore, FeedCost, FeedHour, HourTotal, PartnerHour};
pub use cursor::{BadCursor, Page, MAX_CURSOR_LEN};
pub use deliveries::DeliveryStore;
pub use error_log::{ErrorItem, ErrorLog, ERROR_TTL_SECS, RAW_ORDER_MAX_BYTES};
pub use feeds::{
    id_prefix, outcome_cursor, outcome_page_of, pending_shard, FeedFilter, FeedStore, FeedUpdate, PendingFeed,
    RedriveError, Reopened, Written, FEED_ID_INDEX, PENDING_INDEX, PENDING_SHARDS,
};
pub use formats::{FormatStore, StoredFormat, MAX_ITEM_BYTES};
pub use idempotency::IdempotencyStore;
pub use metrics::MetricsStore;
pub use orders::{OrderStore, PutOutcome, StoredOrder};
pub use outbox::{cursor_of, seq_of, OutboxEntry, OutboxPage, OutboxStore, OUTBOX_TTL_SECS};
pub use partners::PartnerStore;
pub use rate_limits::RateLimitStore;

pub(crate) use call::{classify, Metered};
pub(crate) use cursor::{CursorKeys, KeyType};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Throttling, a timeout or a DynamoDB 5xx: worth retrying.
    #[error("DynamoDB is unavailable: {0}")]
    Transient(String),
    /// A call that will fail the same way again (missing table, bad request).
    #[error("DynamoDB call failed: {0}")]
    Failed(String),
    /// An item that does not have the shape we write.
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
    /// The item an update needs does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// A create whose item already exists.
    #[error("{0} already exists")]
    Conflict(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// Every item a Scan returns, page after page until DynamoDB reports no
/// more (`req` is sent once per page, from where the last one stopped).
pub(crate) async fn scan_pages<T: DeserializeOwned>(
    req: aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder,
    meter: &crate::cost::CostMeter,
) -> Result<Vec<T>, StoreError> {
    let mut all = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let out = req
            .clone()
            .set_exclusive_start_key(start.take())
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        all.extend(from_items::<T>(out.items)?);
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => break,
        }
    }
    Ok(all)
}

/// One page of a partner's items whose sort key (or index key) lies between
/// `from` and `to`: the shape of every time-range listing. It only fills in
/// the builder, so the caller's `send().await` stays the only future.
pub(crate) fn query_between(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    sort_key: &str,
    partner_id: &str,
    (from, to): (&str, &str),
    start: Option<Item>,
    limit: i32,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    query
        .key_condition_expression(format!("partnerId = :p AND {sort_key} BETWEEN :from AND :to"))
        .expression_attribute_values(":p", s(partner_id))
        .expression_attribute_values(":from", s(from))
        .expression_attribute_values(":to", s(to))
        .limit(limit)
        .set_exclusive_start_key(start)
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
}

/// BatchWriteItem takes at most 25 items.
const BATCH: usize = 25;
/// Rounds of re-sending UnprocessedItems before giving up as transient.
const UNPROCESSED_ROUNDS: u32 = 5;

/// Writes `requests` to `table`, 25 per BatchWriteItem, re-sending what
/// DynamoDB left unprocessed with a growing pause.
pub(crate) async fn batch_write(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<aws_sdk_dynamodb::types::WriteRequest>,
    meter: &crate::cost::CostMeter,
) -> Result<(), StoreError> {
    let mut all = requests.into_iter().peekable();
    while all.peek().is_some() {
        let mut requests: Vec<_> = all.by_ref().take(BATCH).collect();
        let mut round = 0;
        while !requests.is_empty() {
            if round > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(50 * 2u64.pow(round))).await;
            }
            if round == UNPROCESSED_ROUNDS {
                return Err(StoreError::Transient(format!(
                    "{} items still unprocessed after {UNPROCESSED_ROUNDS} rounds",
                    requests.len()
                )));
            }
            let out = client
                .batch_write_item()
                .request_items(table, requests)
                .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
                .send()
                .await
                .metered(meter)?;
            requests = out
                .unprocessed_items
                .and_then(|mut m| m.remove(table))
                .unwrap_or_default();
            round += 1;
        }
    }
    Ok(())
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

// serde_dynamo conversions; an item that does not fit its type is corrupt.

pub(crate) fn to_item<T: Serialize + ?Sized>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(corrupt)
}

pub(crate) fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(corrupt)
}

/// A GetItem's item (or an update's returned attributes), if there was one.
pub(crate) fn from_item<T: DeserializeOwned>(item: Option<Item>) -> Result<Option<T>, StoreError> {
    item.map(|i| serde_dynamo::from_item(i).map_err(corrupt)).transpose()
}

/// A Query's or Scan's items (absent: none).
pub(crate) fn from_items<T: DeserializeOwned>(items: Option<Vec<Item>>) -> Result<Vec<T>, StoreError> {
    serde_dynamo::from_items(items.unwrap_or_default()).map_err(corrupt)
}

/// A string attribute, if the item has one by that name.
pub(crate) fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// A number attribute that parses as `T`, if the item has one by that name.
pub(crate) fn num_attr<T: std::str::FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}
