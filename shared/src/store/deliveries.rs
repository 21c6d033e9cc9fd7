//! The deliveries table: (partnerId, deliveryId) with every attempt on the
//! item. deliveryId starts with the creation time, so a partner's
//! deliveries sort by time and "dead letters since T" is a key range.

use super::{
    from_item, n, s, scan_pages, to_item, BadCursor, CursorKeys, Item, KeyType, Metered, Page, StoreError, Ttl,
};
use crate::cost::CostMeter;
use crate::delivery::{Attempt, Delivery, DeliveryStatus};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, ReturnValue};

#[derive(Debug, Clone)]
pub struct DeliveryStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Deliveries are kept `delivery_days` (the writer sets `expiresAt`
    /// from [`DeliveryStore::expires_at`]); reads leave expired ones out.
    ttl: Ttl,
}

fn key(partner_id: &str, delivery_id: &str) -> Item {
    Item::from([
        ("partnerId".to_string(), s(partner_id)),
        ("deliveryId".to_string(), s(delivery_id)),
    ])
}

/// A list cursor carries the deliveryId to start after.
const CURSOR: CursorKeys = CursorKeys {
    listing: "deliveries",
    keys: &[("k", "deliveryId", KeyType::S)],
};

impl DeliveryStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Ttl::default(),
        }
    }

    ttl_builders!();

    /// The `expiresAt` of a delivery created at `now`.
    pub fn expires_at(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        crate::config::Retention::expires_at(now, self.ttl.retention.delivery_days)
    }

    /// Writes a new delivery; Ok(false) when it already exists (a retried
    /// notify), which leaves the stored one untouched.
    pub async fn create(&self, d: &Delivery, meter: &CostMeter) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(d)?))
            .condition_expression("attribute_not_exists(deliveryId)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        Ok(out.is_some())
    }

    /// The delivery, None if there is none or it is past its retention
    /// (an attempt or replay of it then finds nothing to send).
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
            .metered(meter)?;
        from_item(out.item.filter(|i| self.ttl.is_live(i)))
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
        let attempt = to_item(attempt)?;
        let error = attempt.get("error").cloned().unwrap_or(AttributeValue::Null(true));
        self.client
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
            .metered(meter)?;
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
        self.client
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
            .metered(meter)?;
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
            // An expired dead letter is gone, though TTL has not deleted it yet.
            .condition_expression("#s = :dead AND (attribute_not_exists(expiresAt) OR expiresAt > :epoch)")
            .expression_attribute_values(":epoch", n(self.ttl.now_secs()))
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s(DeliveryStatus::Pending.as_str()))
            .expression_attribute_values(":dead", s(DeliveryStatus::Dead.as_str()))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        from_item(out.and_then(|o| o.attributes))
    }

    /// A page of the partner's deliveries, oldest first, from deliveryId
    /// `from` on (a time prefix), optionally only those with `status`,
    /// leaving out those past their retention (a page may then be short;
    /// its cursor still leads on).
    pub async fn list(
        &self,
        partner_id: &str,
        status: Option<DeliveryStatus>,
        from: &str,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<Page<Delivery>, BadCursor>, StoreError> {
        let Ok(start) = CURSOR.start_key(cursor, ("partnerId", partner_id), "deliveryId", from..) else {
            return Ok(Err(BadCursor));
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
            .set_exclusive_start_key(start);
        if !from.is_empty() {
            req = req.expression_attribute_values(":from", s(from));
        }
        req = match status {
            Some(st) => self
                .ttl
                .filter_query(req, Some("#s = :s"))
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", s(st.as_str())),
            None => self.ttl.filter_query(req, None),
        };
        let out = req
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        CURSOR
            .page(partner_id, out.items, out.last_evaluated_key.as_ref())
            .map(Ok)
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

    /// Every partner's deliveries with `status` whose deliveryId is at or
    /// after `from` (a time prefix): a paginated scan, for operators (the
    /// table's key is per partner and it has no index across partners).
    /// Sorted by partner, then oldest first.
    pub async fn scan_all(
        &self,
        status: Option<DeliveryStatus>,
        from: &str,
        meter: &CostMeter,
    ) -> Result<Vec<Delivery>, StoreError> {
        // Those past their retention are left out, as by every read.
        let mut filters = vec!["(attribute_not_exists(expiresAt) OR expiresAt > :epoch)"];
        let mut req = self
            .client
            .scan()
            .table_name(&self.table)
            .expression_attribute_values(":epoch", n(self.ttl.now_secs()));
        if !from.is_empty() {
            filters.push("deliveryId >= :from");
            req = req.expression_attribute_values(":from", s(from));
        }
        if let Some(st) = status {
            filters.push("#s = :s");
            req = req
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", s(st.as_str()));
        }
        req = req.filter_expression(filters.join(" AND "));
        let mut all: Vec<Delivery> = scan_pages(req, meter).await?;
        all.sort_by(|a, b| (&a.partner_id, &a.delivery_id).cmp(&(&b.partner_id, &b.delivery_id)));
        Ok(all)
    }
}
