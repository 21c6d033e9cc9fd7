//! The declarative field mapping: where each canonical field sits in a
//! partner's order (a JSON Pointer) and which conversion turns it into the
//! canonical value. The set of conversions is fixed and small on purpose; a
//! new partner picks from it instead of writing code.

use serde::Deserialize;

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
    /// so a bad format fails at load, not on a partner's order.
    pub(crate) fn check(&self) -> Result<(), String> {
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
