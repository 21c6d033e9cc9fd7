//! The JWT authorizer of an HTTP API, with exactly the checks of AWS's
//! "Control access to HTTP APIs with JWT authorizers in API Gateway"
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>):
//!
//! 1. the identity source holds the token, alone or prefixed with `Bearer `;
//! 2. the token decodes, its algorithm is RSA (RS256/384/512: "API Gateway
//!    supports only RSA-based algorithms") and its signature verifies with the
//!    key of the issuer's JWKS whose `kid` matches (the JWKS is found through
//!    the issuer's OpenID discovery document, `jwks_uri`);
//! 3. `iss` is the authorizer's issuer; `aud` is one of its audience entries,
//!    or, only when the token has no `aud`, `client_id` is; `exp` is after
//!    now, `nbf` and `iat` (when present) before it;
//! 4. `scope` or `scp` holds at least one of the route's authorization scopes
//!    (when the route has any).
//!
//! Any failure of 1–3 is 401 `{"message":"Unauthorized"}` with a
//! `www-authenticate` challenge laid out as AWS's troubleshooting page shows
//! it (`Bearer scope="" error="invalid_token" error_description="the token
//! does not have a valid audience"`,
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html>).
//! A valid token without a route scope is 403 `{"message":"Forbidden"}`: that
//! is what API Gateway was measured to answer (floci-io/floci PR #2011,
//! "enforce route authorizationScopes on HTTP API v2", captures of a
//! Cognito-backed HTTP API), not a 401.
//!
//! On success the integration sees `requestContext.authorizer.jwt` =
//! `{"claims": {...}, "scopes": [...] | null}` in the measured wire format of
//! the same PR: every claim value a string (numbers and booleans as their
//! text, arrays as `"[a b]"`, objects as JSON text, null claims left out);
//! `scopes` the token's scopes on a route with authorization scopes, null on
//! a route without.

use crate::template::JwtAuthorizer;
use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a fetched JWKS is used before it is fetched again: short, so a
/// key the issuer stopped publishing (the local Cognito after its second
/// rotation) is refused within a second.
pub const JWKS_TTL: Duration = Duration::from_secs(1);

/// A token whose `kid` is not in the cached JWKS re-fetches it at most this
/// often per issuer, so a stream of made-up kids cannot hammer the issuer.
pub const MIN_REFETCH: Duration = Duration::from_millis(200);

/// How long a discovery or JWKS request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request was refused: the status, AWS's `message`, and the
/// `www-authenticate` challenge (401s only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: &'static str,
    pub challenge: Option<String>,
}

impl Refusal {
    /// 401 with `error="invalid_token"` and a description.
    fn invalid(scopes: &[String], description: &str) -> Self {
        Self {
            status: 401,
            message: "Unauthorized",
            challenge: Some(format!(
                "Bearer scope=\"{}\" error=\"invalid_token\" error_description=\"{description}\"",
                scopes.join(" ")
            )),
        }
    }

    /// 401 for a request without a token: the bare challenge (RFC 6750
    /// section 3.1: no error code when the request has no credentials).
    fn missing(scopes: &[String]) -> Self {
        Self {
            status: 401,
            message: "Unauthorized",
            challenge: Some(format!("Bearer scope=\"{}\"", scopes.join(" "))),
        }
    }

    /// 403: a valid token without one of the route's scopes (measured).
    fn insufficient_scope() -> Self {
        Self {
            status: 403,
            message: "Forbidden",
            challenge: None,
        }
    }
}

/// What the integration gets in `requestContext.authorizer.jwt`.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtContext {
    /// Every claim, stringified as API Gateway does.
    pub claims: Map<String, Value>,
    /// The token's scopes on a route with authorization scopes, else None (null).
    pub scopes: Option<Vec<String>>,
}

impl JwtContext {
    pub fn to_json(&self) -> Value {
        json!({"claims": self.claims, "scopes": self.scopes})
    }

    /// `$context.authorizer.claims.sub` of the access log.
    pub fn sub(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }
}

/// One issuer's signing keys, as last fetched.
struct IssuerKeys {
    jwks_uri: Option<String>,
    keys: HashMap<String, DecodingKey>,
    fetched: Option<Instant>,
}

