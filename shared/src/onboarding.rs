//! Partner onboarding: what `zb partners create|rotate-key|rotate-secret|
//! set-webhook|disable|list` do, against any partners table. Keys and
//! secrets are generated here and returned once; only key hashes are stored,
//! and webhook secrets only sealed (crate::secrets: KMS, bound to the partner
//! id). Every write of a partner item first seals any legacy clear secret it
//! still holds, so old items migrate as they are touched.

use crate::apikey::hash_api_key;
use crate::clock::Clock;
use crate::cost::CostMeter;
use crate::credentials::{new_api_key, new_webhook_secret, RandomError};
use crate::partner::{
    ApiKey, KeyRecord, Partner, PartnerRecord, PartnerStatus, RetiredSecret, WebhookState, WebhookStatus,
};
use crate::ratelimit::RateLimit;
use crate::ssrf::{check_url, SsrfError, UrlPolicy};
use crate::store::{PartnerStore, StoreError};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    #[error("partner {0} does not exist")]
    UnknownPartner(String),
    #[error("partner id {0:?} must be 1-64 characters of a-z, 0-9 and '-'")]
    BadPartnerId(String),
    #[error("the name must not be empty")]
    EmptyName,
    #[error("unknown format {0:?}; known formats: {1}")]
    UnknownFormat(String, String),
    #[error(transparent)]
    WebhookUrl(#[from] SsrfError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealing the webhook secret: {0}")]
    Secret(#[from] crate::secrets::SecretError),
}

/// What `create` asks for.
#[derive(Debug, Clone)]
pub struct NewPartner {
    /// Defaults to a slug of the name.
    pub partner_id: Option<String>,
    pub name: String,
    pub format: String,
    pub webhook_url: Option<String>,
}

/// Credentials shown once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    pub partner_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// When the replaced key or secret stops working (RFC 3339), for rotations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_valid_until: Option<String>,
}

pub struct Onboarding {
    pub store: PartnerStore,
    pub clock: Arc<dyn Clock>,
    pub url_policy: UrlPolicy,
    /// The formats a partner may be given (`name@version`).
    pub formats: Vec<String>,
}

