//! The claim check between pipeline steps. Step Functions refuses a state
//! payload over 256 KiB with `States.DataLimitExceeded`, which no Catch
//! (not even `States.ALL`) can route to RecordErrors, so the size of every
//! step message must be bounded by design. A step's batch (orders and
//! rejections) is staged in the feeds table beside the raw body, and the
//! message carries only a [`StageRef`] to it.
//!
//! Privacy (issue 16): a batch that holds any order content (a raw order, a
//! canonical order, a rejection, whose message may quote an offending value)
//! is staged whatever its size, because the order pipeline logs every
//! state's input and output (level ALL, IncludeExecutionData: zb-cost needs
//! the logged input's feedId) and an Express execution's state payloads live
//! only in those logs. Only an empty batch travels inline (see
//! [`must_stage`]); [`INLINE_MAX_BYTES`] still bounds what may ever travel.
//!
//! Staged text is cut into parts of at most [`PART_MAX_BYTES`], so no item
//! comes near DynamoDB's 400 KB limit whatever the batch holds.

use serde::{Deserialize, Serialize};

/// The largest batch that may travel inline. With the feed reference (well
/// under 1 KiB), a caught error's cause (at most a few KiB) and Lambda's
/// invoke envelope, a message stays far below 256 KiB. Since issue 16 only
/// empty batches travel inline, so this is a bound, not the rule.
pub const INLINE_MAX_BYTES: usize = 32 * 1024;

/// What a batch holds, for the inline-or-staged decision.
pub trait BatchContent {
    /// Whether the batch holds anything from a partner's orders: an order
    /// (raw or canonical) or a rejection (its message may quote a value).
    fn holds_order_content(&self) -> bool;
}

/// Whether a batch must be staged: it holds order content (which must never
/// reach a state payload, hence the execution logs), or its JSON (`bytes`)
/// is larger than [`INLINE_MAX_BYTES`].
pub fn must_stage<T: BatchContent>(batch: &T, bytes: usize) -> bool {
    batch.holds_order_content() || bytes > INLINE_MAX_BYTES
}

/// The largest part of a staged batch, in bytes: with its key and
/// attribute names the item stays well under DynamoDB's 400 KB.
pub const PART_MAX_BYTES: usize = 300 * 1024;

/// A step's batch: inline, or staged in the feeds table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Carried<T> {
    Inline(T),
    Staged(StageRef),
}

/// Where a staged batch is: the feed's items `<feedId>#stage#<step>#<part>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRef {
    /// The step that staged it (its own items, so a retried step rewrites them).
    pub step: String,
    pub parts: usize,
    /// The batch's JSON size, for the logs and the cost of the claim check.
    pub bytes: usize,
}

impl<T> Carried<T> {
    pub fn is_staged(&self) -> bool {
        matches!(self, Self::Staged(_))
    }

    /// The batch, if it travels inline.
    pub fn inline(&self) -> Option<&T> {
        match self {
            Self::Inline(batch) => Some(batch),
            Self::Staged(_) => None,
        }
    }
}

/// Cuts `text` into parts of at most `max` bytes, at character boundaries.
pub fn split_parts(text: &str, max: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.len() > max {
        // A UTF-8 character is at most 4 bytes: a boundary is within 3 of `max`.
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_bounded_and_rejoin_to_the_text() {
        let text = "aé€😀".repeat(10_000);
        for max in [4, 5, 7, 1000, text.len(), text.len() + 1] {
            let parts = split_parts(&text, max);
            assert!(parts.iter().all(|p| p.len() <= max), "max {max}");
            assert_eq!(parts.concat(), text);
        }
        assert_eq!(split_parts("", 10), vec![""]);
    }

    struct Holds(bool);
    impl BatchContent for Holds {
        fn holds_order_content(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn any_order_content_is_staged_and_only_small_empty_batches_travel_inline() {
        assert!(must_stage(&Holds(true), 2), "one small order is staged");
        assert!(!must_stage(&Holds(false), 30), "an empty batch travels inline");
        assert!(
            must_stage(&Holds(false), INLINE_MAX_BYTES + 1),
            "the size bound still holds"
        );
    }

    #[test]
    fn a_carried_batch_names_its_form() {
        let inline: Carried<Vec<u8>> = Carried::Inline(vec![1]);
        assert_eq!(
            serde_json::to_value(&inline).unwrap(),
            serde_json::json!({"inline": [1]})
        );
        let staged: Carried<Vec<u8>> = Carried::Staged(StageRef {
            step: "validate".into(),
            parts: 2,
            bytes: 400_000,
        });
        assert_eq!(
            serde_json::to_value(&staged).unwrap(),
            serde_json::json!({"staged": {"step": "validate", "parts": 2, "bytes": 400_000}})
        );
    }
}
