//! `zb login` and the admin API commands as a script runs them, against a
//! stand-in for the local cloud's Cognito and admin API (one HTTP server in
//! this process, found through a state folder's endpoints.json as the local
//! cloud writes it): exit codes, nothing but data on stdout, tokens kept
//! 0600 and refreshed with REFRESH_TOKEN_AUTH once expired, pages followed
//! through nextCursor, RFC 9457 problems shown with their fields.
//!
//! The Cognito side answers as InitiateAuth does
//! (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html):
//! a refresh answers without a new RefreshToken. The end-to-end run against
//! a real local cloud is tests/ (crate zb-tests).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// What the stand-in saw: (X-Amz-Target's AuthFlow or "METHOD path?query", Authorization).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn token(n: u32) -> String {
    let claims = json!({"username": "admin", "cognito:groups": ["admin"], "token_use": "access", "n": n});
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.sig",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn respond(stream: &mut std::net::TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn handle(stream: std::net::TcpStream, seen: &Seen, issued: &Mutex<u32>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let len: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut stream = reader.into_inner();

    if header("x-amz-target") == "AWSCognitoIdentityProviderService.InitiateAuth" {
        let flow = body["AuthFlow"].as_str().unwrap_or_default().to_string();
        seen.lock().map(|mut s| s.push((flow.clone(), String::new()))).ok();
        let ok = match flow.as_str() {
            "USER_PASSWORD_AUTH" => {
                body["AuthParameters"]["USERNAME"] == "admin" && body["AuthParameters"]["PASSWORD"] == "ZbLocalAdmin1"
            }
            "REFRESH_TOKEN_AUTH" => body["AuthParameters"]["REFRESH_TOKEN"] == "refresh-1",
            _ => false,
        };
        if !ok || body["ClientId"] != "abcdefghijklmnopqrstuvwxyz" {
            let e = json!({"__type": "NotAuthorizedException", "message": "Incorrect username or password."});
            return respond(
                &mut stream,
                "400 Bad Request",
                "application/x-amz-json-1.1",
                &e.to_string(),
            );
        }
        let n = issued.lock().map(|mut n| {
            *n += 1;
            *n
        });
        let mut result =
            json!({"AccessToken": token(n.unwrap_or(0)), "IdToken": "id", "ExpiresIn": 3600, "TokenType": "Bearer"});
        if flow == "USER_PASSWORD_AUTH" {
            result["RefreshToken"] = json!("refresh-1");
        }
        let answer = json!({"AuthenticationResult": result, "ChallengeParameters": {}});
        return respond(&mut stream, "200 OK", "application/x-amz-json-1.1", &answer.to_string());
    }

    let auth = header("authorization");
    seen.lock()
        .map(|mut s| s.push((format!("{method} {target}"), auth.clone())))
        .ok();
    let current = issued.lock().map(|n| *n).unwrap_or(0);
    if auth != format!("Bearer {}", token(current)) {
        return respond(
            &mut stream,
            "401 Unauthorized",
            "application/json",
            r#"{"message":"Unauthorized"}"#,
        );
    }
    let path = target.split('?').next().unwrap_or_default();
    match (method.as_str(), path) {
        ("GET", "/v1/admin/partners") if target.contains("cursor=c2") => {
            let page = json!({"items": [{"partnerId": "partner-b", "status": "active", "format": "partner-b@1"}]});
            respond(&mut stream, "200 OK", "application/json", &page.to_string())
        }
        ("GET", "/v1/admin/partners") => {
            let page = json!({"items": [{"partnerId": "partner-a", "status": "active", "format": "partner-a@1",
                "webhookUrl": null}], "nextCursor": "c2"});
            respond(&mut stream, "200 OK", "application/json", &page.to_string())
        }
        _ => {
            let problem = json!({"type": "https://api.zerobeta.example/problems/bad-request", "title": "Bad Request",
                "status": 400, "detail": "the partner is invalid",
                "errors": [{"pointer": "/webhookUrl", "detail": "must be https to a public address"}], "requestId": "r-1"});
            respond(
                &mut stream,
                "400 Bad Request",
                "application/problem+json",
                &problem.to_string(),
            )
        }
    }
}

/// The stand-in on 127.0.0.1:<free>, serving until the test ends.
fn serve() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let url = format!(
        "http://{}",
        listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"))
    );
    let seen: Seen = Arc::default();
    let issued = Arc::new(Mutex::new(0u32));
    let s = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            handle(stream, &s, &issued);
        }
    });
    (url, seen)
}

struct Env {
    config: PathBuf,
    state: PathBuf,
}

