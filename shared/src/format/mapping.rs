//! The declarative field mapping: where each canonical field sits in a
//! partner's order (a JSON Pointer) and which conversion turns it into the
//! canonical value. The set of conversions is fixed and small on purpose; a
//! new partner picks from it instead of writing code.

use serde::Deserialize;
use serde_json::Value;

/// A JSON Pointer parsed once, when the format loads (jsonptr):
/// `Value::pointer` re-parses the text and allocates every token on each
/// call, and the mapping reads some twenty fields per order. It reads as its
/// text (`Deref<Target = str>`), which is what rejections name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Pointer(jsonptr::PointerBuf);

impl Pointer {
    /// Parses `pointer` (RFC 6901); `None` when it is neither empty nor starts
    /// with `/`, the pointers `Value::pointer` never resolves.
    pub fn parse(pointer: &str) -> Option<Self> {
        jsonptr::PointerBuf::parse(pointer).ok().map(Self)
    }

    /// What `value.pointer(text)` returns for the text this was parsed from.
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.0.resolve(value).ok()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for Pointer {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text).ok_or_else(|| format!("{text:?} is not a JSON Pointer"))
    }
}

impl std::fmt::Display for Pointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::ops::Deref for Pointer {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// How a partner value becomes a canonical one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Conversion {
    /// A JSON string, taken as is.
    String,
    /// A JSON integer.
    Integer,
    /// Milliseconds since the Unix epoch.
    EpochMillis,
    /// Seconds since the Unix epoch.
    EpochSeconds,
    /// An RFC 3339 timestamp with any offset, converted to UTC.
    Rfc3339,
    /// An ISO 4217 code in any letter case.
    CurrencyCode,
    /// An amount already in integer minor units.
    MinorUnits,
    /// An amount as a decimal string (or number) in major units, converted
    /// with the currency's ISO 4217 minor-unit exponent.
    Decimal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSpec {
    /// JSON Pointer inside one order (or one line, for line fields).
    pub path: Pointer,
    #[serde(rename = "as")]
    pub conversion: Conversion,
    #[serde(default)]
    pub optional: bool,
}

impl FieldSpec {
    /// The value at `path` inside `scope`.
    pub fn get<'v>(&self, scope: &'v Value) -> Option<&'v Value> {
        self.path.get(scope)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineFields {
    pub sku: FieldSpec,
    pub quantity: FieldSpec,
    pub unit_price: FieldSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinesSpec {
    pub path: Pointer,
    pub fields: LineFields,
}

impl LinesSpec {
    /// The value at `path` inside `order`.
    pub fn get<'v>(&self, order: &'v Value) -> Option<&'v Value> {
        self.path.get(order)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mapping {
    pub sequence_number: FieldSpec,
    pub external_id: FieldSpec,
    pub event_time: FieldSpec,
    pub currency: FieldSpec,
    #[serde(default)]
    pub total: Option<FieldSpec>,
    #[serde(default)]
    pub customer_ref: Option<FieldSpec>,
    pub lines: LinesSpec,
}

impl Mapping {
    /// Refuses a mapping whose conversions cannot produce the canonical field,
    /// so a bad format fails at load, not on a partner's order. The error is
    /// a JSON Pointer into format.json (`/mapping/eventTime/as`) and why.
    pub(crate) fn check(&self) -> Result<(), (String, String)> {
        use Conversion::*;
        let rules: [(&str, Option<&FieldSpec>, &[Conversion]); 9] = [
            ("sequenceNumber", Some(&self.sequence_number), &[Integer]),
            ("externalId", Some(&self.external_id), &[String]),
            (
                "eventTime",
                Some(&self.event_time),
                &[EpochMillis, EpochSeconds, Rfc3339],
            ),
            ("currency", Some(&self.currency), &[CurrencyCode]),
            ("total", self.total.as_ref(), &[MinorUnits, Decimal]),
            ("customerRef", self.customer_ref.as_ref(), &[String]),
            ("lines/fields/sku", Some(&self.lines.fields.sku), &[String]),
            ("lines/fields/quantity", Some(&self.lines.fields.quantity), &[Integer]),
            (
                "lines/fields/unitPrice",
                Some(&self.lines.fields.unit_price),
                &[MinorUnits, Decimal],
            ),
        ];
        for (field, spec, allowed) in rules {
            let Some(spec) = spec else { continue };
            if !allowed.contains(&spec.conversion) {
                return Err((
                    format!("/mapping/{field}/as"),
                    format!(
                        "mapping.{} cannot use {:?}; allowed: {allowed:?}",
                        field.replace("/fields/", "."),
                        spec.conversion
                    ),
                ));
            }
            // The empty pointer (the whole order) parses, but no canonical
            // field is a whole order or a whole line.
            if !spec.path.starts_with('/') {
                return Err((
                    format!("/mapping/{field}/path"),
                    format!("must be a JSON Pointer such as /id, got {:?}", spec.path.as_str()),
                ));
            }
        }
        let required_optional = [
            ("sequenceNumber", &self.sequence_number),
            ("externalId", &self.external_id),
            ("eventTime", &self.event_time),
            ("currency", &self.currency),
        ];
        for (field, spec) in required_optional {
            if spec.optional {
                return Err((
                    format!("/mapping/{field}/optional"),
                    format!("mapping.{field} is required by the canonical order and cannot be optional"),
                ));
            }
        }
        if !self.lines.path.starts_with('/') {
            return Err((
                "/mapping/lines/path".into(),
                "mapping.lines.path must be a JSON Pointer such as /items".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_parsed_pointer_finds_what_value_pointer_finds() {
        let doc = json!({"a": {"b/c": [10, {"~x": 1}], "0": "zero", "": "empty"}, "01": 2});
        for text in [
            "",
            "/",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/~0x",
            "/a/b~1c/01",
            "/a/b~1c/+1",
            "/a/b~1c/2",
            "/a/0",
            "/a/",
            "/01",
            "/a/b~1c/0/x",
            "/missing",
        ] {
            let parsed = Pointer::parse(text).unwrap();
            assert_eq!(parsed.get(&doc), doc.pointer(text), "{text}");
        }
        assert_eq!(Pointer::parse("a"), None);
    }

    #[test]
    fn a_spec_parses_its_path_when_it_is_read() {
        let spec: FieldSpec = serde_json::from_value(json!({"path": "/a/b", "as": "string"})).unwrap();
        assert_eq!(spec.get(&json!({"a": {"b": "x"}})), Some(&json!("x")));
        assert_eq!(&*spec.path, "/a/b");
        let err = serde_json::from_value::<FieldSpec>(json!({"path": "a/b", "as": "string"})).unwrap_err();
        assert!(err.to_string().contains("\"a/b\" is not a JSON Pointer"), "{err}");
    }
}
