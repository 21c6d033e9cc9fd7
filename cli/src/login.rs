//! `zb login|logout|whoami`: an operator's Cognito tokens for the admin API.
//!
//! Where to sign in comes from the local cloud's `<state dir>/endpoints.json`
//! or, on AWS, from flags carrying the stack's outputs (AdminApiUrl,
//! UserPoolClientId, UserPoolId). Two flows:
//! - `--username` (password from `--password-stdin` or a prompt): Cognito's
//!   InitiateAuth USER_PASSWORD_AUTH, the only flow the local Cognito serves;
//! - `--hosted-ui URL`: authorization code with PKCE (RFC 7636) through the
//!   hosted UI in a browser, back to a loopback redirect (RFC 8252).
//!
//! Tokens are kept per admin URL in `<config dir>/tokens.json`, mode 0600,
//! and refreshed with REFRESH_TOKEN_AUTH when the access token is about to
//! expire.

use crate::admin_api::{self, ApiArgs, ApiError};
use crate::render::Output;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Refresh this long before the access token's expiry: a request sent with
/// a token that expires in flight would be refused by the JWT authorizer.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The redirect URI the stack registers for the console and `zb login`
/// (template.yaml's ConsoleCallbackUrl default).
pub const DEFAULT_CALLBACK: &str = "http://localhost:8976/callback";

/// The scopes asked of the hosted UI: the admin API's routes require
/// aws.cognito.signin.user.admin in the access token.
const SCOPES: &str = "openid email profile aws.cognito.signin.user.admin";

/// How long the browser flow waits for the redirect.
const BROWSER_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {detail}")]
    File { path: String, detail: String },
    #[error("cannot reach Cognito at {url}: {reason}{hint}")]
    Unreachable {
        url: String,
        reason: String,
        hint: &'static str,
    },
    #[error("Cognito refused: {code}: {message}")]
    Refused { code: String, message: String },
    #[error("Cognito answered {0}")]
    Unexpected(String),
    #[error(
        "Cognito asks for the challenge {0} (e.g. a new password or an MFA code), which `zb login --username` \
         cannot answer: sign in once through the hosted UI (`zb login --hosted-ui URL`)"
    )]
    Challenge(String),
    #[error("the browser sign-in failed: {0}")]
    Browser(String),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("writing the output: {0}")]
    Output(#[from] serde_json::Error),
}

