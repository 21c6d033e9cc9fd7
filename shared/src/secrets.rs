//! Webhook signing secrets at rest: sealed with KMS before they reach the partners table, opened
//! only where a delivery is signed.
//!
//! A stored secret is either sealed, `kms:v1:<base64 of the KMS CiphertextBlob>`, encrypted under
//! the template's `WebhookSecretsKey` (env `WEBHOOK_SECRETS_KEY_ID`) with the encryption context
//! `{"partnerId": <id>}`, or a legacy `whsec_…` kept in clear by an older version. Binding the
//! partner id means a sealed secret copied onto another partner's item does not open (KMS answers
//! InvalidCiphertextException), and lets IAM grants require the context
//! (`kms:EncryptionContext:partnerId`). The KMS ciphertext names its key, so opening needs no key
//! id: only kms:Decrypt on that key.
//!
//! **Legacy values** are recognised by the missing prefix: they still sign (read as they are) and
//! are sealed on the next write of the partner's item (any onboarding change: rotate-secret,
//! set-webhook, update, disable, rotate-key), a lazy migration with no batch job.
//!
//! **Rotations.**
//! - `rotate-secret` writes a new sealed secret; the old one moves, still sealed, to the retired
//!   secrets and keeps signing until its grace period ends, then it is dropped on the next write.
//!   Nothing is decrypted to rotate (admin holds kms:Encrypt only).
//! - KMS automatic key rotation (`EnableKeyRotation: true`, yearly) keeps every earlier key
//!   material under the same key id, and Decrypt picks the material the ciphertext was made with:
//!   old sealed secrets keep opening and need no re-encryption
//!   (<https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html>).
//! - Moving to another key (a manual rotation, a new key after a compromise) would re-encrypt each
//!   stored value with KMS ReEncrypt (the plaintext never leaves KMS) under the new key, then point
//!   `WEBHOOK_SECRETS_KEY_ID` at it. That job is not built; until it runs, values sealed under the
//!   old key still open as long as the old key is enabled and the functions may decrypt with it.

use futures::future::BoxFuture;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a sealed value starts with.
pub const SEALED_PREFIX: &str = "kms:v1:";
/// The encryption context's key; its value is the partner id.
pub const CONTEXT_KEY: &str = "partnerId";
/// The environment variable naming the key (id, ARN or alias).
pub const KEY_ENV: &str = "WEBHOOK_SECRETS_KEY_ID";
/// Opened secrets kept per function instance: one Decrypt per secret and instance, not per
/// delivery attempt. Cleared when full.
const CACHE_MAX: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// KMS was unreachable, throttled or failed on its side: worth a retry.
    #[error("KMS is unavailable: {0}")]
    Transient(String),
    /// KMS refused (access denied, unknown key, a ciphertext that does not open).
    #[error("KMS refused: {0}")]
    Refused(String),
    /// A sealed value that is not base64, or a plaintext that is not UTF-8.
    #[error("the stored secret is corrupt: {0}")]
    Corrupt(String),
    /// A sealed value met a function without WEBHOOK_SECRETS_KEY_ID.
    #[error("a sealed webhook secret needs KMS, and {KEY_ENV} is not set")]
    NoKey,
}

impl SecretError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Transient(_))
    }
}

/// Whether a stored value is sealed (else it is a legacy clear secret).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The stored form of a KMS ciphertext blob.
pub fn sealed_form(blob: &[u8]) -> String {
    use base64::Engine;
    format!(
        "{SEALED_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// Seals and opens webhook secrets, bound to their partner.
pub trait SecretSealer: Send + Sync {
    /// The stored form of `plaintext` for `partner_id`.
    fn seal<'a>(&'a self, partner_id: &'a str, plaintext: &'a str) -> BoxFuture<'a, Result<String, SecretError>>;
    /// The plaintext of a stored value (a legacy clear value is returned as it is).
    fn open<'a>(&'a self, partner_id: &'a str, stored: &'a str) -> BoxFuture<'a, Result<String, SecretError>>;
    /// Whether `seal` encrypts (false: secrets are written in clear).
    fn seals(&self) -> bool;
}

/// No key configured: secrets are written as they are (tests, a table without the key); a sealed
/// value cannot be opened.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClearSecrets;

impl SecretSealer for ClearSecrets {
    fn seal<'a>(&'a self, _: &'a str, plaintext: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move { Ok(plaintext.to_string()) })
    }
    fn open<'a>(&'a self, _: &'a str, stored: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            if is_sealed(stored) {
                Err(SecretError::NoKey)
            } else {
                Ok(stored.to_string())
            }
        })
    }
    fn seals(&self) -> bool {
        false
    }
}

/// KMS Encrypt / Decrypt under one key. The client is built on first use from the default AWS
/// configuration (so AWS_ENDPOINT_URL_KMS reaches the local cloud's KMS).
pub struct KmsSecrets {
    key_id: String,
    client: tokio::sync::OnceCell<aws_sdk_kms::Client>,
    opened: Mutex<HashMap<(String, String), String>>,
}

