//! The local KMS: `TrentService.Encrypt` and `TrentService.Decrypt` (AWS JSON 1.1) on the AWS
//! endpoint, for the template's symmetric encryption keys (AWS::KMS::Key, named by key id, key
//! ARN, alias name or alias ARN).
//!
//! Each key is a random 256-bit AES-GCM key, made the first time the key is seen and kept in
//! `<state>/kms/keys.json` (mode 0600), so ciphertexts survive a restart as they do on AWS. The
//! ciphertext blob carries what Decrypt needs besides the key material, as KMS's does: a version
//! byte, the key id, the 96-bit nonce, then the ciphertext and the 128-bit tag. Decrypt without a
//! KeyId therefore finds the key in the blob ("If the ciphertext was encrypted under a symmetric
//! encryption KMS key, the KeyId parameter is optional. KMS can get this information from
//! metadata that it adds to the symmetric ciphertext blob", API_Decrypt). The header and the
//! encryption context (canonically: its pairs sorted by key) are the additional authenticated data,
//! so a changed key id, a changed byte or a different context is refused with
//! InvalidCiphertextException, as KMS refuses them ("the specified ciphertext, or additional
//! authenticated data incorporated into the ciphertext, such as the encryption context, is
//! corrupted, missing, or otherwise invalid").
//!
//! Shapes (https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html,
//! https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html): blobs are base64 in
//! JSON; the answer's KeyId is always the key ARN; EncryptionAlgorithm is SYMMETRIC_DEFAULT;
//! Plaintext is 1 to 4096 bytes. Errors: NotFoundException for a key or alias that does not exist,
//! IncorrectKeyException when Decrypt's KeyId is not the key of the blob,
//! InvalidCiphertextException, ValidationException. Not emulated: disabled keys, grants, key
//! policies (the caller's role policies are evaluated, see [`Kms::checks`]), asymmetric keys,
//! ReEncrypt, GenerateDataKey.

use crate::awsjson::{required, ApiError};
use crate::template::{KmsKey, ACCOUNT, REGION};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use zb_iam::{ActionError, Check};

/// The first byte of every blob this KMS makes (a format version).
const BLOB_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Encrypt's Plaintext: "Length Constraints: Minimum length of 1. Maximum length of 4096."
const MAX_PLAINTEXT: usize = 4096;
const ALGORITHM: &str = "SYMMETRIC_DEFAULT";

#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    #[error("the local KMS keys at {path}: {detail}")]
    Store { path: String, detail: String },
    #[error("no random bytes for a KMS key")]
    Random,
}

/// One key's material as `keys.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredKey {
    arn: String,
    /// base64 of the 32 key bytes.
    material: String,
}

pub struct Kms {
    keys: Vec<KmsKey>,
    /// key id → AES-256 key bytes.
    material: Mutex<BTreeMap<String, [u8; 32]>>,
}

