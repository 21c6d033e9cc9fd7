//! The audit table: HASH `stream` (always "audit"), RANGE `entryId` (a
//! UUIDv7, so time-ordered). Changes are made by people, a few a minute at
//! most, so one partition key stays far below a partition's 1,000 writes a
//! second, and the newest entries of any time range are one Query
//! (ScanIndexForward false) with no index and no Scan.

use super::{s, to_item, BadCursor, CursorKeys, KeyType, Metered, Page, StoreError};
use crate::admin::audit::{entry_id_prefix, AuditEntry};
use crate::cost::CostMeter;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

/// The one partition key value.
pub const AUDIT_STREAM: &str = "audit";

/// A cursor carries the entryId to continue after.
const CURSOR: CursorKeys = CursorKeys {
    listing: "audit",
    keys: &[("k", "entryId", KeyType::S)],
};

/// What `GET /v1/admin/audit` filters by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// The actor's username or sub.
    pub actor: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl AuditStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Appends an entry. Conditional, so a (vanishingly unlikely) id clash
    /// can never overwrite an earlier entry: the log only grows.
    pub async fn put(&self, entry: &AuditEntry, meter: &CostMeter) -> Result<(), StoreError> {
        let mut item = to_item(entry)?;
        item.insert("stream".into(), s(AUDIT_STREAM));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(entryId)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(())
    }

    /// A page of entries, newest first. With an actor filter a page can
    /// hold fewer than `limit` entries (DynamoDB filters after reading
    /// `limit` items); `nextCursor` still leads on until the range ends.
    pub async fn query(
        &self,
        filter: &AuditFilter,
        cursor: Option<&str>,
        limit: i32,
        meter: &CostMeter,
    ) -> Result<Result<Page<AuditEntry>, BadCursor>, StoreError> {
        // Every id made in the millisecond of `from` starts with its
        // prefix, and '~' sorts after every character of an id, so
        // [prefix(from), prefix(to) + "~"] holds exactly the range.
        let lower = filter.from.map(entry_id_prefix).unwrap_or_else(|| "0".into());
        let upper = filter
            .to
            .map(|t| format!("{}~", entry_id_prefix(t)))
            .unwrap_or_else(|| "~".into());
        let Ok(start) = CURSOR.start_key(
            cursor,
            ("stream", AUDIT_STREAM),
            "entryId",
            lower.as_str()..=upper.as_str(),
        ) else {
            return Ok(Err(BadCursor));
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#stream = :s AND entryId BETWEEN :lo AND :hi")
            .expression_attribute_names("#stream", "stream")
            .expression_attribute_values(":s", s(AUDIT_STREAM))
            .expression_attribute_values(":lo", s(lower))
            .expression_attribute_values(":hi", s(upper))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start);
        if let Some(actor) = filter.actor.as_deref().filter(|a| !a.is_empty()) {
            query = query
                .filter_expression("actor.username = :a OR actor.#sub = :a")
                .expression_attribute_names("#sub", "sub")
                .expression_attribute_values(":a", s(actor));
        }
        let out = query
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        CURSOR
            .page(AUDIT_STREAM, out.items, out.last_evaluated_key.as_ref())
            .map(Ok)
    }
}
