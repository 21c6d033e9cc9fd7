//! The local Amazon Cognito user pool: the OIDC issuer of the admin API.
//!
//! What it serves (on the cognito port, `Config.cognito_port`):
//! - `GET /<poolId>/.well-known/openid-configuration` and
//!   `GET /<poolId>/.well-known/jwks.json`, the documents the API Gateway's
//!   JWT authorizer reads (AWS: "Identity provider and relying party
//!   endpoints", docs.aws.amazon.com/cognito/latest/developerguide/federation-endpoints.html).
//!   Tokens name the *AWS* issuer (`https://cognito-idp.<region>.amazonaws.com/<poolId>`,
//!   what the template's JwtConfiguration resolves to), so the same template
//!   value checks them locally and on AWS; only `jwks_uri` is local.
//! - `POST /` in the awsJson1_1 protocol, operation `InitiateAuth`
//!   (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH), with Cognito's token claims and
//!   error shapes (cognito/api.rs, cognito/tokens.rs).
//! - The hosted UI, as Cognito serves it on the pool's domain
//!   (`https://<domain>.auth.<region>.amazoncognito.com`): `GET /oauth2/authorize`,
//!   `GET|POST /login`, `POST /oauth2/token`, `GET /oauth2/userInfo` and
//!   `GET /logout`, with the authorization code grant and PKCE (S256); the
//!   pool is found from the client_id (cognito/hosted.rs).
//! - `POST /_local/rotate-keys`, local only: a new RSA key signs from now on;
//!   the JWKS publishes the newest two (cognito/keys.rs).
//!
//! State: the signing keys persist in `<state_dir>/cognito/keys.json`, so
//! tokens survive a restart of `zb up`. Refresh tokens live in memory only:
//! after a restart `zb login` asks for the password again, which is all a
//! local session is worth.
//!
//! Users come from `local/seed/operators.json`: LOCAL-ONLY credentials
//! (documented in the README), never a real pool's.

mod api;
mod hosted;
mod keys;
mod tokens;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

pub use keys::{KeyFile, KeyRecord};

/// The loopback redirect `zb login` listens on (RFC 8252), the template's
/// ConsoleCallbackUrl default: the callback URL assumed for an existing
/// pool's client, whose settings the template does not hold.
pub const DEFAULT_LOOPBACK_CALLBACK: &str = "http://localhost:8976/callback";

/// One user pool as the template declares it (A2's template.rs builds it from
/// AWS::Cognito::UserPool / UserPoolGroup / UserPoolClient, or from the
/// Existing* parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub logical_id: String,
    pub pool_id: String,
    /// `https://cognito-idp.<region>.amazonaws.com/<poolId>`: the `iss` of every token.
    pub issuer: String,
    /// The pool's groups. Empty means "not known" (an existing pool): seed
    /// users then keep every group they name.
    pub groups: Vec<String>,
    pub clients: Vec<ClientConfig>,
}

/// One app client (AWS::Cognito::UserPoolClient), as the template's model
/// holds it (template.rs) and the local Cognito serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub client_id: String,
    /// ExplicitAuthFlows as written (`ALLOW_USER_PASSWORD_AUTH`, ...).
    pub explicit_auth_flows: Vec<String>,
    pub access_token_validity_secs: u64,
    pub id_token_validity_secs: u64,
    pub refresh_token_validity_secs: u64,
    /// CallbackURLs: the redirect_uri values /oauth2/authorize accepts
    /// (exact string match, as Cognito compares them).
    pub callback_urls: Vec<String>,
    /// LogoutURLs: the logout_uri values /logout accepts.
    pub logout_urls: Vec<String>,
    /// AllowedOAuthFlows (`code`, `implicit`, `client_credentials`); empty
    /// when AllowedOAuthFlowsUserPoolClient is not true.
    pub allowed_oauth_flows: Vec<String>,
    /// AllowedOAuthScopes: what /oauth2/authorize may grant.
    pub allowed_oauth_scopes: Vec<String>,
}