fn file_error(path: &Path, detail: impl std::fmt::Display) -> LoginError {
    LoginError::File {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------

/// `<state dir>/endpoints.json`, as the local cloud writes it at start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalEndpoints {
    #[serde(default)]
    pub api: Option<String>,
    pub admin_api: String,
    #[serde(default)]
    pub aws: Option<String>,
    pub cognito: String,
    #[serde(default)]
    pub user_pool_id: Option<String>,
    pub client_id: String,
    #[serde(default)]
    pub issuer: Option<String>,
    /// The local Cognito's hosted UI (/oauth2/authorize, /oauth2/token, ...).
    #[serde(default)]
    pub hosted_ui: Option<String>,
}

impl LocalEndpoints {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("endpoints.json")
    }

    /// Ok(None) when the file does not exist (no local cloud has run here).
    pub fn read(state_dir: &Path) -> Result<Option<LocalEndpoints>, LoginError> {
        let path = Self::path(state_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(file_error(&path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| file_error(&path, format!("not the local cloud's endpoints file: {e}")))
    }
}

/// Where one sign-in goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Key of the session: the admin API's base URL without a trailing slash.
    pub admin_url: String,
    /// Where InitiateAuth is POSTed.
    pub cognito_url: String,
    pub client_id: String,
    pub issuer: Option<String>,
    pub hosted_ui: Option<String>,
    /// From endpoints.json: the local cloud.
    pub local: bool,
}

/// `https://x.execute-api.eu-west-1.amazonaws.com/` -> `https://x.execute-api.eu-west-1.amazonaws.com`.
pub fn normalize_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// The region a pool id (`eu-west-1_AbC123`) or an AWS URL
/// (`https://x.execute-api.eu-west-1.amazonaws.com/`) names.
fn region_from(pool_id: Option<&str>, admin_url: &str) -> Option<String> {
    if let Some((region, _)) = pool_id.and_then(|p| p.split_once('_')) {
        return Some(region.to_string());
    }
    let host = admin_url.split_once("://").map_or(admin_url, |(_, r)| r);
    let host = host.split(['/', ':']).next().unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let at = labels.iter().position(|l| *l == "amazonaws")?;
    at.checked_sub(1)
        .map(|i| labels[i].to_string())
        .filter(|r| r.contains('-'))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The sign-in's endpoints: the flags (AWS) or endpoints.json (local).
pub fn endpoints(args: &LoginArgs, local: bool, region: Option<&str>) -> Result<Endpoints, LoginError> {
    let state_dir = args.api.state_dir();
    let file = LocalEndpoints::read(&state_dir)?;
    if let (Some(admin), false) = (&args.api.admin_url, local) {
        let admin_url = normalize_url(admin);
        // The local cloud's own admin URL needs no other flag.
        let same = file.as_ref().filter(|f| normalize_url(&f.admin_api) == admin_url);
        let client_id = args
            .client_id
            .clone()
            .or_else(|| same.map(|f| f.client_id.clone()))
            .ok_or_else(|| {
                LoginError::Usage(
                    "--admin-url needs --client-id (the stack output UserPoolClientId; and --region or \
                     --user-pool-id, the output UserPoolId)"
                        .into(),
                )
            })?;
        let cognito_url = match (&args.cognito_url, same) {
            (Some(u), _) => u.clone(),
            (None, Some(f)) => f.cognito.clone(),
            (None, None) => {
                let region = region
                    .map(str::to_string)
                    .or_else(|| region_from(args.user_pool_id.as_deref(), &admin_url))
                    .or_else(|| env("AWS_REGION"))
                    .or_else(|| env("AWS_DEFAULT_REGION"))
                    .ok_or_else(|| {
                        LoginError::Usage(
                            "which region is the user pool in? pass --region or --user-pool-id (the stack output UserPoolId)"
                                .into(),
                        )
                    })?;
                format!("https://cognito-idp.{region}.amazonaws.com/")
            }
        };
        let issuer = match (&args.user_pool_id, same) {
            (Some(pool), _) => {
                region_from(Some(pool), "").map(|r| format!("https://cognito-idp.{r}.amazonaws.com/{pool}"))
            }
            (None, Some(f)) => f.issuer.clone(),
            (None, None) => None,
        };
        return Ok(Endpoints {
            admin_url,
            cognito_url,
            client_id,
            issuer,
            hosted_ui: args.hosted_ui.as_deref().map(normalize_url),
            local: same.is_some(),
        });
    }
    let f = file.ok_or_else(|| {
        LoginError::Usage(format!(
            "{} does not exist: start the local cloud (`make run`), or pass --state-dir; on AWS pass --admin-url \
             and --client-id (the stack outputs AdminApiUrl and UserPoolClientId) and --region",
            LocalEndpoints::path(&state_dir).display()
        ))
    })?;
    Ok(Endpoints {
        admin_url: normalize_url(&f.admin_api),
        cognito_url: args.cognito_url.clone().unwrap_or(f.cognito),
        client_id: args.client_id.clone().unwrap_or(f.client_id),
        issuer: f.issuer,
        hosted_ui: args.hosted_ui.as_deref().or(f.hosted_ui.as_deref()).map(normalize_url),
        local: true,
    })
}

// ---------------------------------------------------------------------------
// Token store
// ---------------------------------------------------------------------------

/// One admin API's tokens. No Debug: it would print them.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub admin_url: String,
    pub access_token: String,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(with = "zb_shared::time::utc_millis")]
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub issuer: Option<String>,
    pub client_id: String,
    /// Where REFRESH_TOKEN_AUTH goes.
    pub cognito_url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// What a session's access token needs before the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    /// Expired or about to: refresh it first.
    Refresh,
    /// Expired and nothing to refresh it with.
    Expired,
}

impl Session {
    pub fn freshness(&self, now: DateTime<Utc>) -> Freshness {
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default();
        if self.expires_at - now > margin {
            Freshness::Fresh
        } else if self.refresh_token.is_some() {
            Freshness::Refresh
        } else {
            Freshness::Expired
        }
    }
}

#[derive(Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreFile {
    /// The admin URL commands use when none is named: the last sign-in.
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default)]
    pub sessions: BTreeMap<String, Session>,
}

/// `tokens.json` in the config folder.
#[derive(Debug, Clone)]
pub struct TokenStore {
    pub path: PathBuf,
}

/// $ZB_CONFIG_DIR, else $XDG_CONFIG_HOME/zb, else ~/.config/zb.
pub fn config_dir() -> Result<PathBuf, LoginError> {
    if let Some(d) = env("ZB_CONFIG_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = env("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("zb"));
    }
    env("HOME")
        .map(|h| PathBuf::from(h).join(".config").join("zb"))
        .ok_or_else(|| LoginError::Usage("no HOME, XDG_CONFIG_HOME or ZB_CONFIG_DIR to keep the tokens in".into()))
}

impl TokenStore {
    pub fn open() -> Result<TokenStore, LoginError> {
        Ok(TokenStore::at(&config_dir()?))
    }

    pub fn at(dir: &Path) -> TokenStore {
        TokenStore {
            path: dir.join("tokens.json"),
        }
    }

    pub fn load(&self) -> Result<StoreFile, LoginError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| file_error(&self.path, format!("unreadable ({e}); `zb logout --all` starts afresh"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreFile::default()),
            Err(e) => Err(file_error(&self.path, e)),
        }
    }

    /// Written whole to a 0600 file beside it, then renamed over it: a
    /// reader never sees half a file, and the tokens are never readable by
    /// other users, not even for a moment.
    pub fn save(&self, file: &StoreFile) -> Result<(), LoginError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let text = serde_json::to_string_pretty(file)?;
        let tmp = dir.join(format!(".tokens.json.{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options
            .open(&tmp)
            .and_then(|mut f| {
                // The mode above applies only to a new file; a leftover keeps its own.
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                }
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(file_error(&self.path, e));
        }
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> Result<(), LoginError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| file_error(dir, e))
}

