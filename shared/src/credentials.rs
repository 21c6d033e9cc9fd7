//! New API keys and webhook secrets: 32 bytes from the operating system's
//! CSPRNG. The key is shown once and stored only as its SHA-256 hash.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(String);

fn random_bytes() -> Result<[u8; 32], RandomError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| RandomError(e.to_string()))?;
    Ok(buf)
}

/// `zb_` + base64url of 32 random bytes (URL- and header-safe).
pub fn new_api_key() -> Result<String, RandomError> {
    Ok(format!("zb_{}", URL_SAFE_NO_PAD.encode(random_bytes()?)))
}

/// `whsec_` + base64 of 32 random bytes: the Standard Webhooks secret form.
pub fn new_webhook_secret() -> Result<String, RandomError> {
    Ok(format!("whsec_{}", STANDARD.encode(random_bytes()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_decode_to_32_bytes_and_differ() {
        let a = new_webhook_secret().unwrap();
        let b = new_webhook_secret().unwrap();
        assert_ne!(a, b);
        let raw = STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        let key = new_api_key().unwrap();
        assert!(key.starts_with("zb_") && key.len() == 3 + 43, "{key}");
    }
}