fn store_err(path: &Path, detail: impl ToString) -> KmsError {
    KmsError::Store {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

impl Kms {
    /// The keys of `keys`, with their material from `<state_dir>/kms/keys.json`; a key seen for
    /// the first time gets new random material, written back before this returns.
    pub fn open(state_dir: &Path, keys: &[KmsKey]) -> Result<Self, KmsError> {
        let dir = state_dir.join("kms");
        let path = dir.join("keys.json");
        let mut stored: BTreeMap<String, StoredKey> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| store_err(&path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(store_err(&path, e)),
        };
        let mut changed = false;
        for k in keys {
            if !stored.contains_key(&k.key_id) {
                let mut bytes = [0u8; 32];
                aws_lc_rs::rand::fill(&mut bytes).map_err(|_| KmsError::Random)?;
                stored.insert(
                    k.key_id.clone(),
                    StoredKey {
                        arn: k.arn.clone(),
                        material: B64.encode(bytes),
                    },
                );
                changed = true;
            }
        }
        if changed {
            write_private(&dir, &path, &stored)?;
        }
        let mut material = BTreeMap::new();
        for (id, s) in &stored {
            let bytes = B64.decode(&s.material).map_err(|e| store_err(&path, e))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| store_err(&path, format!("key {id} is not 32 bytes")))?;
            material.insert(id.clone(), key);
        }
        Ok(Self {
            keys: keys.to_vec(),
            material: Mutex::new(material),
        })
    }

    /// The template key `key_id` names: a key id, key ARN, `alias/<name>` or alias ARN.
    fn resolve(&self, key_id: &str) -> Result<&KmsKey, ApiError> {
        let alias_arn_prefix = format!("arn:aws:kms:{REGION}:{ACCOUNT}:");
        let found = if let Some(alias) = key_id
            .strip_prefix(&alias_arn_prefix)
            .filter(|r| r.starts_with("alias/"))
            .or_else(|| key_id.starts_with("alias/").then_some(key_id))
        {
            let found = self.keys.iter().find(|k| k.aliases.iter().any(|a| a == alias));
            if found.is_none() {
                // KMS's wording for an unknown alias.
                return Err(ApiError::new(
                    "NotFoundException",
                    format!("Alias {alias_arn_prefix}{alias} is not found."),
                ));
            }
            found
        } else {
            self.keys.iter().find(|k| k.key_id == key_id || k.arn == key_id)
        };
        found.ok_or_else(|| {
            let arn = if key_id.starts_with("arn:") {
                key_id.to_string()
            } else {
                format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}")
            };
            ApiError::new("NotFoundException", format!("Key '{arn}' does not exist"))
        })
    }

    fn cipher(&self, key: &KmsKey) -> Result<LessSafeKey, ApiError> {
        let material = self
            .material
            .lock()
            .map_err(|_| internal("the key store lock is poisoned"))?
            .get(&key.key_id)
            .copied()
            .ok_or_else(|| internal(format!("no material for key {}", key.key_id)))?;
        let unbound = UnboundKey::new(&AES_256_GCM, &material).map_err(|_| internal("bad key material"))?;
        Ok(LessSafeKey::new(unbound))
    }

    /// Encrypts `plaintext` under the key `key_id` names, bound to `context`; returns the blob and
    /// the key ARN.
    pub fn encrypt(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<(Vec<u8>, String), ApiError> {
        let key = self.resolve(key_id)?;
        if plaintext.is_empty() || plaintext.len() > MAX_PLAINTEXT {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
                 Member must have length less than or equal to {MAX_PLAINTEXT} and greater than or equal to 1"
            )));
        }
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| internal("no random bytes"))?;
        let mut blob = header(&key.key_id);
        blob.extend_from_slice(&nonce);
        let mut sealed = plaintext.to_vec();
        self.cipher(key)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(&blob[..blob.len() - NONCE_LEN], context)),
                &mut sealed,
            )
            .map_err(|_| internal("sealing failed"))?;
        blob.extend_from_slice(&sealed);
        Ok((blob, key.arn.clone()))
    }

    /// Decrypts a blob of [`Kms::encrypt`]; `key_id`, when given, must name the blob's key.
    /// Returns the plaintext and the key ARN.
    pub fn decrypt(
        &self,
        blob: &[u8],
        key_id: Option<&str>,
        context: &BTreeMap<String, String>,
    ) -> Result<(Vec<u8>, String), ApiError> {
        let (blob_key, header_len) = parse_header(blob).ok_or_else(invalid_ciphertext)?;
        let key = match self.resolve(blob_key) {
            Ok(k) => k,
            // A blob naming no key of ours: what KMS says of a blob it did not make.
            Err(_) => return Err(invalid_ciphertext()),
        };
        if let Some(asked) = key_id {
            if self.resolve(asked)?.key_id != key.key_id {
                return Err(ApiError::new(
                    "IncorrectKeyException",
                    "The key ID in the request does not identify a CMK that can perform this operation.",
                ));
            }
        }
        if blob.len() < header_len + NONCE_LEN + TAG_LEN {
            return Err(invalid_ciphertext());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&blob[header_len..header_len + NONCE_LEN]);
        let mut sealed = blob[header_len + NONCE_LEN..].to_vec();
        let plain = self
            .cipher(key)?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(&blob[..header_len], context)),
                &mut sealed,
            )
            .map_err(|_| invalid_ciphertext())?;
        Ok((plain.to_vec(), key.arn.clone()))
    }

    /// `TrentService.<operation>`.
    pub fn call(&self, operation: &str, body: &Value) -> Result<Value, ApiError> {
        check_algorithm(body)?;
        let context = encryption_context(body)?;
        match operation {
            "Encrypt" => {
                let key_id = required(body, "KeyId")?;
                let plaintext = blob_member(body, "Plaintext")?;
                let (blob, arn) = self.encrypt(key_id, &plaintext, &context)?;
                Ok(json!({"CiphertextBlob": B64.encode(blob), "KeyId": arn, "EncryptionAlgorithm": ALGORITHM}))
            }
            "Decrypt" => {
                let blob = blob_member(body, "CiphertextBlob")?;
                let key_id = body.get("KeyId").and_then(Value::as_str);
                let (plain, arn) = self.decrypt(&blob, key_id, &context)?;
                Ok(json!({"Plaintext": B64.encode(plain), "KeyId": arn, "EncryptionAlgorithm": ALGORITHM}))
            }
            other => Err(ApiError::new(
                "UnknownOperationException",
                format!("TrentService.{other} is not served by the local KMS (Encrypt and Decrypt are)"),
            )),
        }
    }

    /// The IAM checks of a call: the action on the key ARN, with the encryption context as
    /// condition keys. A key that cannot be found yields no check: the call then fails with the
    /// service's own error (NotFoundException, InvalidCiphertextException).
    pub fn checks(&self, operation: &str, body: &Value) -> Result<Vec<Check>, ActionError> {
        let key = match operation {
            "Decrypt" => match body.get("KeyId").and_then(Value::as_str) {
                Some(k) => self.resolve(k).ok(),
                None => body
                    .get("CiphertextBlob")
                    .and_then(Value::as_str)
                    .and_then(|b| B64.decode(b).ok())
                    .and_then(|blob| parse_header(&blob).map(|(id, _)| id.to_string()))
                    .and_then(|id| self.resolve(&id).ok()),
            },
            _ => body
                .get("KeyId")
                .and_then(Value::as_str)
                .and_then(|k| self.resolve(k).ok()),
        };
        let Some(key) = key else {
            return Ok(Vec::new());
        };
        let context = encryption_context(body).unwrap_or_default();
        zb_iam::actions::kms(operation, &key.arn, &context)
    }
}