// ---------------------------------------------------------------------------
// Cognito
// ---------------------------------------------------------------------------

/// Tokens from InitiateAuth or the token endpoint.
pub struct Tokens {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

fn unreachable(url: &str, e: &reqwest::Error) -> LoginError {
    let local = crate::aws::is_emulator_url(url);
    LoginError::Unreachable {
        url: url.to_string(),
        reason: admin_api::reqwest_reason(e),
        hint: if local {
            " (is `make run` running?)"
        } else {
            " (check the region and your network)"
        },
    }
}

/// InitiateAuth (AWS JSON 1.1), as the Cognito API reference gives it:
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
pub async fn initiate_auth(
    cognito_url: &str,
    client_id: &str,
    flow: &str,
    parameters: Value,
) -> Result<Tokens, LoginError> {
    let body = json!({"AuthFlow": flow, "ClientId": client_id, "AuthParameters": parameters});
    let response = http()
        .post(cognito_url)
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| unreachable(cognito_url, &e))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| unreachable(cognito_url, &e))?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(cognito_error(status.as_u16(), &answer, &text));
    }
    if let Some(challenge) = answer["ChallengeName"].as_str() {
        return Err(LoginError::Challenge(challenge.to_string()));
    }
    let r = &answer["AuthenticationResult"];
    let access_token = r["AccessToken"]
        .as_str()
        .ok_or_else(|| LoginError::Unexpected(format!("HTTP {status} without AuthenticationResult.AccessToken")))?;
    Ok(Tokens {
        access_token: access_token.to_string(),
        id_token: r["IdToken"].as_str().map(str::to_string),
        refresh_token: r["RefreshToken"].as_str().map(str::to_string),
        expires_in: r["ExpiresIn"].as_u64().unwrap_or(3600),
    })
}

/// `{"__type": "NotAuthorizedException", "message": "..."}`; the type may
/// carry a namespace (`com.amazonaws...#NotAuthorizedException`).
fn cognito_error(status: u16, answer: &Value, text: &str) -> LoginError {
    match answer["__type"].as_str() {
        Some(t) => LoginError::Refused {
            code: t.rsplit('#').next().unwrap_or(t).to_string(),
            message: answer["message"]
                .as_str()
                .or_else(|| answer["Message"].as_str())
                .unwrap_or("(no message)")
                .to_string(),
        },
        None => LoginError::Unexpected(format!(
            "HTTP {status}: {}",
            admin_api::one_line(if text.is_empty() { "(empty body)" } else { text })
        )),
    }
}

