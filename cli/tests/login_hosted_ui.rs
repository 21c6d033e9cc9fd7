//! `zb login` through the local Cognito's hosted UI, with a fake browser:
//! authorization code + PKCE (S256) and the loopback redirect (RFC 8252),
//! as on AWS's hosted UI ("The redirect and authorization endpoint",
//! "The managed login sign-in endpoint", "The token issuer endpoint" of the
//! Amazon Cognito developer guide).
//!
//! The local Cognito runs in this process (zb_local::cognito); endpoints.json
//! names it as `hostedUi`, so `zb login` with neither --username nor
//! --hosted-ui signs in in a browser. The browser is $BROWSER (login.rs
//! honours it, as xdg-open does): a script that writes the URL it is given
//! to a file; this test then does what a user's browser does (authorize →
//! the login form → POST → follow the redirect to zb's loopback listener).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use zb_local::cognito::{self, ClientConfig, Cognito, PoolConfig};

const REGION: &str = "eu-west-1";
const STACK: &str = "zb-login-hosted";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port: {e}"))
}

struct Setup {
    root: PathBuf,
    state: PathBuf,
    config: PathBuf,
    cognito_url: String,
    callback: String,
    client_id: String,
    _cognito: Arc<Cognito>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

async fn setup(name: &str, hosted_ui_in_endpoints: bool) -> Setup {
    let root = std::env::temp_dir().join(format!("zb-hosted-ui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let state = root.join("state");
    std::fs::create_dir_all(&state).unwrap_or_else(|e| panic!("mkdir: {e}"));

    let callback = format!("http://localhost:{}/callback", free_port());
    let pool_id = cognito::pool_id_for(REGION, STACK, "AdminUserPool");
    let client_id = cognito::client_id_for(STACK, "ConsoleClient");
    let issuer = format!("https://cognito-idp.{REGION}.amazonaws.com/{pool_id}");
    let pools = vec![PoolConfig {
        logical_id: "AdminUserPool".into(),
        pool_id: pool_id.clone(),
        issuer: issuer.clone(),
        groups: vec!["admin".into(), "ops".into(), "finance".into()],
        clients: vec![ClientConfig {
            client_id: client_id.clone(),
            explicit_auth_flows: vec!["ALLOW_USER_PASSWORD_AUTH".into(), "ALLOW_REFRESH_TOKEN_AUTH".into()],
            access_token_validity_secs: 3600,
            id_token_validity_secs: 3600,
            refresh_token_validity_secs: 12 * 3600,
            callback_urls: vec![callback.clone()],
            logout_urls: Vec::new(),
            allowed_oauth_flows: vec!["code".into()],
            allowed_oauth_scopes: ["openid", "email", "profile", "aws.cognito.signin.user.admin"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }],
    }];
    let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../local/seed/operators.json");
    let users = cognito::load_seed_users(&seed).unwrap_or_else(|e| panic!("seed users: {e}"));
    let c = Cognito::open(&root.join("cognito-state"), pools, users).unwrap_or_else(|e| panic!("cognito: {e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let cognito_url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"))
    );
    let serving = Arc::clone(&c);
    tokio::spawn(async move {
        let _ = serving.serve(listener).await;
    });

    let mut endpoints = json!({"api": "http://127.0.0.1:1", "adminApi": "http://127.0.0.1:1/", "aws": "http://127.0.0.1:1",
        "cognito": cognito_url, "userPoolId": pool_id, "clientId": client_id, "issuer": issuer});
    if hosted_ui_in_endpoints {
        endpoints["hostedUi"] = json!(cognito_url);
    }
    std::fs::write(state.join("endpoints.json"), endpoints.to_string()).unwrap_or_else(|e| panic!("write: {e}"));
    Setup {
        config: root.join("config"),
        root,
        state,
        cognito_url,
        callback,
        client_id,
        _cognito: c,
    }
}

/// The fake browser: records the URL it is asked to open.
fn fake_browser(root: &Path) -> (PathBuf, PathBuf) {
    let script = root.join("browser.sh");
    let opened = root.join("opened-url");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' \"$1\" > '{}.tmp' && mv '{0}.tmp' '{0}'\n",
            opened.display()
        ),
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
    }
    (script, opened)
}

fn zb(s: &Setup, browser: &Path, args: &[&str]) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zb"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("ZB_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(["login", "--state-dir"])
        .arg(&s.state)
        .args(args)
        .env("ZB_CONFIG_DIR", &s.config)
        .env("BROWSER", browser)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("zb runs: {e}"))
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// What a user's browser does with the URL zb opened: the hosted UI, the
/// seeded admin's password, the redirect to zb's loopback listener.
async fn browse(s: &Setup, url: &str, password: &str) -> (u16, String) {
    let b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    assert!(
        url.starts_with(&format!("{}/oauth2/authorize?", s.cognito_url)),
        "{url}"
    );
    let resp = b.get(url).send().await.unwrap_or_else(|e| panic!("authorize: {e}"));
    assert_eq!(resp.status().as_u16(), 302);
    let login = location(&resp);
    assert!(login.starts_with("/login?"), "{login}");
    let resp = b
        .get(format!("{}{login}", s.cognito_url))
        .send()
        .await
        .unwrap_or_else(|e| panic!("login form: {e}"));
    assert_eq!(resp.status().as_u16(), 200);
    let params: HashMap<String, String> = reqwest::Url::parse(&format!("http://x{login}"))
        .unwrap_or_else(|e| panic!("{e}"))
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params.get("client_id"), Some(&s.client_id));
    assert_eq!(params.get("redirect_uri"), Some(&s.callback));
    assert_eq!(params.get("code_challenge_method").map(String::as_str), Some("S256"));
    let mut form: Vec<(String, String)> = params.into_iter().collect();
    form.push(("username".into(), "admin".into()));
    form.push(("password".into(), password.into()));
    let resp = b
        .post(format!("{}/login", s.cognito_url))
        .form(&form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("login post: {e}"));
    if resp.status().as_u16() != 302 {
        return (resp.status().as_u16(), resp.text().await.unwrap_or_default());
    }
    let back = location(&resp);
    assert!(back.starts_with(&s.callback), "{back}");
    let resp = b.get(&back).send().await.unwrap_or_else(|e| panic!("loopback: {e}"));
    (resp.status().as_u16(), resp.text().await.unwrap_or_default())
}

