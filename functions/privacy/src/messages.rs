//! The partner's notifications (deliveries and outbox bodies). They are
//! built from event details (feed id, counts), not from orders, so they
//! should never name a person; the index therefore has no entries for
//! them, and an erasure checks them instead: one Query page of the
//! partner's partition at a time, filtered on the identifiers, each match
//! redacted. That reads the partner's partition once per erasure (bounded
//! by the delivery and outbox retention), never a whole table.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use serde_json::Value;
use std::collections::HashMap;
use zb_shared::cost::CostMeter;
use zb_shared::privacy::{redact_raw_order, Identifier, ERASED};
use zb_shared::store::StoreError;

/// Items one page reads (before the filter).
const PAGE: i32 = 200;

pub struct Messages {
    pub client: aws_sdk_dynamodb::Client,
    pub deliveries_table: String,
    pub outbox_table: String,
}

fn failed(e: impl std::fmt::Display, transient: bool) -> StoreError {
    if transient {
        StoreError::Transient(e.to_string())
    } else {
        StoreError::Failed(e.to_string())
    }
}

fn is_transient<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    use aws_sdk_dynamodb::error::SdkError;
    match e {
        SdkError::ServiceError(s) => matches!(
            s.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "ConditionalCheckFailedException"
            )
        ),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        _ => false,
    }
}

/// The redacted text of a body that names one of `ids`, if it does.
pub fn redact_body(body: &str, ids: &[Identifier]) -> Option<String> {
    match serde_json::from_str::<Value>(body) {
        Ok(mut v) => redact_raw_order(&mut v, &[], ids).then(|| v.to_string()),
        Err(_) => {
            let mut v = Value::String(body.to_string());
            redact_raw_order(&mut v, &[], ids).then(|| ERASED.to_string())
        }
    }
}

impl Messages {
    /// One page of the partner's deliveries (or outbox): bodies naming an
    /// identifier are redacted. The count changed and where the next page
    /// starts (None: the partition is done).
    pub async fn page(
        &self,
        deliveries: bool,
        partner_id: &str,
        cursor: Option<&str>,
        ids: &[Identifier],
        meter: &CostMeter,
    ) -> Result<(u64, Option<String>), StoreError> {
        let (table, sort_key) = if deliveries {
            (&self.deliveries_table, "deliveryId")
        } else {
            (&self.outbox_table, "seq")
        };
        if ids.is_empty() {
            return Ok((0, None));
        }
        let start = match cursor {
            None => None,
            Some(c) => {
                let value = if deliveries {
                    AttributeValue::S(c.to_string())
                } else {
                    AttributeValue::N(c.to_string())
                };
                Some(HashMap::from([
                    ("partnerId".to_string(), AttributeValue::S(partner_id.to_string())),
                    (sort_key.to_string(), value),
                ]))
            }
        };
        // contains() is case-sensitive: e-mail addresses are matched in the
        // lower case they were normalized to, and as the partner sent them
        // is what redact_body checks on the items that come back.
        let mut filter = Vec::new();
        let mut req = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("partnerId = :p")
            .expression_attribute_values(":p", AttributeValue::S(partner_id.to_string()))
            .expression_attribute_names("#b", "body")
            .set_exclusive_start_key(start)
            .limit(PAGE)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        for (i, id) in ids.iter().enumerate() {
            filter.push(format!("contains(#b, :v{i})"));
            req = req.expression_attribute_values(format!(":v{i}"), AttributeValue::S(id.value.clone()));
        }
        let out = req
            .filter_expression(filter.join(" OR "))
            .send()
            .await
            .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(&e), is_transient(&e)))?;
        meter.dynamodb_read(out.consumed_capacity());
        let mut changed = 0;
        for item in out.items.unwrap_or_default() {
            let Some(AttributeValue::S(body)) = item.get("body") else {
                continue;
            };
            let Some(redacted) = redact_body(body, ids) else {
                continue;
            };
            let (Some(pk), Some(sk)) = (item.get("partnerId"), item.get(sort_key)) else {
                continue;
            };
            let put = self
                .client
                .update_item()
                .table_name(table)
                .key("partnerId", pk.clone())
                .key(sort_key, sk.clone())
                .update_expression("SET #b = :new")
                .condition_expression("#b = :old")
                .expression_attribute_names("#b", "body")
                .expression_attribute_values(":new", AttributeValue::S(redacted))
                .expression_attribute_values(":old", AttributeValue::S(body.clone()))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| failed(aws_sdk_dynamodb::error::DisplayErrorContext(&e), is_transient(&e)))?;
            meter.dynamodb_write(put.consumed_capacity());
            changed += 1;
        }
        let next = out.last_evaluated_key.and_then(|k| match k.get(sort_key) {
            Some(AttributeValue::S(v)) | Some(AttributeValue::N(v)) => Some(v.clone()),
            _ => None,
        });
        Ok((changed, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_that_name_a_subject_are_redacted_and_others_not() {
        let ids = [Identifier::email("ann@example.com").unwrap()];
        let body = r#"{"type":"orders.persisted","data":{"note":"for ann@example.com","counts":{"persisted":1}}}"#;
        let r = redact_body(body, &ids).unwrap();
        assert!(!r.contains("ann@example.com"));
        assert!(r.contains("\"persisted\":1"));
        assert_eq!(redact_body(r#"{"data":{"feedId":"f"}}"#, &ids), None);
    }
}
