//! Per-instance credentials, so the local cloud can tell which function (and which invocation) signed a request.
//!
//! On AWS, Lambda sets `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` in every execution
//! environment from the function's execution role; they are reserved names that the function's own configuration
//! cannot set ("Using Lambda environment variables", section "Defined runtime environment variables":
//! <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>).
//! The host does the same with keys it mints itself and remembers which instance got which access key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// Temporary (STS) access keys start with "ASIA"; long-term ones with "AKIA". Instance keys are temporary on AWS.
const ACCESS_KEY_PREFIX: &str = "ASIA";

/// The alphabet of the 16 characters after the prefix in AWS access keys (RFC 4648 base32).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The credentials one instance runs with.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access key id is what logs and test failures need; the secret parts stay out of them, as in the SDKs.
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The 122 random bits of a v4 UUID (its version and variant bits are fixed, so they would repeat in every key).
fn random_bits() -> u128 {
    let n = uuid::Uuid::new_v4().as_u128();
    let high = n >> 80; // 48 random bits
    let mid = (n >> 64) & 0xFFF; // 12 random bits after the version nibble
    let low = n & ((1u128 << 62) - 1); // 62 random bits after the variant bits
    (high << 74) | (mid << 62) | low
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + 16);
    while bytes.len() < len {
        bytes.extend_from_slice(&random_bits().to_be_bytes()[..15]);
    }
    bytes.truncate(len);
    bytes
}

impl Credentials {
    /// Fresh keys shaped like the ones STS hands Lambda: `ASIA` + 16 base32 characters, a 40-character secret and
    /// an opaque session token. Shapes matter because SDKs and tools sometimes check them.
    pub(crate) fn mint() -> Self {
        let bits = random_bits();
        let suffix: String = (0..16)
            .map(|i| char::from(BASE32[usize::try_from((bits >> (5 * i)) & 31).unwrap_or(0)]))
            .collect();
        Credentials {
            access_key_id: format!("{ACCESS_KEY_PREFIX}{suffix}"),
            // 30 bytes are exactly 40 base64 characters, the length of an AWS secret access key.
            secret_access_key: STANDARD.encode(random_bytes(30)),
            session_token: STANDARD.encode(random_bytes(96)),
        }
    }
}

/// Who holds an access key the host minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The function's name as the host knows it ([`crate::FunctionSpec::name`]).
    pub function: String,
    /// The instance (execution environment) the key was given to, as in [`crate::Invocation::instance`].
    pub instance: u32,
    /// The invocation that instance is running at the moment of the lookup; `None` during init, between
    /// invocations and after the instance is gone.
    pub request_id: Option<String>,
}

/// What the host keeps per minted key.
struct Holder {
    function: Arc<str>,
    instance: u32,
    /// Shared with the instance, which sets it for the length of each invocation.
    current: Arc<Mutex<Option<String>>>,
}

/// Access key → instance, for every instance spawned with minted credentials. Entries are kept after the instance
/// exits, so a call that arrives late (a request still in flight when the instance was killed) is still
/// attributed; that is one small entry per instance ever spawned.
#[derive(Default)]
pub(crate) struct Identities {
    holders: RwLock<HashMap<String, Holder>>,
}

impl Identities {
    /// Mints keys for a new instance and records them before the process exists, so even its first call during
    /// init is recognised.
    pub(crate) fn issue(&self, function: &str, instance: u32, current: Arc<Mutex<Option<String>>>) -> Credentials {
        let mut holders = self.holders.write().unwrap_or_else(PoisonError::into_inner);
        loop {
            let credentials = Credentials::mint();
            // 80 random bits make a repeat practically impossible; a repeat would misattribute calls, so retry.
            if holders.contains_key(&credentials.access_key_id) {
                continue;
            }
            holders.insert(
                credentials.access_key_id.clone(),
                Holder {
                    function: function.into(),
                    instance,
                    current,
                },
            );
            return credentials;
        }
    }

    /// Forgets keys whose process never started (no call can carry them).
    pub(crate) fn revoke(&self, access_key_id: &str) {
        self.holders
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(access_key_id);
    }

    pub(crate) fn identify(&self, access_key_id: &str) -> Option<Caller> {
        let holders = self.holders.read().unwrap_or_else(PoisonError::into_inner);
        let holder = holders.get(access_key_id)?;
        let request_id = holder.current.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Some(Caller {
            function: holder.function.to_string(),
            instance: holder.instance,
            request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_look_like_sts_keys() {
        let c = Credentials::mint();
        assert_eq!(c.access_key_id.len(), 20, "{c:?}");
        assert!(c.access_key_id.starts_with("ASIA"), "{c:?}");
        assert!(c.access_key_id[4..].bytes().all(|b| BASE32.contains(&b)), "{c:?}");
        assert_eq!(c.secret_access_key.len(), 40);
        assert!(!c.session_token.is_empty());
        // The secret parts never show in debug output.
        let shown = format!("{c:?}");
        assert!(!shown.contains(&c.secret_access_key) && !shown.contains(&c.session_token));
    }

    #[test]
    fn keys_do_not_repeat() {
        let keys: std::collections::HashSet<String> = (0..10_000).map(|_| Credentials::mint().access_key_id).collect();
        assert_eq!(keys.len(), 10_000);
    }

    #[test]
    fn an_issued_key_names_its_instance_and_current_request_until_revoked() {
        let ids = Identities::default();
        let current = Arc::new(Mutex::new(None));
        let key = ids.issue("ingest", 3, current.clone()).access_key_id;
        let caller = |request_id: Option<&str>| Caller {
            function: "ingest".into(),
            instance: 3,
            request_id: request_id.map(str::to_owned),
        };
        assert_eq!(ids.identify(&key), Some(caller(None)));
        *current.lock().unwrap() = Some("req-1".into());
        assert_eq!(ids.identify(&key), Some(caller(Some("req-1"))));
        assert_eq!(ids.identify("local"), None);
        ids.revoke(&key);
        assert_eq!(ids.identify(&key), None);
    }
}
