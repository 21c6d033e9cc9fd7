//! Parses a request body as JSON, refusing what serde_json would accept
//! silently: a duplicate key (serde_json keeps the last one, so what we
//! store and what the partner's own parser saw could differ) and U+0000 in a
//! string or key (it truncates strings in many downstream systems). The
//! error names the JSON Pointer at fault.
//!
//! Hand-written as a serde visitor because no maintained crate does this
//! for `serde_json::Value`; it reuses serde_json's parser (and its nesting
//! limit of 128) and only builds the pointer when it refuses.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// Not JSON at all (syntax, invalid UTF-8, a number out of range, too deep).
    #[error("{0}")]
    Syntax(String),
    #[error("duplicate key {key:?}")]
    DuplicateKey { pointer: String, key: String },
    #[error("a string holds U+0000 (a null character)")]
    NullCharacter { pointer: String },
}

impl StrictJsonError {
    /// The JSON Pointer of the value at fault ("" for the whole body).
    pub fn pointer(&self) -> &str {
        match self {
            Self::Syntax(_) => "",
            Self::DuplicateKey { pointer, .. } | Self::NullCharacter { pointer } => pointer,
        }
    }
}

/// Where a value sits: a linked list of borrowed tokens, so the happy path
/// allocates no pointer strings.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn pointer(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => format!("{}/{}", parent.pointer(), crate::rejection::escape_pointer_token(key)),
            Path::Index(parent, i) => format!("{}/{i}", parent.pointer()),
        }
    }
}

/// The refusal a visitor found, kept aside because serde's error type only
/// carries a message.
type Found = RefCell<Option<StrictJsonError>>;

struct Seed<'p, 'f> {
    path: Path<'p>,
    found: &'f Found,
}

impl Seed<'_, '_> {
    fn refuse<E: de::Error>(&self, e: StrictJsonError) -> E {
        let msg = e.to_string();
        *self.found.borrow_mut() = Some(e);
        E::custom(msg)
    }

    fn string<E: de::Error>(&self, s: String) -> Result<Value, E> {
        if s.contains('\0') {
            return Err(self.refuse(StrictJsonError::NullCharacter {
                pointer: self.path.pointer(),
            }));
        }
        Ok(Value::String(s))
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // serde_json never hands over a non-finite number; Null is unreachable.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.string(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.string(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let path = Path::Index(&self.path, out.len());
            match seq.next_element_seed(Seed {
                path,
                found: self.found,
            })? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = Path::Key(&self.path, &key);
            if key.contains('\0') {
                return Err(self.refuse(StrictJsonError::NullCharacter {
                    pointer: path.pointer(),
                }));
            }
            if out.contains_key(&key) {
                return Err(self.refuse(StrictJsonError::DuplicateKey {
                    pointer: path.pointer(),
                    key: key.clone(),
                }));
            }
            let value = map.next_value_seed(Seed {
                path,
                found: self.found,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Parses `bytes` as one JSON document, strictly.
pub fn parse(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let found = Found::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Seed {
        path: Path::Root,
        found: &found,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => Err(found.take().unwrap_or_else(|| StrictJsonError::Syntax(e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_what_serde_json_parses() {
        let text = r#"{"orders":[{"a":1,"b":-2,"c":1.5,"d":"x","e":null,"f":[true,false]}]}"#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn a_duplicate_key_is_refused_where_it_is() {
        let e = parse(br#"{"orders":[{"currency":"EUR","currency":"USD"}]}"#).unwrap_err();
        assert_eq!(
            e,
            StrictJsonError::DuplicateKey {
                pointer: "/orders/0/currency".into(),
                key: "currency".into()
            }
        );
    }

    #[test]
    fn null_characters_are_refused_in_values_and_keys() {
        let e = parse(br#"{"orders":[{"orderId":"A\u0000B"}]}"#).unwrap_err();
        assert_eq!(e.pointer(), "/orders/0/orderId");
        let e = parse(br#"{"a/b":{"k\u0000":1}}"#).unwrap_err();
        assert_eq!(e.pointer(), "/a~1b/k\u{0}");
    }

    #[test]
    fn syntax_errors_depth_and_range_are_syntax() {
        for bad in [&b"{"[..], b"[1,]", b"1e400", b"\xff", b"{} {}"] {
            assert!(matches!(parse(bad), Err(StrictJsonError::Syntax(_))), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(matches!(parse(deep.as_bytes()), Err(StrictJsonError::Syntax(_))));
        assert_eq!(parse(b"-0").unwrap(), json!(-0.0));
    }
}