fn internal(detail: impl Into<String>) -> ApiError {
    let mut e = ApiError::new("KMSInternalException", detail);
    e.status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
    e
}

fn invalid_ciphertext() -> ApiError {
    // KMS's answer carries no message detail for this error.
    ApiError::new("InvalidCiphertextException", "")
}

/// Version byte, key id length, key id.
fn header(key_id: &str) -> Vec<u8> {
    let mut h = vec![BLOB_VERSION, key_id.len() as u8];
    h.extend_from_slice(key_id.as_bytes());
    h
}

/// The key id a blob names and the header's length.
fn parse_header(blob: &[u8]) -> Option<(&str, usize)> {
    if blob.first() != Some(&BLOB_VERSION) {
        return None;
    }
    let len = usize::from(*blob.get(1)?);
    let id = std::str::from_utf8(blob.get(2..2 + len)?).ok()?;
    Some((id, 2 + len))
}

/// The additional authenticated data: the header, then the context's pairs in key order.
fn aad(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = header.to_vec();
    // JSON of a sorted map: unambiguous, and equal for equal contexts whatever their order.
    out.extend_from_slice(serde_json::to_string(context).unwrap_or_default().as_bytes());
    out
}

/// EncryptionContext: a map of strings to strings, or absent.
fn encryption_context(body: &Value) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(v) = body.get("EncryptionContext") else {
        return Ok(BTreeMap::new());
    };
    let bad = || ApiError::validation("EncryptionContext must be a map of strings to strings");
    let map: &Map<String, Value> = v.as_object().ok_or_else(bad)?;
    map.iter()
        .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())).ok_or_else(bad))
        .collect()
}