async fn opened_url(opened: &Path, child: &mut std::process::Child) -> String {
    for _ in 0..300 {
        if let Ok(url) = std::fs::read_to_string(opened) {
            return url;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("zb exited ({status}) before opening a browser");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("zb opened no browser within 30 s");
}

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap_or_default();
    URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn zb_login_signs_in_through_the_local_hosted_ui_with_a_browser() {
    let s = setup("ok", true).await;
    let (browser, opened) = fake_browser(&s.root);
    // Neither --username nor --hosted-ui: endpoints.json's hostedUi.
    let mut child = zb(&s, &browser, &["--callback-url", &s.callback]);
    let url = opened_url(&opened, &mut child).await;
    let (status, page) = browse(&s, &url, "ZbLocalAdmin1").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Signed in"), "{page}");

    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap_or_else(|e| panic!("join: {e}"))
        .unwrap_or_else(|e| panic!("zb: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("as admin (groups: admin)"), "{stderr}");

    let tokens: Value = std::fs::read_to_string(s.config.join("tokens.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let session = &tokens["sessions"]["http://127.0.0.1:1"];
    let access = claims(session["accessToken"].as_str().unwrap_or_default());
    assert_eq!(access["username"], "admin");
    assert_eq!(access["client_id"], s.client_id.as_str());
    assert_eq!(access["scope"], "openid email profile aws.cognito.signin.user.admin");
    assert!(
        session["refreshToken"].as_str().is_some_and(|t| !t.is_empty()),
        "{tokens}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_in_the_hosted_ui_gives_no_code() {
    let s = setup("wrong", true).await;
    let (browser, opened) = fake_browser(&s.root);
    let mut child = zb(
        &s,
        &browser,
        &["--hosted-ui", &s.cognito_url, "--callback-url", &s.callback],
    );
    let url = opened_url(&opened, &mut child).await;
    let (status, page) = browse(&s, &url, "wrong").await;
    assert_eq!(status, 200);
    assert!(page.contains("Incorrect username or password."), "{page}");
    // zb still waits for the redirect; end it (it is this test's own child).
    let _ = child.kill();
    let _ = child.wait();
    assert!(!s.config.join("tokens.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_hosted_ui_in_endpoints_json_zb_asks_for_a_username() {
    let s = setup("none", false).await;
    let (browser, _) = fake_browser(&s.root);
    let child = zb(&s, &browser, &[]);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap_or_else(|e| panic!("join: {e}"))
        .unwrap_or_else(|e| panic!("zb: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("--username"), "{stderr}");
}
