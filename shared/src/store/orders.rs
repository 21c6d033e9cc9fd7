//! The orders table: PK partnerId, SK sequenceNumber, and the byEventTime
//! GSI (partnerId, eventTime) for time-range reads.

use super::{classify, corrupt, decode_cursor, encode_cursor, n, s, BadCursor, Item, Page, StoreError};
use crate::cost::CostMeter;
use crate::order::Order;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const BY_EVENT_TIME: &str = "byEventTime";

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredOrder {
    pub partner_id: String,
    #[serde(flatten)]
    pub order: Order,
    /// The feed that first stored this order.
    pub feed_id: String,
    pub received_at: String,
    pub order_hash: String,
    pub persisted_at: String,
}

/// What a conditional put found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// The order is new and now stored.
    Created,
    /// An order already holds this sequence number.
    Exists { order_hash: String, feed_id: String },
}

#[derive(Debug, Clone)]
pub struct OrderStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl OrderStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Writes the order unless its (partnerId, sequenceNumber) is taken; one
    /// write either way. On a taken key DynamoDB returns the existing item
    /// with the failure (ReturnValuesOnConditionCheckFailure), so telling a
    /// replay from a conflict costs no extra read.
    pub async fn put_if_absent(&self, order: &StoredOrder, meter: &CostMeter) -> Result<PutOutcome, StoreError> {
        let item: Item = serde_dynamo::to_item(order).map_err(corrupt)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sequenceNumber)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                meter.dynamodb_write(out.consumed_capacity());
                Ok(PutOutcome::Created)
            }
            Err(SdkError::ServiceError(e)) if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) => {
                // A failed condition still consumes one write unit.
                meter.dynamodb_write(None);
                let existing = match e.err() {
                    PutItemError::ConditionalCheckFailedException(c) => c.item.clone(),
                    _ => None,
                };
                let existing = match existing {
                    Some(item) => item,
                    None => self
                        .get_item(&order.partner_id, order.order.sequence_number, meter)
                        .await?
                        .ok_or_else(|| StoreError::Transient("the conflicting order vanished; retry".into()))?,
                };
                let field = |name: &str| match existing.get(name) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(v)) => Ok(v.clone()),
                    _ => Err(corrupt(format!("stored order has no {name}"))),
                };
                Ok(PutOutcome::Exists {
                    order_hash: field("orderHash")?,
                    feed_id: field("feedId")?,
                })
            }
            Err(e) => Err(classify(e)),
        }
    }

    async fn get_item(&self, partner_id: &str, seq: u64, meter: &CostMeter) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("sequenceNumber", n(seq))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(classify)?;
        meter.dynamodb_read(out.consumed_capacity());
        Ok(out.item)
    }

    pub async fn get(&self, partner_id: &str, seq: u64, meter: &CostMeter) -> Result<Option<StoredOrder>, StoreError> {
        match self.get_item(partner_id, seq, meter).await? {
            Some(item) => serde_dynamo::from_item(item).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    /// The partner's orders with `from <= eventTime <= to` (fixed-width UTC
    /// strings), oldest first.
    pub async fn by_event_time(
        &self,
        partner_id: &str,
        from: &str,
        to: &str,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<Page<StoredOrder>, BadCursor>, StoreError> {
        let start_key = match cursor.map(decode_cursor).transpose() {
            Ok(c) => c,
            Err(bad) => return Ok(Err(bad)),
        };
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_EVENT_TIME)
            .key_condition_expression("partnerId = :p AND eventTime BETWEEN :from AND :to")
            .expression_attribute_values(":p", s(partner_id))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .limit(limit)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if let Some(c) = start_key {
            let (Some(t), Some(seq)) = (c.get("t").and_then(|v| v.as_str()), c.get("s").and_then(|v| v.as_u64()))
            else {
                return Ok(Err(BadCursor));
            };
            // A cursor outside the requested range is not one we issued for it.
            if t < from || t > to {
                return Ok(Err(BadCursor));
            }
            req = req
                .exclusive_start_key("partnerId", s(partner_id))
                .exclusive_start_key("eventTime", s(t))
                .exclusive_start_key("sequenceNumber", n(seq));
        }
        let out = req.send().await.map_err(classify)?;
        meter.dynamodb_read(out.consumed_capacity());
        let items: Vec<StoredOrder> = serde_dynamo::from_items(out.items.unwrap_or_default()).map_err(corrupt)?;
        let next_cursor = match out.last_evaluated_key {
            Some(last) => {
                let t = match last.get("eventTime") {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(t)) => t.clone(),
                    _ => return Err(corrupt("page key has no eventTime")),
                };
                let seq: u64 = match last.get("sequenceNumber") {
                    Some(aws_sdk_dynamodb::types::AttributeValue::N(v)) => v.parse().map_err(corrupt)?,
                    _ => return Err(corrupt("page key has no sequenceNumber")),
                };
                Some(encode_cursor(&json!({"t": t, "s": seq})))
            }
            None => None,
        };
        Ok(Ok(Page { items, next_cursor }))
    }
}