/// The JWKS of every issuer the gateway's authorizers name, fetched over
/// HTTP through each issuer's discovery document and cached.
pub struct Jwks {
    http: reqwest::Client,
    /// issuer → discovery URL, for issuers not reachable at their own URL
    /// (the template's user pools: the local Cognito serves them).
    discovery: BTreeMap<String, String>,
    issuers: Mutex<HashMap<String, IssuerKeys>>,
}

impl Jwks {
    pub fn new(discovery: BTreeMap<String, String>) -> Self {
        // jsonwebtoken panics on first use unless exactly one crypto provider
        // is known; naming aws-lc (the workspace's feature) keeps verification
        // working whatever else turns a feature on. An error means one is set.
        let _ = jsonwebtoken::crypto::CryptoProvider::install_default(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
        Self {
            http: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .unwrap_or_default(),
            discovery,
            issuers: Mutex::new(HashMap::new()),
        }
    }

    /// Where the issuer's discovery document is: the override, else
    /// `<issuer>/.well-known/openid-configuration` (OpenID Connect Discovery 1.0, section 4).
    fn discovery_url(&self, issuer: &str) -> String {
        self.discovery
            .get(issuer)
            .cloned()
            .unwrap_or_else(|| format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')))
    }

    /// The cached key for `kid`, if the cache is fresh enough to answer;
    /// `Err(true)` when a fetch is due, `Err(false)` when the kid is unknown
    /// and a fetch is not allowed yet.
    fn cached(&self, issuer: &str, kid: &str) -> Result<DecodingKey, bool> {
        let Ok(issuers) = self.issuers.lock() else {
            return Err(true);
        };
        let Some(entry) = issuers.get(issuer) else {
            return Err(true);
        };
        let age = entry.fetched.map(|t| t.elapsed());
        match (entry.keys.get(kid), age) {
            (Some(key), Some(age)) if age < JWKS_TTL => Ok(key.clone()),
            (None, Some(age)) if age < MIN_REFETCH => Err(false),
            _ => Err(true),
        }
    }

    /// The key the issuer publishes under `kid` (fetching the JWKS when the
    /// cache is stale or does not know the kid). None: no such key, or the
    /// issuer could not be reached (either way the token is refused).
    pub async fn key(&self, issuer: &str, kid: &str) -> Option<DecodingKey> {
        match self.cached(issuer, kid) {
            Ok(key) => return Some(key),
            Err(false) => return None,
            Err(true) => {}
        }
        let keys = match self.fetch(issuer).await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(target: "apigw", %issuer, error = %e, "cannot fetch the issuer's JWKS");
                // Remember the attempt, so an unreachable issuer is not asked on every request.
                if let Ok(mut issuers) = self.issuers.lock() {
                    let entry = issuers.entry(issuer.to_string()).or_insert_with(|| IssuerKeys {
                        jwks_uri: None,
                        keys: HashMap::new(),
                        fetched: None,
                    });
                    entry.keys.clear();
                    entry.fetched = Some(Instant::now());
                }
                return None;
            }
        };
        let found = keys.get(kid).cloned();
        if let Ok(mut issuers) = self.issuers.lock() {
            let entry = issuers.entry(issuer.to_string()).or_insert_with(|| IssuerKeys {
                jwks_uri: None,
                keys: HashMap::new(),
                fetched: None,
            });
            entry.keys = keys;
            entry.fetched = Some(Instant::now());
        }
        found
    }

