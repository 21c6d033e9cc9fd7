//! Onboarding a third partner format from files alone: a JSON Schema and a
//! mapping written to a folder, loaded at run time, and a feed in that
//! format run through the real pipeline handlers. No Rust code knows
//! "partner-c".

use serde_json::json;
use std::path::Path;
use zb_shared::format::FormatRegistry;
use zb_shared::rejection::RejectionCode;
use zb_tests::api::Request;
use zb_tests::wiring::Env;

/// Partner C: PascalCase, orders under /Feed/Orders, epoch seconds, prices
/// as JSON decimal numbers in major units, currency in any case.
const FORMAT: &str = r#"{
  "name": "partner-c",
  "version": 1,
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
}"#;

const SCHEMA: &str = r#"{
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
}"#;

fn write_format(root: &Path) {
    let dir = root.join("partner-c").join("1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("format.json"), FORMAT).unwrap();
    std::fs::write(dir.join("schema.json"), SCHEMA).unwrap();
}

fn c_order(seq: u64, price: f64, count: u64, total: f64) -> serde_json::Value {
    json!({"Seq": seq, "Ref": format!("C-{seq}"), "PlacedAt": 1_767_268_000,
           "Money": {"Currency": "gbp", "Total": total},
           "Lines": [{"Article": "ART-9", "Count": count, "Price": price}]})
}

#[tokio::test]
async fn a_third_format_is_onboarded_from_files_alone() {
    let root = std::env::temp_dir().join(format!("zb-formats-{}", uuid::Uuid::new_v4()));
    write_format(&root);
    let formats = FormatRegistry::load_dir(&root).expect("the new format loads");
    assert_eq!(formats.ids().collect::<Vec<_>>(), vec!["partner-c@1"]);

    let env = Env::with_formats(formats).await;
    let mut no_ref = c_order(3, 1.5, 1, 1.5);
    no_ref.as_object_mut().unwrap().remove("Ref");
    let body = json!({"Feed": {"Orders": [c_order(1, 12.5, 2, 25.0), c_order(2, 0.99, 3, 2.97), no_ref]}});
    let req =
        Request::post_feed("partner-c", "partner-c@1", &body).header("content-type", "application/x-partner-c+json");
    let (resp, feed) = env.ingest_feed(&req).await;
    assert_eq!(resp.status, 202, "{}", resp.body);
    let run = env.run_pipeline(&feed.expect("announced")).await;

    assert_eq!(run.persisted.counts.persisted, 2);
    let one = env
        .orders()
        .get("partner-c", 1, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.order.currency, "GBP");
    assert_eq!(one.order.lines[0].unit_price_minor, 1250);
    assert_eq!(one.order.total_minor, 2500);
    assert_eq!(
        zb_shared::time::format_utc(one.order.event_time),
        "2026-01-01T11:46:40.000Z"
    );
    let two = env
        .orders()
        .get("partner-c", 2, &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.order.total_minor, 297);
    let rejected = &run
        .persisted
        .batch
        .inline()
        .expect("a small batch travels inline")
        .rejections[0];
    assert_eq!(
        (rejected.code, rejected.field.as_str()),
        (RejectionCode::MissingField, "/Feed/Orders/2/Ref")
    );
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn a_format_folder_that_disagrees_with_its_file_is_refused() {
    let root = std::env::temp_dir().join(format!("zb-formats-{}", uuid::Uuid::new_v4()));
    let dir = root.join("partner-c").join("2");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("format.json"), FORMAT).unwrap();
    std::fs::write(dir.join("schema.json"), SCHEMA).unwrap();
    let err = FormatRegistry::load_dir(&root).unwrap_err().to_string();
    assert!(err.contains("partner-c/2"), "{err}");
    std::fs::remove_dir_all(&root).ok();
}
