//! DynamoDB adapters, one per table. Each asks for ReturnConsumedCapacity
//! TOTAL on every call and adds it to the invocation's [`CostMeter`]
//! (see `call`); paged reads share `cursor`.
//!
//! [`CostMeter`]: crate::cost::CostMeter

/// `with_ttl`, `with_clock` and `ttl` for a store with a `ttl: Ttl` field:
/// every store whose items expire offers the same three (tests pin the
/// retention and the clock through them).
macro_rules! ttl_builders {
    () => {
        /// The same store, with `ttl`'s retention and clock (tests pin both).
        pub fn with_ttl(mut self, ttl: Ttl) -> Self {
            self.ttl = ttl;
            self
        }

        /// The same store, reading "now" from `clock` (for expiry and for
        /// leaving expired items out).
        pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Self {
            self.ttl.clock = clock;
            self
        }

        pub fn ttl(&self) -> &Ttl {
            &self.ttl
        }
    };
}

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
mod privacy;
mod rate_limits;
mod stage;

pub use audit::{AuditFilter, AuditStore, AUDIT_STREAM};
pub use cost_rollup::{ByService, CostDay, CostStore, FeedCost, FeedHour, HourTotal, PartnerHour};
pub use cursor::{BadCursor, Page, MAX_CURSOR_LEN};
pub use deliveries::DeliveryStore;
pub use error_log::{ErrorItem, ErrorLog, RAW_ORDER_MAX_BYTES};
pub use feeds::{
    id_prefix, outcome_cursor, outcome_page_of, pending_shard, FeedFilter, FeedStore, FeedUpdate, PendingFeed,
    RedriveError, Reopened, Written, FEED_ID_INDEX, PENDING_INDEX, PENDING_SHARDS,
};
pub use formats::{FormatStore, StoredFormat, MAX_ITEM_BYTES};
pub use idempotency::IdempotencyStore;
pub use metrics::MetricsStore;
pub use orders::{OrderStore, PutOutcome, StoredOrder};
pub use outbox::{cursor_of, seq_of, OutboxEntry, OutboxPage, OutboxStore};
pub use partners::PartnerStore;
pub use privacy::{subject_key, ErasedCounts, ErasureRecord, ErasureStatus, ErasureStore, PrivacyIndex};
pub use rate_limits::RateLimitStore;

pub(crate) use call::{classify, Metered};
pub(crate) use cursor::{CursorKeys, KeyType};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// The TTL attribute of every table that has one (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// What a store needs to honour retention: how long each kind of item is
/// kept, and the clock that says what "now" is, for the `expiresAt` it
/// writes and for the reads that leave expired items out. DynamoDB deletes
/// an expired item only within a few days of its expiry and returns it
/// to reads until then ("How Time to Live works", Amazon DynamoDB
/// Developer Guide), so every read filters on the attribute itself.
#[derive(Clone)]
pub struct Ttl {
    pub retention: crate::config::Retention,
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl std::fmt::Debug for Ttl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ttl")
            .field("retention", &self.retention)
            .field("now", &self.clock.now())
            .finish()
    }
}

impl Default for Ttl {
    /// The environment's retention (the template's parameters) and the real clock.
    fn default() -> Self {
        Self {
            retention: crate::config::Retention::from_env_or_default(),
            clock: std::sync::Arc::new(crate::clock::SystemClock),
        }
    }
}

impl Ttl {
    /// Now, in epoch seconds.
    pub fn now_secs(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// The `expiresAt` of an item written now and kept `days`.
    pub fn expires_in(&self, days: u32) -> i64 {
        crate::config::Retention::expires_at(self.clock.now(), days)
    }

    /// Whether an item is still to be served: no `expiresAt` (an item
    /// written before retention existed, or a kind that has none), one
    /// that is not a number (DynamoDB's TTL ignores it too), or one later
    /// than now. DynamoDB treats `expiresAt <= now` as expired.
    pub fn is_live(&self, item: &Item) -> bool {
        is_live_at(item, self.now_secs())
    }

    /// A Query that keeps only live items (see [`Ttl::is_live`]), and
    /// `other` (a filter of the caller's, or None) as well. A filter is
    /// applied after the read, so a page can come back shorter than its
    /// Limit (even empty) while its LastEvaluatedKey, and so the cursor
    /// made from it, still leads on.
    pub(crate) fn filter_query(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        other: Option<&str>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let live = LIVE_FILTER;
        let expression = match other {
            Some(other) => format!("({other}) AND {live}"),
            None => live.to_string(),
        };
        query
            .filter_expression(expression)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":ttlNow", n(self.now_secs()))
            .expression_attribute_values(":ttlNumber", s("N"))
    }
}

/// Live: no TTL attribute, one that is not a Number (DynamoDB's TTL ignores
/// those), or one after now.
const LIVE_FILTER: &str = "(attribute_not_exists(#ttl) OR NOT attribute_type(#ttl, :ttlNumber) OR #ttl > :ttlNow)";

/// [`Ttl::is_live`] at epoch second `now`.
pub fn is_live_at(item: &Item, now: i64) -> bool {
    match item.get(TTL_ATTRIBUTE) {
        Some(AttributeValue::N(v)) => v.parse::<f64>().map_or(true, |t| t > now as f64),
        _ => true,
    }
}

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
    /// The item is there but past its `expiresAt`: DynamoDB's TTL has not
    /// deleted it yet (it may take days), and it must be treated as gone.
    #[error("{0} has expired (retention)")]
    Expired(String),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ttl(v: Option<AttributeValue>) -> Item {
        v.map(|v| Item::from([(TTL_ATTRIBUTE.to_string(), v)]))
            .unwrap_or_default()
    }

    #[test]
    fn an_item_is_live_until_its_expiry_and_a_non_number_never_expires() {
        let now = 1_000;
        assert!(is_live_at(&with_ttl(None), now), "no TTL: kept");
        assert!(is_live_at(&with_ttl(Some(n(1_001))), now));
        assert!(
            !is_live_at(&with_ttl(Some(n(1_000))), now),
            "expiresAt <= now is expired"
        );
        assert!(!is_live_at(&with_ttl(Some(n(5))), now));
        assert!(
            is_live_at(&with_ttl(Some(s("5"))), now),
            "a String TTL is ignored, as by DynamoDB"
        );
    }
}
