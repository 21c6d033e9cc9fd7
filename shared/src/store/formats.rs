//! The formats table: one item per published format version, keyed
//! `name` (HASH, S) + `version` (RANGE, N). An item is written once and
//! never changed: a `<name>@<version>` means the same mapping and schema
//! forever, which is what lets every function cache it for good.

use super::{from_item, n, s, scan_pages, to_item, Item, Metered, StoreError};
use crate::cost::CostMeter;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use serde::{Deserialize, Serialize};

/// DynamoDB's item size limit (400 KB = 409,600 bytes).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// One published format version, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredFormat {
    pub name: String,
    pub version: u32,
    /// `<name>@<version>`.
    pub format_id: String,
    /// The format.json text.
    pub format_json: String,
    /// The JSON Schema text.
    pub schema_json: String,
    /// RFC 3339, UTC.
    pub published_at: String,
    /// The operator's username.
    pub published_by: String,
}

impl StoredFormat {
    /// The item's size as DynamoDB counts it: each attribute's name plus its
    /// value (a string's UTF-8 bytes; a number at most 21 bytes).
    pub fn item_bytes(&self) -> usize {
        const NUMBER_MAX_BYTES: usize = 21;
        [
            ("name", self.name.len()),
            ("version", NUMBER_MAX_BYTES),
            ("formatId", self.format_id.len()),
            ("formatJson", self.format_json.len()),
            ("schemaJson", self.schema_json.len()),
            ("publishedAt", self.published_at.len()),
            ("publishedBy", self.published_by.len()),
        ]
        .iter()
        .map(|(attr, bytes)| attr.len() + bytes)
        .sum()
    }
}

#[derive(Debug, Clone)]
pub struct FormatStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl FormatStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// One version, read consistently: a feed may arrive the moment after
    /// its format was published, and an eventually consistent read could
    /// still miss it. A function reads each version once (it is cached
    /// for good), so the doubled read cost does not matter.
    pub async fn get(&self, name: &str, version: u32, meter: &CostMeter) -> Result<Option<StoredFormat>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("name", s(name))
            .key("version", n(version))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        from_item(out.item)
    }

    /// Writes a new version; `StoreError::Conflict` when it exists (the
    /// condition makes versions immutable even against a concurrent publish).
    pub async fn put_new(&self, format: &StoredFormat, meter: &CostMeter) -> Result<(), StoreError> {
        let item: Item = to_item(format)?;
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // `name` is a DynamoDB reserved word.
            .condition_expression("attribute_not_exists(#n)")
            .expression_attribute_names("#n", "name")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        match written {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict(format!("format {}", format.format_id))),
        }
    }

    /// Every published version. A Scan, on purpose: the table holds a few
    /// items per partner (people publish formats, rarely), so reading it
    /// whole is cheaper and simpler than keeping an index to list it. Read
    /// consistently so a version just published is listed.
    pub async fn list(&self, meter: &CostMeter) -> Result<Vec<StoredFormat>, StoreError> {
        let req = self.client.scan().table_name(&self.table).consistent_read(true);
        scan_pages(req, meter).await
    }
}