impl KmsSecrets {
    pub fn new(key_id: impl Into<String>) -> Self {
        Self {
            key_id: key_id.into(),
            client: tokio::sync::OnceCell::new(),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// With a client of the caller's configuration (tests, a CLI with its own endpoint).
    pub fn from_sdk(key_id: impl Into<String>, sdk: &aws_config::SdkConfig) -> Self {
        let s = Self::new(key_id);
        let _ = s.client.set(aws_sdk_kms::Client::new(sdk));
        s
    }

    async fn client(&self) -> &aws_sdk_kms::Client {
        self.client
            .get_or_init(|| async { aws_sdk_kms::Client::new(&crate::aws::sdk_config().await) })
            .await
    }

    fn cached(&self, key: &(String, String)) -> Option<String> {
        self.opened.lock().ok().and_then(|m| m.get(key).cloned())
    }

    fn remember(&self, key: (String, String), plaintext: &str) {
        if let Ok(mut m) = self.opened.lock() {
            if m.len() >= CACHE_MAX {
                m.clear();
            }
            m.insert(key, plaintext.to_string());
        }
    }
}

/// Sorts an SDK error: transient (retry) or a refusal.
fn kms_error<E, R>(e: aws_sdk_kms::error::SdkError<E, R>) -> SecretError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_kms::error::SdkError;
    let detail = aws_sdk_kms::error::DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            SecretError::Transient(detail)
        }
        SdkError::ServiceError(s) => match s.err().code() {
            Some(
                "KMSInternalException"
                | "DependencyTimeoutException"
                | "ThrottlingException"
                | "KeyUnavailableException",
            ) => SecretError::Transient(detail),
            _ => SecretError::Refused(detail),
        },
        _ => SecretError::Refused(detail),
    }
}

impl SecretSealer for KmsSecrets {
    fn seal<'a>(&'a self, partner_id: &'a str, plaintext: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            let out = self
                .client()
                .await
                .encrypt()
                .key_id(&self.key_id)
                .plaintext(aws_sdk_kms::primitives::Blob::new(plaintext.as_bytes()))
                .encryption_context(CONTEXT_KEY, partner_id)
                .send()
                .await
                .map_err(kms_error)?;
            let blob = out
                .ciphertext_blob()
                .ok_or_else(|| SecretError::Refused("Encrypt returned no CiphertextBlob".into()))?;
            Ok(sealed_form(blob.as_ref()))
        })
    }

    fn open<'a>(&'a self, partner_id: &'a str, stored: &'a str) -> BoxFuture<'a, Result<String, SecretError>> {
        Box::pin(async move {
            use base64::Engine;
            let Some(b64) = stored.strip_prefix(SEALED_PREFIX) else {
                return Ok(stored.to_string());
            };
            let key = (partner_id.to_string(), stored.to_string());
            if let Some(hit) = self.cached(&key) {
                return Ok(hit);
            }
            let blob = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| SecretError::Corrupt(e.to_string()))?;
            let out = self
                .client()
                .await
                .decrypt()
                .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
                .encryption_context(CONTEXT_KEY, partner_id)
                .send()
                .await
                .map_err(kms_error)?;
            let plain = out
                .plaintext()
                .ok_or_else(|| SecretError::Refused("Decrypt returned no Plaintext".into()))?;
            let text = String::from_utf8(plain.as_ref().to_vec()).map_err(|e| SecretError::Corrupt(e.to_string()))?;
            self.remember(key, &text);
            Ok(text)
        })
    }

    fn seals(&self) -> bool {
        true
    }
}

/// The sealer the environment asks for: KMS under `WEBHOOK_SECRETS_KEY_ID` when it is set and
/// not empty, else [`ClearSecrets`].
pub fn from_env() -> Arc<dyn SecretSealer> {
    match std::env::var(KEY_ENV) {
        Ok(key) if !key.trim().is_empty() => Arc::new(KmsSecrets::new(key.trim())),
        _ => Arc::new(ClearSecrets),
    }
}

/// Opens every stored value of `partner_id`, in order.
pub async fn open_all(
    sealer: &dyn SecretSealer,
    partner_id: &str,
    stored: &[&str],
) -> Result<Vec<String>, SecretError> {
    let mut out = Vec::with_capacity(stored.len());
    for s in stored {
        out.push(sealer.open(partner_id, s).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clear_secrets_pass_legacy_values_and_refuse_sealed_ones() {
        let c = ClearSecrets;
        assert_eq!(c.seal("p", "whsec_x").await.unwrap(), "whsec_x");
        assert_eq!(c.open("p", "whsec_x").await.unwrap(), "whsec_x");
        assert!(matches!(c.open("p", "kms:v1:AAAA").await, Err(SecretError::NoKey)));
        assert!(!c.seals());
    }

    #[test]
    fn sealed_values_are_recognised_by_their_prefix() {
        let s = sealed_form(&[1, 2, 3]);
        assert_eq!(s, "kms:v1:AQID");
        assert!(is_sealed(&s) && !is_sealed("whsec_AQID"));
    }

    #[tokio::test]
    async fn kms_secrets_open_legacy_values_without_calling_kms() {
        // No client is ever built for a clear value.
        let k = KmsSecrets::new("alias/none");
        assert_eq!(k.open("p", "whsec_legacy").await.unwrap(), "whsec_legacy");
    }
}
