//! The errors table: one item per rejected order, kept ErrorRetentionDays (TTL, default 30) with
//! the raw order for diagnosis. SK `<receivedAt>#<feedId>#<index>` sorts a
//! partner's errors by time and makes a rewrite of the same rejection
//! idempotent.

use super::{corrupt, query_between, to_item, BadCursor, CursorKeys, KeyType, Metered, Page, StoreError, Ttl};
use crate::cost::CostMeter;
use crate::rejection::{RejectionCode, Stage};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};

/// The largest raw order copied into an error item; a larger one is kept
/// by reference to the stored body.
pub const RAW_ORDER_MAX_BYTES: usize = 16 * 1024;
/// A query cursor carries the sort key to start after.
const CURSOR: CursorKeys = CursorKeys {
    listing: "errors",
    keys: &[("k", "sk", KeyType::S)],
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorItem {
    pub partner_id: String,
    pub sk: String,
    pub feed_id: String,
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    pub code: RejectionCode,
    pub field: String,
    pub message: String,
    pub stage: Stage,
    /// The order exactly as the partner sent it (JSON text), when it is at
    /// most [`RAW_ORDER_MAX_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_order: Option<String>,
    /// A larger order is not copied: this JSON Pointer names it in the
    /// feed's stored body, so no error item nears DynamoDB's 400 KB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_order_ref: Option<String>,
    pub received_at: String,
    pub recorded_at: String,
    /// Epoch seconds; DynamoDB TTL deletes the item after it.
    pub expires_at: i64,
}

impl ErrorItem {
    pub fn sort_key(received_at: &str, feed_id: &str, index: usize) -> String {
        format!("{received_at}#{feed_id}#{index:06}")
    }

    /// The rejected order as the partner's API answers it (GET /v1/errors);
    /// the admin API puts the partnerId first.
    pub fn view(self) -> serde_json::Value {
        serde_json::json!({
            "feedId": self.feed_id,
            "index": self.index,
            "sequenceNumber": self.sequence_number,
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "stage": self.stage,
            "rawOrder": self.raw_order,
            "rawOrderRef": self.raw_order_ref,
            "receivedAt": self.received_at,
            "recordedAt": self.recorded_at,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ErrorLog {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Error items are kept `error_days` (the writer sets `expiresAt` from
    /// [`ErrorLog::expires_at`]); reads leave expired ones out.
    ttl: Ttl,
}

impl ErrorLog {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Ttl::default(),
        }
    }

    ttl_builders!();

    /// The `expiresAt` of an error item recorded at `now`.
    pub fn expires_at(&self, now: chrono::DateTime<chrono::Utc>) -> i64 {
        crate::config::Retention::expires_at(now, self.ttl.retention.error_days)
    }

    /// Writes all items, 25 per batch, re-sending what DynamoDB left unprocessed.
    pub async fn record(&self, items: &[ErrorItem], meter: &CostMeter) -> Result<(), StoreError> {
        let mut requests = Vec::with_capacity(items.len());
        for item in items {
            let put = PutRequest::builder()
                .set_item(Some(to_item(item)?))
                .build()
                .map_err(corrupt)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        super::batch_write(&self.client, &self.table, requests, meter).await
    }

    /// The partner's errors received between `from` and `to` (inclusive).
    pub async fn query(
        &self,
        partner_id: &str,
        from: &str,
        to: &str,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<Page<ErrorItem>, BadCursor>, StoreError> {
        self.query_code(partner_id, from, to, None, cursor, limit, meter).await
    }

    /// `query`, only the rejections with `code` when one is given (the
    /// admin API's filter). The code is a FilterExpression, applied after
    /// DynamoDB reads `limit` items, so a page can hold fewer than `limit`;
    /// its cursor still leads on until the range ends. Items past their
    /// retention are filtered out the same way.
    #[allow(clippy::too_many_arguments)]
    pub async fn query_code(
        &self,
        partner_id: &str,
        from: &str,
        to: &str,
        code: Option<RejectionCode>,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<Page<ErrorItem>, BadCursor>, StoreError> {
        // Every SK for an instant `to` starts with `to#`, and '~' sorts after
        // '#' and every character of a feed id, so `to~` bounds them all.
        let upper = format!("{to}~");
        let Ok(start) = CURSOR.start_key(cursor, ("partnerId", partner_id), "sk", from..=upper.as_str()) else {
            return Ok(Err(BadCursor));
        };
        let query = self.client.query().table_name(&self.table);
        let mut query = query_between(query, "sk", partner_id, (from, &upper), start, limit);
        query = match code {
            Some(code) => self
                .ttl
                .filter_query(query, Some("#code = :code"))
                .expression_attribute_names("#code", "code")
                .expression_attribute_values(":code", super::s(code.as_str())),
            None => self.ttl.filter_query(query, None),
        };
        let out = query.send().await.metered(meter)?;
        CURSOR
            .page(partner_id, out.items, out.last_evaluated_key.as_ref())
            .map(Ok)
    }
}
