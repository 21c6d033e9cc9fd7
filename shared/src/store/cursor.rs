//! Pagination cursors. Their own module because every paged query turns
//! LastEvaluatedKey into a cursor and a cursor back into an
//! ExclusiveStartKey the same way; only which key attributes it carries
//! differs, and [`CursorKeys`] says that per listing.
//!
//! A cursor is base64url (no padding) of a small JSON object: the listing
//! that issued it (`l`), a tag of the partner it was issued to (`p`, a
//! truncated SHA-256 of the partner id) and the key values to start after.
//! This is a *validation* design, not an authentication one: there is no
//! server secret yet, so a client that knows the layout can forge a cursor.
//! What it cannot do is make a forgery reach anything: every cursor is
//! checked strictly (length, base64, exactly the expected fields and
//! types, non-empty strings, whole numbers within `u64`, the listing, the
//! partner, the query's range) before DynamoDB sees it, and the partition
//! key always comes from the caller's identity, never the cursor. A
//! well-formed forgery that passes every check is just a position in the
//! caller's own data.

use super::{corrupt, from_items, n, s, str_attr, Item, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::ops::RangeBounds;

/// The longest cursor accepted; the ones we issue are far shorter.
pub const MAX_CURSOR_LEN: usize = 1024;
const LISTING: &str = "l";
const PARTNER: &str = "p";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this API issued")]
pub struct BadCursor;

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// How a key attribute is held: a non-empty string, or a whole number (`u64`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyType {
    S,
    N,
}

/// What a listing's cursor carries: the listing's name (a cursor of one
/// listing is refused by every other) and the key attributes besides the
/// partition key, each as (cursor field, attribute name, type).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CursorKeys {
    pub listing: &'static str,
    pub keys: &'static [(&'static str, &'static str, KeyType)],
}

/// Binds a cursor to the partner it was issued to.
fn partner_tag(partner: &str) -> String {
    hex::encode(&Sha256::digest(format!("zb-cursor\0{partner}"))[..8])
}

impl CursorKeys {
    /// The cursor for key values given in `keys` order.
    pub fn encode(&self, partner: &str, values: impl IntoIterator<Item = Value>) -> String {
        let mut fields = Map::new();
        fields.insert(LISTING.into(), Value::from(self.listing));
        fields.insert(PARTNER.into(), Value::from(partner_tag(partner)));
        for (&(field, _, _), value) in self.keys.iter().zip(values) {
            fields.insert(field.into(), value);
        }
        URL_SAFE_NO_PAD.encode(Value::Object(fields).to_string())
    }

    /// The key attributes of `cursor` if this listing issued it to `partner`.
    pub fn decode(&self, cursor: &str, partner: &str) -> Result<Item, BadCursor> {
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
            return Err(BadCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
        let Ok(Value::Object(mut fields)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(BadCursor);
        };
        // Exactly our fields: nothing missing, nothing unknown.
        if fields.len() != self.keys.len() + 2
            || fields.remove(LISTING) != Some(Value::from(self.listing))
            || fields.remove(PARTNER) != Some(Value::from(partner_tag(partner)))
        {
            return Err(BadCursor);
        }
        let mut key = Item::new();
        for &(field, attr, kind) in self.keys {
            let value = fields.remove(field).ok_or(BadCursor)?;
            let value = match kind {
                KeyType::S => s(value.as_str().filter(|v| !v.is_empty()).ok_or(BadCursor)?),
                KeyType::N => n(value.as_u64().ok_or(BadCursor)?),
            };
            key.insert(attr.to_string(), value);
        }
        Ok(key)
    }

    /// The ExclusiveStartKey for `cursor` (None: the first page), with the
    /// partition key (`name`, `value`) from the caller, never the cursor.
    /// The cursor must have been issued to that partition (the partner),
    /// and its string attribute `attr` must lie within `range`: a cursor
    /// of another range is refused.
    pub fn start_key<'a>(
        &self,
        cursor: Option<&str>,
        partition: (&str, &str),
        attr: &str,
        range: impl RangeBounds<&'a str>,
    ) -> Result<Option<Item>, BadCursor> {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let mut key = self.decode(cursor, partition.1)?;
        match str_attr(&key, attr) {
            Some(v) if range.contains(&v) => {}
            _ => return Err(BadCursor),
        }
        key.insert(partition.0.to_string(), s(partition.1));
        Ok(Some(key))
    }

