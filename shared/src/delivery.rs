//! Webhook deliveries as the deliveries table keeps them: one item per
//! notification, with every attempt (status code, latency, error).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Not attempted yet (or replayed).
    Pending,
    /// The last attempt failed; another is scheduled.
    Failed,
    Delivered,
    /// The schedule ran out, the endpoint answered 410 or was disabled: a dead letter.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Failed => "FAILED",
            Self::Delivered => "DELIVERED",
            Self::Dead => "DEAD",
        }
    }

    /// A listing's `status` filter: pending, failed, delivered or dead, in
    /// any case; `None` for anything else.
    pub fn parse_filter(v: &str) -> Option<Self> {
        match v.to_ascii_lowercase().as_str() {
            "pending" => Some(Self::Pending),
            "failed" => Some(Self::Failed),
            "delivered" => Some(Self::Delivered),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// 1-based, counting from the first attempt of the latest replay's run.
    pub attempt: u32,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Item (partnerId, deliveryId).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub partner_id: String,
    /// `<created, yyyymmddThhmmssZ>-<event id>`: sorts by time, and is the
    /// same for every retry of the same event, so a retried notify finds it.
    pub delivery_id: String,
    /// The Standard Webhooks `webhook-id`: the same on every attempt and replay.
    pub webhook_id: String,
    pub event_type: String,
    /// The exact JSON body that is signed and sent.
    pub body: String,
    pub status: DeliveryStatus,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(default)]
    pub replays: u32,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Epoch seconds; DynamoDB TTL deletes the item after it.
    pub expires_at: i64,
}

impl Delivery {
    pub fn id_for(created: chrono::DateTime<chrono::Utc>, event_id: &str) -> String {
        format!("{}-{event_id}", created.format("%Y%m%dT%H%M%SZ"))
    }

    /// The Step Functions execution name of the `replays`-th run: unique
    /// per run (names are never reused), the same for retries of one start.
    pub fn execution_name(&self) -> String {
        let name = if self.replays == 0 {
            self.delivery_id.clone()
        } else {
            format!("{}-r{}", self.delivery_id, self.replays)
        };
        name.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(80)
            .collect()
    }

    /// What the partner and operators see: everything but the body.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "deliveryId": self.delivery_id,
            "webhookId": self.webhook_id,
            "type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "replays": self.replays,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "lastError": self.last_error,
        })
    }
}

/// The delivery state machine's input, and what each attempt returns to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStep {
    pub partner_id: String,
    pub delivery_id: String,
    /// Attempts made so far in this run.
    #[serde(default)]
    pub attempt: u32,
    /// `retry`, `delivered`, `dead` (set by the function).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The Wait state's SecondsPath before the next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_names_are_valid() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let mut d = Delivery {
            partner_id: "p".into(),
            delivery_id: Delivery::id_for(t, "6a7e3f1c-0000-4000-8000-000000000001"),
            webhook_id: "msg_x".into(),
            event_type: "orders.persisted".into(),
            body: "{}".into(),
            status: DeliveryStatus::Pending,
            attempts: vec![],
            replays: 0,
            created_at: "2026-01-02T03:04:05.000Z".into(),
            updated_at: "2026-01-02T03:04:05.000Z".into(),
            last_error: None,
            expires_at: 0,
        };
        assert_eq!(d.delivery_id, "20260102T030405Z-6a7e3f1c-0000-4000-8000-000000000001");
        assert_eq!(d.execution_name(), d.delivery_id);
        d.replays = 2;
        assert!(d.execution_name().ends_with("-r2"));
        assert!(d.execution_name().len() <= 80);
    }
}