/// A seeded operator (local/seed/operators.json). Local-only credentials.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SeedUser {
    pub username: String,
    pub password: String,
    pub groups: Vec<String>,
    pub email: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CognitoError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: {detail}", path.display())]
    KeyFile { path: PathBuf, detail: String },
    #[error("{}: {detail}", path.display())]
    Seed { path: PathBuf, detail: String },
    #[error("local Cognito configuration: {0}")]
    Config(String),
    #[error("RSA-2048 key generation failed")]
    KeyGeneration,
    #[error("signing a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// The seed file is either a plain array of users or
/// `{"_comment": "...", "users": [...]}` (the comment says they are local-only).
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum SeedFile {
    Users(Vec<SeedUser>),
    Wrapped { users: Vec<SeedUser> },
}

/// Reads local/seed/operators.json.
pub fn load_seed_users(path: &Path) -> Result<Vec<SeedUser>, CognitoError> {
    let text = std::fs::read_to_string(path).map_err(|source| CognitoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let users = match serde_json::from_str(&text).map_err(|source| CognitoError::Json {
        path: path.to_path_buf(),
        source,
    })? {
        SeedFile::Users(u) | SeedFile::Wrapped { users: u } => u,
    };
    let mut seen = std::collections::HashSet::new();
    for u in &users {
        if u.username.is_empty() || u.password.is_empty() {
            return Err(CognitoError::Seed {
                path: path.to_path_buf(),
                detail: "every user needs a username and a password".into(),
            });
        }
        if !seen.insert(u.username.as_str()) {
            return Err(CognitoError::Seed {
                path: path.to_path_buf(),
                detail: format!("user {:?} appears twice", u.username),
            });
        }
    }
    Ok(users)
}

/// Pool ids look like Cognito's (`us-east-1_AbC123xyZ`: region, `_`, 9
/// alphanumerics) and are stable for a stack and logical id, so a restart,
/// `endpoints.json` and every token agree without storing anything.
pub fn pool_id_for(region: &str, stack: &str, logical_id: &str) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(format!("zb-local-cognito-pool\0{region}\0{stack}\0{logical_id}"));
    let suffix: String = digest
        .iter()
        .take(9)
        .map(|b| ALNUM[usize::from(*b) % ALNUM.len()] as char)
        .collect();
    format!("{region}_{suffix}")
}

/// Client ids look like Cognito's: 26 lowercase alphanumerics, stable for a
/// stack and logical id.
pub fn client_id_for(stack: &str, logical_id: &str) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let digest = Sha256::digest(format!("zb-local-cognito-client\0{stack}\0{logical_id}"));
    digest
        .iter()
        .take(26)
        .map(|b| ALNUM[usize::from(*b) % ALNUM.len()] as char)
        .collect()
}

/// Where the signing keys live (`{"keys": [{kid, privateKeyPem, createdAt}]}`,
/// newest first). Tests read it to sign tokens with chosen claims.
pub fn keys_path(state_dir: &Path) -> PathBuf {
    state_dir.join("cognito").join("keys.json")
}

/// A user as one pool sees them.
#[derive(Debug, Clone)]
struct User {
    username: String,
    password: String,
    /// `sub`: a UUID derived from pool and username, so it stays the same
    /// across restarts (audit entries name it).
    sub: String,
    groups: Vec<String>,
    email: String,
}

struct Pool {
    config: PoolConfig,
    users: HashMap<String, User>,
}

/// A sign-in a refresh token continues (Cognito keeps `auth_time`,
/// `origin_jti` and `event_id` of the original authentication on refresh).
#[derive(Debug, Clone)]
struct Session {
    pool: usize,
    client_id: String,
    username: String,
    auth_time: i64,
    origin_jti: String,
    event_id: String,
    expires_at: i64,
    /// The access token's `scope` claim: aws.cognito.signin.user.admin for
    /// InitiateAuth, the granted scopes (space-separated) for the hosted UI.
    scope: String,
    /// Whether tokens of this sign-in include an ID token (the hosted UI
    /// issues one only when `openid` was granted).
    id_token: bool,
}

pub struct Cognito {
    keys: keys::KeyStore,
    pools: Vec<Pool>,
    /// Refresh token → session; in memory only (see the module comment).
    sessions: Mutex<HashMap<String, Session>>,
    /// Authorization codes of the hosted UI, single-use, 5 minutes.
    codes: Mutex<HashMap<String, hosted::AuthCode>>,
}

