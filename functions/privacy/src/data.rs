//! One data subject's items, found by their index refs: read (an export)
//! or redacted in place (an erasure). The admin function's export and this
//! function's Erase step share it, so both see the same items.
//!
//! Every write is conditional on the item being as it was read (or at
//! least existing): a retried chunk, or two erasures of one item, never
//! resurrect a deleted item nor overwrite a change made in between; a lost
//! race is a [`StoreError::Transient`], which the state machine retries.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use serde_json::Value;
use std::collections::HashMap;
use zb_shared::cost::CostMeter;
use zb_shared::feed::FeedRecord;
use zb_shared::format::{FormatError, FormatResolver};
use zb_shared::privacy::{redact_canonical, redact_raw_order, Identifier};
use zb_shared::store::{ErrorItem, FeedStore, StoreError, StoredOrder};

type Item = HashMap<String, AttributeValue>;

/// The sort key of a feed's raw body in the feeds table (`store::feeds`
/// writes it as `<feedId>#body`; the suffix is private there).
const BODY_SUFFIX: &str = "#body";

/// Errors of a data read or write.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Format(#[from] FormatError),
}

impl DataError {
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Store(e) => e.is_transient(),
            Self::Format(FormatError::Store(e)) => e.is_transient(),
            Self::Format(_) => false,
        }
    }
}

/// A raw order inside a stored feed body.
#[derive(Debug, Clone, PartialEq)]
pub struct RawOrder {
    pub feed_id: String,
    pub index: usize,
    pub order: Value,
}

/// The tables a subject's items live in.
#[derive(Clone)]
pub struct Data {
    pub client: aws_sdk_dynamodb::Client,
    pub feeds: FeedStore,
    pub feeds_table: String,
    pub orders_table: String,
    pub errors_table: String,
    pub formats: FormatResolver,
}

