//! The orders table: PK partnerId, SK sequenceNumber, and the byEventTime
//! GSI (partnerId, eventTime) for time-range reads.

use super::{
    classify, corrupt, from_item, n, query_between, s, str_attr, to_item, BadCursor, CursorKeys, Item, KeyType,
    Metered, Page, StoreError, Ttl, TTL_ATTRIBUTE,
};
use crate::cost::CostMeter;
use crate::order::Order;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure};
use serde::{Deserialize, Serialize};

pub const BY_EVENT_TIME: &str = "byEventTime";

/// A byEventTime cursor carries the index key and the table's sort key.
const CURSOR: CursorKeys = CursorKeys {
    listing: "orders",
    keys: &[("t", "eventTime", KeyType::S), ("s", "sequenceNumber", KeyType::N)],
};

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

impl StoredOrder {
    /// The order as the partner's API answers it (internal hashes stay
    /// internal); the admin API puts the partnerId first.
    pub fn view(self) -> serde_json::Value {
        serde_json::json!({
            "sequenceNumber": self.order.sequence_number,
            "externalId": self.order.external_id,
            "eventTime": crate::time::format_utc(self.order.event_time),
            "currency": self.order.currency,
            "totalMinor": self.order.total_minor,
            "lines": self.order.lines,
            "customerRef": self.order.customer_ref,
            "feedId": self.feed_id,
            "receivedAt": self.received_at,
            "persistedAt": self.persisted_at,
        })
    }
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
    /// Orders are kept `order_days` (financial records); reads leave
    /// expired ones out.
    ttl: Ttl,
}

impl OrderStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Ttl::default(),
        }
    }

    ttl_builders!();

    /// Writes the order unless its (partnerId, sequenceNumber) is taken; one
    /// write either way. On a taken key DynamoDB returns the existing item
    /// with the failure (ReturnValuesOnConditionCheckFailure), so telling a
    /// replay from a conflict costs no extra read.
    pub async fn put_if_absent(&self, order: &StoredOrder, meter: &CostMeter) -> Result<PutOutcome, StoreError> {
        let mut item = to_item(order)?;
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(self.ttl.expires_in(self.ttl.retention.order_days)),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sequenceNumber)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .record_consumed(meter);
        match result {
            Ok(_) => Ok(PutOutcome::Created),
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
                let field = |name: &str| {
                    str_attr(&existing, name)
                        .map(str::to_string)
                        .ok_or_else(|| corrupt(format!("stored order has no {name}")))
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
            .metered(meter)?;
        Ok(out.item)
    }

    /// The partner's order, None if there is none or it is past its retention.
    pub async fn get(&self, partner_id: &str, seq: u64, meter: &CostMeter) -> Result<Option<StoredOrder>, StoreError> {
        let item = self.get_item(partner_id, seq, meter).await?;
        from_item(item.filter(|i| self.ttl.is_live(i)))
    }

    /// The partner's orders with `from <= eventTime <= to` (fixed-width UTC
    /// strings), oldest first, leaving out orders past their retention (a
    /// page may then be short; its cursor still leads on).
    pub async fn by_event_time(
        &self,
        partner_id: &str,
        from: &str,
        to: &str,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<Page<StoredOrder>, BadCursor>, StoreError> {
        let Ok(start) = CURSOR.start_key(cursor, ("partnerId", partner_id), "eventTime", from..=to) else {
            return Ok(Err(BadCursor));
        };
        let query = self.client.query().table_name(&self.table).index_name(BY_EVENT_TIME);
        let query = self.ttl.filter_query(query, None);
        let out = query_between(query, "eventTime", partner_id, (from, to), start, limit)
            .send()
            .await
            .metered(meter)?;
        CURSOR
            .page(partner_id, out.items, out.last_evaluated_key.as_ref())
            .map(Ok)
    }
}
