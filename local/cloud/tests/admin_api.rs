//! The repository's template started by the local cloud: the admin API
//! (AdminApi) on its own port behind its JWT authorizer, the local Cognito
//! of AdminUserPool, and `<state_dir>/endpoints.json`. Run with
//! `scripts/with-dynamodb cargo test -p zb-local --test admin_api` (the
//! tables are created in that DynamoDB Local).
//!
//! What a refusal looks like follows "Control access to HTTP APIs with JWT
//! authorizers in API Gateway"
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html)
//! and its troubleshooting page (401 `{"message":"Unauthorized"}` with a
//! `www-authenticate` header,
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html).
//! No function runs here: the binaries are placeholders, so a request that
//! passes the authorizer ends in the gateway's 500, never in a 401.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .canonicalize()
        .unwrap_or_else(|e| panic!("repo root: {e}"))
}

fn dynamodb() -> String {
    match std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: run `scripts/with-dynamodb cargo test -p zb-local --test admin_api`"
        ),
    }
}

/// A folder with an (unrunnable) file for every binary the template names:
/// the authorizer's refusals never reach a function.
fn placeholder_binaries(dir: &Path, stack: &str) -> PathBuf {
    let model = zb_local::template::load(&repo().join("template.yaml"), stack, &BTreeMap::new())
        .unwrap_or_else(|e| panic!("template: {e}"));
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for f in &model.functions {
        std::fs::write(bin.join(&f.binary), b"").unwrap();
    }
    bin
}

async fn start() -> (zb_local::Running, PathBuf) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = std::env::temp_dir().join(format!("zb-admin-api-{id}"));
    let stack = format!("adm{}", &id[..8]);
    let mut c = zb_local::Config::for_repo(repo());
    c.stack = stack.clone();
    c.api_port = 0;
    c.admin_api_port = 0;
    c.cognito_port = 0;
    c.aws_port = 0;
    c.dynamodb_endpoint = Some(dynamodb());
    c.binaries = placeholder_binaries(&dir, &stack);
    c.state_dir = dir.join("state");
    c.seed_file = None;
    let running = zb_local::start(c)
        .await
        .unwrap_or_else(|e| panic!("the local cloud did not start: {e}"));
    (running, dir)
}

