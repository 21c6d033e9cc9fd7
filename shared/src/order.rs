//! The canonical order: what every partner format maps to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub sequence_number: u64,
    /// The partner's own order id.
    pub external_id: String,
    /// UTC, RFC 3339, millisecond precision.
    #[serde(with = "crate::time::utc_millis")]
    pub event_time: DateTime<Utc>,
    /// ISO 4217 alphabetic code, upper case.
    pub currency: String,
    /// Total in integer minor units (cents for EUR/USD, yen for JPY).
    pub total_minor: i64,
    pub lines: Vec<OrderLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub sku: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
}

impl Order {
    /// A content hash of the canonical order. Persist compares it to tell a
    /// replay (same hash: `duplicate`) from a conflict (different hash under
    /// the same sequence number). Field order is fixed by the struct, so the
    /// serialization is deterministic.
    pub fn content_hash(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

/// An order with its position in the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexedOrder {
    pub index: usize,
    pub order: Order,
}

/// A raw (partner-format) order with its position in the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawOrder {
    pub index: usize,
    pub order: serde_json::Value,
}
