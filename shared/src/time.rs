//! One timestamp format for everything we store: UTC RFC 3339 with exactly
//! three fractional digits. Fixed width matters: DynamoDB sort keys (the
//! byEventTime GSI, the errors table) compare strings, so lexical order must
//! equal time order.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats an instant as `2026-01-31T23:59:59.123Z`.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses any RFC 3339 timestamp (any offset) into UTC.
pub fn parse_rfc3339(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

/// Serde adapter that stores a `DateTime<Utc>` in the fixed-width format.
pub mod utc_millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_utc(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_fixed_width_and_utc() {
        let t = parse_rfc3339("2026-03-01T10:00:00+02:00").unwrap();
        assert_eq!(format_utc(t), "2026-03-01T08:00:00.000Z");
        let t = parse_rfc3339("2026-03-01T08:00:00.5Z").unwrap();
        assert_eq!(format_utc(t), "2026-03-01T08:00:00.500Z");
    }
}
