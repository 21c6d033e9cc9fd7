//! DynamoDB adapters, one per table. Each asks for ReturnConsumedCapacity
//! TOTAL on every call and adds it to the invocation's [`CostMeter`].
//!
//! [`CostMeter`]: crate::cost::CostMeter

mod deliveries;
mod error_log;
mod feeds;
mod idempotency;
mod orders;
mod outbox;
mod partners;
mod rate_limits;

pub use deliveries::DeliveryStore;
pub use error_log::{ErrorItem, ErrorLog, ERROR_TTL_SECS};
pub use feeds::{FeedStore, FeedUpdate};
pub use idempotency::IdempotencyStore;
pub use orders::{OrderStore, PutOutcome, StoredOrder};
pub use outbox::{cursor_of, seq_of, OutboxEntry, OutboxPage, OutboxStore, OUTBOX_TTL_SECS};
pub use partners::PartnerStore;
pub use rate_limits::RateLimitStore;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Throttling, a timeout or a DynamoDB 5xx: worth retrying.
    #[error("DynamoDB is unavailable: {0}")]
    Transient(String),
    /// A call that will fail the same way again (missing table, bad request).
    #[error("DynamoDB call failed: {0}")]
    Failed(String),
    /// An item that does not have the shape we write.
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
    /// The item an update needs does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// A create whose item already exists.
    #[error("{0} already exists")]
    Conflict(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
    "TransactionConflictException",
];

/// Sorts an SDK error into transient or not.
pub(crate) fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let transient = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(s) => s.err().code().is_some_and(|c| TRANSIENT_CODES.contains(&c)),
        _ => false,
    };
    let msg = aws_sdk_dynamodb::error::DisplayErrorContext(&err).to_string();
    if transient {
        StoreError::Transient(msg)
    } else {
        StoreError::Failed(msg)
    }
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this API issued")]
pub struct BadCursor;

/// Opaque pagination cursors: base64url of a small JSON object. They hold
/// only sort-key values; the partition key always comes from the caller's
/// identity, so a cursor cannot reach another partner's data.
pub fn encode_cursor(v: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

pub fn decode_cursor(s: &str) -> Result<serde_json::Value, BadCursor> {
    let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| BadCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| BadCursor)
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
