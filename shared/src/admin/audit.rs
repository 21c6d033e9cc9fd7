//! The audit log's entries: who changed what, when, and the state before
//! and after. Credentials never enter an entry: every member that holds a
//! key, a key hash or a webhook secret is replaced by [`REDACTED`] before
//! the entry exists, so no reader of the audit table (or of a backup of it)
//! learns one.

use super::roles::Operator;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Mutex;
use uuid::timestamp::context::ContextV7;
use uuid::{Timestamp, Uuid};

/// What a redacted member's value becomes.
pub const REDACTED: &str = "[redacted]";

/// Member names whose values are secrets (or lead to one: a key hash is
/// what the authorizer looks a key up by). Compared case-insensitively.
const SECRET_MEMBERS: &[&str] = &[
    "apikey",
    "keyhash",
    "currentkeyhash",
    "webhooksecret",
    "retiredsecrets",
    "secret",
    "password",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "partner.create")]
    PartnerCreate,
    #[serde(rename = "partner.update")]
    PartnerUpdate,
    #[serde(rename = "partner.disable")]
    PartnerDisable,
    #[serde(rename = "partner.rotate-key")]
    PartnerRotateKey,
    #[serde(rename = "partner.rotate-secret")]
    PartnerRotateSecret,
    #[serde(rename = "format.publish")]
    FormatPublish,
    #[serde(rename = "feed.redrive")]
    FeedRedrive,
    #[serde(rename = "delivery.replay")]
    DeliveryReplay,
    /// An erasure was requested; the entry holds the subjects' hashes, never
    /// the identifiers (issue 16).
    #[serde(rename = "privacy.erase")]
    PrivacyErase,
    /// A subject's data was exported; hashes only, as for an erasure.
    #[serde(rename = "privacy.export")]
    PrivacyExport,
}

/// Who made the change, from the access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    pub username: String,
    pub groups: Vec<String>,
}

impl From<&Operator> for Actor {
    fn from(op: &Operator) -> Self {
        Self {
            sub: op.sub.clone(),
            username: op.username.clone(),
            groups: op.groups.clone(),
        }
    }
}

/// One change, as the audit table holds it (plus `stream`) and
/// `GET /v1/admin/audit` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// A UUIDv7: sorts by time, so the newest entries come first in one Query.
    pub entry_id: String,
    /// RFC 3339.
    pub at: String,
    pub actor: Actor,
    pub action: AuditAction,
    /// `partner/<id>`, `format/<id>`, `feed/<id>`, `delivery/<partnerId>/<id>`.
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: String,
    pub correlation_id: String,
}

/// What one change was; [`AuditEntry::new`] stamps and redacts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub action: AuditAction,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Where the request came from, for tying an entry to its logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub request_id: String,
    pub correlation_id: String,
}

/// Entry ids of one process stay in creation order even within one
/// millisecond (or on a clock that does not move, as in tests): the v7
/// context counts up inside a millisecond instead of drawing random bits.
static ENTRY_IDS: Mutex<ContextV7> = Mutex::new(ContextV7::new());

/// A UUIDv7 for an entry made at `at`.
pub fn entry_id(at: chrono::DateTime<chrono::Utc>) -> String {
    let secs = u64::try_from(at.timestamp()).unwrap_or(0);
    let ts = Timestamp::from_unix(&ENTRY_IDS, secs, at.timestamp_subsec_nanos());
    Uuid::new_v7(ts).to_string()
}

/// The part every entry id made in the millisecond of `at` starts with
/// (the first 48 bits of a UUIDv7 are its Unix time in milliseconds), so a
/// time range is a range of entry ids.
pub fn entry_id_prefix(at: chrono::DateTime<chrono::Utc>) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0) & 0xffff_ffff_ffff;
    let hex = format!("{ms:012x}");
    format!("{}-{}", &hex[..8], &hex[8..])
}

impl AuditEntry {
    pub fn new(actor: &Operator, change: Change, origin: Origin, at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            entry_id: entry_id(at),
            at: crate::time::format_utc(at),
            actor: Actor::from(actor),
            action: change.action,
            target: change.target,
            before: change.before.map(redact),
            after: change.after.map(redact),
            request_id: origin.request_id,
            correlation_id: origin.correlation_id,
        }
    }
}

/// `value` with every secret member's value replaced by [`REDACTED`], at
/// any depth. A member that is absent or null stays as it is: "there was no
/// secret" is not a secret, and it is what an operator checks.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let secret = SECRET_MEMBERS.iter().any(|s| k.eq_ignore_ascii_case(s));
                    let v = if secret && !v.is_null() {
                        Value::from(REDACTED)
                    } else {
                        redact(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_nothing_else_is() {
        let v = json!({
            "partnerId": "acme",
            "apiKey": "zb_live_x",
            "webhookSecret": "whsec_abc",
            "webhookUrl": "https://acme.example/hook",
            "state": {"currentKeyHash": "ab12", "retiredSecrets": [{"secret": "whsec_old"}]},
            "items": [{"WebhookSecret": "whsec_y"}],
            "none": {"webhookSecret": null}
        });
        let r = redact(v);
        assert_eq!(r["apiKey"], REDACTED);
        assert_eq!(r["webhookSecret"], REDACTED);
        assert_eq!(r["webhookUrl"], "https://acme.example/hook");
        assert_eq!(r["state"]["currentKeyHash"], REDACTED);
        assert_eq!(r["state"]["retiredSecrets"], REDACTED);
        assert_eq!(r["items"][0]["WebhookSecret"], REDACTED);
        assert_eq!(r["none"]["webhookSecret"], Value::Null);
        assert!(!r.to_string().contains("whsec_"));
    }

    #[test]
    fn entry_ids_follow_creation_order_on_a_clock_that_stands_still() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let ids: Vec<_> = (0..50).map(|_| entry_id(at)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|id| id.starts_with(&entry_id_prefix(at))));
        let later = at + chrono::Duration::milliseconds(1);
        assert!(entry_id_prefix(later).as_str() > ids[49].as_str());
    }

    #[test]
    fn actions_serialize_as_the_contract_names_them() {
        assert_eq!(json!(AuditAction::PartnerRotateKey), "partner.rotate-key");
        assert_eq!(json!(AuditAction::DeliveryReplay), "delivery.replay");
    }
}