async fn get(url: &str, authorization: Option<&str>) -> (u16, Option<String>, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

#[tokio::test]
async fn the_admin_api_of_the_repo_template_refuses_requests_without_a_valid_token() {
    let (running, dir) = start().await;
    assert!(!running.admin_api_url.is_empty());
    assert_ne!(running.admin_api_url, running.api_url, "each HTTP API on its own port");
    let me = format!("{}/v1/admin/me", running.admin_api_url);

    // No token, an empty one, a token that is not a JWT: 401 Unauthorized with a challenge.
    for authorization in [None, Some(""), Some("Bearer not-a-jwt")] {
        let (status, challenge, body) = get(&me, authorization).await;
        assert_eq!(status, 401, "{authorization:?}");
        assert_eq!(body, json!({"message": "Unauthorized"}));
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "{authorization:?}");
    }
    // The partner API does not serve the admin routes.
    let (status, _, body) = get(&format!("{}/v1/admin/me", running.api_url), None).await;
    assert_eq!((status, body), (404, json!({"message": "Not Found"})));

    // endpoints.json says where everything is.
    let endpoints: Value =
        serde_json::from_slice(&std::fs::read(running.state_dir().join("endpoints.json")).unwrap()).unwrap();
    let pool = &running.user_pools[0];
    assert_eq!(endpoints["adminApi"], running.admin_api_url.as_str());
    assert_eq!(endpoints["api"], running.api_url.as_str());
    assert_eq!(endpoints["cognito"], running.cognito_url.as_str());
    assert_eq!(endpoints["userPoolId"], pool.pool_id.as_str());
    assert_eq!(endpoints["clientId"], pool.clients[0].client_id.as_str());
    assert_eq!(
        endpoints["issuer"],
        format!("https://cognito-idp.us-east-1.amazonaws.com/{}", pool.pool_id).as_str()
    );
    assert!(running.operators.contains(&"admin".to_string()));

    // An access token of the local Cognito passes the authorizer (the
    // placeholder function then fails: 500, not 401).
    let auth: Value = reqwest::Client::new()
        .post(&running.cognito_url)
        .header("x-amz-target", "AWSCognitoIdentityProviderService.InitiateAuth")
        .header("content-type", "application/x-amz-json-1.1")
        .body(
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": pool.clients[0].client_id,
                "AuthParameters": {"USERNAME": "admin", "PASSWORD": "ZbLocalAdmin1"},
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = auth["AuthenticationResult"]["AccessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{auth}"));
    let (status, _, _) = get(&me, Some(&format!("Bearer {access}"))).await;
    assert_eq!(status, 500, "authorized, then the placeholder function cannot run");
    // Its ID token has no scope: the route's scope refuses it (403, as measured on AWS).
    let id = auth["AuthenticationResult"]["IdToken"].as_str().unwrap();
    let (status, _, body) = get(&me, Some(id)).await;
    assert_eq!((status, body), (403, json!({"message": "Forbidden"})));

    // The admin contract: served without a token once openapi-admin.yaml exists.
    let (status, _, _) = get(&format!("{}/v1/admin/openapi.json", running.admin_api_url), None).await;
    let expected = if repo().join("openapi-admin.yaml").exists() {
        200
    } else {
        404
    };
    assert_eq!(status, expected);

    running.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The console, served on the partner API's port, calls the admin API from
/// its own origin: the local cloud set LocalConsoleOrigin to that origin, so
/// the admin API's CorsConfiguration allows it, and API Gateway answers the
/// preflight itself, with no authorizer and no function ("Configure CORS
/// for HTTP APIs in API Gateway",
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).
/// An unknown origin gets no CORS header.
#[tokio::test]
async fn the_console_is_served_beside_the_partner_api_and_may_call_the_admin_api() {
    let (running, dir) = start().await;
    let origin = running.api_url.clone();
    assert_eq!(
        running.model.parameters.get("LocalConsoleOrigin"),
        Some(&origin),
        "the partner API's URL, set before the template was read"
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let me = format!("{}/v1/admin/me", running.admin_api_url);
    let preflight = |from: &str| {
        client
            .request(reqwest::Method::OPTIONS, &me)
            .header("origin", from)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let resp = preflight(&origin).await.unwrap();
    assert_eq!(resp.status().as_u16(), 204, "no authorizer, no function");
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], origin.as_str());
    assert_eq!(h["access-control-allow-methods"], "GET,POST,PATCH,OPTIONS");
    assert_eq!(
        h["access-control-allow-headers"],
        "authorization,content-type,x-request-id"
    );
    assert_eq!(h["access-control-max-age"], "600");
    let resp = preflight("https://evil.example").await.unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(resp
        .headers()
        .keys()
        .all(|k| !k.as_str().starts_with("access-control-")));
    // An ordinary request: the gateway's own 401 is readable by the console, not by others.
    let resp = client.get(&me).header("origin", &origin).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.headers()["access-control-allow-origin"], origin.as_str());
    assert_eq!(resp.headers()["access-control-expose-headers"], "x-request-id");
    let resp = client
        .get(&me)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    // The console's config, on the partner API's port.
    assert_eq!(running.console_url, format!("{origin}/console/"));
    let resp = client
        .get(format!("{origin}/console/config.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    let csp = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains(&format!(
            "connect-src 'self' {} {}",
            running.admin_api_url, running.cognito_url
        )),
        "{csp}"
    );
    let config: Value = resp.json().await.unwrap();
    let pool = &running.user_pools[0];
    let client_id = zb_local::cognito::client_id_for(&running.model.stack_name, "ConsoleClient");
    assert_eq!(
        config,
        json!({"adminApi": running.admin_api_url, "region": "us-east-1",
               "auth": {"hostedUi": running.cognito_url, "clientId": client_id,
                        "redirectUri": running.console_url, "logoutUri": running.console_url,
                        "scopes": ["openid", "email", "profile", "aws.cognito.signin.user.admin"]},
               "local": true})
    );
    let resp = client.get(format!("{origin}/console")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 301);
    assert_eq!(resp.headers()["location"], "/console/");
    let resp = client
        .get(format!("{origin}/console/%2e%2e/template.yaml"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    // The partner API's routes are untouched.
    let (status, _, body) = get(&format!("{origin}/v1/orders"), None).await;
    assert_eq!((status, body), (401, json!({"message": "Unauthorized"})));
    let endpoints: Value =
        serde_json::from_slice(&std::fs::read(running.state_dir().join("endpoints.json")).unwrap()).unwrap();
    assert_eq!(endpoints["console"], running.console_url.as_str());

    // The console's URL is a callback and sign-out URL of its app client.
    let console_client = pool.clients.iter().find(|c| c.client_id == client_id).unwrap();
    assert!(console_client.callback_urls.contains(&running.console_url));
    let authorize = reqwest::Url::parse_with_params(
        &format!("{}/oauth2/authorize", running.cognito_url),
        &[
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", running.console_url.as_str()),
            ("scope", "openid aws.cognito.signin.user.admin"),
            ("state", "s"),
        ],
    )
    .unwrap();
    let resp = client.get(authorize).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302, "redirect_uri accepted");
    let logout = reqwest::Url::parse_with_params(
        &format!("{}/logout", running.cognito_url),
        &[
            ("client_id", client_id.as_str()),
            ("logout_uri", running.console_url.as_str()),
        ],
    )
    .unwrap();
    let resp = client.get(logout).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    assert_eq!(resp.headers()["location"], running.console_url.as_str());

    running.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
