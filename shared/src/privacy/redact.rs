//! Taking a data subject out of a raw order or a canonical order.

use super::{Identifier, IdentifierKind};
use serde_json::Value;

/// What replaces an erased value.
pub const ERASED: &str = "[erased]";

/// Redacts one raw order in place: the value at each of the format's
/// `personal` pointers (format.json `personalData`) becomes [`ERASED`], and
/// so does every string anywhere in the order that equals or contains one
/// of `ids`. True if anything changed.
///
/// "Contains" means as a whole token: the identifier is not preceded or
/// followed by a letter or digit, so an address inside a sentence is
/// found, but the customerRef `C1` does not erase the SKU `C10`. E-mail
/// addresses compare case-insensitively (they were lower-cased when found),
/// customer references exactly. Object keys are left as they are; numbers
/// at a personal pointer are erased like any value.
pub fn redact_raw_order(order: &mut Value, personal: &[String], ids: &[Identifier]) -> bool {
    let mut changed = false;
    for pointer in personal {
        // The empty pointer would be the whole order; formats refuse it,
        // and erasing the order's financial facts is not what it asks.
        if pointer.is_empty() {
            continue;
        }
        if let Some(v) = order.pointer_mut(pointer) {
            if v.as_str() != Some(ERASED) {
                *v = Value::String(ERASED.to_string());
                changed = true;
            }
        }
    }
    redact_strings(order, ids, &mut changed);
    changed
}

fn redact_strings(v: &mut Value, ids: &[Identifier], changed: &mut bool) {
    match v {
        Value::String(s) if s != ERASED && ids.iter().any(|id| mentions(s, id)) => {
            *s = ERASED.to_string();
            *changed = true;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact_strings(i, ids, changed)),
        Value::Object(members) => members.values_mut().for_each(|m| redact_strings(m, ids, changed)),
        _ => {}
    }
}

/// Whether `text` holds `id` as a whole token (see [`redact_raw_order`]).
fn mentions(text: &str, id: &Identifier) -> bool {
    if id.value.is_empty() {
        return false;
    }
    let lowered;
    let haystack = match id.kind {
        IdentifierKind::Email => {
            lowered = text.to_lowercase();
            lowered.as_str()
        }
        IdentifierKind::CustomerRef => text,
    };
    let needle = id.value.as_str();
    let mut from = 0;
    while let Some(at) = haystack[from..].find(needle) {
        let start = from + at;
        let end = start + needle.len();
        let before = haystack[..start].chars().next_back();
        let after = haystack[end..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        // Step past this occurrence's first character (a char boundary).
        from = start + haystack[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Redacts a canonical order (the orders table's item or the API's shape)
/// in place: `customerRef`, its only personal field, is removed; sequence
/// number, ids, time, currency, totals and lines (the financial facts an
/// order must keep) stay. True if anything changed.
pub fn redact_canonical(order: &mut Value) -> bool {
    match order.as_object_mut() {
        Some(members) => members.shift_remove("customerRef").is_some(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order() -> Value {
        json!({
            "seq_no": 7,
            "order_ref": "B-7",
            "order_total": "25.00",
            "buyer": {"email": "Ann@Example.com", "name": "Ann Example"},
            "line_items": [{"product_code": "C10", "qty": 1, "unit_price": "25.00", "description": "gift for ann@example.com"}],
            "notes": "ship to C1 please",
            "cc": "bob@example.org"
        })
    }

    #[test]
    fn personal_pointers_and_identifiers_are_erased() {
        let mut o = order();
        let ids = [
            Identifier::email("ann@example.com").unwrap(),
            Identifier::customer_ref("C1").unwrap(),
        ];
        assert!(redact_raw_order(
            &mut o,
            &["/buyer".to_string(), "/missing".to_string()],
            &ids
        ));
        assert_eq!(o["buyer"], json!(ERASED));
        assert_eq!(o["line_items"][0]["description"], json!(ERASED));
        assert_eq!(o["notes"], json!(ERASED), "C1 as a whole token");
        // Financial facts and other people stay.
        assert_eq!(o["line_items"][0]["product_code"], json!("C10"));
        assert_eq!(o["order_total"], json!("25.00"));
        assert_eq!(o["cc"], json!("bob@example.org"));
        // A second pass changes nothing: redaction is idempotent.
        assert!(!redact_raw_order(&mut o, &["/buyer".to_string()], &ids));
    }

    #[test]
    fn identifiers_alone_find_unlisted_fields() {
        let mut o = order();
        assert!(redact_raw_order(
            &mut o,
            &[],
            &[Identifier::email("ANN@example.com").unwrap()]
        ));
        assert_eq!(o["buyer"]["email"], json!(ERASED));
        assert_eq!(o["buyer"]["name"], json!("Ann Example"), "no pointer names it");
        let mut o = order();
        assert!(!redact_raw_order(
            &mut o,
            &[],
            &[Identifier::email("nobody@example.com").unwrap()]
        ));
        assert_eq!(o, order());
    }

    #[test]
    fn tokens_need_boundaries() {
        let c1 = Identifier::customer_ref("C1").unwrap();
        assert!(mentions("C1", &c1));
        assert!(mentions("ref: C1.", &c1));
        assert!(!mentions("C10", &c1));
        assert!(!mentions("XC1", &c1));
        assert!(mentions("C10 and C1", &c1));
        assert!(!mentions("c1", &c1), "customer references are exact");
        let e = Identifier::email("ann@example.com").unwrap();
        assert!(mentions("<ANN@example.com>", &e));
        assert!(!mentions("joann@example.com", &e));
        assert!(mentions("ünï ann@example.com ü", &e));
    }

    #[test]
    fn canonical_orders_keep_their_money() {
        let mut o = json!({"sequenceNumber": 1, "externalId": "A-1", "currency": "EUR", "totalMinor": 1250,
            "lines": [{"sku": "S", "quantity": 1, "unitPriceMinor": 1250}], "customerRef": "c-1"});
        assert!(redact_canonical(&mut o));
        assert!(o.get("customerRef").is_none());
        assert_eq!(o["totalMinor"], json!(1250));
        assert!(!redact_canonical(&mut o));
    }
}