    /// Discovery (once per issuer) then the JWKS: kid → RSA key.
    async fn fetch(&self, issuer: &str) -> Result<HashMap<String, DecodingKey>, String> {
        let known_uri = self
            .issuers
            .lock()
            .ok()
            .and_then(|i| i.get(issuer).and_then(|e| e.jwks_uri.clone()));
        let jwks_uri = match known_uri {
            Some(uri) => uri,
            None => {
                let url = self.discovery_url(issuer);
                let doc: Value = self.get_json(&url).await?;
                let uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{url}: no jwks_uri"))?
                    .to_string();
                if let Ok(mut issuers) = self.issuers.lock() {
                    issuers
                        .entry(issuer.to_string())
                        .or_insert_with(|| IssuerKeys {
                            jwks_uri: None,
                            keys: HashMap::new(),
                            fetched: None,
                        })
                        .jwks_uri = Some(uri.clone());
                }
                uri
            }
        };
        let jwks: Value = self.get_json(&jwks_uri).await?;
        let mut keys = HashMap::new();
        for k in jwks.get("keys").and_then(Value::as_array).into_iter().flatten() {
            let field = |name: &str| k.get(name).and_then(Value::as_str);
            // Only RSA signing keys can verify what API Gateway accepts.
            if field("kty") != Some("RSA") || field("use").is_some_and(|u| u != "sig") {
                continue;
            }
            let (Some(kid), Some(n), Some(e)) = (field("kid"), field("n"), field("e")) else {
                continue;
            };
            match DecodingKey::from_rsa_components(n, e) {
                Ok(key) => {
                    keys.insert(kid.to_string(), key);
                }
                Err(err) => tracing::warn!(target: "apigw", %issuer, %kid, error = %err, "JWKS key skipped"),
            }
        }
        Ok(keys)
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let resp = self.http.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: HTTP {}", resp.status()));
        }
        resp.json().await.map_err(|e| format!("{url}: {e}"))
    }
}

/// The token of the identity source: the header's value, without a leading
/// `Bearer ` (either form is accepted). None: missing or empty.
fn token<'a>(headers: &'a HeaderMap, header: &str) -> Option<&'a str> {
    let value = headers.get(header)?.to_str().ok()?.trim();
    let token = match value.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ if value.eq_ignore_ascii_case("bearer") => "",
        _ => value,
    };
    Some(token).filter(|t| !t.is_empty())
}

/// A NumericDate claim (RFC 7519 section 2) as seconds; Err if present and not a number.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, ()> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_f64().map(Some).ok_or(()),
        Some(_) => Err(()),
    }
}

/// A claim value as API Gateway passes it (measured, floci-io/floci PR #2011):
/// strings as they are, arrays as `[a b]`, anything else as its JSON text;
/// None for null (the claim is left out).
pub fn stringify_claim(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(format!(
            "[{}]",
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        )),
        other => Some(other.to_string()),
    }
}

/// The token's scopes: `scp` first, else `scope`; a space-separated string
/// or an array. None when it has neither.
fn token_scopes(claims: &Map<String, Value>) -> Option<Vec<String>> {
    for name in ["scp", "scope"] {
        match claims.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                return Some(s.split_whitespace().map(str::to_string).collect())
            }
            Some(Value::Array(items)) if !items.is_empty() => {
                return Some(
                    items
                        .iter()
                        .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                        .collect(),
                )
            }
            _ => {}
        }
    }
    None
}

