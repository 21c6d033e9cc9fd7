//! What the fuzz targets check. Each property is one the service relies on;
//! a panic here (or in the code under test) is a crash libFuzzer keeps.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::HashSet;
use zb_shared::format::FormatRegistry;
use zb_shared::strict_json::{self, StrictJsonError};

/// The instant transform compares event times with (the tests' "now").
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_268_800, 0).unwrap_or_default()
}

/// Ingest's parser against serde_json: it accepts exactly what serde_json
/// accepts, minus duplicate keys and U+0000, and reads the same value.
/// (A duplicate before a syntax error is reported first: both refuse.)
fn parse(data: &[u8]) -> Option<Value> {
    let strict = strict_json::parse(data);
    let plain = serde_json::from_slice::<Value>(data);
    match (&strict, &plain) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "strict and serde_json read different values"),
        (Ok(_), Err(e)) => panic!("strict accepted what serde_json refuses: {e}"),
        (Err(StrictJsonError::Syntax(e)), Ok(_)) => panic!("strict calls valid JSON a syntax error: {e}"),
        _ => {}
    }
    strict.ok()
}

/// One feed of format `format_id` through parse -> validate -> transform,
/// with the invariants the pipeline and the stores rely on.
pub fn feed(format_id: &str, data: &[u8]) {
    let Some(body) = parse(data) else { return };
    let registry = FormatRegistry::builtin().expect("the built-in formats load");
    let format = registry.get(format_id).expect("the format exists");
    let Ok(split) = zb_shared::validate::validate_feed(&format, &body) else {
        return;
    };
    assert_eq!(split.total, split.valid.len() + split.rejections.len());
    let out = zb_shared::transform::transform_feed(&format, &split.valid, now());
    assert_eq!(out.orders.len() + out.rejections.len(), split.valid.len());

    for r in split.rejections.iter().chain(&out.rejections) {
        assert!(r.index < split.total);
        let prefix = format!("{}/{}", format.orders_pointer, r.index);
        assert!(
            r.field == prefix || r.field.starts_with(&format!("{prefix}/")),
            "rejection field {:?} is not inside order {}",
            r.field,
            r.index
        );
    }

    let earliest = DateTime::from_timestamp(zb_shared::transform::MIN_EVENT_TIME_SECS, 0).unwrap_or_default();
    let mut seen = HashSet::new();
    for indexed in &out.orders {
        let o = &indexed.order;
        assert!(o.sequence_number > 0);
        assert!(seen.insert(o.sequence_number), "sequence number twice in one feed");
        assert!(!o.lines.is_empty());
        let mut sum: i128 = 0;
        for line in &o.lines {
            assert!(line.quantity > 0);
            assert!(line.unit_price_minor >= 0);
            sum += i128::from(line.quantity) * i128::from(line.unit_price_minor);
        }
        assert_eq!(i128::from(o.total_minor), sum, "the total is the sum of the lines");
        assert!(iso_currency::Currency::from_code(&o.currency).is_some());
        assert_eq!(o.currency, o.currency.to_ascii_uppercase());
        assert!(o.event_time >= earliest && o.event_time <= now() + Duration::minutes(5));
        // The byEventTime index sorts on this text: fixed width, always.
        assert_eq!(zb_shared::time::format_utc(o.event_time).len(), 24);
        // What Step Functions hands the next step reads back the same.
        let once = serde_json::to_value(o).expect("an order serializes");
        let back: zb_shared::order::Order = serde_json::from_value(once.clone()).expect("and reads back");
        assert_eq!(serde_json::to_value(&back).expect("again"), once);
    }
}
