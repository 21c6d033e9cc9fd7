//! The deliveries table: (partnerId, deliveryId) with every attempt on the
//! item. deliveryId starts with the creation time, so a partner's
//! deliveries sort by time and "dead letters since T" is a key range.

use super::{classify, corrupt, decode_cursor, encode_cursor, n, s, BadCursor, Item, Page, StoreError};
use crate::cost::CostMeter;
use crate::delivery::{Attempt, Delivery, DeliveryStatus};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct DeliveryStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn key(partner_id: &str, delivery_id: &str) -> Item {
    Item::from([
        ("partnerId".to_string(), s(partner_id)),
        ("deliveryId".to_string(), s(delivery_id)),
    ])
}

fn conditional_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

impl DeliveryStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Writes a new delivery; Ok(false) when it already exists (a retried
    /// notify), which leaves the stored one untouched.
    pub async fn create(&self, d: &Delivery, meter: &CostMeter) -> Result<bool, StoreError> {
        let item: Item = serde_dynamo::to_item(d).map_err(corrupt)?;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(deliveryId)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                meter.dynamodb_write(out.consumed_capacity());
                Ok(true)
            }
            Err(e) if e.as_service_error().is_some_and(conditional_failed) => Ok(false),
            Err(e) => Err(classify(e)),
        }
    }

    pub async fn get(
        &self,
        partner_id: &str,
        delivery_id: &str,
        meter: &CostMeter,
    ) -> Result<Option<Delivery>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(partner_id, delivery_id)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(classify)?;
        meter.dynamodb_read(out.consumed_capacity());
        out.item
            .map(|i| serde_dynamo::from_item(i).map_err(corrupt))
            .transpose()
    }

    /// Appends an attempt and sets the status it led to.
    pub async fn record_attempt(
        &self,
        partner_id: &str,
        delivery_id: &str,
        attempt: &Attempt,
        status: DeliveryStatus,
        now: &str,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let attempt: Item = serde_dynamo::to_item(attempt).map_err(corrupt)?;
        let error = attempt.get("error").cloned().unwrap_or(AttributeValue::Null(true));
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(partner_id, delivery_id)))
            .update_expression(
                "SET attempts = list_append(if_not_exists(attempts, :empty), :a), #s = :s, updatedAt = :now, lastError = :e",
            )
            .condition_expression("attribute_exists(deliveryId)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":empty", AttributeValue::L(vec![]))
            .expression_attribute_values(":a", AttributeValue::L(vec![AttributeValue::M(attempt)]))
            .expression_attribute_values(":s", s(status.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":e", error)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(classify)?;
        meter.dynamodb_write(out.consumed_capacity());
        Ok(())
    }

    /// Marks a delivery dead without an attempt (its endpoint is disabled).
    pub async fn mark_dead(
        &self,
        partner_id: &str,
        delivery_id: &str,
        reason: &str,
        now: &str,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(partner_id, delivery_id)))
            .update_expression("SET #s = :s, updatedAt = :now, lastError = :e")
            .condition_expression("attribute_exists(deliveryId)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", s(DeliveryStatus::Dead.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":e", s(reason))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(classify)?;
        meter.dynamodb_write(out.consumed_capacity());
        Ok(())
    }

    /// Puts a dead letter back to PENDING for another run and returns it
    /// with its new replay count; None if it does not exist or is not DEAD
    /// (a delivered one is never sent again, and one still retrying already
    /// has a run: a second would race it).
    pub async fn reopen(
        &self,
        partner_id: &str,
        delivery_id: &str,
        now: &str,
        meter: &CostMeter,
    ) -> Result<Option<Delivery>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(partner_id, delivery_id)))
            .update_expression("SET #s = :pending, updatedAt = :now, replays = if_not_exists(replays, :zero) + :one")
            .condition_expression("#s = :dead")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s(DeliveryStatus::Pending.as_str()))
            .expression_attribute_values(":dead", s(DeliveryStatus::Dead.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                meter.dynamodb_write(out.consumed_capacity());
                out.attributes
                    .map(|i| serde_dynamo::from_item(i).map_err(corrupt))
                    .transpose()
            }
            Err(e) if e.as_service_error().is_some_and(conditional_failed) => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }

    /// A page of the partner's deliveries, oldest first, from deliveryId
    /// `from` on (a time prefix), optionally only those with `status`.
    pub async fn list(
        &self,
        partner_id: &str,
        status: Option<DeliveryStatus>,
        from: &str,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<Page<Delivery>, BadCursor>, StoreError> {
        let start = match cursor.map(decode_cursor).transpose() {
            Ok(c) => c,
            Err(bad) => return Ok(Err(bad)),
        };
        // DynamoDB refuses an empty key value: no lower bound then.
        let condition = if from.is_empty() {
            "partnerId = :p"
        } else {
            "partnerId = :p AND deliveryId >= :from"
        };
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .expression_attribute_values(":p", s(partner_id))
            .limit(limit)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if !from.is_empty() {
            req = req.expression_attribute_values(":from", s(from));
        }
        if let Some(st) = status {
            req = req
                .filter_expression("#s = :s")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", s(st.as_str()));
        }
        if let Some(c) = start {
            let Some(k) = c.get("k").and_then(|v| v.as_str()) else {
                return Ok(Err(BadCursor));
            };
            req = req
                .exclusive_start_key("partnerId", s(partner_id))
                .exclusive_start_key("deliveryId", s(k));
        }
        let out = req.send().await.map_err(classify)?;
        meter.dynamodb_read(out.consumed_capacity());
        let items: Vec<Delivery> = serde_dynamo::from_items(out.items.unwrap_or_default()).map_err(corrupt)?;
        let next_cursor = match out.last_evaluated_key.as_ref().and_then(|k| k.get("deliveryId")) {
            Some(AttributeValue::S(k)) => Some(encode_cursor(&json!({"k": k}))),
            _ => None,
        };
        Ok(Ok(Page { items, next_cursor }))
    }

    /// Every delivery of the partner with `status` from `from` on (all pages).
    pub async fn list_all(
        &self,
        partner_id: &str,
        status: Option<DeliveryStatus>,
        from: &str,
        meter: &CostMeter,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list(partner_id, status, from, cursor.as_deref(), 100, meter)
                .await?
                .map_err(|_| StoreError::Corrupt("a cursor this store issued was refused".into()))?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }
}
