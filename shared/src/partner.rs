//! Partner records as the partners table holds them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerStatus {
    Active,
    Disabled,
}

/// Item `PARTNER#<partnerId>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partner {
    pub partner_id: String,
    pub name: String,
    pub status: PartnerStatus,
    /// The format and version this partner sends, e.g. `partner-a@1`.
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// The stored form of the Standard Webhooks secret (`whsec_<base64>`): sealed with KMS
    /// (`kms:v1:…`, crate::secrets), or a legacy value in clear, sealed on the next write.
    /// Open it with the store's sealer before signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Requests per second and burst; the defaults of [`RateLimit`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::ratelimit::RateLimit>,
}

/// Item `KEY#<sha256 of the key>`: which partner a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub key_hash: String,
    pub partner_id: String,
    pub status: PartnerStatus,
}

/// Whether notifications are pushed to the partner's webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookStatus {
    #[default]
    Enabled,
    /// By a 410 answer, 24 h of continuous failure, or an operator; `set-webhook` enables it again.
    Disabled,
}

/// A webhook secret kept valid for a rotation's overlap period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiredSecret {
    /// Stored as [`Partner::webhook_secret`] is: sealed, or legacy clear.
    pub secret: String,
    /// Epoch seconds after which it no longer signs.
    pub expires_at: i64,
}

/// The onboarding and delivery state kept on the `PARTNER#<id>` item next to
/// [`Partner`]'s fields. A separate struct, flattened into the same item, so
/// code that only knows [`Partner`] keeps compiling; writers of the whole
/// item use [`PartnerRecord`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookState {
    #[serde(default)]
    pub webhook_status: WebhookStatus,
    /// Secrets replaced by `rotate-secret`, still valid until their expiry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_secrets: Vec<RetiredSecret>,
    /// Epoch seconds of the first failed attempt in the current run of failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<i64>,
    /// Why the webhook was disabled, for `zb partners list`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// The hash of the key `rotate-key` replaces next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_key_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// The whole `PARTNER#<id>` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerRecord {
    #[serde(flatten)]
    pub partner: Partner,
    #[serde(flatten)]
    pub state: WebhookState,
}

impl PartnerRecord {
    /// The webhook to push to now: set, with a secret, and not disabled.
    pub fn active_webhook(&self) -> Option<(&str, &str)> {
        match (&self.partner.webhook_url, &self.partner.webhook_secret) {
            (Some(url), Some(secret)) if self.state.webhook_status == WebhookStatus::Enabled => {
                Some((url.as_str(), secret.as_str()))
            }
            _ => None,
        }
    }

    /// Every secret that signs at `now` (epoch seconds): the current one,
    /// then the retired ones still inside their overlap, in their stored form
    /// (open them with crate::secrets before signing).
    pub fn signing_secrets(&self, now: i64) -> Vec<&str> {
        let current = self.partner.webhook_secret.as_deref();
        let retired = self
            .state
            .retired_secrets
            .iter()
            .filter(|r| r.expires_at > now)
            .map(|r| r.secret.as_str());
        current.into_iter().chain(retired).collect()
    }
}

impl PartnerRecord {
    /// Every stored secret of the item, current and retired, for sealing in place.
    pub fn stored_secrets_mut(&mut self) -> impl Iterator<Item = &mut String> {
        self.partner
            .webhook_secret
            .iter_mut()
            .chain(self.state.retired_secrets.iter_mut().map(|r| &mut r.secret))
    }
}

/// The whole `KEY#<sha256>` item: [`ApiKey`] plus the end of a rotation overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Epoch seconds from which the key is refused (set when it is rotated out).
    #[serde(default, rename = "expiresAt", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl KeyRecord {
    /// Active, and not past the end of its overlap at `now` (epoch seconds).
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.key.status == PartnerStatus::Active && self.expires_at.is_none_or(|t| now < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PartnerRecord {
        PartnerRecord {
            partner: Partner {
                partner_id: "p".into(),
                name: "P".into(),
                status: PartnerStatus::Active,
                format: "partner-a@1".into(),
                webhook_url: Some("https://example.com/hook".into()),
                webhook_secret: Some("whsec_bmV3".into()),
                rate_limit: None,
            },
            state: WebhookState {
                retired_secrets: vec![RetiredSecret {
                    secret: "whsec_b2xk".into(),
                    expires_at: 100,
                }],
                ..WebhookState::default()
            },
        }
    }

    #[test]
    fn retired_secrets_sign_until_their_expiry() {
        let r = record();
        assert_eq!(r.signing_secrets(99), vec!["whsec_bmV3", "whsec_b2xk"]);
        assert_eq!(r.signing_secrets(100), vec!["whsec_bmV3"]);
    }

    #[test]
    fn a_disabled_webhook_is_not_active() {
        let mut r = record();
        assert!(r.active_webhook().is_some());
        r.state.webhook_status = WebhookStatus::Disabled;
        assert!(r.active_webhook().is_none());
    }

    #[test]
    fn keys_expire_at_the_end_of_the_overlap() {
        let k = KeyRecord {
            key: ApiKey {
                key_hash: "h".into(),
                partner_id: "p".into(),
                status: PartnerStatus::Active,
            },
            expires_at: Some(100),
        };
        assert!(k.is_valid_at(99));
        assert!(!k.is_valid_at(100));
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&k).expect("to item");
        assert_eq!(serde_dynamo::from_item::<_, KeyRecord>(item).expect("from item"), k);
        assert!(KeyRecord { expires_at: None, ..k }.is_valid_at(i64::MAX));
    }

    #[test]
    fn records_round_trip_through_dynamodb_items() {
        let r = record();
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&r).expect("to item");
        assert!(item.contains_key("partnerId") && item.contains_key("retiredSecrets"));
        let back: PartnerRecord = serde_dynamo::from_item(item.clone()).expect("from item");
        assert_eq!(back, r);
        // A plain Partner still reads the same item.
        let plain: Partner = serde_dynamo::from_item(item).expect("partner");
        assert_eq!(plain, r.partner);
    }
}
