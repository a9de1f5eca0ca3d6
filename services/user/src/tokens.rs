//! Opaque tokens: refresh tokens and the tokens in mailed links.
//!
//! A token is 256 random bits, base64url without padding (43 characters, safe in a URL as it
//! is). The store keeps only its SHA-256, so a copy of the store holds no token anyone could use.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onetime_storage::Key;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A token as handed out, once. Never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

impl SecretToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl From<SecretToken> for String {
    fn from(token: SecretToken) -> String {
        token.0
    }
}

/// How a token is stored and looked up: the hex SHA-256 of what was presented. A fast hash is
/// enough: the token has 256 bits of entropy, so there is nothing to guess.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hash of whatever a client presents; garbage simply matches nothing.
    pub fn of(presented: &str) -> Self {
        let digest = Sha256::digest(presented.as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl Key for TokenHash {
    fn encode(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        String::decode(bytes).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_in_url_safe_text() {
        let (a, b) = (SecretToken::generate(), SecretToken::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert!(
            a.as_str()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(a.as_str()).unwrap().len(), 32);
        assert_eq!(format!("{a:?}"), "SecretToken(<redacted>)");
    }

    #[test]
    fn hashes_are_sha256_hex_and_match_only_the_same_token() {
        assert_eq!(
            TokenHash::of("abc").0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let token = SecretToken::generate();
        assert_eq!(token.hash(), TokenHash::of(token.as_str()));
        assert_ne!(token.hash(), TokenHash::of(&token.as_str().to_uppercase()));
        assert!(!token.hash().0.contains(token.as_str()));
    }
}