/// Authorizes one request for a route whose scopes are `route_scopes` (the
/// route's own, else its authorizer's). `now` is seconds since the epoch.
pub async fn authorize(
    jwks: &Jwks,
    auth: &JwtAuthorizer,
    route_scopes: &[String],
    headers: &HeaderMap,
    now: f64,
) -> Result<JwtContext, Refusal> {
    let Some(token) = token(headers, &auth.identity_header) else {
        return Err(Refusal::missing(route_scopes));
    };
    let invalid = |description: &str| Refusal::invalid(route_scopes, description);
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("the token is malformed"))?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512) {
        return Err(invalid(&format!("signing method {:?} is invalid", header.alg)));
    }
    let kid = header.kid.as_deref().ok_or_else(|| invalid("the token has no kid"))?;
    let key = jwks
        .key(&auth.issuer, kid)
        .await
        .ok_or_else(|| invalid("the token's kid is not a key of the issuer"))?;
    // The signature only: every claim is checked below, as API Gateway lists them.
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|_| invalid("the token's signature is invalid"))?
        .claims;
    if claims.get("iss").and_then(Value::as_str) != Some(auth.issuer.as_str()) {
        return Err(invalid("the token does not have a valid issuer"));
    }
    // "API Gateway validates client_id only if aud is not present. When both
    // aud and client_id are present, API Gateway evaluates aud."
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => auth.audience.contains(aud),
        Some(Value::Array(auds)) => auds
            .iter()
            .filter_map(Value::as_str)
            .any(|a| auth.audience.iter().any(|x| x == a)),
        Some(_) => false,
        None => claims
            .get("client_id")
            .and_then(Value::as_str)
            .is_some_and(|c| auth.audience.iter().any(|x| x == c)),
    };
    if !audience_ok {
        return Err(invalid("the token does not have a valid audience"));
    }
    let malformed = |_| invalid("the token's time claims are malformed");
    match numeric_date(&claims, "exp").map_err(malformed)? {
        Some(exp) if exp > now => {}
        Some(_) => return Err(invalid("the token has expired")),
        None => return Err(invalid("the token has no expiration")),
    }
    if numeric_date(&claims, "nbf")
        .map_err(malformed)?
        .is_some_and(|nbf| nbf > now)
    {
        return Err(invalid("the token is not valid yet"));
    }
    if numeric_date(&claims, "iat")
        .map_err(malformed)?
        .is_some_and(|iat| iat > now)
    {
        return Err(invalid("the token was issued in the future"));
    }
    let scopes = if route_scopes.is_empty() {
        None
    } else {
        let have = token_scopes(&claims).unwrap_or_default();
        if !have.iter().any(|s| route_scopes.contains(s)) {
            return Err(Refusal::insufficient_scope());
        }
        Some(have)
    };
    let claims = claims
        .iter()
        .filter_map(|(k, v)| stringify_claim(v).map(|s| (k.clone(), Value::String(s))))
        .collect();
    Ok(JwtContext { claims, scopes })
}

#[cfg(test)]
pub(crate) mod tests {
    //! Each refusal follows a check of AWS's JWT authorizer page
    //! (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html);
    //! the claims' wire format and the 403 for a missing scope follow the
    //! measurements of floci-io/floci PR #2011.

    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine;

    /// An RSA-2048 key: the PEM to sign with and the JWK to publish.
    pub(crate) struct TestKey {
        pub pem: String,
        pub jwk: Value,
    }

