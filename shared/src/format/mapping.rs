//! The declarative field mapping: where each canonical field sits in a
//! partner's order (a JSON Pointer) and which conversion turns it into the
//! canonical value. The set of conversions is fixed and small on purpose; a
//! new partner picks from it instead of writing code.

use serde::Deserialize;
use serde_json::Value;

/// A JSON Pointer parsed once, when the format loads (jsonptr):
/// `Value::pointer` re-parses the text and allocates every token on each
/// call, and the mapping reads some twenty fields per order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    pub path: String,
    #[serde(rename = "as")]
    pub conversion: Conversion,
    #[serde(default)]
    pub optional: bool,
    /// `path`, parsed by [`Mapping::check`]; `None` before that.
    #[serde(skip)]
    pointer: Option<Pointer>,
}

impl FieldSpec {
    /// The value at `path` inside `scope`.
    pub fn get<'v>(&self, scope: &'v Value) -> Option<&'v Value> {
        resolve(self.pointer.as_ref(), &self.path, scope)
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
    pub path: String,
    pub fields: LineFields,
    /// `path`, parsed by [`Mapping::check`]; `None` before that.
    #[serde(skip)]
    pointer: Option<Pointer>,
}

impl LinesSpec {
    /// The value at `path` inside `order`.
    pub fn get<'v>(&self, order: &'v Value) -> Option<&'v Value> {
        resolve(self.pointer.as_ref(), &self.path, order)
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
    /// so a bad format fails at load, not on a partner's order; then parses
    /// its pointers.
    pub(crate) fn check(&mut self) -> Result<(), String> {
        self.check_fields()?;
        let lines = &mut self.lines;
        lines.pointer = Some(parse(&lines.path)?);
        for spec in [
            Some(&mut self.sequence_number),
            Some(&mut self.external_id),
            Some(&mut self.event_time),
            Some(&mut self.currency),
            self.total.as_mut(),
            self.customer_ref.as_mut(),
            Some(&mut lines.fields.sku),
            Some(&mut lines.fields.quantity),
            Some(&mut lines.fields.unit_price),
        ]
        .into_iter()
        .flatten()
        {
            spec.pointer = Some(parse(&spec.path)?);
        }
        Ok(())
    }

    fn check_fields(&self) -> Result<(), String> {
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
            ("lines.sku", Some(&self.lines.fields.sku), &[String]),
            ("lines.quantity", Some(&self.lines.fields.quantity), &[Integer]),
            (
                "lines.unitPrice",
                Some(&self.lines.fields.unit_price),
                &[MinorUnits, Decimal],
            ),
        ];
        for (field, spec, allowed) in rules {
            let Some(spec) = spec else { continue };
            if !allowed.contains(&spec.conversion) {
                return Err(format!(
                    "mapping.{field} cannot use {:?}; allowed: {allowed:?}",
                    spec.conversion
                ));
            }
            if !spec.path.starts_with('/') {
                return Err(format!(
                    "mapping.{field}.path must be a JSON Pointer, got {:?}",
                    spec.path
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
                return Err(format!(
                    "mapping.{field} is required by the canonical order and cannot be optional"
                ));
            }
        }
        if !self.lines.path.starts_with('/') {
            return Err("mapping.lines.path must be a JSON Pointer".into());
        }
        Ok(())
    }
}

/// A spec deserialized on its own was never checked: it still resolves its
/// path, the slow way.
fn resolve<'v>(parsed: Option<&Pointer>, path: &str, scope: &'v Value) -> Option<&'v Value> {
    match parsed {
        Some(pointer) => pointer.get(scope),
        None => scope.pointer(path),
    }
}

fn parse(path: &str) -> Result<Pointer, String> {
    Pointer::parse(path).ok_or_else(|| format!("{path:?} is not a JSON Pointer"))
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
    fn an_unchecked_spec_still_resolves_its_path() {
        let spec: FieldSpec = serde_json::from_value(json!({"path": "/a/b", "as": "string"})).unwrap();
        assert_eq!(spec.get(&json!({"a": {"b": "x"}})), Some(&json!("x")));
    }
}
