//! Listings across partners. Every table but the partners table is keyed
//! by partner, and the contract forbids scanning them, so a listing without
//! `partnerId` goes partner by partner (in id order; the partners table is
//! small and one Scan reads it), each partner's items by its own Query.
//!
//! The cursor says where to go on: which partner, and that partner's own
//! store cursor (None: from its start). It is base64url of a small JSON
//! object tagged with the listing, checked strictly before any use; the
//! inner cursor is then checked by the store as on the partner API (bound
//! to that partner and to the query's range).

use crate::{Fail, StoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::future::Future;
use zb_shared::store::{BadCursor, MAX_CURSOR_LEN};

/// Where a listing goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub partner: String,
    pub inner: Option<String>,
}

pub fn encode(listing: &str, pos: &Position) -> String {
    let v = json!({"l": listing, "p": pos.partner, "c": pos.inner});
    URL_SAFE_NO_PAD.encode(v.to_string())
}

pub fn decode(listing: &str, cursor: &str) -> Result<Position, BadCursor> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
        return Err(BadCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(BadCursor);
    };
    if m.len() != 3 || m.remove("l") != Some(Value::from(listing)) {
        return Err(BadCursor);
    }
    let partner = match m.remove("p") {
        Some(Value::String(p)) if crate::params::is_partner_id(&p) => p,
        _ => return Err(BadCursor),
    };
    let inner = match m.remove("c") {
        Some(Value::Null) => None,
        Some(Value::String(c)) if !c.is_empty() && c.len() <= MAX_CURSOR_LEN => Some(c),
        _ => return Err(BadCursor),
    };
    Ok(Position { partner, inner })
}

/// One page of one partner's items (as views) and that partner's next cursor.
pub type PartnerPage = Result<Result<(Vec<Value>, Option<String>), BadCursor>, StoreError>;

/// At most this many store calls per request: a filter that matches little
/// (a rare error code, DEAD deliveries) can make many pages short or empty,
/// and the answer must stay within API Gateway's 30 s; the cursor then
/// says where to go on.
const MAX_CALLS: usize = 25;

/// A page of up to `limit` items across `partners` (sorted), from `cursor`,
/// and the cursor of the next page. `page` reads one partner's page.
pub async fn walk<F, Fut>(
    listing: &str,
    partners: &[String],
    cursor: Option<&str>,
    limit: usize,
    mut page: F,
) -> Result<Value, Fail>
where
    F: FnMut(String, Option<String>, usize) -> Fut,
    Fut: Future<Output = PartnerPage>,
{
    let (mut i, mut inner) = match cursor {
        None => (0, None),
        Some(c) => {
            let pos = decode(listing, c)?;
            // A partner removed since: go on with the next one.
            let i = partners.partition_point(|p| p.as_str() < pos.partner.as_str());
            let same = partners.get(i).is_some_and(|p| *p == pos.partner);
            if !same && pos.inner.is_some() {
                return Err(BadCursor.into());
            }
            (i, pos.inner)
        }
    };
    let mut items = Vec::new();
    let mut calls = 0;
    let mut next = None;
    while let Some(partner) = partners.get(i) {
        if calls == MAX_CALLS || items.len() >= limit {
            next = Some(Position {
                partner: partner.clone(),
                inner: inner.take(),
            });
            break;
        }
        let (got, after) = page(partner.clone(), inner.take(), limit - items.len()).await??;
        calls += 1;
        items.extend(got);
        match after {
            Some(c) => inner = Some(c),
            None => i += 1,
        }
    }
    let mut body = Map::new();
    body.insert("items".into(), Value::Array(items));
    if let Some(pos) = next {
        body.insert("nextCursor".into(), Value::from(encode(listing, &pos)));
    }
    Ok(Value::Object(body))
}

/// `{"items": [...], "nextCursor"?}`: the cursor is absent on the last page.
pub fn page_body(items: Vec<Value>, next: Option<String>) -> Value {
    let mut body = Map::new();
    body.insert("items".into(), Value::Array(items));
    if let Some(c) = next {
        body.insert("nextCursor".into(), Value::from(c));
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_others_are_refused() {
        let pos = Position {
            partner: "partner-a".into(),
            inner: Some("abc".into()),
        };
        let c = encode("feeds", &pos);
        assert_eq!(decode("feeds", &c), Ok(pos));
        assert_eq!(decode("errors", &c), Err(BadCursor));
        assert_eq!(decode("feeds", "not-base64!"), Err(BadCursor));
        let forged = URL_SAFE_NO_PAD.encode(r#"{"l":"feeds","p":"A B","c":null}"#);
        assert_eq!(decode("feeds", &forged), Err(BadCursor));
        let extra = URL_SAFE_NO_PAD.encode(r#"{"l":"feeds","p":"a","c":null,"x":1}"#);
        assert_eq!(decode("feeds", &extra), Err(BadCursor));
    }

    #[tokio::test]
    async fn a_walk_fills_the_page_partner_by_partner_and_goes_on_where_it_stopped() {
        let partners: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        // a has 3 items, b none, c 2; each store page holds at most 2.
        let data = |p: &str| -> Vec<Value> {
            match p {
                "a" => vec![json!("a1"), json!("a2"), json!("a3")],
                "c" => vec![json!("c1"), json!("c2")],
                _ => vec![],
            }
        };
        let page = |p: String, c: Option<String>, want: usize| {
            let all = data(&p);
            async move {
                let start: usize = c.map(|c| c.parse().unwrap_or(0)).unwrap_or(0);
                let end = (start + want.min(2)).min(all.len());
                let next = (end < all.len()).then(|| end.to_string());
                Ok(Ok((all[start..end].to_vec(), next)))
            }
        };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let body = walk("t", &partners, cursor.as_deref(), 2, page).await.unwrap();
            seen.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(
            seen,
            vec![json!("a1"), json!("a2"), json!("a3"), json!("c1"), json!("c2")]
        );
    }
}