    pub(crate) fn test_key(kid: &str) -> TestKey {
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = pair.as_der().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<String> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let public = pair.public_key();
        let jwk = json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": url.encode(public.modulus().big_endian_without_leading_zero()),
            "e": url.encode(public.exponent().big_endian_without_leading_zero()),
        });
        TestKey { pem, jwk }
    }

    pub(crate) fn sign(key: &TestKey, kid: &str, alg: Algorithm, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = Some(kid.to_string());
        let enc = jsonwebtoken::EncodingKey::from_rsa_pem(key.pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &enc).unwrap()
    }

    /// Serves a discovery document and a JWKS on 127.0.0.1; counts JWKS fetches.
    pub(crate) async fn serve_jwks(keys: Vec<Value>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = fetches.clone();
        let jwks_uri = format!("{base}/jwks.json");
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || {
                    let uri = jwks_uri.clone();
                    async move { axum::Json(json!({"issuer": ISSUER, "jwks_uri": uri})) }
                }),
            )
            .route(
                "/jwks.json",
                axum::routing::get(move || {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let keys = keys.clone();
                    async move { axum::Json(json!({ "keys": keys })) }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (base, fetches)
    }

    pub(crate) const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test12345";
    const CLIENT: &str = "client0000000000000000000a";

    pub(crate) fn authorizer() -> JwtAuthorizer {
        JwtAuthorizer {
            name: "OperatorJwt".into(),
            identity_header: "authorization".into(),
            issuer: ISSUER.into(),
            audience: vec![CLIENT.into()],
            scopes: vec!["aws.cognito.signin.user.admin".into()],
        }
    }

    fn now() -> f64 {
        chrono::Utc::now().timestamp() as f64
    }

    /// A Cognito access token's claims (no aud; client_id).
    pub(crate) fn access_claims() -> Value {
        let now = now() as i64;
        json!({
            "sub": "1f2e3d4c-0000-4000-8000-000000000001",
            "cognito:groups": ["admin", "ops"],
            "iss": ISSUER,
            "version": 2,
            "client_id": CLIENT,
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "jti": "j-1",
            "username": "admin",
            "email_verified": true,
            "nothing": null,
            "address": {"country": "FR"},
        })
    }

    struct Setup {
        jwks: Jwks,
        key: TestKey,
        fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    async fn setup() -> Setup {
        let key = test_key("k1");
        let (base, fetches) = serve_jwks(vec![key.jwk.clone()]).await;
        let mut discovery = BTreeMap::new();
        discovery.insert(ISSUER.to_string(), format!("{base}/.well-known/openid-configuration"));
        Setup {
            jwks: Jwks::new(discovery),
            key,
            fetches,
        }
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("Bearer {token}").parse().unwrap());
        h
    }

    async fn check(s: &Setup, headers: &HeaderMap) -> Result<JwtContext, Refusal> {
        let auth = authorizer();
        authorize(&s.jwks, &auth, &auth.scopes, headers, now()).await
    }

    fn unauthorized(r: Result<JwtContext, Refusal>) -> Refusal {
        let refusal = r.expect_err("the token was accepted");
        assert_eq!((refusal.status, refusal.message), (401, "Unauthorized"));
        refusal
    }

    #[tokio::test]
    async fn a_valid_access_token_passes_with_every_claim_a_string() {
        let s = setup().await;
        let token = sign(&s.key, "k1", Algorithm::RS256, &access_claims());
        let ctx = check(&s, &bearer(&token)).await.unwrap();
        let c = &ctx.claims;
        assert_eq!(c["cognito:groups"], "[admin ops]");
        assert_eq!(c["version"], "2");
        assert_eq!(c["email_verified"], "true");
        assert!(
            c["exp"].as_str().is_some_and(|e| e.parse::<i64>().is_ok()),
            "a number as its text"
        );
        assert_eq!(c["address"], r#"{"country":"FR"}"#);
        assert!(!c.contains_key("nothing"), "a null claim is left out");
        assert_eq!(ctx.sub(), Some("1f2e3d4c-0000-4000-8000-000000000001"));
        assert_eq!(ctx.scopes, Some(vec!["aws.cognito.signin.user.admin".to_string()]));
        assert!(c.values().all(Value::is_string));
        // Without "Bearer ", and with RS384 / RS512.
        let mut h = HeaderMap::new();
        h.insert("authorization", token.parse().unwrap());
        assert!(check(&s, &h).await.is_ok());
        for alg in [Algorithm::RS384, Algorithm::RS512] {
            let t = sign(&s.key, "k1", alg, &access_claims());
            assert!(check(&s, &bearer(&t)).await.is_ok(), "{alg:?}");
        }
        // A route without scopes: scopes null, whatever the token holds.
        let auth = authorizer();
        let ctx = authorize(&s.jwks, &auth, &[], &bearer(&token), now()).await.unwrap();
        assert_eq!(ctx.scopes, None);
        assert_eq!(ctx.to_json()["scopes"], Value::Null);
    }

    #[tokio::test]
    async fn each_failed_check_is_401_unauthorized_with_a_challenge() {
        let s = setup().await;
        let with = |patch: Value| {
            let mut c = access_claims();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            sign(&s.key, "k1", Algorithm::RS256, &c)
        };
        let n = now() as i64;
        let cases = [
            ("expired", with(json!({"exp": n - 1}))),
            ("nbf in the future", with(json!({"nbf": n + 600}))),
            ("iat in the future", with(json!({"iat": n + 600}))),
            ("no exp", with(json!({"exp": null}))),
            (
                "wrong iss",
                with(json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/other"})),
            ),
            ("wrong client_id", with(json!({"client_id": "someone-else"}))),
            // aud wins over client_id when both are present.
            ("wrong aud", with(json!({"aud": "someone-else"}))),
        ];
        for (what, token) in cases {
            let r = unauthorized(check(&s, &bearer(&token)).await);
            let challenge = r.challenge.unwrap_or_default();
            assert!(challenge.starts_with("Bearer scope=\""), "{what}: {challenge}");
            assert!(challenge.contains("error=\"invalid_token\""), "{what}: {challenge}");
        }
        let wrong_aud = unauthorized(check(&s, &bearer(&with(json!({"aud": "x"})))).await);
        assert_eq!(
            wrong_aud.challenge.as_deref(),
            Some(
                "Bearer scope=\"aws.cognito.signin.user.admin\" error=\"invalid_token\" \
                 error_description=\"the token does not have a valid audience\""
            )
        );
        // An ID token: aud is the client: passes the audience check.
        let id = with(json!({"aud": CLIENT, "client_id": null}));
        assert!(check(&s, &bearer(&id)).await.is_ok());
        // Unknown kid, a bad signature (another key under the known kid), not RSA, garbage.
        let other = test_key("k1");
        unauthorized(check(&s, &bearer(&sign(&s.key, "k9", Algorithm::RS256, &access_claims()))).await);
        unauthorized(check(&s, &bearer(&sign(&other, "k1", Algorithm::RS256, &access_claims()))).await);
        let hs = jsonwebtoken::encode(
            &jsonwebtoken::Header {
                kid: Some("k1".into()),
                ..jsonwebtoken::Header::new(Algorithm::HS256)
            },
            &access_claims(),
            &jsonwebtoken::EncodingKey::from_secret(b"secret").unwrap(),
        )
        .unwrap();
        unauthorized(check(&s, &bearer(&hs)).await);
        unauthorized(check(&s, &bearer("not.a.jwt")).await);
        // No header, an empty one, "Bearer " alone: the bare challenge.
        for h in [HeaderMap::new(), bearer(""), {
            let mut h = HeaderMap::new();
            h.insert("authorization", "".parse().unwrap());
            h
        }] {
            let r = unauthorized(check(&s, &h).await);
            assert_eq!(
                r.challenge.as_deref(),
                Some("Bearer scope=\"aws.cognito.signin.user.admin\"")
            );
        }
    }

    #[tokio::test]
    async fn a_valid_token_without_a_route_scope_is_403_forbidden() {
        let s = setup().await;
        let mut claims = access_claims();
        claims["scope"] = json!("openid email");
        let token = sign(&s.key, "k1", Algorithm::RS256, &claims);
        let r = check(&s, &bearer(&token)).await.unwrap_err();
        assert_eq!((r.status, r.message), (403, "Forbidden"));
        // No scope claim at all (a Cognito ID token).
        claims.as_object_mut().unwrap().remove("scope");
        let token = sign(&s.key, "k1", Algorithm::RS256, &claims);
        assert_eq!(check(&s, &bearer(&token)).await.unwrap_err().status, 403);
        // scp wins over scope, as an array too.
        claims["scp"] = json!(["aws.cognito.signin.user.admin"]);
        let token = sign(&s.key, "k1", Algorithm::RS256, &claims);
        assert!(check(&s, &bearer(&token)).await.is_ok());
    }

    #[tokio::test]
    async fn the_jwks_is_cached_and_refetched_for_an_unknown_kid_at_a_bounded_rate() {
        let s = setup().await;
        let token = sign(&s.key, "k1", Algorithm::RS256, &access_claims());
        for _ in 0..5 {
            check(&s, &bearer(&token)).await.unwrap();
        }
        let fetches = || s.fetches.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(fetches(), 1, "one fetch serves every request while fresh");
        let unknown = sign(&s.key, "k-new", Algorithm::RS256, &access_claims());
        for _ in 0..5 {
            unauthorized(check(&s, &bearer(&unknown)).await);
        }
        assert!(fetches() <= 2, "unknown kids re-fetch at most once per {MIN_REFETCH:?}");
        tokio::time::sleep(MIN_REFETCH + Duration::from_millis(50)).await;
        unauthorized(check(&s, &bearer(&unknown)).await);
        assert!(fetches() >= 2);
    }

    #[test]
    fn claims_are_stringified_as_measured() {
        assert_eq!(stringify_claim(&json!(["a", "b", 3])).as_deref(), Some("[a b 3]"));
        assert_eq!(stringify_claim(&json!([])).as_deref(), Some("[]"));
        assert_eq!(stringify_claim(&json!(1.5)).as_deref(), Some("1.5"));
        assert_eq!(stringify_claim(&json!(false)).as_deref(), Some("false"));
        assert_eq!(stringify_claim(&json!(null)), None);
    }
}