fn check_algorithm(body: &Value) -> Result<(), ApiError> {
    match body.get("EncryptionAlgorithm").and_then(Value::as_str) {
        None | Some(ALGORITHM) => Ok(()),
        Some(other) => Err(ApiError::new(
            "InvalidKeyUsageException",
            format!("{other} is not a valid encryption algorithm for a SYMMETRIC_DEFAULT key"),
        )),
    }
}

/// A required blob member (base64 in the JSON protocol).
fn blob_member(body: &Value, name: &str) -> Result<Vec<u8>, ApiError> {
    let text = required(body, name)?;
    B64.decode(text)
        .map_err(|_| ApiError::new("SerializationException", format!("{name} is not base64")))
}

/// Writes `keys.json` readable by its owner only (the file holds key material).
fn write_private(dir: &Path, path: &PathBuf, stored: &BTreeMap<String, StoredKey>) -> Result<(), KmsError> {
    std::fs::create_dir_all(dir).map_err(|e| store_err(dir, e))?;
    let text = serde_json::to_vec_pretty(stored).map_err(|e| store_err(path, e))?;
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
        let mut f = options.open(&tmp).map_err(|e| store_err(&tmp, e))?;
        f.write_all(&text).map_err(|e| store_err(&tmp, e))?;
        f.sync_all().map_err(|e| store_err(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| store_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KmsKey {
        let key_id = crate::template::kms_key_id("zb", "WebhookSecretsKey");
        KmsKey {
            arn: format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"),
            key_id,
            logical_id: "WebhookSecretsKey".into(),
            aliases: vec!["alias/zb-webhook-secrets".into()],
        }
    }

    fn kms(dir: &Path) -> Kms {
        Kms::open(dir, &[key()]).expect("opens")
    }

    fn ctx(partner: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("partnerId".to_string(), partner.to_string())])
    }

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("zb-kms-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).expect("tmp dir");
        d
    }

    #[test]
    fn round_trip_through_the_api_with_the_key_from_the_blob() {
        let dir = tmp();
        let k = kms(&dir);
        let out = k
            .call(
                "Encrypt",
                &json!({"KeyId": "alias/zb-webhook-secrets", "Plaintext": B64.encode("whsec_abc"),
                        "EncryptionContext": {"partnerId": "p1"}}),
            )
            .expect("encrypts");
        assert_eq!(out["KeyId"], key().arn);
        assert_eq!(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
        let blob = out["CiphertextBlob"].as_str().expect("blob");
        assert!(!B64.decode(blob).expect("b64").windows(9).any(|w| w == b"whsec_abc"));
        // No KeyId: found in the blob, as KMS does for symmetric keys.
        let back = k
            .call(
                "Decrypt",
                &json!({"CiphertextBlob": blob, "EncryptionContext": {"partnerId": "p1"}}),
            )
            .expect("decrypts");
        assert_eq!(
            B64.decode(back["Plaintext"].as_str().expect("pt")).expect("b64"),
            b"whsec_abc"
        );
        assert_eq!(back["KeyId"], key().arn);
        // The material persists: a reopened KMS decrypts it too, and the file is private.
        let again = kms(&dir);
        let (plain, _) = again
            .decrypt(&B64.decode(blob).expect("b64"), Some(&key().arn), &ctx("p1"))
            .expect("decrypts after a restart");
        assert_eq!(plain, b"whsec_abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("kms/keys.json"))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_different_context_is_refused() {
        let k = kms(&tmp());
        let (blob, _) = k.encrypt(&key().key_id, b"s", &ctx("p1")).expect("encrypts");
        for other in [ctx("p2"), BTreeMap::new()] {
            let e = k.decrypt(&blob, None, &other).expect_err("refused");
            assert_eq!(e.kind, "InvalidCiphertextException");
        }
    }

    #[test]
    fn a_tampered_blob_is_refused() {
        let k = kms(&tmp());
        let (blob, _) = k.encrypt(&key().key_id, b"secret", &ctx("p1")).expect("encrypts");
        for i in [0, 5, blob.len() - 20, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            assert!(k.decrypt(&bad, None, &ctx("p1")).is_err(), "byte {i}");
        }
        let e = k.decrypt(&blob[..blob.len() - 1], None, &ctx("p1")).expect_err("short");
        assert_eq!(e.kind, "InvalidCiphertextException");
        assert_eq!(
            k.decrypt(b"", None, &ctx("p1")).expect_err("empty").kind,
            "InvalidCiphertextException"
        );
    }

    #[test]
    fn unknown_keys_and_aliases_are_not_found() {
        let k = kms(&tmp());
        let e = k
            .encrypt("1234abcd-12ab-34cd-56ef-1234567890ab", b"x", &BTreeMap::new())
            .expect_err("unknown");
        assert_eq!(e.kind, "NotFoundException");
        assert_eq!(
            e.message,
            format!("Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist")
        );
        let e = k
            .encrypt("alias/nope", b"x", &BTreeMap::new())
            .expect_err("unknown alias");
        assert_eq!(e.kind, "NotFoundException");
        // Decrypt naming another key than the blob's.
        let (blob, _) = k.encrypt(&key().arn, b"x", &BTreeMap::new()).expect("encrypts");
        let e = k
            .decrypt(&blob, Some("alias/nope"), &BTreeMap::new())
            .expect_err("unknown");
        assert_eq!(e.kind, "NotFoundException");
    }

    #[test]
    fn plaintext_bounds_and_algorithm_are_checked() {
        let k = kms(&tmp());
        assert_eq!(
            k.encrypt(&key().key_id, b"", &BTreeMap::new()).expect_err("empty").kind,
            "ValidationException"
        );
        assert!(k.encrypt(&key().key_id, &[0; 4097], &BTreeMap::new()).is_err());
        let e = k
            .call(
                "Encrypt",
                &json!({"KeyId": key().key_id, "Plaintext": "eA==", "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}),
            )
            .expect_err("asymmetric");
        assert_eq!(e.kind, "InvalidKeyUsageException");
    }

    #[test]
    fn checks_name_the_key_arn_and_the_context() {
        let k = kms(&tmp());
        let (blob, _) = k.encrypt(&key().key_id, b"x", &ctx("p1")).expect("encrypts");
        let body = json!({"CiphertextBlob": B64.encode(&blob), "EncryptionContext": {"partnerId": "p1"}});
        let checks = k.checks("Decrypt", &body).expect("maps");
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].action, "kms:Decrypt");
        assert_eq!(checks[0].resource, key().arn);
        assert_eq!(
            checks[0].context.get("kms:EncryptionContext:partnerId"),
            Some(&json!("p1"))
        );
        let checks = k
            .checks(
                "Encrypt",
                &json!({"KeyId": "alias/zb-webhook-secrets", "Plaintext": "eA=="}),
            )
            .expect("maps");
        assert_eq!(checks[0].action, "kms:Encrypt");
        assert_eq!(checks[0].resource, key().arn);
        assert!(k
            .checks("Encrypt", &json!({"KeyId": "alias/nope"}))
            .expect("maps")
            .is_empty());
    }
}
