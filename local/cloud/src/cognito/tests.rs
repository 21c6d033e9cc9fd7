//! The local Cognito over HTTP, as the JWT authorizer and `zb login` use it.
//! Pages followed: "InitiateAuth" (API reference,
//! docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html),
//! "Understanding the access token" / "Understanding the identity (ID) token"
//! (developer guide), "Verifying JSON web tokens" (JWKS shape, kid lookup).

use std::path::PathBuf;
use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use super::*;

const REGION: &str = "eu-west-1";
const STACK: &str = "zb-test";
/// The ConsoleClient's callback URL (template parameter ConsoleCallbackUrl).
const CALLBACK: &str = "http://localhost:8976/callback";
const SIGNED_OUT: &str = "http://localhost:8976/signed-out";

struct Fixture {
    dir: PathBuf,
    cognito: Arc<Cognito>,
    base: String,
    pool_id: String,
    client_id: String,
    /// A client of the same pool without ALLOW_USER_PASSWORD_AUTH.
    srp_client_id: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_state_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zb-cognito-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn pools() -> (Vec<PoolConfig>, String, String, String) {
    let pool_id = pool_id_for(REGION, STACK, "AdminUserPool");
    let client_id = client_id_for(STACK, "ConsoleClient");
    let srp_client_id = client_id_for(STACK, "SrpOnlyClient");
    let client = |id: &str, flows: &[&str]| ClientConfig {
        client_id: id.to_string(),
        explicit_auth_flows: flows.iter().map(|f| f.to_string()).collect(),
        access_token_validity_secs: 3600,
        id_token_validity_secs: 3600,
        refresh_token_validity_secs: 12 * 3600,
        callback_urls: vec![CALLBACK.to_string()],
        logout_urls: vec![SIGNED_OUT.to_string()],
        allowed_oauth_flows: vec!["code".to_string()],
        allowed_oauth_scopes: ["openid", "email", "profile", "aws.cognito.signin.user.admin"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let pools = vec![PoolConfig {
        logical_id: "AdminUserPool".into(),
        pool_id: pool_id.clone(),
        issuer: format!("https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"),
        groups: vec!["admin".into(), "ops".into(), "finance".into()],
        clients: vec![
            // The template's ConsoleClient flows.
            client(
                &client_id,
                &[
                    "ALLOW_USER_SRP_AUTH",
                    "ALLOW_USER_PASSWORD_AUTH",
                    "ALLOW_REFRESH_TOKEN_AUTH",
                ],
            ),
            client(&srp_client_id, &["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]),
        ],
    }];
    (pools, pool_id, client_id, srp_client_id)
}

fn seed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../seed/operators.json")
}

async fn serve(cognito: &Arc<Cognito>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = cognito.router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn fixture_in(dir: PathBuf) -> Fixture {
    let (pools, pool_id, client_id, srp_client_id) = pools();
    let users = load_seed_users(&seed_path()).expect("seed users");
    let cognito = Cognito::open(&dir, pools, users).expect("open");
    let base = serve(&cognito).await;
    Fixture {
        dir,
        cognito,
        base,
        pool_id,
        client_id,
        srp_client_id,
    }
}

async fn fixture() -> Fixture {
    fixture_in(temp_state_dir()).await
}

/// POST / with an X-Amz-Target, as the AWS SDK sends it.
async fn idp(f: &Fixture, target: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/", f.base))
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

async fn sign_in(f: &Fixture, username: &str, password: &str) -> (u16, Value) {
    idp(
        f,
        "AWSCognitoIdentityProviderService.InitiateAuth",
        json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": f.client_id,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        }),
    )
    .await
}

async fn get_json(url: &str) -> (u16, Value) {
    let resp = reqwest::get(url).await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

/// Verifies a token as a relying party does: discovery → jwks_uri → the key
/// whose kid the header names → RS256 signature, iss, exp.
async fn verify(f: &Fixture, token: &str, audience: Option<&str>) -> Result<Value, String> {
    let (_, discovery) = get_json(&format!("{}/{}/.well-known/openid-configuration", f.base, f.pool_id)).await;
    let jwks_uri = discovery["jwks_uri"].as_str().ok_or("no jwks_uri")?;
    let (_, jwks) = get_json(jwks_uri).await;
    let set: JwkSet = serde_json::from_value(jwks).map_err(|e| e.to_string())?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or_else(|| format!("kid {kid} not in the JWKS"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[discovery["issuer"].as_str().ok_or("no issuer")?]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

fn header_json(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').next().expect("header part");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("header json")
}

#[tokio::test]
async fn password_sign_in_gives_tokens_that_verify_against_the_served_jwks() {
    let f = fixture().await;
    let (status, body) = sign_in(&f, "admin", "ZbLocalAdmin1").await;
    assert_eq!(status, 200, "{body}");
    let result = &body["AuthenticationResult"];
    assert_eq!(result["ExpiresIn"], 3600);
    assert_eq!(result["TokenType"], "Bearer");
    assert!(result["RefreshToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(body["ChallengeParameters"], json!({}));

    let issuer = format!("https://cognito-idp.{REGION}.amazonaws.com/{}", f.pool_id);
    let access_token = result["AccessToken"].as_str().expect("access token");
    let header = header_json(access_token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], f.cognito.published_kids()[0].as_str());
    assert!(
        header.get("typ").is_none(),
        "Cognito's header is {{kid, alg}}: {header}"
    );

    let access = verify(&f, access_token, None).await.expect("access token verifies");
    assert_eq!(access["iss"], issuer.as_str());
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["scope"], "aws.cognito.signin.user.admin");
    assert_eq!(access["client_id"], f.client_id.as_str());
    assert_eq!(access["username"], "admin");
    assert_eq!(access["version"], 2);
    assert_eq!(access["cognito:groups"], json!(["admin"]), "groups are a JSON array");
    assert!(access.get("aud").is_none(), "access tokens carry client_id, not aud");
    for claim in ["sub", "origin_jti", "event_id", "jti"] {
        assert!(
            access[claim].as_str().is_some_and(|v| !v.is_empty()),
            "{claim} in {access}"
        );
    }
    let iat = access["iat"].as_i64().expect("iat");
    assert_eq!(access["exp"].as_i64(), Some(iat + 3600));
    assert_eq!(access["auth_time"].as_i64(), Some(iat));

    let id_token = result["IdToken"].as_str().expect("id token");
    let id = verify(&f, id_token, Some(&f.client_id))
        .await
        .expect("ID token verifies");
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["aud"], f.client_id.as_str());
    assert_eq!(id["cognito:username"], "admin");
    assert_eq!(id["email"], "admin@operators.zerobeta.local");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["cognito:groups"], json!(["admin"]));
    assert_eq!(id["sub"], access["sub"]);
    assert_eq!(id["origin_jti"], access["origin_jti"]);
    assert_eq!(id["exp"].as_i64(), Some(id["iat"].as_i64().expect("iat") + 3600));
}

#[tokio::test]
async fn discovery_names_the_aws_issuer_and_local_jwks() {
    let f = fixture().await;
    let (status, doc) = get_json(&format!("{}/{}/.well-known/openid-configuration", f.base, f.pool_id)).await;
    assert_eq!(status, 200);
    assert_eq!(
        doc["issuer"],
        format!("https://cognito-idp.{REGION}.amazonaws.com/{}", f.pool_id)
    );
    assert_eq!(
        doc["jwks_uri"],
        format!("{}/{}/.well-known/jwks.json", f.base, f.pool_id)
    );
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert!(doc["authorization_endpoint"]
        .as_str()
        .is_some_and(|u| u.starts_with(&f.base)));
    assert!(doc["token_endpoint"].as_str().is_some_and(|u| u.starts_with(&f.base)));

    let (status, jwks) = get_json(&format!("{}/{}/.well-known/jwks.json", f.base, f.pool_id)).await;
    assert_eq!(status, 200);
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["e"], "AQAB");
    assert!(
        key["n"].as_str().is_some_and(|n| n.len() == 342),
        "2048-bit modulus, base64url: {key}"
    );

    let (status, body) = get_json(&format!("{}/{REGION}_NoSuchOne/.well-known/jwks.json", f.base)).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "ResourceNotFoundException");
}

#[tokio::test]
async fn a_user_in_no_group_has_no_groups_claim() {
    let f = fixture().await;
    let (status, body) = sign_in(&f, "nobody", "ZbLocalNobody1").await;
    assert_eq!(status, 200, "{body}");
    let access = verify(
        &f,
        body["AuthenticationResult"]["AccessToken"].as_str().expect("token"),
        None,
    )
    .await
    .expect("verifies");
    assert!(access.get("cognito:groups").is_none(), "{access}");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_refusal() {
    let f = fixture().await;
    // PreventUserExistenceErrors ENABLED: an unknown user is indistinguishable.
    for (user, password) in [("admin", "ZbLocalOps001"), ("mallory", "ZbLocalAdmin1")] {
        let (status, body) = sign_in(&f, user, password).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"__type": "NotAuthorizedException", "message": "Incorrect username or password."})
        );
    }
}

#[tokio::test]
async fn a_client_without_the_password_flow_is_refused() {
    let f = fixture().await;
    let (status, body) = idp(
        &f,
        "AWSCognitoIdentityProviderService.InitiateAuth",
        json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": f.srp_client_id,
            "AuthParameters": {"USERNAME": "admin", "PASSWORD": "ZbLocalAdmin1"},
        }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
    assert_eq!(body["message"], "USER_PASSWORD_AUTH flow not enabled for this client");
}

#[tokio::test]
async fn unknown_client_and_unknown_operation_are_refused() {
    let f = fixture().await;
    let (status, body) = idp(
        &f,
        "AWSCognitoIdentityProviderService.InitiateAuth",
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "nosuchclient", "AuthParameters": {"USERNAME": "admin", "PASSWORD": "x"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ResourceNotFoundException");

    let (status, body) = idp(&f, "AWSCognitoIdentityProviderService.SignUp", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn refresh_token_gives_new_tokens_and_a_bad_one_is_refused() {
    let f = fixture().await;
    let (_, body) = sign_in(&f, "ops", "ZbLocalOps001").await;
    let first = &body["AuthenticationResult"];
    let refresh = first["RefreshToken"].as_str().expect("refresh token");
    let first_access = verify(&f, first["AccessToken"].as_str().expect("token"), None)
        .await
        .expect("verifies");

    let refresh_with = |client: String, token: String| json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": client, "AuthParameters": {"REFRESH_TOKEN": token}});
    let (status, body) = idp(
        &f,
        "AWSCognitoIdentityProviderService.InitiateAuth",
        refresh_with(f.client_id.clone(), refresh.to_string()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let result = &body["AuthenticationResult"];
    assert!(
        result.get("RefreshToken").is_none(),
        "a refresh hands out no new refresh token"
    );
    let access = verify(&f, result["AccessToken"].as_str().expect("token"), None)
        .await
        .expect("verifies");
    assert_eq!(access["username"], "ops");
    assert_eq!(access["cognito:groups"], json!(["ops"]));
    assert_eq!(access["origin_jti"], first_access["origin_jti"]);
    assert_eq!(access["auth_time"], first_access["auth_time"]);
    assert_ne!(access["jti"], first_access["jti"]);

    for (client, token) in [
        (f.client_id.clone(), "not-a-refresh-token".to_string()),
        // Bound to the client that got it.
        (f.srp_client_id.clone(), refresh.to_string()),
    ] {
        let (status, body) = idp(
            &f,
            "AWSCognitoIdentityProviderService.InitiateAuth",
            refresh_with(client, token),
        )
        .await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"__type": "NotAuthorizedException", "message": "Invalid Refresh Token"})
        );
    }
}

#[tokio::test]
async fn rotation_keeps_the_previous_key_published_and_drops_the_one_before() {
    let f = fixture().await;
    let (_, body) = sign_in(&f, "finance", "ZbLocalFinance1").await;
    let old_token = body["AuthenticationResult"]["AccessToken"]
        .as_str()
        .expect("token")
        .to_string();
    let k0 = f.cognito.published_kids()[0].clone();

    let rotate = || async {
        let resp = reqwest::Client::new()
            .post(format!("{}/_local/rotate-keys", f.base))
            .send()
            .await
            .expect("rotate");
        assert_eq!(resp.status().as_u16(), 200);
        resp.json::<Value>().await.expect("json")
    };

    let first = rotate().await;
    let k1 = first["kid"].as_str().expect("kid").to_string();
    assert_ne!(k1, k0);
    assert_eq!(first["published"], json!([k1, k0]));
    verify(&f, &old_token, None)
        .await
        .expect("a token of the previous key still verifies");
    let (_, body) = sign_in(&f, "finance", "ZbLocalFinance1").await;
    let new_token = body["AuthenticationResult"]["AccessToken"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(header_json(&new_token)["kid"], k1.as_str(), "the new key signs");

    let second = rotate().await;
    let k2 = second["kid"].as_str().expect("kid").to_string();
    assert_eq!(second["published"], json!([k2, k1]));
    let refused = verify(&f, &old_token, None).await.expect_err("two rotations back");
    assert!(refused.contains("not in the JWKS"), "{refused}");
    verify(&f, &new_token, None)
        .await
        .expect("the previous key's token still verifies");
}

#[tokio::test]
async fn keys_survive_reopening_the_state_dir() {
    let dir = temp_state_dir();
    let (pools, ..) = pools();
    let users = load_seed_users(&seed_path()).expect("seed");
    let first = Cognito::open(&dir, pools.clone(), users.clone()).expect("open");
    let k1 = first.rotate_keys().expect("rotate");
    let published = first.published_kids();
    assert_eq!(published[0], k1);
    drop(first);

    let text = std::fs::read_to_string(keys_path(&dir)).expect("keys.json");
    let file: KeyFile = serde_json::from_str(&text).expect("contract format");
    assert_eq!(file.keys.len(), 2);
    assert_eq!(file.keys[0].kid, k1, "newest first");
    assert!(file.keys[0]
        .private_key_pem
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));
    chrono::DateTime::parse_from_rfc3339(&file.keys[0].created_at).expect("createdAt is RFC 3339");

    let f = fixture_in(dir).await;
    assert_eq!(f.cognito.published_kids(), published, "the same keys after a restart");
    // A token the reopened pool signs verifies with a key published before.
    let (_, body) = sign_in(&f, "admin", "ZbLocalAdmin1").await;
    let token = body["AuthenticationResult"]["AccessToken"].as_str().expect("token");
    assert_eq!(header_json(token)["kid"], k1.as_str());
    verify(&f, token, None).await.expect("verifies");
}

#[tokio::test]
async fn tests_can_sign_chosen_claims() {
    let f = fixture().await;
    let token = f
        .cognito
        .sign_claims(&json!({"iss": "https://elsewhere", "exp": 1, "token_use": "access"}))
        .expect("sign");
    let err = verify(&f, &token, None).await.expect_err("expired and foreign issuer");
    assert!(!err.contains("not in the JWKS"), "signed with a published key: {err}");
}

#[test]
fn ids_look_like_cognitos_and_are_stable() {
    let pool = pool_id_for("us-east-1", "zb", "AdminUserPool");
    assert_eq!(pool, pool_id_for("us-east-1", "zb", "AdminUserPool"));
    let (region, suffix) = pool.split_once('_').expect("region_suffix");
    assert_eq!(region, "us-east-1");
    assert_eq!(suffix.len(), 9);
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(pool, pool_id_for("us-east-1", "other-stack", "AdminUserPool"));

    let client = client_id_for("zb", "ConsoleClient");
    assert_eq!(client, client_id_for("zb", "ConsoleClient"));
    assert_eq!(client.len(), 26);
    assert!(client.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert_ne!(client, client_id_for("zb", "OtherClient"));
}

#[test]
fn seeded_operators_match_the_contract_and_the_password_policy() {
    let users = load_seed_users(&seed_path()).expect("seed");
    let summary: Vec<(&str, Vec<&str>)> = users
        .iter()
        .map(|u| (u.username.as_str(), u.groups.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("admin", vec!["admin"]),
            ("ops", vec!["ops"]),
            ("finance", vec!["finance"]),
            ("nobody", vec![]),
        ]
    );
    // template.yaml AdminUserPool PasswordPolicy: 12+, upper, lower, digit.
    for u in &users {
        let p = &u.password;
        assert!(p.len() >= 12, "{}", u.username);
        assert!(p.chars().any(|c| c.is_ascii_uppercase()), "{}", u.username);
        assert!(p.chars().any(|c| c.is_ascii_lowercase()), "{}", u.username);
        assert!(p.chars().any(|c| c.is_ascii_digit()), "{}", u.username);
    }
}

// ---------------------------------------------------------------------------
// The hosted UI: authorization code + PKCE. Pages followed (Amazon Cognito
// developer guide, "user pool endpoints"): "The redirect and authorization
// endpoint" (authorization-endpoint.html), "The managed login sign-in
// endpoint" (login-endpoint.html), "The token issuer endpoint"
// (token-endpoint.html: single-use code valid five minutes, HTTP 400
// {"error": "invalid_grant" | "invalid_client" | ...}), "The user
// attributes endpoint" (userinfo-endpoint.html: InitiateAuth's access
// tokens have no openid scope and are refused), "The managed login sign-out
// endpoint" (logout-endpoint.html), "Managed login and federation error
// responses" (federation-endpoint-idp-responses.html).
// ---------------------------------------------------------------------------

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// RFC 7636 appendix B: S256 of VERIFIER.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ASKED_SCOPES: &str = "openid email profile aws.cognito.signin.user.admin";

/// A browser that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn authorize_url(f: &Fixture, client_id: &str, redirect_uri: &str, scope: &str) -> String {
    reqwest::Url::parse_with_params(
        &format!("{}/oauth2/authorize", f.base),
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("state", "st4te"),
            ("scope", scope),
            ("code_challenge_method", "S256"),
            ("code_challenge", CHALLENGE),
        ],
    )
    .expect("url")
    .to_string()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    reqwest::Url::parse(url)
        .expect("absolute url")
        .query_pairs()
        .into_owned()
        .collect()
}

/// authorize → /login form → POST /login: the redirect's Location.
async fn hosted_sign_in(f: &Fixture, username: &str, password: &str) -> String {
    let b = browser();
    let resp = b
        .get(authorize_url(f, &f.client_id, CALLBACK, ASKED_SCOPES))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status().as_u16(), 302, "authorize redirects to the login endpoint");
    let login = location(&resp);
    assert!(login.starts_with("/login?"), "{login}");
    let resp = b.get(format!("{}{login}", f.base)).send().await.expect("login form");
    assert_eq!(resp.status().as_u16(), 200);
    let page = resp.text().await.expect("html");
    assert!(page.contains("<form method=\"post\" action=\"/login\">"), "{page}");
    // The form's hidden fields are the authorize parameters.
    let mut form: Vec<(String, String)> = query_of(&format!("http://x{login}")).into_iter().collect();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    let resp = b
        .post(format!("{}/login", f.base))
        .form(&form)
        .send()
        .await
        .expect("login post");
    if resp.status().as_u16() == 302 {
        location(&resp)
    } else {
        format!(
            "HTTP {}: {}",
            resp.status().as_u16(),
            resp.text().await.unwrap_or_default()
        )
    }
}

async fn token_request(f: &Fixture, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/oauth2/token", f.base))
        .form(form)
        .send()
        .await
        .expect("token");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

async fn exchange(f: &Fixture, code: &str, verifier: &str) -> (u16, Value) {
    token_request(
        f,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &f.client_id),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn code_for(f: &Fixture) -> String {
    let redirect = hosted_sign_in(f, "admin", "ZbLocalAdmin1").await;
    assert!(redirect.starts_with(CALLBACK), "{redirect}");
    let q = query_of(&redirect);
    assert_eq!(q.get("state").map(String::as_str), Some("st4te"));
    q.get("code").cloned().expect("code")
}

#[tokio::test]
async fn hosted_ui_code_and_pkce_round_trip_gives_tokens_that_verify() {
    let f = fixture().await;
    let code = code_for(&f).await;
    let (status, body) = exchange(&f, &code, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].as_str().is_some_and(|t| !t.is_empty()), "{body}");

    let access = verify(&f, body["access_token"].as_str().expect("access"), None)
        .await
        .expect("access token verifies against the JWKS");
    // Hosted UI tokens carry the granted scopes, space-separated.
    assert_eq!(access["scope"], ASKED_SCOPES);
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], f.client_id.as_str());
    assert_eq!(access["username"], "admin");
    assert_eq!(access["cognito:groups"], json!(["admin"]));
    assert_eq!(access["version"], 2);
    let id = verify(
        &f,
        body["id_token"].as_str().expect("id token with openid"),
        Some(&f.client_id),
    )
    .await
    .expect("id token verifies");
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["cognito:username"], "admin");
    assert_eq!(id["sub"], access["sub"]);

    // userInfo with that access token.
    let resp = reqwest::Client::new()
        .get(format!("{}/oauth2/userInfo", f.base))
        .bearer_auth(body["access_token"].as_str().unwrap_or_default())
        .send()
        .await
        .expect("userInfo");
    assert_eq!(resp.status().as_u16(), 200);
    let info: Value = resp.json().await.expect("json");
    assert_eq!(info["username"], "admin");
    assert_eq!(info["sub"], access["sub"]);
    assert_eq!(info["email_verified"], "true");
}

#[tokio::test]
async fn without_openid_there_is_no_id_token_and_the_scope_is_what_was_granted() {
    let f = fixture().await;
    let b = browser();
    let resp = b
        .get(authorize_url(
            &f,
            &f.client_id,
            CALLBACK,
            "aws.cognito.signin.user.admin",
        ))
        .send()
        .await
        .expect("authorize");
    let login = location(&resp);
    let mut form: Vec<(String, String)> = query_of(&format!("http://x{login}")).into_iter().collect();
    form.push(("username".into(), "ops".into()));
    form.push(("password".into(), "ZbLocalOps001".into()));
    let resp = b
        .post(format!("{}/login", f.base))
        .form(&form)
        .send()
        .await
        .expect("post");
    let code = query_of(&location(&resp)).get("code").cloned().expect("code");
    let (status, body) = exchange(&f, &code, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    let access = verify(&f, body["access_token"].as_str().unwrap_or_default(), None)
        .await
        .expect("verifies");
    assert_eq!(access["scope"], "aws.cognito.signin.user.admin");
}

#[tokio::test]
async fn token_endpoint_refuses_a_wrong_verifier_a_reused_code_and_a_foreign_redirect_uri() {
    let f = fixture().await;

    // Wrong verifier: invalid_grant, and the code is spent.
    let code = code_for(&f).await;
    let (status, body) = exchange(&f, &code, "not-the-verifier-not-the-verifier-not-the-v").await;
    assert_eq!((status, body), (400, json!({"error": "invalid_grant"})));
    let (status, body) = exchange(&f, &code, VERIFIER).await;
    assert_eq!((status, body), (400, json!({"error": "invalid_grant"})));

    // Reused code: the first exchange works, the second is refused.
    let code = code_for(&f).await;
    assert_eq!(exchange(&f, &code, VERIFIER).await.0, 200);
    let (status, body) = exchange(&f, &code, VERIFIER).await;
    assert_eq!((status, body), (400, json!({"error": "invalid_grant"})));

    // Another redirect_uri than the one the code was issued for.
    let code = code_for(&f).await;
    let (status, body) = token_request(
        &f,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &f.client_id),
            ("code", &code),
            ("redirect_uri", "http://localhost:8976/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!((status, body), (400, json!({"error": "invalid_grant"})));

    // Another client than the one the code was issued to.
    let code = code_for(&f).await;
    let (status, body) = token_request(
        &f,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &f.srp_client_id),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!((status, body), (400, json!({"error": "invalid_grant"})));

    // Unknown client, missing parameters, unknown grant.
    let (status, body) = token_request(
        &f,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "nosuchclient"),
            ("code", "x"),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!((status, body), (400, json!({"error": "invalid_client"})));
    let (status, body) = token_request(&f, &[("grant_type", "authorization_code"), ("client_id", &f.client_id)]).await;
    assert_eq!((status, body), (400, json!({"error": "invalid_request"})));
    let (status, body) = token_request(&f, &[("grant_type", "password"), ("client_id", &f.client_id)]).await;
    assert_eq!((status, body), (400, json!({"error": "unsupported_grant_type"})));
}

#[tokio::test]
async fn authorize_refuses_unknown_clients_and_foreign_redirect_uris_without_redirecting() {
    let f = fixture().await;
    let b = browser();

    // Unknown client: an error page, no redirect.
    let resp = b
        .get(authorize_url(&f, "nosuchclient", CALLBACK, ASKED_SCOPES))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers().get("location").is_none());
    assert!(resp.text().await.unwrap_or_default().contains("error=invalid_request"));

    // A redirect_uri that is not a callback URL of the client: never followed.
    let resp = b
        .get(authorize_url(
            &f,
            &f.client_id,
            "https://attacker.example/cb",
            ASKED_SCOPES,
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers().get("location").is_none());
    assert!(resp
        .text()
        .await
        .unwrap_or_default()
        .contains("error=redirect_mismatch"));

    // With a trusted redirect_uri, errors go back to it with the state.
    let resp = b
        .get(authorize_url(&f, &f.client_id, CALLBACK, "openid phone"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status().as_u16(), 302);
    let q = query_of(&location(&resp));
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_scope"));
    assert_eq!(q.get("state").map(String::as_str), Some("st4te"));

    let resp = b
        .get(
            authorize_url(&f, &f.client_id, CALLBACK, ASKED_SCOPES)
                .replace("code_challenge_method=S256", "code_challenge_method=plain"),
        )
        .send()
        .await
        .expect("authorize");
    assert_eq!(
        query_of(&location(&resp)).get("error").map(String::as_str),
        Some("invalid_request")
    );

    // A wrong password shows the form again, with Cognito's words, and no code.
    let redirect = hosted_sign_in(&f, "admin", "wrong").await;
    assert!(
        redirect.starts_with("HTTP 200") && redirect.contains("Incorrect username or password."),
        "{redirect}"
    );
    let redirect = hosted_sign_in(&f, "nosuchuser", "wrong").await;
    assert!(redirect.contains("Incorrect username or password."), "{redirect}");
}

#[tokio::test]
async fn the_refresh_token_grant_gives_new_tokens_with_the_same_scopes() {
    let f = fixture().await;
    let code = code_for(&f).await;
    let (_, first) = exchange(&f, &code, VERIFIER).await;
    let refresh = first["refresh_token"].as_str().expect("refresh").to_string();

    let (status, body) = token_request(
        &f,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &f.client_id),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "a refresh answers no new refresh token: {body}"
    );
    let old = verify(&f, first["access_token"].as_str().unwrap_or_default(), None)
        .await
        .expect("verifies");
    let new = verify(&f, body["access_token"].as_str().unwrap_or_default(), None)
        .await
        .expect("verifies");
    assert_eq!(new["scope"], ASKED_SCOPES);
    assert_eq!(new["origin_jti"], old["origin_jti"]);
    assert_eq!(new["auth_time"], old["auth_time"]);
    assert_ne!(new["jti"], old["jti"]);
    assert!(body["id_token"].is_string());

    // Bound to its client; garbage is refused.
    let (status, body) = token_request(
        &f,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &f.srp_client_id),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!((status, body), (400, json!({"error": "invalid_grant"})));
    let (status, body) = token_request(
        &f,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &f.client_id),
            ("refresh_token", "garbage"),
        ],
    )
    .await;
    assert_eq!((status, body), (400, json!({"error": "invalid_grant"})));
}

#[tokio::test]
async fn user_info_refuses_initiate_auth_tokens_and_garbage() {
    let f = fixture().await;
    let (_, signed_in) = sign_in(&f, "admin", "ZbLocalAdmin1").await;
    let api_token = signed_in["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for token in [api_token.as_str(), "garbage"] {
        let resp = reqwest::Client::new()
            .get(format!("{}/oauth2/userInfo", f.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("userInfo");
        assert_eq!(resp.status().as_u16(), 401);
        assert!(resp
            .headers()
            .get("www-authenticate")
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| h.contains("invalid_token")));
    }
}

#[tokio::test]
async fn logout_redirects_only_to_a_sign_out_url_of_the_client() {
    let f = fixture().await;
    let b = browser();
    let url = |uri: &str| {
        reqwest::Url::parse_with_params(
            &format!("{}/logout", f.base),
            &[("client_id", f.client_id.as_str()), ("logout_uri", uri)],
        )
        .expect("url")
    };
    let resp = b.get(url(SIGNED_OUT)).send().await.expect("logout");
    assert_eq!((resp.status().as_u16(), location(&resp)), (302, SIGNED_OUT.to_string()));
    let resp = b.get(url("https://attacker.example/")).send().await.expect("logout");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers().get("location").is_none());
}

/// A console on another origin exchanges its code and reads userInfo from
/// script: both endpoints answer any origin (public client, no cookies; see
/// hosted.rs on why `*`), preflight included; the navigations do not.
#[tokio::test]
async fn token_and_user_info_answer_cors_for_a_page_on_another_origin() {
    const PAGE: &str = "http://127.0.0.1:3000";
    let f = fixture().await;
    let client = reqwest::Client::new();
    for path in ["/oauth2/token", "/oauth2/userInfo"] {
        let resp = client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", f.base))
            .header("origin", PAGE)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
            .await
            .expect("preflight");
        assert_eq!(resp.status().as_u16(), 204, "{path}");
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], "*", "{path}");
        assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
        assert_eq!(h["access-control-allow-headers"], "authorization,content-type");
    }
    let code = code_for(&f).await;
    let resp = client
        .post(format!("{}/oauth2/token", f.base))
        .header("origin", PAGE)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", f.client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let body: Value = resp.json().await.expect("json");
    let resp = client
        .get(format!("{}/oauth2/userInfo", f.base))
        .header("origin", PAGE)
        .bearer_auth(body["access_token"].as_str().unwrap_or_default())
        .send()
        .await
        .expect("userInfo");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    // A refusal is readable too (the page learns to sign in again).
    let (status, _) = token_request(&f, &[("grant_type", "authorization_code")]).await;
    assert_eq!(status, 400);
    let resp = client
        .post(format!("{}/oauth2/token", f.base))
        .header("origin", PAGE)
        .form(&[("grant_type", "nope"), ("client_id", f.client_id.as_str())])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    // Without an Origin (zb login, curl): no CORS headers.
    let resp = client
        .post(format!("{}/oauth2/token", f.base))
        .form(&[("grant_type", "nope"), ("client_id", f.client_id.as_str())])
        .send()
        .await
        .expect("token");
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

/// The sign-in page works with a plain form post (no script): its fields
/// are labelled "Username" and "Password" and its button says "Sign in".
#[tokio::test]
async fn the_sign_in_page_has_labelled_fields_and_no_script() {
    let f = fixture().await;
    let b = browser();
    let resp = b
        .get(authorize_url(&f, &f.client_id, CALLBACK, ASKED_SCOPES))
        .send()
        .await
        .expect("authorize");
    let login = location(&resp);
    let page = b
        .get(format!("{}{login}", f.base))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("<label for=\"signInFormUsername\">Username</label>"),
        "{page}"
    );
    assert!(
        page.contains("<input id=\"signInFormUsername\" name=\"username\""),
        "{page}"
    );
    assert!(
        page.contains("<label for=\"signInFormPassword\">Password</label>"),
        "{page}"
    );
    assert!(
        page.contains("<input id=\"signInFormPassword\" name=\"password\" type=\"password\""),
        "{page}"
    );
    assert!(page.contains(">Sign in</button>"), "{page}");
    assert!(!page.contains("<script"), "{page}");
}
