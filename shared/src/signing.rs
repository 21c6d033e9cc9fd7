//! Standard Webhooks signatures (https://www.standardwebhooks.com):
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
//! where the key is the base64 part of a `whsec_` secret.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("the webhook secret is not whsec_<base64>")]
    BadSecret,
    #[error("no signature matches")]
    NoMatch,
    #[error("the timestamp {0} is outside the tolerance")]
    StaleTimestamp(i64),
}

fn key(secret: &str) -> Result<Vec<u8>, SigningError> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(b64).map_err(|_| SigningError::BadSecret)
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Result<Hmac<Sha256>, SigningError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| SigningError::BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// The `webhook-signature` header value for one secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, SigningError> {
    let tag = mac(&key(secret)?, id, timestamp, body)?.finalize().into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// The `webhook-signature` header value during a secret rotation: one
/// `v1,<sig>` entry per valid secret, space-separated, as the specification
/// allows, so receivers holding either secret verify it.
pub fn sign_all(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> Result<String, SigningError> {
    let entries = secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(entries.join(" "))
}

/// Verifies a `webhook-signature` header (space-separated `v1,<sig>` list)
/// in constant time, and that the timestamp is within `tolerance_secs` of `now`.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SigningError> {
    if (now - timestamp).abs() > tolerance_secs {
        return Err(SigningError::StaleTimestamp(timestamp));
    }
    let key = key(secret)?;
    for candidate in header.split_whitespace() {
        let Some(sig) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(sig) = STANDARD.decode(sig) else { continue };
        if mac(&key, id, timestamp, body)?.verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(SigningError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example from the Standard Webhooks specification's reference
    // libraries (secret, id, timestamp, payload and expected signature).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_specification_example() {
        assert_eq!(sign(SECRET, ID, TS, BODY).unwrap(), EXPECTED);
    }

    #[test]
    fn verifies_and_refuses_tampering_and_stale_timestamps() {
        let header = format!("v1,bogus {EXPECTED}");
        assert_eq!(verify(SECRET, ID, TS, BODY, &header, TS + 10, 300), Ok(()));
        assert_eq!(
            verify(SECRET, ID, TS, br#"{"test": 1}"#, &header, TS, 300),
            Err(SigningError::NoMatch)
        );
        assert_eq!(
            verify(SECRET, ID, TS, BODY, &header, TS + 301, 300),
            Err(SigningError::StaleTimestamp(TS))
        );
        assert_eq!(sign("whsec_!!!", ID, TS, BODY), Err(SigningError::BadSecret));
    }

    #[test]
    fn during_a_rotation_either_secret_verifies() {
        let other = "whsec_c2Vjb25kIHNlY3JldCBmb3IgdGhlIHRlc3Q=";
        let header = sign_all(&[other, SECRET], ID, TS, BODY).unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.ends_with(EXPECTED));
        assert_eq!(verify(SECRET, ID, TS, BODY, &header, TS, 300), Ok(()));
        assert_eq!(verify(other, ID, TS, BODY, &header, TS, 300), Ok(()));
        assert_eq!(
            verify("whsec_dGhpcmQ=", ID, TS, BODY, &header, TS, 300),
            Err(SigningError::NoMatch)
        );
    }
}
