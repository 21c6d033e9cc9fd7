//! Idempotency-Key semantics for POST /v1/feeds (the IETF
//! draft-ietf-httpapi-idempotency-key-header behaviour): the same key and
//! body replay the first response, the same key with another body is 422,
//! and a request while the first is still running is 409.

use sha2::{Digest, Sha256};

/// How long a stored response is replayed.
pub const RETENTION_SECS: i64 = 24 * 60 * 60;
/// How long an in-progress claim blocks others; longer than ingest's timeout,
/// so a crashed request frees its key by itself.
pub const LOCK_SECS: i64 = 30;
/// Longest Idempotency-Key we accept.
pub const MAX_KEY_LEN: usize = 255;

/// Fingerprint of a request body.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What claiming a key gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use: go ahead, then store the response.
    Acquired,
    /// Done before with the same body: answer the same.
    Replay(StoredResponse),
    /// Another request with this key is still running.
    InFlight,
    /// The key was used with a different body.
    Mismatch,
}

/// Whether a key is acceptable: printable ASCII, 1..=255 characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}
