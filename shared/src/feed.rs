//! A feed: one partner request, its status, counts and per-order outcomes.

use crate::rejection::{Rejection, RejectionCode};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeedStatus {
    /// Accepted (202) and waiting for the pipeline.
    Received,
    /// Every order persisted (or was a duplicate of one already stored).
    Completed,
    /// Some orders were rejected; the rest persisted.
    CompletedWithRejections,
    /// The pipeline failed on this feed; every order was recorded as an error.
    Failed,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedCounts {
    pub received: usize,
    pub persisted: usize,
    pub duplicate: usize,
    pub rejected: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Persisted,
    Duplicate,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderOutcome {
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<RejectionCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A Step Functions error caught by a Catch (`ResultPath: $.failure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The feed item in the feeds table (the raw body is a sibling item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedRecord {
    pub partner_id: String,
    pub feed_id: String,
    pub status: FeedStatus,
    pub format: String,
    pub received_at: String,
    pub request_id: String,
    pub correlation_id: String,
    pub content_type: String,
    pub body_bytes: usize,
    pub order_count: usize,
    #[serde(default)]
    pub counts: FeedCounts,
    /// The first [`OUTCOMES_PER_PAGE`] outcomes; the rest are in outcome
    /// pages beside the record, so the record stays small for any feed.
    #[serde(default)]
    pub outcomes: Vec<OrderOutcome>,
    /// How many outcome pages the feed has (the record holds page 0).
    #[serde(default)]
    pub outcome_pages: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    pub updated_at: String,
    /// How often the stuck-feed sweeper restarted this feed's pipeline
    /// since it was last (re)opened.
    #[serde(default)]
    pub sweep_attempts: u32,
    /// How often an operator redrove this feed after it FAILED (admin API).
    #[serde(default)]
    pub redrive_count: u32,
}

/// The name of the sweeper's `attempt`-th restart of a feed's pipeline. A
/// redrive starts the count again, and Standard execution names may never be
/// reused (a start under a used name is ExecutionAlreadyExists and runs
/// nothing), so restarts after the n-th redrive carry it in their name.
pub fn sweep_execution_name(feed_id: &str, redrive_count: u32, attempt: u32) -> String {
    if redrive_count == 0 {
        format!("{feed_id}-sweep-{attempt}")
    } else {
        format!("{feed_id}-redrive-{redrive_count}-sweep-{attempt}")
    }
}

/// The name of the n-th redrive's execution (the admin API starts it).
pub fn redrive_execution_name(feed_id: &str, redrive_count: u32) -> String {
    format!("{feed_id}-redrive-{redrive_count}")
}

/// Outcomes per page of a feed's outcome list (the record holds the first).
pub const OUTCOMES_PER_PAGE: usize = 100;

/// The most orders one feed may hold. Every bound below follows from it:
/// at most 1,000 rejections of at most ~1 KiB each (message and field are
/// cut to excerpts) are a staged batch of a few parts; Persist writes 1,000
/// orders with 16 writes in flight in about a second on DynamoDB, far under
/// its 15 s timeout; RecordErrors writes 40 batches of 25; the outcome
/// list is 10 pages. The body limit alone (256 KiB) would admit about
/// 87,000 empty orders (`{},`), so the count needs a bound of its own.
pub const MAX_ORDERS_PER_FEED: usize = 1000;

impl FeedStatus {
    /// COMPLETED, COMPLETED_WITH_REJECTIONS and FAILED: nothing will change.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Received)
    }
}

/// Builds the per-order outcomes and counts of a processed feed.
/// `stored` holds (index, sequence number, persisted-or-duplicate).
pub fn summarize(
    order_count: usize,
    stored: &[(usize, u64, Outcome)],
    rejections: &[Rejection],
) -> (Vec<OrderOutcome>, FeedCounts) {
    let mut outcomes: Vec<OrderOutcome> = stored
        .iter()
        .map(|&(index, seq, outcome)| OrderOutcome {
            index,
            sequence_number: Some(seq),
            outcome,
            code: None,
            field: None,
        })
        .chain(rejections.iter().map(|r| OrderOutcome {
            index: r.index,
            sequence_number: r.sequence_number,
            outcome: Outcome::Rejected,
            code: Some(r.code),
            field: Some(r.field.clone()),
        }))
        .collect();
    outcomes.sort_by_key(|o| o.index);
    let count = |o: Outcome| outcomes.iter().filter(|x| x.outcome == o).count();
    let counts = FeedCounts {
        received: order_count,
        persisted: count(Outcome::Persisted),
        duplicate: count(Outcome::Duplicate),
        rejected: count(Outcome::Rejected),
    };
    (outcomes, counts)
}

impl FeedCounts {
    pub fn status(&self) -> FeedStatus {
        if self.rejected > 0 {
            FeedStatus::CompletedWithRejections
        } else {
            FeedStatus::Completed
        }
    }
}
