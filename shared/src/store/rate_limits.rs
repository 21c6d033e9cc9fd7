//! The rate-limit table: one counter item per (partner, window), `pk` =
//! `<partnerId>#<window start>`, deleted by TTL after its window.
//! See [`crate::ratelimit`] for why a fixed window.

use super::{n, s, Metered, StoreError};
use crate::cost::CostMeter;
use crate::ratelimit::{Decision, Policy, Window};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity, ReturnValue};
use chrono::{DateTime, Utc};

/// How long a window's counter outlives the window (TTL deletes lazily anyway).
const KEEP_SECS: i64 = 60;

#[derive(Debug, Clone)]
pub struct RateLimitStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn count_of(v: Option<&AttributeValue>) -> u32 {
    match v {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or(u32::MAX),
        _ => 0,
    }
}

/// The counter item of the partner's window.
fn counter_key(partner_id: &str, window: &Window) -> AttributeValue {
    s(format!("{partner_id}#{}", window.start))
}

impl RateLimitStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Counts one request against the partner's current window: a single
    /// conditional UpdateItem (ADD 1 while the count is below the quota).
    pub async fn consume(
        &self,
        partner_id: &str,
        policy: Policy,
        now: DateTime<Utc>,
        meter: &CostMeter,
    ) -> Result<Decision, StoreError> {
        let window = policy.window(now);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", counter_key(partner_id, &window))
            .update_expression("SET expiresAt = if_not_exists(expiresAt, :exp) ADD #n :one")
            .condition_expression("attribute_not_exists(#n) OR #n < :quota")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":quota", n(policy.quota))
            .expression_attribute_values(":exp", n(window.start + i64::from(policy.window_secs) + KEEP_SECS))
            .return_values(ReturnValue::UpdatedNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        match out {
            Some(out) => {
                let count = count_of(out.attributes().and_then(|a| a.get("n")));
                Ok(Decision {
                    allowed: true,
                    remaining: policy.quota.saturating_sub(count),
                    reset_secs: window.reset_secs,
                })
            }
            None => {
                // A refused conditional write still costs its write unit; the
                // error carries no ConsumedCapacity, so count the one unit.
                meter.dynamodb_write(Some(&ConsumedCapacity::builder().capacity_units(1.0).build()));
                Ok(Decision {
                    allowed: false,
                    remaining: 0,
                    reset_secs: window.reset_secs,
                })
            }
        }
    }

    /// The current window's standing without counting a request: one
    /// eventually consistent GetItem (half a read unit), for the read routes.
    pub async fn peek(
        &self,
        partner_id: &str,
        policy: Policy,
        now: DateTime<Utc>,
        meter: &CostMeter,
    ) -> Result<Decision, StoreError> {
        let window = policy.window(now);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", counter_key(partner_id, &window))
            .projection_expression("#n")
            .expression_attribute_names("#n", "n")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        let count = count_of(out.item().and_then(|i| i.get("n")));
        Ok(Decision {
            allowed: count < policy.quota,
            remaining: policy.quota.saturating_sub(count),
            reset_secs: window.reset_secs,
        })
    }
}
