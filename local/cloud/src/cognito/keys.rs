//! The pool's RSA-2048 signing keys: `<state_dir>/cognito/keys.json`,
//! newest first, the newest signs, the newest two are published.
//!
//! Cognito publishes its signing keys at `/.well-known/jwks.json` with kty
//! RSA, alg RS256, use sig, kid, n and e ("Verifying JSON web tokens",
//! docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html).
//! Publishing two keys is what lets a rotation happen without refusing the
//! tokens already handed out.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::CognitoError;

/// How many keys the JWKS publishes: the signing key and the one before.
const PUBLISHED: usize = 2;

/// keys.json.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KeyFile {
    /// Newest first.
    pub keys: Vec<KeyRecord>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub kid: String,
    /// PKCS#8, `-----BEGIN PRIVATE KEY-----`.
    pub private_key_pem: String,
    /// RFC 3339.
    pub created_at: String,
}

struct SigningKey {
    record: KeyRecord,
    encoding: EncodingKey,
    /// base64url modulus and exponent, as the JWKS carries them.
    n: String,
    e: String,
}

pub(crate) struct KeyStore {
    path: PathBuf,
    /// Newest first; never empty.
    keys: RwLock<Vec<SigningKey>>,
}

impl KeyStore {
    /// Reads keys.json, or creates it with one fresh key.
    pub(crate) fn open(path: &Path) -> Result<KeyStore, CognitoError> {
        let keys = match std::fs::read_to_string(path) {
            Ok(text) => {
                let file: KeyFile = serde_json::from_str(&text).map_err(|source| CognitoError::Json {
                    path: path.to_path_buf(),
                    source,
                })?;
                file.keys
                    .into_iter()
                    .map(|r| SigningKey::from_record(r, path))
                    .collect::<Result<Vec<_>, _>>()?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(CognitoError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let store = KeyStore {
            path: path.to_path_buf(),
            keys: RwLock::new(keys),
        };
        let empty = store.read().is_empty();
        if empty {
            store.rotate()?;
        }
        Ok(store)
    }

    /// A new newest key, written to keys.json before it signs anything.
    pub(crate) fn rotate(&self) -> Result<String, CognitoError> {
        // Generated outside the lock: it is the slow part (tens of ms).
        let new = SigningKey::generate()?;
        let kid = new.record.kid.clone();
        let mut keys = self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let file = KeyFile {
            keys: std::iter::once(new.record.clone())
                .chain(keys.iter().map(|k| k.record.clone()))
                .collect(),
        };
        // The write lock is held across the file write so that two
        // rotations cannot interleave their files.
        write_key_file(&self.path, &file)?;
        keys.insert(0, new);
        Ok(kid)
    }

    pub(crate) fn published_kids(&self) -> Vec<String> {
        self.read()
            .iter()
            .take(PUBLISHED)
            .map(|k| k.record.kid.clone())
            .collect()
    }

    /// The JWKS document.
    pub(crate) fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .read()
            .iter()
            .take(PUBLISHED)
            .map(|k| {
                json!({
                    "alg": "RS256",
                    "e": k.e,
                    "kid": k.record.kid,
                    "kty": "RSA",
                    "n": k.n,
                    "use": "sig",
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Signs with the newest key; the header is Cognito's `{kid, alg}` (no typ).
    pub(crate) fn sign(&self, claims: &Value) -> Result<String, CognitoError> {
        let (kid, key) = {
            let keys = self.read();
            let newest = keys.first().ok_or(CognitoError::KeyGeneration)?;
            (newest.record.kid.clone(), newest.encoding.clone())
        };
        let mut header = Header::new(Algorithm::RS256);
        header.typ = None;
        header.kid = Some(kid);
        Ok(jsonwebtoken::encode(&header, claims, &key)?)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<SigningKey>> {
        // A panic elsewhere while holding the lock leaves the list intact
        // (every change is a single insert), so a poisoned lock is still usable.
        self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SigningKey {
    fn generate() -> Result<SigningKey, CognitoError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| CognitoError::KeyGeneration)?;
        let der = pair.as_der().map_err(|_| CognitoError::KeyGeneration)?;
        // kid: base64 of the SHA-256 of the public key, the shape of Cognito's
        // kids (44 characters ending in '=') and stable for a key.
        let kid = STANDARD.encode(Sha256::digest(pair.public_key().as_ref()));
        let record = KeyRecord {
            kid,
            private_key_pem: pem_private_key(der.as_ref()),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let n = URL_SAFE_NO_PAD.encode(pair.public_key().modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(pair.public_key().exponent().big_endian_without_leading_zero());
        let encoding =
            EncodingKey::from_rsa_pem(record.private_key_pem.as_bytes()).map_err(|_| CognitoError::KeyGeneration)?;
        Ok(SigningKey { record, encoding, n, e })
    }

    fn from_record(record: KeyRecord, path: &Path) -> Result<SigningKey, CognitoError> {
        let bad = |detail: String| CognitoError::KeyFile {
            path: path.to_path_buf(),
            detail,
        };
        let der = pem_body(&record.private_key_pem)
            .ok_or_else(|| bad(format!("key {}: privateKeyPem is not a PEM PRIVATE KEY", record.kid)))?;
        let pair = KeyPair::from_pkcs8(&der)
            .map_err(|e| bad(format!("key {}: not a PKCS#8 RSA private key ({e})", record.kid)))?;
        let encoding = EncodingKey::from_rsa_pem(record.private_key_pem.as_bytes())
            .map_err(|e| bad(format!("key {}: {e}", record.kid)))?;
        let n = URL_SAFE_NO_PAD.encode(pair.public_key().modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(pair.public_key().exponent().big_endian_without_leading_zero());
        Ok(SigningKey { record, encoding, n, e })
    }
}

fn pem_private_key(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The DER inside `-----BEGIN PRIVATE KEY-----` armour.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN PRIVATE KEY-----")? + "-----BEGIN PRIVATE KEY-----".len();
    let end = pem[start..].find("-----END PRIVATE KEY-----")? + start;
    let b64: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

/// Writes keys.json through a temporary file and a rename, so a crash never
/// leaves half a key file; the file is readable by its owner only.
fn write_key_file(path: &Path, file: &KeyFile) -> Result<(), CognitoError> {
    let io = |source| CognitoError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(file).map_err(|source| CognitoError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