impl std::fmt::Debug for Cognito {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cognito")
            .field(
                "pools",
                &self.pools.iter().map(|p| &p.config.pool_id).collect::<Vec<_>>(),
            )
            .field("published_kids", &self.keys.published_kids())
            .finish_non_exhaustive()
    }
}

impl Cognito {
    /// Loads (or creates, on first start) `<state_dir>/cognito/keys.json` and
    /// puts every seed user into every pool.
    pub fn open(state_dir: &Path, pools: Vec<PoolConfig>, users: Vec<SeedUser>) -> Result<Arc<Cognito>, CognitoError> {
        // jsonwebtoken picks its crypto provider from crate features and panics
        // if both are on; naming aws-lc explicitly keeps this process working
        // even if some other crate turns `rust_crypto` on. An error only means
        // a provider is installed already.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);

        let mut pool_ids = std::collections::HashSet::new();
        let mut client_ids = std::collections::HashSet::new();
        for p in &pools {
            if !pool_ids.insert(p.pool_id.clone()) {
                return Err(CognitoError::Config(format!(
                    "user pool {} is declared twice",
                    p.pool_id
                )));
            }
            for c in &p.clients {
                if !client_ids.insert(c.client_id.clone()) {
                    return Err(CognitoError::Config(format!(
                        "app client {} is declared twice",
                        c.client_id
                    )));
                }
            }
        }

        let keys = keys::KeyStore::open(&keys_path(state_dir))?;
        let pools = pools
            .into_iter()
            .map(|config| {
                let users = users
                    .iter()
                    .map(|u| {
                        let groups = u
                            .groups
                            .iter()
                            .filter(|g| {
                                // A group the pool lacks cannot hold the user
                                // on AWS either (AdminAddUserToGroup fails).
                                let known = config.groups.is_empty() || config.groups.contains(g);
                                if !known {
                                    tracing::warn!(
                                        pool = %config.pool_id, user = %u.username, group = %g,
                                        "seed user names a group the user pool does not declare; left out"
                                    );
                                }
                                known
                            })
                            .cloned()
                            .collect();
                        let user = User {
                            username: u.username.clone(),
                            password: u.password.clone(),
                            sub: stable_sub(&config.pool_id, &u.username),
                            groups,
                            email: u.email.clone(),
                        };
                        (u.username.clone(), user)
                    })
                    .collect();
                Pool { config, users }
            })
            .collect();
        Ok(Arc::new(Cognito {
            keys,
            pools,
            sessions: Mutex::new(HashMap::new()),
            codes: Mutex::new(HashMap::new()),
        }))
    }

    /// The HTTP face of the pool(s), served on the cognito port.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        api::router(Arc::clone(self))
    }

    /// Serves [`Cognito::router`] on the listener until the task is dropped
    /// (for tests of clients, e.g. `zb login` through the hosted UI, that
    /// have no HTTP server of their own).
    pub async fn serve(self: &Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Adds a new newest signing key and returns its kid. Tokens signed by the
    /// previous key stay verifiable (the JWKS publishes the newest two); those
    /// of the key before are refused from now on.
    pub fn rotate_keys(&self) -> Result<String, CognitoError> {
        self.keys.rotate()
    }

    /// The kids the JWKS publishes, newest first.
    pub fn published_kids(&self) -> Vec<String> {
        self.keys.published_kids()
    }

    /// Signs arbitrary claims with the newest key (header `{kid, alg: RS256}`):
    /// for tests of the JWT authorizer that need an expired token, a wrong
    /// audience or a missing scope.
    pub fn sign_claims(&self, claims: &serde_json::Value) -> Result<String, CognitoError> {
        self.keys.sign(claims)
    }

    fn pool(&self, pool_id: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.config.pool_id == pool_id)
    }

    fn client(&self, client_id: &str) -> Option<(usize, &ClientConfig)> {
        self.pools.iter().enumerate().find_map(|(i, p)| {
            p.config
                .clients
                .iter()
                .find(|c| c.client_id == client_id)
                .map(|c| (i, c))
        })
    }
}

/// A v4-shaped UUID from pool and username.
fn stable_sub(pool_id: &str, username: &str) -> String {
    let digest = Sha256::digest(format!("zb-local-cognito-sub\0{pool_id}\0{username}"));
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}
