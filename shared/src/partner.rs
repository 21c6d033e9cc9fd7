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
    /// `whsec_<base64>`, the Standard Webhooks secret form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// Item `KEY#<sha256 of the key>`: which partner a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub key_hash: String,
    pub partner_id: String,
    pub status: PartnerStatus,
}
