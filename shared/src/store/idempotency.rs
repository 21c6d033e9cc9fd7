//! The idempotency table: one item per (partner, Idempotency-Key), TTL 24 h.

use super::{classify, n, num_attr, s, str_attr, Item, Metered, StoreError};
use crate::cost::CostMeter;
use crate::idempotency::{Claim, StoredResponse, LOCK_SECS, RETENTION_SECS};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure};

const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn pk(partner_id: &str, key: &str) -> String {
    format!("{partner_id}#{key}")
}

impl IdempotencyStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Claims the key for a request with this body hash. One conditional
    /// write: it succeeds for a new key, an expired one (TTL deletes lazily),
    /// or an abandoned in-progress claim; otherwise DynamoDB hands back the
    /// existing item and we decide replay, in-flight or mismatch from it.
    pub async fn claim(
        &self,
        partner_id: &str,
        key: &str,
        body_hash: &str,
        now: i64,
        meter: &CostMeter,
    ) -> Result<Claim, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk(partner_id, key)))
            .item("status", s(IN_PROGRESS))
            .item("bodyHash", s(body_hash))
            .item("lockedUntil", n(now + LOCK_SECS))
            .item("expiresAt", n(now + RETENTION_SECS))
            .condition_expression(
                "attribute_not_exists(pk) OR expiresAt < :now OR (#status = :inProgress AND lockedUntil < :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .record_consumed(meter);
        let existing = match result {
            Ok(_) => return Ok(Claim::Acquired),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                PutItemError::ConditionalCheckFailedException(c) => {
                    meter.dynamodb_write(None);
                    c.item
                }
                other => return Err(classify(SdkError::<PutItemError, ()>::service_error(other, ()))),
            },
            Err(e) => return Err(classify(e)),
        };
        let existing = match existing {
            Some(item) => item,
            // Older engines do not return the item; read it.
            None => match self.get(partner_id, key, meter).await? {
                Some(item) => item,
                None => {
                    return Err(StoreError::Transient(
                        "idempotency record changed under us; retry".into(),
                    ))
                }
            },
        };
        if str_attr(&existing, "bodyHash") != Some(body_hash) {
            return Ok(Claim::Mismatch);
        }
        if str_attr(&existing, "status") == Some(COMPLETED) {
            let status = num_attr::<u16>(&existing, "responseStatus");
            let body = str_attr(&existing, "responseBody");
            if let (Some(status), Some(body)) = (status, body) {
                return Ok(Claim::Replay(StoredResponse {
                    status,
                    body: body.to_string(),
                }));
            }
        }
        Ok(Claim::InFlight)
    }

    async fn get(&self, partner_id: &str, key: &str, meter: &CostMeter) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk(partner_id, key)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(out.item)
    }

    /// Stores the response to replay for this key.
    pub async fn complete(
        &self,
        partner_id: &str,
        key: &str,
        response: &StoredResponse,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk(partner_id, key)))
            .update_expression("SET #status = :done, responseStatus = :rs, responseBody = :rb REMOVE lockedUntil")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":done", s(COMPLETED))
            .expression_attribute_values(":rs", n(response.status))
            .expression_attribute_values(":rb", s(&response.body))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(())
    }

    /// Frees the key after a failure, so the partner's retry is not blocked.
    pub async fn release(&self, partner_id: &str, key: &str, meter: &CostMeter) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk(partner_id, key)))
            .condition_expression("#status = :inProgress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            // A failed condition: already completed or gone, nothing to free.
            .metered_conditional(meter)?;
        Ok(())
    }
}
