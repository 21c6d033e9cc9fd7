//! Personal data: who an item is about, and how to take the person out of it.
//! No I/O here; the index of subjects lives in `store::PrivacyIndex`, the
//! erasure workflow in the privacy function.
//!
//! A data subject is named by a partner and an identifier (the customer
//! reference the partner's format maps, or an e-mail address found in a raw
//! order). The index and every record of an erasure keep only the subject's
//! [`subject_hash`], never the identifier itself.

mod redact;
mod subject;

pub use redact::{redact_canonical, redact_raw_order, ERASED};
pub use subject::{identifiers_in, is_email, subject_hash, Identifier, IdentifierError, IdentifierKind};

/// Index ref of an order in the orders table.
pub fn order_ref(sequence_number: u64) -> String {
    format!("ORDER#{sequence_number}")
}

/// Index ref of the `index`-th order inside a stored raw feed body.
pub fn body_ref(feed_id: &str, index: usize) -> String {
    format!("BODY#{feed_id}#{index}")
}

/// Index ref of an errors-table item (one rejected order of a feed).
pub fn error_ref(feed_id: &str, index: usize) -> String {
    format!("ERROR#{feed_id}#{index}")
}

/// An index ref, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexRef {
    Order { sequence_number: u64 },
    Body { feed_id: String, index: usize },
    Error { feed_id: String, index: usize },
}

impl IndexRef {
    /// Parses what [`order_ref`], [`body_ref`] and [`error_ref`] write;
    /// `None` for anything else (a ref a later version may add). Feed ids
    /// hold no `#`, so the index is what follows the last one.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(seq) = text.strip_prefix("ORDER#") {
            return seq.parse().ok().map(|sequence_number| Self::Order { sequence_number });
        }
        let (kind, rest) = text.split_once('#')?;
        let (feed_id, index) = rest.rsplit_once('#')?;
        let index = index.parse().ok()?;
        if feed_id.is_empty() {
            return None;
        }
        let feed_id = feed_id.to_string();
        match kind {
            "BODY" => Some(Self::Body { feed_id, index }),
            "ERROR" => Some(Self::Error { feed_id, index }),
            _ => None,
        }
    }
}

impl std::fmt::Display for IndexRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Order { sequence_number } => f.write_str(&order_ref(*sequence_number)),
            Self::Body { feed_id, index } => f.write_str(&body_ref(feed_id, *index)),
            Self::Error { feed_id, index } => f.write_str(&error_ref(feed_id, *index)),
        }
    }
}

/// The index entries (subject hash, ref) of one order of a feed: each of
/// its identifiers points at each of `refs`.
pub fn index_entries(partner_id: &str, ids: &[Identifier], refs: &[String]) -> Vec<(String, String)> {
    let mut entries = Vec::with_capacity(ids.len() * refs.len());
    for id in ids {
        let hash = subject_hash(partner_id, id);
        for r in refs {
            entries.push((hash.clone(), r.clone()));
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_round_trip() {
        for r in [
            IndexRef::Order { sequence_number: 42 },
            IndexRef::Body {
                feed_id: "01J-abc".into(),
                index: 3,
            },
            IndexRef::Error {
                feed_id: "f".into(),
                index: 0,
            },
        ] {
            assert_eq!(IndexRef::parse(&r.to_string()), Some(r));
        }
        assert_eq!(IndexRef::parse("ORDER#x"), None);
        assert_eq!(IndexRef::parse("OTHER#f#1"), None);
        assert_eq!(IndexRef::parse("BODY##1"), None);
    }
}