fn sdk_err<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let code = e.code().unwrap_or_default().to_string();
    let msg = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    let transient = matches!(
        e,
        aws_sdk_dynamodb::error::SdkError::TimeoutError(_)
            | aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)
            | aws_sdk_dynamodb::error::SdkError::ResponseError(_)
    ) || matches!(
        code.as_str(),
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "TransactionConflictException"
            // A conditional write lost a race with another writer: read
            // again and redo (the state machine retries the chunk).
            | "ConditionalCheckFailedException"
    );
    if transient {
        StoreError::Transient(msg)
    } else {
        StoreError::Failed(msg)
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The pointers of a format's `personalData` (format.json, issue 16).
fn personal_pointers(definition: &Value) -> Vec<String> {
    definition
        .get("personalData")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

impl Data {
    async fn get_item(&self, table: &str, key: Item, meter: &CostMeter) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(sdk_err)?;
        meter.dynamodb_read(out.consumed_capacity());
        // DynamoDB deletes an expired item only within a few days ("Time
        // to Live", AWS docs): one past its `expiresAt` is taken for gone,
        // as every store's reads do.
        let now = chrono::Utc::now().timestamp();
        Ok(out.item.filter(|item| match item.get("expiresAt") {
            Some(AttributeValue::N(at)) => at.parse::<i64>().map_or(true, |at| at > now),
            _ => true,
        }))
    }

    fn order_key(partner_id: &str, seq: u64) -> Item {
        Item::from([
            ("partnerId".to_string(), s(partner_id)),
            ("sequenceNumber".to_string(), AttributeValue::N(seq.to_string())),
        ])
    }

    fn error_key(partner_id: &str, feed: &FeedRecord, index: usize) -> Item {
        Item::from([
            ("partnerId".to_string(), s(partner_id)),
            (
                "sk".to_string(),
                s(ErrorItem::sort_key(&feed.received_at, &feed.feed_id, index)),
            ),
        ])
    }

    /// The feed record (for its format and time of receipt).
    pub async fn feed(
        &self,
        partner_id: &str,
        feed_id: &str,
        meter: &CostMeter,
    ) -> Result<Option<FeedRecord>, StoreError> {
        self.feeds.get(partner_id, feed_id, meter).await
    }

    /// One stored order, as the admin API shows orders.
    pub async fn order(&self, partner_id: &str, seq: u64, meter: &CostMeter) -> Result<Option<Value>, StoreError> {
        let item = self
            .get_item(&self.orders_table, Self::order_key(partner_id, seq), meter)
            .await?;
        let Some(item) = item else { return Ok(None) };
        let order: StoredOrder = serde_dynamo::from_item(item).map_err(corrupt)?;
        let mut view = order.view();
        // The export says whose it is, as the admin listings do.
        if let Some(map) = view.as_object_mut() {
            map.insert("partnerId".into(), Value::String(partner_id.to_string()));
        }
        Ok(Some(view))
    }

    /// One errors-table item of a feed, as the admin API shows errors.
    pub async fn error(
        &self,
        partner_id: &str,
        feed: &FeedRecord,
        index: usize,
        meter: &CostMeter,
    ) -> Result<Option<Value>, StoreError> {
        let item = self
            .get_item(&self.errors_table, Self::error_key(partner_id, feed, index), meter)
            .await?;
        let Some(item) = item else { return Ok(None) };
        let error: ErrorItem = serde_dynamo::from_item(item).map_err(corrupt)?;
        let mut view = error.view();
        if let Some(map) = view.as_object_mut() {
            map.insert("partnerId".into(), Value::String(partner_id.to_string()));
        }
        Ok(Some(view))
    }

    /// The orders at `indexes` of a feed's stored body (those it still has).
    pub async fn raw_orders(
        &self,
        partner_id: &str,
        feed: &FeedRecord,
        indexes: &[usize],
        meter: &CostMeter,
    ) -> Result<Vec<RawOrder>, DataError> {
        let Some(body) = self.feeds.get_body(partner_id, &feed.feed_id, meter).await? else {
            return Ok(Vec::new());
        };
        let format = self.formats.get(&feed.format, meter).await?;
        // An accepted feed's body is JSON (ingest checked it); one that is
        // not holds nothing this can find by pointer.
        let Ok(doc) = serde_json::from_str::<Value>(&body) else {
            return Ok(Vec::new());
        };
        let orders = doc.pointer(&format.orders_pointer).and_then(Value::as_array);
        Ok(indexes
            .iter()
            .filter_map(|&index| {
                orders.and_then(|o| o.get(index)).map(|order| RawOrder {
                    feed_id: feed.feed_id.clone(),
                    index,
                    order: order.clone(),
                })
            })
            .collect())
    }

    /// Removes the personal fields of one stored order (`redact_canonical`);
    /// its amounts, lines and ids stay. True if it changed.
    pub async fn erase_order(&self, partner_id: &str, seq: u64, meter: &CostMeter) -> Result<bool, StoreError> {
        let Some(item) = self
            .get_item(&self.orders_table, Self::order_key(partner_id, seq), meter)
            .await?
        else {
            return Ok(false);
        };
        let mut order: Value = serde_dynamo::from_item(item.clone()).map_err(corrupt)?;
        if !redact_canonical(&mut order) {
            return Ok(false);
        }
        let mut redacted: Item = serde_dynamo::to_item(&order).map_err(corrupt)?;
        // Keys and the content hash exactly as stored (numbers stay numbers).
        for k in ["partnerId", "sequenceNumber", "orderHash"] {
            if let Some(v) = item.get(k) {
                redacted.insert(k.to_string(), v.clone());
            }
        }
        let hash = item.get("orderHash").cloned().unwrap_or(AttributeValue::Null(true));
        let out = self
            .client
            .put_item()
            .table_name(&self.orders_table)
            .set_item(Some(redacted))
            // The order as read: a concurrent change is redone from a fresh read.
            .condition_expression("attribute_exists(sequenceNumber) AND orderHash = :h")
            .expression_attribute_values(":h", hash)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(sdk_err)?;
        meter.dynamodb_write(out.consumed_capacity());
        Ok(true)
    }

    /// Redacts the orders at `indexes` of a feed's stored body: the
    /// format's personalData and every string naming one of `ids`. Other
    /// orders of the body (other people) stay as they are. The number of
    /// orders that changed.
    pub async fn erase_raw_orders(
        &self,
        partner_id: &str,
        feed: &FeedRecord,
        indexes: &[usize],
        ids: &[Identifier],
        meter: &CostMeter,
    ) -> Result<u64, DataError> {
        let Some(body) = self.feeds.get_body(partner_id, &feed.feed_id, meter).await? else {
            return Ok(0);
        };
        let format = self.formats.get(&feed.format, meter).await?;
        let personal = personal_pointers(format.definition());
        let Ok(mut doc) = serde_json::from_str::<Value>(&body) else {
            return Ok(0);
        };
        let mut changed = 0;
        if let Some(orders) = doc.pointer_mut(&format.orders_pointer).and_then(Value::as_array_mut) {
            for &index in indexes {
                if let Some(order) = orders.get_mut(index) {
                    if redact_raw_order(order, &personal, ids) {
                        changed += 1;
                    }
                }
            }
        }
        if changed == 0 {
            return Ok(0);
        }
        let redacted = serde_json::to_string(&doc).map_err(corrupt)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.feeds_table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(format!("{}{BODY_SUFFIX}", feed.feed_id)))
            .update_expression("SET body = :new")
            .condition_expression("body = :old")
            .expression_attribute_values(":new", s(redacted))
            .expression_attribute_values(":old", s(body))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(sdk_err)?;
        meter.dynamodb_write(out.consumed_capacity());
        Ok(changed)
    }

    /// Deletes the staged step batches of a finished feed
    /// (`<feedId>#stage#<step>#<part>`: raw and canonical orders, which the
    /// pipeline stages whenever a batch holds order content). They are read
    /// only while the feed runs, and a redrive stages them anew from the
    /// body, so a finished feed loses nothing. A batch is split at byte
    /// boundaries, so a part cannot be redacted alone; a feed still running
    /// is a [`StoreError::Transient`], which the state machine retries
    /// (the sweeper finishes a stuck feed). The number of parts deleted.
    pub async fn erase_staged(
        &self,
        partner_id: &str,
        feed: &FeedRecord,
        meter: &CostMeter,
    ) -> Result<u64, StoreError> {
        let prefix = format!("{}#stage#", feed.feed_id);
        let mut keys = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.feeds_table)
                .key_condition_expression("partnerId = :p AND begins_with(feedId, :s)")
                .expression_attribute_values(":p", s(partner_id))
                .expression_attribute_values(":s", s(&prefix))
                .projection_expression("partnerId, feedId")
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(sdk_err)?;
            meter.dynamodb_read(out.consumed_capacity());
            keys.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        if keys.is_empty() {
            return Ok(0);
        }
        if !feed.status.is_terminal() {
            return Err(StoreError::Transient(format!(
                "feed {} is still being processed; its staged batches are erased once it has finished",
                feed.feed_id
            )));
        }
        let mut deleted = 0;
        for key in keys {
            let out = self
                .client
                .delete_item()
                .table_name(&self.feeds_table)
                .set_key(Some(key))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(sdk_err)?;
            meter.dynamodb_write(out.consumed_capacity());
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Redacts one errors-table item: its copy of the raw order (as a raw
    /// order in a body) and a message quoting an identifier. True if it changed.
    pub async fn erase_error(
        &self,
        partner_id: &str,
        feed: &FeedRecord,
        index: usize,
        ids: &[Identifier],
        meter: &CostMeter,
    ) -> Result<bool, DataError> {
        let key = Self::error_key(partner_id, feed, index);
        let Some(item) = self.get_item(&self.errors_table, key.clone(), meter).await? else {
            return Ok(false);
        };
        let format = self.formats.get(&feed.format, meter).await?;
        let personal = personal_pointers(format.definition());
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        };
        let mut sets: Vec<(&str, String)> = Vec::new();
        if let Some(raw) = text("rawOrder") {
            let redacted = match serde_json::from_str::<Value>(&raw) {
                Ok(mut order) => {
                    if redact_raw_order(&mut order, &personal, ids) {
                        Some(serde_json::to_string(&order).map_err(corrupt)?)
                    } else {
                        None
                    }
                }
                // Not JSON: nothing to point into; it goes whole if it names them.
                Err(_) => {
                    let mut v = Value::String(raw.clone());
                    redact_raw_order(&mut v, &[], ids).then(|| zb_shared::privacy::ERASED.to_string())
                }
            };
            if let Some(r) = redacted {
                sets.push(("rawOrder", r));
            }
        }
        // A rejection's message quotes at most 64 characters of a value,
        // which can be an identifier.
        if let Some(message) = text("message") {
            let mut v = Value::String(message);
            if redact_raw_order(&mut v, &[], ids) {
                sets.push(("message", zb_shared::privacy::ERASED.to_string()));
            }
        }
        if sets.is_empty() {
            return Ok(false);
        }
        let mut req = self
            .client
            .update_item()
            .table_name(&self.errors_table)
            .set_key(Some(key))
            .condition_expression("attribute_exists(sk)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let mut update = Vec::new();
        for (i, (name, value)) in sets.into_iter().enumerate() {
            update.push(format!("#n{i} = :v{i}"));
            req = req
                .expression_attribute_names(format!("#n{i}"), name)
                .expression_attribute_values(format!(":v{i}"), s(value));
        }
        let out = req
            .update_expression(format!("SET {}", update.join(", ")))
            .send()
            .await
            .map_err(sdk_err)?;
        meter.dynamodb_write(out.consumed_capacity());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn personal_pointers_come_from_the_definition() {
        assert_eq!(
            personal_pointers(&json!({"personalData": ["/buyer", 3, "/ship_to"]})),
            ["/buyer", "/ship_to"]
        );
        assert!(personal_pointers(&json!({})).is_empty());
    }
}