    /// The cursor for a LastEvaluatedKey (None: that was the last page).
    pub fn next(&self, partner: &str, last_evaluated_key: Option<&Item>) -> Result<Option<String>, StoreError> {
        let Some(last) = last_evaluated_key else {
            return Ok(None);
        };
        let mut values = Vec::with_capacity(self.keys.len());
        for &(_, attr, kind) in self.keys {
            values.push(match (kind, last.get(attr)) {
                (KeyType::S, Some(AttributeValue::S(v))) => Value::from(v.as_str()),
                (KeyType::N, Some(AttributeValue::N(v))) => Value::from(v.parse::<u64>().map_err(corrupt)?),
                _ => return Err(corrupt(format!("page key has no {attr}"))),
            });
        }
        Ok(Some(self.encode(partner, values)))
    }

    /// A query's items and the cursor to the page after them.
    pub fn page<T: serde::de::DeserializeOwned>(
        &self,
        partner: &str,
        items: Option<Vec<Item>>,
        last_evaluated_key: Option<&Item>,
    ) -> Result<Page<T>, StoreError> {
        Ok(Page {
            items: from_items(items)?,
            next_cursor: self.next(partner, last_evaluated_key)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORDERS: CursorKeys = CursorKeys {
        listing: "orders",
        keys: &[("t", "eventTime", KeyType::S), ("s", "sequenceNumber", KeyType::N)],
    };
    const ERRORS: CursorKeys = CursorKeys {
        listing: "errors",
        keys: &[("k", "sk", KeyType::S)],
    };
    const T: &str = "2026-01-01T00:00:00.000Z";
    const ALL: std::ops::RangeFull = ..;

    fn raw(v: Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn orders(cursor: &str, partner: &str) -> Result<Option<Item>, BadCursor> {
        ORDERS.start_key(Some(cursor), ("partnerId", partner), "eventTime", ALL)
    }

    /// A hand-made orders cursor for partner-a with these key fields.
    fn forged(keys: Value) -> String {
        let mut v = json!({"l": "orders", "p": partner_tag("partner-a")});
        if let (Some(o), Value::Object(k)) = (v.as_object_mut(), keys) {
            o.extend(k);
        }
        raw(v)
    }

    #[test]
    fn an_issued_cursor_comes_back_as_the_key_with_the_callers_partition() {
        let lek = Item::from([
            ("partnerId".into(), s("partner-a")),
            ("eventTime".into(), s(T)),
            ("sequenceNumber".into(), n(u64::MAX)),
        ]);
        let cursor = ORDERS.next("partner-a", Some(&lek)).unwrap().unwrap();
        assert!(cursor.len() < MAX_CURSOR_LEN);
        assert_eq!(orders(&cursor, "partner-a"), Ok(Some(lek)));
        assert_eq!(ORDERS.next("partner-a", None), Ok(None));
        assert_eq!(
            ORDERS.start_key(None, ("partnerId", "partner-a"), "eventTime", ALL),
            Ok(None)
        );
    }

    #[test]
    fn a_cursor_issued_to_one_partner_is_refused_to_another() {
        let cursor = ORDERS.encode("partner-a", [json!(T), json!(7)]);
        assert!(orders(&cursor, "partner-a").is_ok());
        assert_eq!(orders(&cursor, "partner-b"), Err(BadCursor));
        assert_eq!(orders(&cursor, ""), Err(BadCursor));
    }

    #[test]
    fn a_cursor_of_another_listing_is_refused() {
        let errors = ERRORS.encode("partner-a", [json!(format!("{T}#feed#000001"))]);
        assert_eq!(orders(&errors, "partner-a"), Err(BadCursor));
        let order = ORDERS.encode("partner-a", [json!(T), json!(7)]);
        assert_eq!(ERRORS.decode(&order, "partner-a"), Err(BadCursor));
    }

    #[test]
    fn a_cursor_outside_the_querys_range_is_refused() {
        let cursor = ORDERS.encode("partner-a", [json!(T), json!(7)]);
        let at = |range: std::ops::RangeInclusive<&str>| {
            ORDERS.start_key(Some(&cursor), ("partnerId", "partner-a"), "eventTime", range)
        };
        assert!(at(T..="2026-12-31").is_ok());
        assert_eq!(at("2026-02-01"..="2026-12-31"), Err(BadCursor));
        assert_eq!(at("2025-01-01"..="2025-12-31"), Err(BadCursor));
        let from = ORDERS.start_key(Some(&cursor), ("partnerId", "partner-a"), "eventTime", "2027"..);
        assert_eq!(from, Err(BadCursor));
    }

    #[test]
    fn empty_keys_are_refused() {
        for keys in [json!({}), json!({"t": "", "s": 1}), json!({"t": T}), json!({"s": 1})] {
            assert_eq!(orders(&forged(keys.clone()), "partner-a"), Err(BadCursor), "{keys}");
        }
        assert_eq!(orders(&raw(json!({})), "partner-a"), Err(BadCursor));
        assert_eq!(orders("", "partner-a"), Err(BadCursor));
    }

    #[test]
    fn numbers_that_are_not_a_u64_are_refused() {
        assert!(orders(&forged(json!({"t": T, "s": u64::MAX})), "partner-a").is_ok());
        for s in [
            "18446744073709551616",
            "-1",
            "1.5",
            "1e3",
            "1.0",
            "1E0",
            "99999999999999999999999999",
        ] {
            let text = format!(
                r#"{{"l":"orders","p":"{}","t":"{T}","s":{s}}}"#,
                partner_tag("partner-a")
            );
            assert_eq!(
                orders(&URL_SAFE_NO_PAD.encode(text), "partner-a"),
                Err(BadCursor),
                "{s}"
            );
        }
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_refused() {
        for keys in [
            json!({"t": 1, "s": 1}),
            json!({"t": T, "s": "1"}),
            json!({"t": [T], "s": 1}),
            json!({"t": null, "s": 1}),
            json!({"t": T, "s": true}),
            json!({"t": {"S": T}, "s": 1}),
            json!({"t": T, "s": 1, "x": 1}),
            json!({"t": T, "s": 1, "partnerId": "partner-b"}),
        ] {
            assert_eq!(orders(&forged(keys.clone()), "partner-a"), Err(BadCursor), "{keys}");
        }
        for v in [json!([T, 1]), json!("x"), json!(1), json!(null)] {
            assert_eq!(orders(&raw(v.clone()), "partner-a"), Err(BadCursor), "{v}");
        }
        let listing = raw(json!({"l": 1, "p": partner_tag("partner-a"), "t": T, "s": 1}));
        assert_eq!(orders(&listing, "partner-a"), Err(BadCursor));
    }

    #[test]
    fn text_that_is_not_base64url_of_json_is_refused() {
        let good = ORDERS.encode("partner-a", [json!(T), json!(7)]);
        for c in [
            "not a cursor".to_string(),
            "%%".into(),
            format!("{good}="),
            format!("{good}=="),
            good.replace('-', "+").replace('_', "/") + "+/",
            URL_SAFE_NO_PAD.encode("{\"l\":"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00]),
            URL_SAFE_NO_PAD.encode(r#"{"t":"\ud800"}"#),
            format!("{good}A"),
        ] {
            assert_eq!(orders(&c, "partner-a"), Err(BadCursor), "{c}");
        }
    }

    #[test]
    fn oversize_cursors_are_refused() {
        let long = ORDERS.encode("partner-a", [json!("2".repeat(2000)), json!(1)]);
        assert!(long.len() > MAX_CURSOR_LEN);
        assert_eq!(orders(&long, "partner-a"), Err(BadCursor));
        assert_eq!(orders(&"A".repeat(1 << 20), "partner-a"), Err(BadCursor));
    }
}
