//! Operators of the admin API in end-to-end tests: the local cloud's
//! endpoints (`<state_dir>/endpoints.json`), logging a seeded user in
//! through the local Cognito's InitiateAuth, as `zb login` and the console
//! do, and tokens with chosen claims: signed with the issuer's own key (read
//! from `<state_dir>/cognito/keys.json`, which only the local Cognito has)
//! or with a key generated here, which no JWKS publishes.

use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use std::path::Path;

/// What the local cloud writes to `<state_dir>/endpoints.json` when it starts.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub api: String,
    pub admin_api: String,
    pub aws: String,
    pub cognito: String,
    pub user_pool_id: String,
    pub client_id: String,
    pub issuer: String,
}

impl Endpoints {
    pub fn read(state_dir: &Path) -> Self {
        let path = state_dir.join("endpoints.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (the local cloud writes it at start)", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
    }
}

/// A user seeded from local/seed/operators.json (local only).
#[derive(Debug, Clone, Copy)]
pub struct Operator {
    pub username: &'static str,
    pub password: &'static str,
    pub groups: &'static [&'static str],
}

pub const ADMIN: Operator = Operator {
    username: "admin",
    password: "ZbLocalAdmin1",
    groups: &["admin"],
};
pub const OPS: Operator = Operator {
    username: "ops",
    password: "ZbLocalOps001",
    groups: &["ops"],
};
pub const FINANCE: Operator = Operator {
    username: "finance",
    password: "ZbLocalFinance1",
    groups: &["finance"],
};
/// In no group: every token check passes, every route refuses them.
pub const NOBODY: Operator = Operator {
    username: "nobody",
    password: "ZbLocalNobody1",
    groups: &[],
};

/// InitiateAuth's AuthenticationResult.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub id: String,
    pub refresh: Option<String>,
}

/// `InitiateAuth` (USER_PASSWORD_AUTH) on the local Cognito, as the AWS CLI
/// sends it: the status and body of a refusal as Err.
pub async fn initiate_auth(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    username: &str,
    password: &str,
) -> Result<Tokens, (u16, Value)> {
    let body = json!({
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": endpoints.client_id,
        "AuthParameters": {"USERNAME": username, "PASSWORD": password},
    });
    let r = http
        .post(format!("{}/", endpoints.cognito.trim_end_matches('/')))
        .header("x-amz-target", "AWSCognitoIdentityProviderService.InitiateAuth")
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("InitiateAuth at {}: {e}", endpoints.cognito));
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    let result = &answer["AuthenticationResult"];
    match (status, result["AccessToken"].as_str(), result["IdToken"].as_str()) {
        (200, Some(access), Some(id)) => Ok(Tokens {
            access: access.to_string(),
            id: id.to_string(),
            refresh: result["RefreshToken"].as_str().map(str::to_string),
        }),
        _ => Err((status, answer)),
    }
}

/// Logs `operator` in; panics with Cognito's answer if it refuses.
pub async fn login(http: &reqwest::Client, endpoints: &Endpoints, operator: Operator) -> Tokens {
    initiate_auth(http, endpoints, operator.username, operator.password)
        .await
        .unwrap_or_else(|(status, body)| panic!("{} cannot log in: {status} {body}", operator.username))
}

/// The claims of a JWT (its payload), unverified.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_else(|| panic!("not a JWT: {token}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("JWT payload is not base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT payload is not JSON: {e}"))
}

/// The header of a JWT, unverified.
pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .unwrap_or_else(|e| panic!("JWT header is not base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("JWT header is not JSON: {e}"))
}

/// An RSA key that signs RS256 tokens under a `kid`.
pub struct SigningKey {
    pub kid: String,
    key: KeyPair,
}

impl SigningKey {
    /// The key the local Cognito signs with now (keys.json lists the newest first).
    pub fn issuer(state_dir: &Path) -> Self {
        let path = state_dir.join("cognito").join("keys.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let keys: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let newest = &keys["keys"][0];
        let kid = newest["kid"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no keys[0].kid", path.display()));
        let pem = newest["privateKeyPem"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no keys[0].privateKeyPem", path.display()));
        let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD
            .decode(der.trim())
            .unwrap_or_else(|e| panic!("{}: the PEM is not base64: {e}", path.display()));
        let key = KeyPair::from_pkcs8(&der).unwrap_or_else(|e| panic!("{}: not a PKCS#8 RSA key: {e}", path.display()));
        Self {
            kid: kid.to_string(),
            key,
        }
    }

    /// A new RSA-2048 key under a new kid: published by no JWKS.
    pub fn fresh() -> Self {
        let key = KeyPair::generate(KeySize::Rsa2048).unwrap_or_else(|e| panic!("RSA key generation: {e}"));
        Self {
            kid: uuid::Uuid::new_v4().to_string(),
            key,
        }
    }

    /// An RS256 JWT of `claims` with Cognito's header (`kid`, `alg`).
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"kid": self.kid, "alg": "RS256"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap_or_else(|e| panic!("RS256 signing: {e}"));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// Seconds since the epoch, now.
pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// One answer of the admin API.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub www_authenticate: Option<String>,
    pub request_id: Option<String>,
    /// JSON; Null when the body is not JSON.
    pub body: Value,
}

/// Calls the admin API with an optional bearer token.
#[derive(Debug, Clone)]
pub struct AdminApi {
    pub http: reqwest::Client,
    pub url: String,
}

impl AdminApi {
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_string(),
        }
    }

    /// `method path` with `Authorization: Bearer <token>` (none without a
    /// token), a JSON body when given, and extra headers.
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{method}: {e}"));
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.url));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let status = r.status().as_u16();
        let content_type = header("content-type").unwrap_or_default();
        let www_authenticate = header("www-authenticate");
        let request_id = header("x-request-id");
        let text = r.text().await.unwrap_or_default();
        Reply {
            status,
            content_type,
            www_authenticate,
            request_id,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    /// GET as `token`; panics unless it answers 200.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let r = self.call("GET", path, Some(token), None).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.body);
        r.body
    }

    /// Every item of a listing, following `nextCursor` (`path` has a `?`).
    pub async fn all(&self, path: &str, token: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let page_path = match &cursor {
                Some(c) => format!("{path}&cursor={}", urlencode(c)),
                None => path.to_string(),
            };
            let page = self.get_ok(&page_path, token).await;
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["nextCursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_string()),
                _ => return items,
            }
        }
        panic!("{path}: more than 1000 pages")
    }
}

/// Percent-encodes a query value (cursors are opaque and may hold `+`, `/`, `=`).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
