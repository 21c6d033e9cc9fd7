//! Sample orders in each partner's format, and the apps under test wired to
//! DynamoDB Local tables.

use serde_json::{json, Value};

/// 2026-01-01T12:00:00Z, the instant the tests' fixed clock reads.
pub const NOW_MS: i64 = 1_767_268_800_000;

pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(NOW_MS).unwrap_or_default()
}

pub fn clock() -> std::sync::Arc<dyn zb_shared::clock::Clock> {
    std::sync::Arc::new(zb_shared::clock::FixedClock(now()))
}

/// A valid Partner A order: 2 x 500 + 1 x 250 cents, total 1250.
pub fn a_order(seq: u64) -> Value {
    json!({
        "sequenceNumber": seq,
        "orderId": format!("A-{seq}"),
        "createdAt": NOW_MS - 60_000 * seq as i64,
        "currency": "EUR",
        "totalCents": 1250,
        "customer": {"id": format!("cust-{seq}")},
        "items": [
            {"sku": "SKU-1", "quantity": 2, "unitPriceCents": 500},
            {"sku": "SKU-2", "quantity": 1, "unitPriceCents": 250}
        ]
    })
}

pub fn a_feed(orders: Vec<Value>) -> Value {
    json!({ "orders": orders })
}

/// A valid Partner B order: 3 x 8.50 USD, total 25.50.
pub fn b_order(seq: u64) -> Value {
    json!({
        "seq_no": seq,
        "order_ref": format!("B-{seq}"),
        "created_at": "2026-01-01T13:30:00+02:00",
        "currency_code": "usd",
        "order_total": "25.50",
        "buyer": {"email": format!("buyer{seq}@example.com")},
        "line_items": [{"product_code": "P-1", "qty": 3, "unit_price": "8.50"}]
    })
}

pub fn b_feed(orders: Vec<Value>) -> Value {
    json!({ "feed_version": 1, "data": { "orders": orders } })
}

/// Partner C's format, which no Rust code knows: tests/formats_onboarding.rs
/// loads it from files, tests/e2e_admin.rs publishes it through the API.
/// PascalCase, orders under /Feed/Orders, epoch seconds, prices as JSON
/// decimal numbers in major units, currency in any case.
pub fn partner_c_format(version: u32) -> Value {
    json!({
      "name": "partner-c",
      "version": version,
      "description": "Partner C: PascalCase, epoch seconds, decimal numbers.",
      "contentTypes": ["application/json", "application/x-partner-c+json"],
      "orders": "/Feed/Orders",
      "mapping": {
        "sequenceNumber": { "path": "/Seq", "as": "integer" },
        "externalId": { "path": "/Ref", "as": "string" },
        "eventTime": { "path": "/PlacedAt", "as": "epochSeconds" },
        "currency": { "path": "/Money/Currency", "as": "currencyCode" },
        "total": { "path": "/Money/Total", "as": "decimal", "optional": true },
        "lines": {
          "path": "/Lines",
          "fields": {
            "sku": { "path": "/Article", "as": "string" },
            "quantity": { "path": "/Count", "as": "integer" },
            "unitPrice": { "path": "/Price", "as": "decimal" }
          }
        }
      }
    })
}

/// Partner C's JSON Schema.
pub fn partner_c_schema() -> Value {
    json!({
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "required": ["Seq", "Ref", "PlacedAt", "Money", "Lines"],
      "properties": {
        "Seq": { "type": "integer", "minimum": 1 },
        "Ref": { "type": "string" },
        "PlacedAt": { "type": "integer" },
        "Money": {
          "type": "object",
          "required": ["Currency"],
          "properties": { "Currency": { "type": "string" }, "Total": { "type": "number" } }
        },
        "Lines": { "type": "array", "minItems": 1 }
      }
    })
}
