//! Pagination cursors. Their own module because every paged query turns
//! LastEvaluatedKey into a cursor and a cursor back into an
//! ExclusiveStartKey the same way; only which key attributes it carries
//! differs, and [`CursorKeys`] says that per table.

use super::{corrupt, from_items, n, s, str_attr, Item, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use std::ops::RangeInclusive;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this API issued")]
pub struct BadCursor;

/// Opaque pagination cursors: base64url of a small JSON object. They hold
/// only sort-key values; the partition key always comes from the caller's
/// identity, so a cursor cannot reach another partner's data.
pub fn encode_cursor(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

pub fn decode_cursor(s: &str) -> Result<Value, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| BadCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| BadCursor)
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// How a key attribute is held: a string, or a whole number (`u64`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyType {
    S,
    N,
}

/// The key attributes a table's cursor carries besides the partition key,
/// each as (cursor field, attribute name, type).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CursorKeys(pub &'static [(&'static str, &'static str, KeyType)]);

impl CursorKeys {
    /// The ExclusiveStartKey for `cursor` (None: the first page), with the
    /// partition key (`name`, `value`) from the caller, never the cursor.
    pub fn start_key(&self, cursor: Option<&str>, partition: (&str, &str)) -> Result<Option<Item>, BadCursor> {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let fields = decode_cursor(cursor)?;
        let mut key = Item::from([(partition.0.to_string(), s(partition.1))]);
        for &(field, attr, kind) in self.0 {
            let value = fields.get(field).ok_or(BadCursor)?;
            let value = match kind {
                KeyType::S => s(value.as_str().ok_or(BadCursor)?),
                KeyType::N => n(value.as_u64().ok_or(BadCursor)?),
            };
            key.insert(attr.to_string(), value);
        }
        Ok(Some(key))
    }

    /// As [`Self::start_key`], refusing a cursor whose string attribute
    /// `attr` is outside `range`: one issued for another range.
    pub fn start_key_within(
        &self,
        cursor: Option<&str>,
        partition: (&str, &str),
        attr: &str,
        range: RangeInclusive<&str>,
    ) -> Result<Option<Item>, BadCursor> {
        let key = self.start_key(cursor, partition)?;
        match key.as_ref().and_then(|k| str_attr(k, attr)) {
            Some(v) if !range.contains(&v) => Err(BadCursor),
            _ => Ok(key),
        }
    }

    /// The cursor for a LastEvaluatedKey (None: that was the last page).
    pub fn next(&self, last_evaluated_key: Option<&Item>) -> Result<Option<String>, StoreError> {
        let Some(last) = last_evaluated_key else {
            return Ok(None);
        };
        let mut fields = Map::new();
        for &(field, attr, kind) in self.0 {
            let value = match (kind, last.get(attr)) {
                (KeyType::S, Some(AttributeValue::S(v))) => Value::from(v.as_str()),
                (KeyType::N, Some(AttributeValue::N(v))) => Value::from(v.parse::<u64>().map_err(corrupt)?),
                _ => return Err(corrupt(format!("page key has no {attr}"))),
            };
            fields.insert(field.to_string(), value);
        }
        Ok(Some(encode_cursor(&Value::Object(fields))))
    }

    /// A query's items and the cursor to the page after them.
    pub fn page<T: serde::de::DeserializeOwned>(
        &self,
        items: Option<Vec<Item>>,
        last_evaluated_key: Option<&Item>,
    ) -> Result<Page<T>, StoreError> {
        Ok(Page {
            items: from_items(items)?,
            next_cursor: self.next(last_evaluated_key)?,
        })
    }
}
