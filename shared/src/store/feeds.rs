//! The feeds table: the feed record (SK `<feedId>`) and, beside it, the raw
//! body the partner sent (SK `<feedId>#body`). The body is the claim check
//! the pipeline reads: a 256 KB feed does not fit in an EventBridge event or
//! a Step Functions payload, and a 202 must never depend on either.

use super::{corrupt, from_item, s, to_item, to_value, Item, Metered, StoreError};
use crate::cost::CostMeter;
use crate::feed::{Failure, FeedCounts, FeedRecord, FeedStatus, OrderOutcome};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};

const BODY_SUFFIX: &str = "#body";

#[derive(Debug, Clone)]
pub struct FeedStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The outcome persist or record-error writes onto a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedUpdate {
    pub status: FeedStatus,
    pub counts: FeedCounts,
    pub outcomes: Vec<OrderOutcome>,
    pub failure: Option<Failure>,
    pub updated_at: String,
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
        for item in [body_item, to_item(record)?] {
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

    async fn get_item(&self, partner_id: &str, sk: String, meter: &CostMeter) -> Result<Option<Item>, StoreError> {
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

    /// Writes the outcome of processing. The feed must exist.
    pub async fn update(
        &self,
        partner_id: &str,
        feed_id: &str,
        update: &FeedUpdate,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let mut expr =
            String::from("SET #status = :status, #counts = :counts, #outcomes = :outcomes, #updatedAt = :updatedAt");
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("partnerId", s(partner_id))
            .key("feedId", s(feed_id))
            .condition_expression("attribute_exists(feedId)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#counts", "counts")
            .expression_attribute_names("#outcomes", "outcomes")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":status", to_value(&update.status)?)
            .expression_attribute_values(":counts", to_value(&update.counts)?)
            .expression_attribute_values(":outcomes", to_value(&update.outcomes)?)
            .expression_attribute_values(":updatedAt", s(&update.updated_at));
        if let Some(failure) = &update.failure {
            expr.push_str(", #failure = :failure");
            req = req
                .expression_attribute_names("#failure", "failure")
                .expression_attribute_values(":failure", to_value(failure)?);
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
}