/// The claims of a JWT, unverified: only for showing who signed in (the
/// admin API's authorizer is what checks them).
pub fn claims(token: &str) -> Value {
    token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// cognito:groups as a JSON array (in the token itself) or API Gateway's
/// `"[a b]"` string form.
pub fn groups(claims: &Value) -> Vec<String> {
    match &claims["cognito:groups"] {
        Value::Array(a) => a.iter().filter_map(|g| g.as_str().map(str::to_string)).collect(),
        Value::String(s) => s
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split([' ', ','])
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn session_from(ep: &Endpoints, tokens: Tokens, now: DateTime<Utc>) -> Session {
    let c = claims(&tokens.access_token);
    let expires_in = i64::try_from(tokens.expires_in).unwrap_or(3600);
    Session {
        admin_url: ep.admin_url.clone(),
        username: c["username"]
            .as_str()
            .or_else(|| c["cognito:username"].as_str())
            .map(str::to_string),
        groups: groups(&c),
        access_token: tokens.access_token,
        id_token: tokens.id_token,
        refresh_token: tokens.refresh_token,
        expires_at: now + chrono::Duration::seconds(expires_in),
        issuer: ep.issuer.clone().or_else(|| c["iss"].as_str().map(str::to_string)),
        client_id: ep.client_id.clone(),
        cognito_url: ep.cognito_url.clone(),
    }
}

/// A fresh access token for `session`: refreshed (and stored) when it is
/// about to expire.
pub async fn fresh_token(store: &TokenStore, session: &Session) -> Result<String, LoginError> {
    let now = Utc::now();
    match session.freshness(now) {
        Freshness::Fresh => Ok(session.access_token.clone()),
        Freshness::Expired => Err(LoginError::Usage(format!(
            "the session for {} expired at {}: run `zb login` again",
            session.admin_url,
            session.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))),
        Freshness::Refresh => {
            let refresh = session.refresh_token.clone().unwrap_or_default();
            let tokens = initiate_auth(
                &session.cognito_url,
                &session.client_id,
                "REFRESH_TOKEN_AUTH",
                json!({"REFRESH_TOKEN": refresh}),
            )
            .await
            .map_err(|e| match e {
                LoginError::Refused { code, message } => LoginError::Usage(format!(
                    "refreshing the session for {} failed ({code}: {message}): run `zb login` again",
                    session.admin_url
                )),
                other => other,
            })?;
            let mut file = store.load()?;
            let mut updated = session.clone();
            updated.access_token = tokens.access_token.clone();
            if tokens.id_token.is_some() {
                updated.id_token = tokens.id_token;
            }
            // REFRESH_TOKEN_AUTH answers without a new refresh token (unless rotation is on).
            if tokens.refresh_token.is_some() {
                updated.refresh_token = tokens.refresh_token;
            }
            let expires_in = i64::try_from(tokens.expires_in).unwrap_or(3600);
            updated.expires_at = now + chrono::Duration::seconds(expires_in);
            file.sessions.insert(updated.admin_url.clone(), updated);
            store.save(&file)?;
            Ok(tokens.access_token)
        }
    }
}

// ---------------------------------------------------------------------------
// PKCE and the browser flow
// ---------------------------------------------------------------------------

fn random_b64(bytes: usize) -> Result<String, LoginError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| LoginError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// RFC 7636 §4.2, S256: BASE64URL(SHA256(ASCII(code_verifier))).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The hosted UI's authorize URL, with PKCE and the state.
pub fn authorize_url(
    hosted_ui: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
) -> Result<String, LoginError> {
    url::Url::parse_with_params(
        &format!("{}/oauth2/authorize", normalize_url(hosted_ui)),
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", SCOPES),
            ("state", state),
            ("code_challenge_method", "S256"),
            ("code_challenge", challenge),
        ],
    )
    .map(String::from)
    .map_err(|e| LoginError::Usage(format!("--hosted-ui {hosted_ui:?} is not a URL: {e}")))
}

/// What the redirect to the loopback carried.
#[derive(Debug, PartialEq, Eq)]
pub enum Callback {
    Code(String),
    /// `error` and `error_description` from the authorization server.
    Denied(String),
    /// Another path (a favicon request): answered 404 and waited past.
    Other,
}

/// The request line's target (`/callback?code=..&state=..`), checked
/// against the state sent (RFC 6749 §10.12).
pub fn parse_callback(target: &str, path: &str, state: &str) -> Result<Callback, LoginError> {
    let parsed = url::Url::parse(&format!("http://localhost{target}"))
        .map_err(|e| LoginError::Browser(format!("unreadable redirect {target:?}: {e}")))?;
    if parsed.path() != path {
        return Ok(Callback::Other);
    }
    let q: BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
    if q.get("state").map(String::as_str) != Some(state) {
        return Err(LoginError::Browser(
            "the redirect's state does not match the one sent (another sign-in in the same browser?)".into(),
        ));
    }
    if let Some(e) = q.get("error") {
        return Ok(Callback::Denied(match q.get("error_description") {
            Some(d) => format!("{e}: {d}"),
            None => e.clone(),
        }));
    }
    q.get("code")
        .cloned()
        .map(Callback::Code)
        .ok_or_else(|| LoginError::Browser("the redirect carries neither a code nor an error".into()))
}

async fn read_request_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

async fn answer(stream: &mut tokio::net::TcpStream, status: &str, text: &str) {
    use tokio::io::AsyncWriteExt;
    let body = format!("<!doctype html><title>zb login</title><p>{text}</p>");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Waits on the loopback listeners for the redirect; returns the code.
async fn wait_for_code(listeners: Vec<tokio::net::TcpListener>, path: &str, state: &str) -> Result<String, LoginError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let mut tasks = Vec::new();
    for l in listeners {
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                if tx.send(stream).await.is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let outcome = tokio::time::timeout(BROWSER_WAIT, async {
        while let Some(mut stream) = rx.recv().await {
            let Some(target) = read_request_target(&mut stream).await else {
                continue;
            };
            match parse_callback(&target, path, state) {
                Ok(Callback::Code(code)) => {
                    answer(
                        &mut stream,
                        "200 OK",
                        "Signed in: you can close this tab and go back to zb.",
                    )
                    .await;
                    return Ok(code);
                }
                Ok(Callback::Denied(why)) => {
                    answer(&mut stream, "400 Bad Request", "Sign-in refused; see zb for why.").await;
                    return Err(LoginError::Browser(why));
                }
                Ok(Callback::Other) => answer(&mut stream, "404 Not Found", "Not found.").await,
                Err(e) => {
                    answer(&mut stream, "400 Bad Request", "Sign-in failed; see zb for why.").await;
                    return Err(e);
                }
            }
        }
        Err(LoginError::Browser("the loopback listener stopped".into()))
    })
    .await;
    for t in tasks {
        t.abort();
    }
    outcome.unwrap_or_else(|_| {
        Err(LoginError::Browser(format!(
            "no redirect within {} s; run `zb login` again",
            BROWSER_WAIT.as_secs()
        )))
    })
}

/// The token endpoint's answer to the code (RFC 6749 §4.1.3, with the PKCE verifier).
async fn exchange_code(
    hosted_ui: &str,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Tokens, LoginError> {
    let url = format!("{}/oauth2/token", normalize_url(hosted_ui));
    let response = http()
        .post(&url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(|e| unreachable(&url, &e))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(LoginError::Browser(format!(
            "the token endpoint answered HTTP {status}: {}",
            answer["error"].as_str().unwrap_or("(no error code)")
        )));
    }
    let access_token = answer["access_token"]
        .as_str()
        .ok_or_else(|| LoginError::Browser("the token endpoint's answer has no access_token".into()))?;
    Ok(Tokens {
        access_token: access_token.to_string(),
        id_token: answer["id_token"].as_str().map(str::to_string),
        refresh_token: answer["refresh_token"].as_str().map(str::to_string),
        expires_in: answer["expires_in"].as_u64().unwrap_or(3600),
    })
}

/// Binds the redirect's port on the loopback addresses: `localhost` may
/// resolve to 127.0.0.1 or ::1 in the browser (RFC 8252 §7.3, §8.3).
async fn loopback_listeners(port: u16) -> Result<Vec<tokio::net::TcpListener>, LoginError> {
    let mut listeners = Vec::new();
    let mut last = None;
    for addr in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => listeners.push(l),
            Err(e) => last = Some(format!("{addr}: {e}")),
        }
    }
    if listeners.is_empty() {
        return Err(LoginError::Browser(format!(
            "cannot listen for the redirect on port {port} ({}); is another `zb login` running?",
            last.unwrap_or_default()
        )));
    }
    Ok(listeners)
}

/// Opens the URL with $BROWSER when set (the convention xdg-open and
/// Python's webbrowser follow: a program that takes the URL as its argument;
/// zb's tests set it to a fake browser), else `open` (macOS) or `xdg-open`.
fn open_browser(url: &str) {
    let opener =
        env("BROWSER").unwrap_or_else(|| if cfg!(target_os = "macos") { "open" } else { "xdg-open" }.to_string());
    let _ = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

async fn browser_flow(ep: &Endpoints, hosted_ui: &str, args: &LoginArgs) -> Result<Tokens, LoginError> {
    let callback = url::Url::parse(&args.callback_url)
        .map_err(|e| LoginError::Usage(format!("--callback-url {:?}: {e}", args.callback_url)))?;
    let loopback = matches!(callback.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let port = callback
        .port()
        .filter(|_| callback.scheme() == "http" && loopback)
        .ok_or_else(|| {
            LoginError::Usage(format!(
                "--callback-url {} must be http://localhost:<port>/<path> (a loopback redirect)",
                args.callback_url
            ))
        })?;
    let listeners = loopback_listeners(port).await?;
    let verifier = random_b64(32)?;
    let state = random_b64(16)?;
    let url = authorize_url(
        hosted_ui,
        &ep.client_id,
        &args.callback_url,
        &state,
        &pkce_challenge(&verifier),
    )?;
    eprintln!("Sign in in your browser; if none opens, open:\n  {url}");
    if !args.no_browser {
        open_browser(&url);
    }
    let code = wait_for_code(listeners, callback.path(), &state).await?;
    exchange_code(hosted_ui, &ep.client_id, &code, &args.callback_url, &verifier).await
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

#[derive(Debug, Args)]
#[command(after_help = "\
Locally, `zb login --username admin` signs in to the local cloud found in .state/endpoints.json \
(seeded users: admin, ops, finance, nobody; local/seed/operators.json has their local-only passwords). Scripts: \
`printf %s \"$PASSWORD\" | zb login --username admin --password-stdin`.

On AWS pass the stack outputs: --admin-url (AdminApiUrl), --client-id (UserPoolClientId) and \
--user-pool-id (UserPoolId) or --region. The browser flow (--hosted-ui https://<domain>.auth.<region>.amazoncognito.com) \
uses authorization code + PKCE with the redirect http://localhost:8976/callback (the browser is $BROWSER if set). \
Locally, `zb login` without --username signs in through the local Cognito's hosted UI (endpoints.json's hostedUi), \
which emulates Cognito's /oauth2/authorize, /login and /oauth2/token; zb's tests run it with a fake browser, not \
against AWS's hosted UI.")]
pub struct LoginArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Sign in with this user's password (Cognito USER_PASSWORD_AUTH)
    #[arg(long, short = 'u')]
    pub username: Option<String>,
    /// Read the password from stdin (one line) instead of prompting
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// The app client (stack output UserPoolClientId) [default: the local cloud's]
    #[arg(long, env = "ZB_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// The user pool (stack output UserPoolId): gives the region and the issuer
    #[arg(long, value_name = "ID")]
    pub user_pool_id: Option<String>,
    /// Where InitiateAuth goes [default: the local Cognito, or https://cognito-idp.<region>.amazonaws.com/]
    #[arg(long, value_name = "URL")]
    pub cognito_url: Option<String>,
    /// Sign in through the hosted UI in a browser, e.g. https://zb-prod-123456789012.auth.eu-west-1.amazoncognito.com [default locally: the local Cognito's]
    #[arg(long, value_name = "URL", conflicts_with = "username")]
    pub hosted_ui: Option<String>,
    /// The redirect URI registered on the app client (template parameter ConsoleCallbackUrl)
    #[arg(long, value_name = "URL", default_value = DEFAULT_CALLBACK)]
    pub callback_url: String,
    /// Print the sign-in URL without opening a browser
    #[arg(long)]
    pub no_browser: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Forget every admin API's tokens
    #[arg(long)]
    pub all: bool,
}

fn read_password(args: &LoginArgs, username: &str) -> Result<String, LoginError> {
    if args.password_stdin {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| LoginError::Usage(format!("reading the password from stdin: {e}")))?;
        // One line: `echo pw |` adds a newline that is not part of it.
        let line = text.lines().next().unwrap_or_default().to_string();
        if line.is_empty() {
            return Err(LoginError::Usage("stdin held no password".into()));
        }
        return Ok(line);
    }
    if !std::io::stdin().is_terminal() {
        return Err(LoginError::Usage(
            "no terminal to ask for the password on: pass --password-stdin".into(),
        ));
    }
    eprint!("Password for {username}: ");
    let _ = std::io::stderr().flush();
    let echo_off = stty(&["-echo"]);
    let mut line = String::new();
    let read = std::io::stdin().read_line(&mut line);
    if echo_off {
        stty(&["echo"]);
        eprintln!();
    }
    read.map_err(|e| LoginError::Usage(format!("reading the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Terminal echo on or off, through stty (no extra dependency for one prompt).
fn stty(args: &[&str]) -> bool {
    std::process::Command::new("stty")
        .args(args)
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

pub async fn login(args: LoginArgs, local: bool, region: Option<&str>, output: Output) -> Result<(), LoginError> {
    let ep = endpoints(&args, local, region)?;
    let tokens = match (&args.username, &args.hosted_ui) {
        (Some(user), _) => {
            let password = read_password(&args, user)?;
            initiate_auth(
                &ep.cognito_url,
                &ep.client_id,
                "USER_PASSWORD_AUTH",
                json!({"USERNAME": user, "PASSWORD": password}),
            )
            .await?
        }
        (None, Some(hosted)) => browser_flow(&ep, hosted, &args).await?,
        // Locally, the local Cognito's hosted UI (endpoints.json's hostedUi).
        (None, None) if ep.hosted_ui.is_some() => {
            let hosted = ep.hosted_ui.clone().unwrap_or_default();
            browser_flow(&ep, &hosted, &args).await?
        }
        (None, None) if ep.local => {
            return Err(LoginError::Usage(
                "pass --username, e.g. `zb login --username admin` (this local cloud's endpoints.json names no \
                 hosted UI: restart it to sign in in a browser)"
                    .into(),
            ))
        }
        (None, None) => return Err(LoginError::Usage(
            "pass --username, or --hosted-ui https://<domain>.auth.<region>.amazoncognito.com to sign in in a browser"
                .into(),
        )),
    };
    let session = session_from(&ep, tokens, Utc::now());
    let store = TokenStore::open()?;
    let mut file = store.load()?;
    file.current = Some(session.admin_url.clone());
    file.sessions.insert(session.admin_url.clone(), session.clone());
    store.save(&file)?;
    let summary = json!({
        "adminUrl": session.admin_url,
        "username": session.username,
        "groups": session.groups,
        "expiresAt": session.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Output::Table => eprintln!(
            "Signed in to {} as {} (groups: {}); the token is refreshed as needed until the session ends. \
             Kept in {}.",
            session.admin_url,
            session.username.as_deref().unwrap_or("?"),
            if session.groups.is_empty() {
                "none: the admin API will refuse every route".to_string()
            } else {
                session.groups.join(", ")
            },
            store.path.display()
        ),
    }
    Ok(())
}

pub fn logout(args: LogoutArgs, local: bool) -> Result<(), LoginError> {
    let store = TokenStore::open()?;
    let mut file = store.load()?;
    if args.all {
        let n = file.sessions.len();
        store.save(&StoreFile::default())?;
        eprintln!("Forgot the tokens of {n} admin API(s).");
        return Ok(());
    }
    let url = admin_api::resolve_admin_url(&args.api, local, &file)?;
    if file.sessions.remove(&url).is_none() {
        eprintln!("Not signed in to {url}; nothing to forget.");
        return Ok(());
    }
    if file.current.as_deref() == Some(url.as_str()) {
        file.current = file.sessions.keys().next().cloned();
    }
    store.save(&file)?;
    eprintln!(
        "Forgot the tokens for {url} on this machine (a refresh token already copied elsewhere stays valid until it expires)."
    );
    Ok(())
}

pub async fn whoami(api: &ApiArgs, local: bool, output: Output) -> Result<(), ApiError> {
    let client = admin_api::AdminClient::connect(api, local).await?;
    let me = client.get("/v1/admin/me", &[]).await?;
    admin_api::print_object(output, &me)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires_at: DateTime<Utc>, refresh: bool) -> Session {
        Session {
            admin_url: "http://127.0.0.1:3001".into(),
            access_token: "a".into(),
            id_token: Some("i".into()),
            refresh_token: refresh.then(|| "r".to_string()),
            expires_at,
            issuer: None,
            client_id: "c".into(),
            cognito_url: "http://127.0.0.1:9229".into(),
            username: Some("admin".into()),
            groups: vec!["admin".into()],
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zb-login-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        // https://www.rfc-editor.org/rfc/rfc7636#appendix-B
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        // A verifier of 32 random bytes is 43 characters of the unreserved set (§4.1).
        let v = random_b64(32).unwrap_or_default();
        assert_eq!(v.len(), 43);
        assert!(
            v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{v}"
        );
        assert_ne!(v, random_b64(32).unwrap_or_default());
    }

    #[test]
    fn the_authorize_url_carries_pkce_and_the_admin_scope() {
        let u = authorize_url(
            "https://zb-1.auth.eu-west-1.amazoncognito.com/",
            "client1",
            DEFAULT_CALLBACK,
            "st",
            "ch",
        )
        .unwrap_or_default();
        assert!(u.starts_with("https://zb-1.auth.eu-west-1.amazoncognito.com/oauth2/authorize?response_type=code&client_id=client1&redirect_uri=http%3A%2F%2Flocalhost%3A8976%2Fcallback"), "{u}");
        assert!(u.contains("code_challenge_method=S256&code_challenge=ch"), "{u}");
        assert!(u.contains("aws.cognito.signin.user.admin"), "{u}");
    }

    #[test]
    fn the_callback_is_checked_against_the_state() {
        assert_eq!(
            parse_callback("/callback?code=abc&state=s1", "/callback", "s1").ok(),
            Some(Callback::Code("abc".into()))
        );
        assert_eq!(
            parse_callback("/favicon.ico", "/callback", "s1").ok(),
            Some(Callback::Other)
        );
        assert_eq!(
            parse_callback(
                "/callback?error=access_denied&error_description=no+way&state=s1",
                "/callback",
                "s1"
            )
            .ok(),
            Some(Callback::Denied("access_denied: no way".into()))
        );
        assert!(parse_callback("/callback?code=abc&state=other", "/callback", "s1").is_err());
        assert!(parse_callback("/callback?code=abc", "/callback", "s1").is_err());
    }

    /// The loopback side of the browser flow: a favicon request is waited
    /// past, the redirect's code is taken, the browser gets a page to close.
    #[tokio::test]
    async fn the_loopback_redirect_yields_the_code() {
        let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
            panic!("bind")
        };
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let browser = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let base = format!("http://127.0.0.1:{port}");
            let favicon = http
                .get(format!("{base}/favicon.ico"))
                .send()
                .await
                .map(|r| r.status().as_u16());
            let page = http
                .get(format!("{base}/callback?code=the-code&state=st"))
                .send()
                .await
                .map(|r| r.status().as_u16());
            (favicon.ok(), page.ok())
        });
        let code = wait_for_code(vec![listener], "/callback", "st").await.ok();
        assert_eq!(code.as_deref(), Some("the-code"));
        assert_eq!(browser.await.ok(), Some((Some(404), Some(200))));
    }

    #[test]
    fn refresh_is_decided_by_expiry_with_a_margin() {
        let now = Utc::now();
        assert_eq!(
            session(now + chrono::Duration::minutes(30), true).freshness(now),
            Freshness::Fresh
        );
        // Within the margin: refreshed before the authorizer would refuse it in flight.
        assert_eq!(
            session(now + chrono::Duration::seconds(30), true).freshness(now),
            Freshness::Refresh
        );
        assert_eq!(
            session(now - chrono::Duration::hours(1), true).freshness(now),
            Freshness::Refresh
        );
        assert_eq!(
            session(now - chrono::Duration::hours(1), false).freshness(now),
            Freshness::Expired
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_store_is_private_and_keyed_by_admin_url() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("store").join("nested");
        let store = TokenStore::at(&dir);
        assert!(store.load().map(|f| f.sessions.is_empty()).unwrap_or(false));
        let mut file = StoreFile::default();
        // Whole milliseconds: what the file keeps.
        let at = zb_shared::time::parse_rfc3339("2026-03-01T10:00:00.123Z").unwrap_or_default();
        let s = session(at, true);
        file.current = Some(s.admin_url.clone());
        file.sessions.insert(s.admin_url.clone(), s.clone());
        let mut other = s.clone();
        other.admin_url = "https://x.execute-api.eu-west-1.amazonaws.com".into();
        other.access_token = "b".into();
        file.sessions.insert(other.admin_url.clone(), other);
        assert!(store.save(&file).is_ok());
        let mode = std::fs::metadata(&store.path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(&dir)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(dir_mode, 0o700);
        // A second save over a file made readable by someone keeps it private.
        let _ = std::fs::set_permissions(&store.path, std::fs::Permissions::from_mode(0o644));
        assert!(store.save(&file).is_ok());
        let mode = std::fs::metadata(&store.path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
        let back = store.load().unwrap_or_default();
        assert_eq!(back.current.as_deref(), Some("http://127.0.0.1:3001"));
        assert_eq!(back.sessions.len(), 2);
        assert!(back.sessions["http://127.0.0.1:3001"] == s);
        assert_eq!(
            back.sessions["https://x.execute-api.eu-west-1.amazonaws.com"].access_token,
            "b"
        );
        let _ = std::fs::remove_dir_all(dir.parent().unwrap_or(&dir));
    }

    #[test]
    fn endpoints_json_is_read_as_the_local_cloud_writes_it() {
        let dir = scratch("endpoints");
        assert!(matches!(LocalEndpoints::read(&dir), Ok(None)));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(
            dir.join("endpoints.json"),
            r#"{"api":"http://127.0.0.1:3000","adminApi":"http://127.0.0.1:3001/","aws":"http://127.0.0.1:4000",
                "cognito":"http://127.0.0.1:9229","userPoolId":"us-east-1_abcdefghi","clientId":"abcdefghijklmnopqrstuvwxyz",
                "issuer":"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abcdefghi"}"#,
        );
        let args = LoginArgs {
            api: ApiArgs {
                admin_url: None,
                state_dir: Some(dir.clone()),
            },
            username: Some("admin".into()),
            password_stdin: true,
            client_id: None,
            user_pool_id: None,
            cognito_url: None,
            hosted_ui: None,
            callback_url: DEFAULT_CALLBACK.into(),
            no_browser: false,
        };
        let ep = endpoints(&args, false, None).ok();
        assert_eq!(
            ep,
            Some(Endpoints {
                admin_url: "http://127.0.0.1:3001".into(),
                cognito_url: "http://127.0.0.1:9229".into(),
                client_id: "abcdefghijklmnopqrstuvwxyz".into(),
                issuer: Some("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abcdefghi".into()),
                hosted_ui: None,
                local: true,
            })
        );
        let _ = std::fs::write(dir.join("endpoints.json"), "{\"api\": 1}");
        let e = endpoints(&args, false, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("endpoints.json") && e.contains("not the local cloud's endpoints file"),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn aws_endpoints_come_from_the_stack_outputs() {
        let args = LoginArgs {
            api: ApiArgs {
                admin_url: Some("https://abc.execute-api.eu-west-1.amazonaws.com/".into()),
                state_dir: Some(scratch("aws")),
            },
            username: None,
            password_stdin: false,
            client_id: Some("client1".into()),
            user_pool_id: Some("eu-west-1_AbC".into()),
            cognito_url: None,
            hosted_ui: None,
            callback_url: DEFAULT_CALLBACK.into(),
            no_browser: false,
        };
        let ep = endpoints(&args, false, None).ok();
        assert_eq!(
            ep.as_ref()
                .map(|e| (e.admin_url.as_str(), e.cognito_url.as_str(), e.issuer.as_deref())),
            Some((
                "https://abc.execute-api.eu-west-1.amazonaws.com",
                "https://cognito-idp.eu-west-1.amazonaws.com/",
                Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC")
            ))
        );
        // Without the pool id, the admin URL's host names the region.
        assert_eq!(
            region_from(None, "https://abc.execute-api.us-west-2.amazonaws.com/"),
            Some("us-west-2".into())
        );
        assert_eq!(region_from(None, "http://127.0.0.1:3001"), None);
        let no_client = LoginArgs {
            client_id: None,
            ..args
        };
        let e = endpoints(&no_client, false, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("--client-id"), "{e}");
    }

    #[test]
    fn cognito_errors_read_as_cognito_wrote_them() {
        let e = cognito_error(
            400,
            &json!({"__type": "com.amazonaws.cognito#NotAuthorizedException", "message": "Incorrect username or password."}),
            "",
        );
        assert_eq!(
            e.to_string(),
            "Cognito refused: NotAuthorizedException: Incorrect username or password."
        );
        let e = cognito_error(502, &Value::Null, "<html>bad gateway</html>\nmore");
        assert_eq!(e.to_string(), "Cognito answered HTTP 502: <html>bad gateway</html>");
    }

    #[test]
    fn groups_come_from_the_token_or_api_gateways_string() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"username":"ops","cognito:groups":["ops","finance"]}"#);
        let c = claims(&format!("h.{payload}.s"));
        assert_eq!(groups(&c), vec!["ops", "finance"]);
        assert_eq!(c["username"], "ops");
        assert_eq!(groups(&json!({"cognito:groups": "[admin ops]"})), vec!["admin", "ops"]);
        assert!(groups(&claims("not-a-jwt")).is_empty());
    }
}
