//! Why an order was not accepted: a stable code, the field at fault (a JSON
//! Pointer into the partner's feed body) and a message for humans.

use serde::{Deserialize, Serialize};

/// Stable rejection codes. Partners and dashboards match on these, so a code
/// is never renamed; new codes may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RejectionCode {
    /// A required field is absent.
    MissingField,
    /// A field has the wrong JSON type.
    WrongType,
    /// A field the format does not define.
    UnknownField,
    /// A number outside the allowed range.
    OutOfRange,
    /// A value that breaks a pattern, length or enumeration.
    InvalidValue,
    /// Any other JSON Schema violation.
    SchemaViolation,
    /// The sequence number is not a positive integer.
    InvalidSequenceNumber,
    /// Quantity is not a positive integer.
    InvalidQuantity,
    /// The currency is not an ISO 4217 code.
    UnknownCurrency,
    /// An amount is not a whole number of minor units, is negative or overflows.
    InvalidAmount,
    /// The event time is not a valid timestamp.
    InvalidTimestamp,
    /// The event time is more than 5 minutes in the future.
    EventTimeInFuture,
    /// The event time is before 2000-01-01T00:00:00Z.
    EventTimeTooOld,
    /// The partner's total differs from the sum of the lines.
    TotalMismatch,
    /// The sequence number appears twice in the same feed.
    DuplicateSequence,
    /// A different order was already stored under this sequence number.
    SequenceConflict,
    /// The pipeline failed on this feed; the order was not persisted.
    PipelineFailed,
}

impl RejectionCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingField => "MISSING_FIELD",
            Self::WrongType => "WRONG_TYPE",
            Self::UnknownField => "UNKNOWN_FIELD",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::InvalidValue => "INVALID_VALUE",
            Self::SchemaViolation => "SCHEMA_VIOLATION",
            Self::InvalidSequenceNumber => "INVALID_SEQUENCE_NUMBER",
            Self::InvalidQuantity => "INVALID_QUANTITY",
            Self::UnknownCurrency => "UNKNOWN_CURRENCY",
            Self::InvalidAmount => "INVALID_AMOUNT",
            Self::InvalidTimestamp => "INVALID_TIMESTAMP",
            Self::EventTimeInFuture => "EVENT_TIME_IN_FUTURE",
            Self::EventTimeTooOld => "EVENT_TIME_TOO_OLD",
            Self::TotalMismatch => "TOTAL_MISMATCH",
            Self::DuplicateSequence => "DUPLICATE_SEQUENCE",
            Self::SequenceConflict => "SEQUENCE_CONFLICT",
            Self::PipelineFailed => "PIPELINE_FAILED",
        }
    }
}

/// The pipeline step that rejected the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Validate,
    Transform,
    Persist,
    Pipeline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    /// Position of the order in the feed's orders array.
    pub index: usize,
    /// The order's sequence number, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// JSON Pointer (RFC 6901) into the feed body, e.g. `/orders/3/items/0/quantity`.
    pub field: String,
    pub code: RejectionCode,
    pub message: String,
    pub stage: Stage,
}

/// The longest field pointer a rejection keeps, in bytes. Only a pointer
/// through an absurd property name (the body may hold a 200 KB key) is cut.
pub const MAX_FIELD_BYTES: usize = 512;
/// The longest message a rejection keeps, in characters.
pub const MAX_MESSAGE_CHARS: usize = 512;
/// The longest excerpt of an offending value quoted in a message.
pub const MAX_VALUE_EXCERPT_CHARS: usize = 64;

/// `text` cut to at most `max_chars` characters, with `…` where it was cut.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

impl Rejection {
    /// The rejection with its field and message cut to their bounds, so no
    /// error item, outcome or step message grows with the offending value.
    pub fn bounded(mut self) -> Self {
        if self.field.len() > MAX_FIELD_BYTES {
            let mut cut = MAX_FIELD_BYTES;
            while !self.field.is_char_boundary(cut) {
                cut -= 1;
            }
            self.field = format!("{}…", &self.field[..cut]);
        }
        if self.message.chars().nth(MAX_MESSAGE_CHARS).is_some() {
            self.message = excerpt(&self.message, MAX_MESSAGE_CHARS);
        }
        self
    }
}

/// Escapes one JSON Pointer reference token (RFC 6901 section 3).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Best-effort sequence number of a raw order, for rejection records.
pub fn sequence_hint(raw: &serde_json::Value, pointer: &str) -> Option<u64> {
    raw.pointer(pointer).and_then(serde_json::Value::as_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_names() {
        for code in [
            RejectionCode::MissingField,
            RejectionCode::SequenceConflict,
            RejectionCode::EventTimeInFuture,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().to_string())
            );
        }
    }

    #[test]
    fn bounded_rejections_cut_field_and_message_at_char_boundaries() {
        let long = "é".repeat(1000);
        let r = Rejection {
            index: 0,
            sequence_number: None,
            field: format!("/orders/0/{long}"),
            code: RejectionCode::UnknownField,
            message: long.clone(),
            stage: Stage::Validate,
        }
        .bounded();
        assert!(r.field.len() <= MAX_FIELD_BYTES + '…'.len_utf8());
        assert!(r.field.starts_with("/orders/0/é") && r.field.ends_with('…'));
        assert_eq!(r.message.chars().count(), MAX_MESSAGE_CHARS + 1);
        let short = Rejection {
            field: "/orders/0/a".into(),
            message: "short".into(),
            ..r
        };
        assert_eq!(short.clone().bounded(), short);
        assert_eq!(excerpt("abc", 2), "ab…");
        assert_eq!(excerpt("abc", 3), "abc");
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(escape_pointer_token("a/b~c"), "a~1b~0c");
    }
}