/// `Acme Co.` -> `acme-co`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(64).collect()
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Onboarding {
    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn until(&self, overlap: Duration) -> (i64, String) {
        let end = self.clock.now() + chrono::Duration::seconds(overlap.as_secs() as i64);
        (end.timestamp(), crate::time::format_utc(end))
    }

    /// Seals what is still in clear on `record` (a new secret, or a legacy one), in place.
    async fn seal_clear(&self, record: &mut PartnerRecord) -> Result<(), OnboardingError> {
        let sealer = self.store.sealer();
        if !sealer.seals() {
            return Ok(());
        }
        let partner_id = record.partner.partner_id.clone();
        for stored in record.stored_secrets_mut() {
            if !crate::secrets::is_sealed(stored) {
                *stored = sealer.seal(&partner_id, stored).await?;
            }
        }
        Ok(())
    }

    /// Writes the whole item, its secrets sealed first.
    async fn write(&self, record: &mut PartnerRecord, meter: &CostMeter) -> Result<(), OnboardingError> {
        self.seal_clear(record).await?;
        self.store.put_record(record, meter).await?;
        Ok(())
    }

    async fn record(&self, partner_id: &str, meter: &CostMeter) -> Result<PartnerRecord, OnboardingError> {
        self.store
            .get_record(partner_id, meter)
            .await?
            .ok_or_else(|| OnboardingError::UnknownPartner(partner_id.to_string()))
    }

    pub async fn create(&self, req: NewPartner) -> Result<Issued, OnboardingError> {
        self.insert(req, None, true).await
    }

    /// `create` for a caller that has checked the format itself (the admin
    /// API resolves it through the FormatResolver, which also knows the
    /// published formats `formats` cannot list), with an optional rate limit.
    pub async fn create_resolved(
        &self,
        req: NewPartner,
        rate_limit: Option<RateLimit>,
    ) -> Result<Issued, OnboardingError> {
        self.insert(req, rate_limit, false).await
    }

    async fn insert(
        &self,
        req: NewPartner,
        rate_limit: Option<RateLimit>,
        check_format: bool,
    ) -> Result<Issued, OnboardingError> {
        let meter = CostMeter::default();
        if req.name.trim().is_empty() {
            return Err(OnboardingError::EmptyName);
        }
        let partner_id = req.partner_id.clone().unwrap_or_else(|| slug(&req.name));
        if !valid_id(&partner_id) {
            return Err(OnboardingError::BadPartnerId(partner_id));
        }
        if check_format && !self.formats.contains(&req.format) {
            return Err(OnboardingError::UnknownFormat(req.format, self.formats.join(", ")));
        }
        if let Some(url) = &req.webhook_url {
            check_url(url, self.url_policy)?;
        }
        let api_key = new_api_key()?;
        let secret = new_webhook_secret()?;
        let key_hash = hash_api_key(&api_key);
        let mut record = PartnerRecord {
            partner: Partner {
                partner_id: partner_id.clone(),
                name: req.name.trim().to_string(),
                status: PartnerStatus::Active,
                format: req.format,
                webhook_url: req.webhook_url,
                webhook_secret: Some(secret.clone()),
                rate_limit,
            },
            state: WebhookState {
                current_key_hash: Some(key_hash.clone()),
                created_at: Some(crate::time::format_utc(self.clock.now())),
                ..WebhookState::default()
            },
        };
        let key = KeyRecord {
            key: ApiKey {
                key_hash,
                partner_id: partner_id.clone(),
                status: PartnerStatus::Active,
            },
            expires_at: None,
        };
        self.seal_clear(&mut record).await?;
        self.store.create(&record, &key, &meter).await?;
        Ok(Issued {
            partner_id,
            api_key: Some(api_key),
            webhook_secret: Some(secret),
            previous_valid_until: None,
        })
    }

    /// A new key; the current one keeps working for `overlap`, then is refused.
    pub async fn rotate_key(&self, partner_id: &str, overlap: Duration) -> Result<Issued, OnboardingError> {
        let meter = CostMeter::default();
        let mut record = self.record(partner_id, &meter).await?;
        let api_key = new_api_key()?;
        let key_hash = hash_api_key(&api_key);
        let old = record.state.current_key_hash.replace(key_hash.clone());
        let key = KeyRecord {
            key: ApiKey {
                key_hash,
                partner_id: partner_id.to_string(),
                status: PartnerStatus::Active,
            },
            expires_at: None,
        };
        let (end, end_text) = self.until(overlap);
        self.seal_clear(&mut record).await?;
        self.store
            .rotate_key(&record, &key, old.as_deref(), end, &meter)
            .await?;
        Ok(Issued {
            partner_id: partner_id.to_string(),
            api_key: Some(api_key),
            webhook_secret: None,
            previous_valid_until: old.map(|_| end_text),
        })
    }

    /// A new webhook secret; deliveries are signed with both for `overlap`.
    /// The new one is sealed; the old one is retired as it is stored (sealed,
    /// or sealed now if it was a legacy clear value): nothing is decrypted.
    pub async fn rotate_secret(&self, partner_id: &str, overlap: Duration) -> Result<Issued, OnboardingError> {
        let meter = CostMeter::default();
        let mut record = self.record(partner_id, &meter).await?;
        let secret = new_webhook_secret()?;
        let (end, end_text) = self.until(overlap);
        let now = self.now();
        record.state.retired_secrets.retain(|r| r.expires_at > now);
        let old = record.partner.webhook_secret.replace(secret.clone());
        if let Some(old) = &old {
            if end > now {
                record.state.retired_secrets.push(RetiredSecret {
                    secret: old.clone(),
                    expires_at: end,
                });
            }
        }
        self.write(&mut record, &meter).await?;
        Ok(Issued {
            partner_id: partner_id.to_string(),
            api_key: None,
            webhook_secret: Some(secret),
            previous_valid_until: old.map(|_| end_text),
        })
    }

    /// Sets (and re-enables) or, with `None`, removes the webhook: without
    /// one, notifications wait in the outbox.
    pub async fn set_webhook(&self, partner_id: &str, url: Option<String>) -> Result<PartnerRecord, OnboardingError> {
        let meter = CostMeter::default();
        if let Some(url) = &url {
            check_url(url, self.url_policy)?;
        }
        let mut record = self.record(partner_id, &meter).await?;
        if record.partner.webhook_secret.is_none() {
            record.partner.webhook_secret = Some(new_webhook_secret()?);
        }
        record.partner.webhook_url = url;
        record.state.webhook_status = WebhookStatus::Enabled;
        record.state.failing_since = None;
        record.state.disabled_reason = None;
        self.write(&mut record, &meter).await?;
        Ok(record)
    }

    /// The partner's keys stop working and nothing more is delivered to it.
    pub async fn disable(&self, partner_id: &str) -> Result<PartnerRecord, OnboardingError> {
        let meter = CostMeter::default();
        let mut record = self.record(partner_id, &meter).await?;
        record.partner.status = PartnerStatus::Disabled;
        self.write(&mut record, &meter).await?;
        Ok(record)
    }

    pub async fn list(&self) -> Result<Vec<PartnerRecord>, OnboardingError> {
        Ok(self.store.list_records(&CostMeter::default()).await?)
    }

    /// One partner's whole record.
    pub async fn get(&self, partner_id: &str) -> Result<PartnerRecord, OnboardingError> {
        self.record(partner_id, &CostMeter::default()).await
    }

    /// Applies `changes` (the admin API's PATCH) and returns the record
    /// before and after. A webhook URL set here is checked and enables the
    /// webhook again, as `set_webhook` does; `Some(None)` removes it. The
    /// caller has checked a new format (see `create_resolved`).
    pub async fn update(
        &self,
        partner_id: &str,
        changes: PartnerChanges,
    ) -> Result<(PartnerRecord, PartnerRecord), OnboardingError> {
        let meter = CostMeter::default();
        if changes.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
            return Err(OnboardingError::EmptyName);
        }
        if let Some(Some(url)) = &changes.webhook_url {
            check_url(url, self.url_policy)?;
        }
        let before = self.record(partner_id, &meter).await?;
        let mut after = before.clone();
        if let Some(name) = changes.name {
            after.partner.name = name.trim().to_string();
        }
        if let Some(format) = changes.format {
            after.partner.format = format;
        }
        if let Some(limit) = changes.rate_limit {
            after.partner.rate_limit = Some(limit);
        }
        if let Some(url) = changes.webhook_url {
            if url.is_some() {
                if after.partner.webhook_secret.is_none() {
                    after.partner.webhook_secret = Some(new_webhook_secret()?);
                }
                after.state.webhook_status = WebhookStatus::Enabled;
                after.state.failing_since = None;
                after.state.disabled_reason = None;
            }
            after.partner.webhook_url = url;
        }
        self.write(&mut after, &meter).await?;
        Ok((before, after))
    }
}

/// What an update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerChanges {
    pub name: Option<String>,
    pub format: Option<String>,
    /// `Some(None)` removes the webhook (notifications go to the outbox).
    pub webhook_url: Option<Option<String>>,
    pub rate_limit: Option<RateLimit>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Acme Co."), "acme-co");
        assert_eq!(slug("  Über  Shop 2 "), "ber-shop-2");
        assert!(valid_id("acme-co") && !valid_id("") && !valid_id("Acme"));
    }
}