impl Env {
    fn new(name: &str, url: &str) -> Env {
        let root = std::env::temp_dir().join(format!("zb-login-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let state = root.join("state");
        std::fs::create_dir_all(&state).unwrap_or_else(|e| panic!("mkdir: {e}"));
        let endpoints = json!({"api": "http://127.0.0.1:1", "adminApi": format!("{url}/"), "aws": "http://127.0.0.1:1",
            "cognito": url, "userPoolId": "us-east-1_abcdefghi", "clientId": "abcdefghijklmnopqrstuvwxyz",
            "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abcdefghi"});
        std::fs::write(state.join("endpoints.json"), endpoints.to_string()).unwrap_or_else(|e| panic!("write: {e}"));
        Env {
            config: root.join("config"),
            state,
        }
    }

    fn zb(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zb"));
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("ZB_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(args)
            .env("ZB_CONFIG_DIR", &self.config)
            .current_dir(self.state.parent().unwrap_or(Path::new(".")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("zb runs: {e}"));
        if let Some(mut i) = child.stdin.take() {
            let _ = i.write_all(stdin.as_bytes());
        }
        child.wait_with_output().unwrap_or_else(|e| panic!("zb runs: {e}"))
    }

    fn tokens(&self) -> Value {
        let text = std::fs::read_to_string(self.config.join("tokens.json")).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn login_then_partners_list_is_scriptable() {
    let (url, seen) = serve();
    let env = Env::new("script", &url);
    let state = env.state.to_string_lossy().to_string();

    // A wrong password: exit 1, Cognito's words, nothing stored.
    let out = env.zb(
        &[
            "login",
            "--state-dir",
            &state,
            "--username",
            "admin",
            "--password-stdin",
        ],
        "wrong\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("NotAuthorizedException: Incorrect username or password."),
        "{}",
        text(&out.stderr)
    );
    assert!(!env.config.join("tokens.json").exists());

    let out = env.zb(
        &[
            "login",
            "--state-dir",
            &state,
            "--username",
            "admin",
            "--password-stdin",
        ],
        "ZbLocalAdmin1\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "login printed on stdout: {}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("as admin (groups: admin)"),
        "{}",
        text(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.config.join("tokens.json"))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
    }
    let stored = env.tokens();
    assert_eq!(stored["current"], url.as_str());
    assert_eq!(stored["sessions"][url.as_str()]["refreshToken"], "refresh-1");

    // Both pages, as JSON on stdout and nothing else.
    let out = env.zb(&["partners", "list", "--output", "json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(listed[0]["partnerId"], "partner-a");
    assert_eq!(listed[1]["partnerId"], "partner-b");
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));

    // --max stops early and says on stderr how to go on.
    let out = env.zb(&["partners", "list", "--max", "1"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("PARTNER"), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("--cursor c2"), "{}", text(&out.stderr));

    // A problem: exit 1, the request, status, detail and field on stderr.
    let out = env.zb(
        &[
            "partners",
            "create",
            "--name",
            "X",
            "--format",
            "partner-a@1",
            "--webhook-url",
            "http://x",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("POST /v1/admin/partners: 400 Bad Request: the partner is invalid")
            && stderr.contains("body /webhookUrl: must be https to a public address")
            && stderr.contains("request id r-1"),
        "{stderr}"
    );

    // An expired access token is refreshed first, and the refresh token kept.
    let mut stored = env.tokens();
    stored["sessions"][url.as_str()]["expiresAt"] = json!("2020-01-01T00:00:00.000Z");
    std::fs::write(env.config.join("tokens.json"), stored.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let out = env.zb(&["partners", "list", "--output", "json"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let flows: Vec<String> = seen
        .lock()
        .map(|s| s.iter().map(|(f, _)| f.clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        flows.iter().filter(|f| *f == "REFRESH_TOKEN_AUTH").count(),
        1,
        "{flows:?}"
    );
    let stored = env.tokens();
    assert_eq!(stored["sessions"][url.as_str()]["refreshToken"], "refresh-1");
    assert_ne!(
        stored["sessions"][url.as_str()]["expiresAt"],
        "2020-01-01T00:00:00.000Z"
    );

    // --direct says what it bypasses before anything else.
    let out = env.zb(
        &[
            "partners",
            "--direct",
            "--dynamodb-endpoint",
            "http://127.0.0.1:1",
            "list",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .lines()
            .next()
            .is_some_and(|l| l.contains("bypassing the admin API")),
        "{}",
        text(&out.stderr)
    );

    let out = env.zb(&["logout"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = env.zb(&["partners", "list"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("zb login"), "{}", text(&out.stderr));
}
