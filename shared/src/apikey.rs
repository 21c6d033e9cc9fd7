//! API keys are stored only as SHA-256 hashes; the plain key is shown once.

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of the key, as stored in the partners table.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        // sha256("abc"), from FIPS 180-2's test vectors.
        assert_eq!(
            hash_api_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
