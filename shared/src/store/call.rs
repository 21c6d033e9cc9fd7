//! The response side of one DynamoDB call. Its own module because every
//! adapter finishes a call the same way: add what it consumed (it asked for
//! ReturnConsumedCapacity TOTAL) to the invocation's [`CostMeter`], as a
//! read or a write by operation, and sort a failure into transient or not.
//! Each adapter still builds and sends its request with the SDK's own
//! fluent builder: [`Metered`] works on what `send().await` returns, so it
//! adds no future of its own around the SDK's (the deepest Lambda futures
//! are near the compiler's layout depth limit).

use super::StoreError;
use crate::cost::CostMeter;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation;

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

/// An SDK output that reports the capacity its call consumed.
pub(crate) trait Consumed {
    fn record(&self, meter: &CostMeter);
}

macro_rules! consumed {
    ($($op:ident :: $output:ident => $record:ident;)*) => {$(
        impl Consumed for operation::$op::$output {
            fn record(&self, meter: &CostMeter) {
                meter.$record(self.consumed_capacity());
            }
        }
    )*};
}

consumed! {
    get_item::GetItemOutput => dynamodb_read;
    query::QueryOutput => dynamodb_read;
    scan::ScanOutput => dynamodb_read;
    put_item::PutItemOutput => dynamodb_write;
    update_item::UpdateItemOutput => dynamodb_write;
    delete_item::DeleteItemOutput => dynamodb_write;
    batch_write_item::BatchWriteItemOutput => dynamodb_batch_write;
    transact_write_items::TransactWriteItemsOutput => dynamodb_batch_write;
}

/// Finishes a sent call: `….send().await.metered(meter)?`. Each records
/// what a successful call consumed; whatever a failed one should cost is
/// the caller's to record.
pub(crate) trait Metered<O> {
    /// Any failure is a [`StoreError`].
    fn metered(self, meter: &CostMeter) -> Result<O, StoreError>;

    /// None when the call's condition failed: for callers to whom that is
    /// an outcome, not an error.
    fn metered_conditional(self, meter: &CostMeter) -> Result<Option<O>, StoreError>;

    /// The SDK error as it is, for callers that look into it (the item a
    /// failed condition returns, a cancelled transaction's reasons).
    fn record_consumed(self, meter: &CostMeter) -> Self;
}

impl<O, E, R> Metered<O> for Result<O, SdkError<E, R>>
where
    O: Consumed,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn metered(self, meter: &CostMeter) -> Result<O, StoreError> {
        self.record_consumed(meter).map_err(classify)
    }

    fn metered_conditional(self, meter: &CostMeter) -> Result<Option<O>, StoreError> {
        match self.record_consumed(meter) {
            Ok(out) => Ok(Some(out)),
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException") => {
                Ok(None)
            }
            Err(e) => Err(classify(e)),
        }
    }

    fn record_consumed(self, meter: &CostMeter) -> Self {
        if let Ok(out) = &self {
            out.record(meter);
        }
        self
    }
}
