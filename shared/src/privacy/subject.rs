//! Identifiers of a data subject and their hash.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// What an identifier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdentifierKind {
    /// The customer reference the partner uses (the canonical `customerRef`).
    CustomerRef,
    /// An e-mail address found in a raw order.
    Email,
}

impl IdentifierKind {
    /// The name that goes into the subject hash (and the API's field names).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerRef => "customerRef",
            Self::Email => "email",
        }
    }
}

/// The longest identifier we take: a customerRef is at most what an order
/// field holds, an e-mail address at most 254 characters (RFC 5321's path
/// limit); anything longer is not one person's identifier.
pub const MAX_IDENTIFIER_CHARS: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("an identifier must not be empty")]
    Empty,
    #[error("an identifier is at most {MAX_IDENTIFIER_CHARS} characters")]
    TooLong,
    /// Never quotes the value: it is personal data.
    #[error("not an e-mail address")]
    NotAnEmail,
}

/// One identifier of a data subject, normalized: trimmed, and lower-cased
/// for an e-mail address (so `Ann@Example.com` and `ann@example.com` are
/// one subject, as mail systems treat them in practice).
/// Stored as `{"kind": "email", "value": …}` only inside a running
/// erasure's record (ErasuresTable), which drops them when it finishes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Identifier {
    pub kind: IdentifierKind,
    pub value: String,
}

impl Identifier {
    pub fn new(kind: IdentifierKind, value: &str) -> Result<Self, IdentifierError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(IdentifierError::Empty);
        }
        if value.chars().count() > MAX_IDENTIFIER_CHARS {
            return Err(IdentifierError::TooLong);
        }
        let value = match kind {
            IdentifierKind::CustomerRef => value.to_string(),
            IdentifierKind::Email => email_of(value).ok_or(IdentifierError::NotAnEmail)?,
        };
        Ok(Self { kind, value })
    }

    pub fn customer_ref(value: &str) -> Result<Self, IdentifierError> {
        Self::new(IdentifierKind::CustomerRef, value)
    }

    pub fn email(value: &str) -> Result<Self, IdentifierError> {
        Self::new(IdentifierKind::Email, value)
    }
}

/// The bare address, lower-cased, if `text` (trimmed) is an e-mail address.
///
/// Syntax per RFC 5322 through the `email_address` crate (the one the
/// `jsonschema` crate already uses for `"format": "email"`), with its
/// defaults: a domain without a dot (`ann@localhost`) is an address too.
/// That errs towards finding more addresses, which for erasure is the safe
/// side: an extra index entry costs a write, a missed address a person's
/// data left behind. A display form (`Ann <ann@example.com>`) counts as its
/// address.
fn email_of(text: &str) -> Option<String> {
    let text = text.trim();
    // Cheap rejection first: nearly every string of an order has no '@'.
    if !text.contains('@') || text.chars().count() > MAX_IDENTIFIER_CHARS {
        return None;
    }
    let parsed: email_address::EmailAddress = text.parse().ok()?;
    Some(parsed.email().to_lowercase())
}

/// Whether `text` is an e-mail address.
pub fn is_email(text: &str) -> bool {
    email_of(text).is_some()
}

/// The subject hash: lowercase hex SHA-256 of
/// `"zb-subject-v1\n" + partnerId + "\n" + kind + "\n" + value`. The partner
/// is part of it because customer references are the partner's own (two
/// partners' `C1` are different people); the version tag lets a later
/// scheme coexist with this one.
pub fn subject_hash(partner_id: &str, id: &Identifier) -> String {
    let mut h = Sha256::new();
    h.update(b"zb-subject-v1\n");
    h.update(partner_id.as_bytes());
    h.update(b"\n");
    h.update(id.kind.as_str().as_bytes());
    h.update(b"\n");
    h.update(id.value.as_bytes());
    hex::encode(h.finalize())
}

/// The identifiers of one raw order: its canonical `customer_ref` (when the
/// format maps one and the order has it) and every string value anywhere in
/// the order that is an e-mail address; deduplicated, in a stable order.
/// Object keys are not looked at: partners put data in values.
pub fn identifiers_in(raw_order: &Value, customer_ref: Option<&str>) -> Vec<Identifier> {
    let mut ids = Vec::new();
    if let Some(id) = customer_ref.and_then(|r| Identifier::customer_ref(r).ok()) {
        ids.push(id);
    }
    collect_emails(raw_order, &mut ids);
    ids.sort();
    ids.dedup();
    ids
}

fn collect_emails(v: &Value, out: &mut Vec<Identifier>) {
    match v {
        Value::String(s) => {
            if let Some(value) = email_of(s) {
                out.push(Identifier {
                    kind: IdentifierKind::Email,
                    value,
                });
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_emails(i, out)),
        Value::Object(members) => members.values().for_each(|m| collect_emails(m, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_are_normalized() {
        let a = Identifier::email("  Ann@Example.COM ").unwrap();
        assert_eq!(a.value, "ann@example.com");
        let r = Identifier::customer_ref(" C-1 ").unwrap();
        assert_eq!(r.value, "C-1");
        assert_eq!(Identifier::email("not an address"), Err(IdentifierError::NotAnEmail));
        assert_eq!(Identifier::customer_ref("   "), Err(IdentifierError::Empty));
        assert_eq!(
            Identifier::customer_ref(&"x".repeat(MAX_IDENTIFIER_CHARS + 1)),
            Err(IdentifierError::TooLong)
        );
        assert_eq!(
            Identifier::email("Ann <ann@example.com>").unwrap().value,
            "ann@example.com"
        );
    }

    #[test]
    fn the_hash_is_the_contracts() {
        let id = Identifier::email("ann@example.com").unwrap();
        let mut h = Sha256::new();
        h.update("zb-subject-v1\npartner-b\nemail\nann@example.com".as_bytes());
        assert_eq!(subject_hash("partner-b", &id), hex::encode(h.finalize()));
        let h = subject_hash("partner-b", &id);
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        // Case and spacing do not make another subject; another partner does.
        assert_eq!(
            h,
            subject_hash("partner-b", &Identifier::email(" ANN@example.com").unwrap())
        );
        assert_ne!(h, subject_hash("partner-a", &id));
        // Nor is an e-mail the same subject as a customerRef of that text.
        assert_ne!(
            h,
            subject_hash("partner-b", &Identifier::customer_ref("ann@example.com").unwrap())
        );
    }

    #[test]
    fn identifiers_are_found_anywhere_and_deduplicated() {
        let order = json!({
            "seq_no": 1,
            "buyer": {"email": "Ann@example.com", "name": "Ann"},
            "contacts": [{"mail": "ann@example.com"}, "bob@example.org", {"deep": {"x": "carl@mail.example"}}],
            "notes": "call me at ann@example.com",
            "weird": "@", "handle": "@ann", "amount": "12.50"
        });
        let ids = identifiers_in(&order, Some("ann@example.com"));
        let found: Vec<(&str, &str)> = ids.iter().map(|i| (i.kind.as_str(), i.value.as_str())).collect();
        assert_eq!(
            found,
            vec![
                ("customerRef", "ann@example.com"),
                ("email", "ann@example.com"),
                ("email", "bob@example.org"),
                ("email", "carl@mail.example"),
            ]
        );
        assert!(identifiers_in(&json!({"a": 1}), None).is_empty());
        assert!(identifiers_in(&json!({}), Some("  ")).is_empty());
    }
}
