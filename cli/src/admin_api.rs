//! The admin API's HTTP client: finds the API (flag, the local cloud's
//! endpoints.json, or the last `zb login`), sends the stored access token
//! as a bearer token (refreshed when due), follows `nextCursor` pages, and
//! turns RFC 9457 problems into messages an operator can act on. Also the
//! plain table/JSON output of what it returns.

use crate::login::{self, LocalEndpoints, LoginError, StoreFile, TokenStore};
use crate::render::Output;
use clap::Args;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// Where the admin API is: shared by every command that calls it.
#[derive(Debug, Clone, Default, Args)]
pub struct ApiArgs {
    /// The admin API's base URL (stack output AdminApiUrl)
    /// [default: with --local the local cloud's, from <state dir>/endpoints.json; else the last `zb login`'s]
    #[arg(long, global = true, env = "ZB_ADMIN_URL", value_name = "URL")]
    pub admin_url: Option<String>,
    /// The local cloud's state folder, which holds endpoints.json [default: .state]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl ApiArgs {
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(|| PathBuf::from(".state"))
    }
}

/// Paging of a list route: `--max` items at most (pages of up to 100), from `--cursor`.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// Show at most this many
    #[arg(long, default_value_t = 100, value_parser = crate::local::parse_at_least_one, conflicts_with = "all")]
    pub max: usize,
    /// Every item, however many pages that takes
    #[arg(long)]
    pub all: bool,
    /// Continue a listing where an earlier one stopped (the cursor it printed)
    #[arg(long)]
    pub cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Login(Box<LoginError>),
    #[error("cannot reach the admin API at {url}: {reason}{hint}")]
    Unreachable {
        url: String,
        reason: String,
        hint: &'static str,
    },
    #[error("{}", render_problem(.request, .problem))]
    Problem { request: String, problem: Box<Problem> },
    #[error(
        "the admin API refused the token ({request}: 401 Unauthorized): it expired or was revoked; sign in again with `zb login`"
    )]
    Unauthorized { request: String },
    #[error("{request} answered HTTP {status}: {body}")]
    Http { request: String, status: u16, body: String },
    #[error("writing the output: {0}")]
    Output(#[from] serde_json::Error),
    #[error("{path}: {detail}")]
    File { path: String, detail: String },
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::Api(a) => a,
            other => ApiError::Login(Box::new(other)),
        }
    }
}

/// An RFC 9457 problem as the admin API sends it; every member optional,
/// so a problem from a proxy in between still reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Problem {
    #[serde(rename = "type", default)]
    pub type_uri: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub errors: Vec<zb_shared::problem::FieldError>,
    #[serde(rename = "requestId", default)]
    pub request_id: Option<String>,
}

/// `POST /v1/admin/partners: 400 Bad Request: the body is invalid` and one
/// indented line per field at fault, then the request id to quote.
pub fn render_problem(request: &str, p: &Problem) -> String {
    let mut out = format!("{request}: {}", p.status.map(|s| s.to_string()).unwrap_or_default());
    if let Some(t) = &p.title {
        out.push_str(&format!(" {t}"));
    }
    if let Some(d) = p.detail.as_deref().filter(|d| !d.is_empty()) {
        out.push_str(&format!(": {d}"));
    }
    for e in &p.errors {
        let place = match (&e.pointer, &e.header, &e.parameter) {
            (Some(ptr), _, _) if ptr.is_empty() => "body".to_string(),
            (Some(ptr), _, _) => format!("body {ptr}"),
            (_, Some(h), _) => format!("header {h}"),
            (_, _, Some(q)) => format!("parameter {q}"),
            _ => "request".to_string(),
        };
        out.push_str(&format!("\n  {place}: {}", e.detail));
    }
    let slug = p
        .type_uri
        .as_deref()
        .filter(|t| *t != "about:blank")
        .map(|t| t.rsplit('/').next().unwrap_or(t));
    match (slug, &p.request_id) {
        (Some(s), Some(id)) => out.push_str(&format!("\n  (problem {s}, request id {id})")),
        (Some(s), None) => out.push_str(&format!("\n  (problem {s})")),
        (None, Some(id)) => out.push_str(&format!("\n  (request id {id})")),
        (None, None) => {}
    }
    out
}

/// The first line of a message, at most 300 characters.
pub fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > 300 {
        format!("{}…", line.chars().take(300).collect::<String>())
    } else {
        line.to_string()
    }
}

/// "connection refused" rather than reqwest's "error sending request".
pub fn reqwest_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_string();
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut last = e.to_string();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                _ => io.to_string(),
            };
        }
        last = err.to_string();
        cur = err.source();
    }
    if last.to_ascii_lowercase().contains("connection refused") {
        "connection refused".to_string()
    } else {
        last
    }
}

/// A path segment, percent-encoded (RFC 3986 §3.3: unreserved, `@` and `:` stay).
pub fn seg(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Which admin API a command calls: `--admin-url`, else with `--local` the
/// local cloud's, else the last one signed in to.
pub fn resolve_admin_url(args: &ApiArgs, local: bool, store: &StoreFile) -> Result<String, ApiError> {
    if let Some(u) = &args.admin_url {
        return Ok(login::normalize_url(u));
    }
    if local {
        let dir = args.state_dir();
        return match LocalEndpoints::read(&dir)? {
            Some(e) => Ok(login::normalize_url(&e.admin_api)),
            None => Err(ApiError::Usage(format!(
                "{} does not exist: is the local cloud running (`make run`)? Or pass --state-dir",
                LocalEndpoints::path(&dir).display()
            ))),
        };
    }
    match (&store.current, store.sessions.len()) {
        (Some(c), _) => Ok(c.clone()),
        (None, 1) => Ok(store.sessions.keys().next().cloned().unwrap_or_default()),
        _ => Err(ApiError::Usage(
            "not signed in: run `zb login` (locally `zb login --username admin`), or name the API with --admin-url"
                .into(),
        )),
    }
}

/// One page of a list route and where the next one starts.
pub struct Page {
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

pub struct AdminClient {
    http: reqwest::Client,
    pub base: String,
    token: String,
}

impl AdminClient {
    /// The admin API with a fresh token. ZB_ACCESS_TOKEN, when set, is sent
    /// as it is (a token obtained elsewhere, e.g. in CI).
    pub async fn connect(args: &ApiArgs, local: bool) -> Result<AdminClient, ApiError> {
        let store = TokenStore::open()?;
        let file = store.load()?;
        let base = resolve_admin_url(args, local, &file)?;
        let token = match std::env::var("ZB_ACCESS_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            Some(t) => t,
            None => {
                let session = file.sessions.get(&base).ok_or_else(|| {
                    ApiError::Usage(format!(
                        "not signed in to {base}: run `zb login`{}",
                        if local { " --username admin" } else { "" }
                    ))
                })?;
                login::fresh_token(&store, session).await?
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ApiError::Usage(format!("cannot set up HTTPS: {e}")))?;
        Ok(AdminClient { http, base, token })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        self.send(reqwest::Method::GET, path, query, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(reqwest::Method::POST, path, &[], Some(body)).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let request = format!("{method} {path}");
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .header("Accept", "application/json, application/problem+json")
            .query(query);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let response = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| self.unreachable(&e))?;
        interpret(&request, status, &text)
    }

    fn unreachable(&self, e: &reqwest::Error) -> ApiError {
        ApiError::Unreachable {
            url: self.base.clone(),
            reason: reqwest_reason(e),
            hint: if crate::aws::is_emulator_url(&self.base) {
                " (is `make run` running?)"
            } else {
                " (check the URL and your network)"
            },
        }
    }

    /// `{"items": [...], "nextCursor": ...}` pages until `page.max` items
    /// (or all of them with `--all`).
    pub async fn list(&self, path: &str, query: &[(&str, String)], page: &PageArgs) -> Result<Page, ApiError> {
        let mut items = Vec::new();
        let mut cursor = page.cursor.clone();
        loop {
            let want = if page.all {
                100
            } else {
                (page.max - items.len()).min(100)
            };
            let mut q: Vec<(&str, String)> = query.to_vec();
            q.push(("limit", want.to_string()));
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let answer = self.get(path, &q).await?;
            // A bare array (a route that does not page) is one whole page.
            let got = match &answer {
                Value::Array(a) => a.clone(),
                _ => answer["items"].as_array().cloned().ok_or_else(|| ApiError::Http {
                    request: format!("GET {path}"),
                    status: 200,
                    body: "an answer without an items array".into(),
                })?,
            };
            items.extend(got);
            cursor = answer["nextCursor"].as_str().map(str::to_string);
            if cursor.is_none() || (!page.all && items.len() >= page.max) {
                break;
            }
        }
        Ok(Page {
            items,
            next_cursor: cursor,
        })
    }

    /// A `list` command: the pages of `path`, printed as `columns` (or
    /// JSON), then how to get the rest when they stopped early.
    pub async fn print_list(
        &self,
        output: Output,
        path: &str,
        query: &[(&str, String)],
        page: &PageArgs,
        columns: &[Column],
    ) -> Result<(), ApiError> {
        let page = self.list(path, query, page).await?;
        print_list(output, &page.items, columns)?;
        note_more(&page);
        Ok(())
    }
}

/// A response as the caller should see it: the JSON of a 2xx, else an error.
pub fn interpret(request: &str, status: u16, text: &str) -> Result<Value, ApiError> {
    let json: Option<Value> = serde_json::from_str(text).ok();
    if (200..300).contains(&status) {
        return match json {
            Some(v) => Ok(v),
            None if text.trim().is_empty() => Ok(Value::Null),
            None => Err(ApiError::Http {
                request: request.to_string(),
                status,
                body: format!("not JSON: {}", one_line(text)),
            }),
        };
    }
    // A problem has at least a title or a type; API Gateway's own refusals are {"message": ...}.
    if let Some(v) = json
        .as_ref()
        .filter(|v| v.get("title").is_some() || v.get("type").is_some())
    {
        if let Ok(mut p) = serde_json::from_value::<Problem>(v.clone()) {
            p.status = p.status.or(Some(status));
            return Err(ApiError::Problem {
                request: request.to_string(),
                problem: Box::new(p),
            });
        }
    }
    if status == 401 {
        return Err(ApiError::Unauthorized {
            request: request.to_string(),
        });
    }
    let body = json
        .as_ref()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| one_line(text));
    Err(ApiError::Http {
        request: request.to_string(),
        status,
        body: if body.is_empty() { "(empty body)".into() } else { body },
    })
}

/// After a page that stopped early: how to get the rest (stderr, so stdout stays data).
pub fn note_more(page: &Page) {
    if let Some(c) = &page.next_cursor {
        eprintln!("zb: {} shown; more with --cursor {c} (or --all)", page.items.len());
    }
}

/// A column: its header and a JSON Pointer into each item.
pub type Column = (&'static str, &'static str);

/// An item's cell: strings as they are, missing or null as `-`, the rest as compact JSON.
pub fn cell(item: &Value, pointer: &str) -> String {
    match item.pointer(pointer) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")
        }
        Some(v) => v.to_string(),
    }
}

/// A table of `items` (the last column unpadded), or their JSON array.
pub fn render_list(output: Output, items: &[Value], columns: &[Column]) -> Result<String, ApiError> {
    if output == Output::Json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(items)?));
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| columns.iter().map(|(_, p)| cell(i, p)).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(n, (h, _))| {
            rows.iter()
                .map(|r| r[n].chars().count())
                .chain([h.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut s = String::new();
        for (n, c) in cells.into_iter().enumerate() {
            if n == last {
                s.push_str(&c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[n]));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(columns.iter().map(|(h, _)| h.to_string()).collect());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    Ok(out)
}

pub fn print_list(output: Output, items: &[Value], columns: &[Column]) -> Result<(), ApiError> {
    print!("{}", render_list(output, items, columns)?);
    Ok(())
}

/// One object: `key  value` lines (nested values as compact JSON), or its JSON.
pub fn render_object(output: Output, v: &Value) -> Result<String, ApiError> {
    match (output, v) {
        (Output::Table, Value::Object(map)) => {
            let w = map.keys().map(|k| k.chars().count()).max().unwrap_or(0);
            Ok(map
                .iter()
                .map(|(k, val)| {
                    let text = match val {
                        Value::String(s) => s.clone(),
                        Value::Null => "-".to_string(),
                        other => other.to_string(),
                    };
                    format!("{k:<w$}  {text}\n")
                })
                .collect())
        }
        _ => Ok(format!("{}\n", serde_json::to_string_pretty(v)?)),
    }
}

pub fn print_object(output: Output, v: &Value) -> Result<(), ApiError> {
    print!("{}", render_object(output, v)?);
    Ok(())
}

/// `--from`/`--to` style filters: only those given.
pub fn query(pairs: &[(&'static str, Option<String>)]) -> Vec<(&'static str, String)> {
    pairs.iter().filter_map(|(k, v)| v.clone().map(|v| (*k, v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problems_name_the_request_the_status_and_each_field() {
        let body = json!({
            "type": "https://api.zerobeta.example/problems/bad-request",
            "title": "Bad Request",
            "status": 400,
            "detail": "the partner is invalid",
            "errors": [
                {"pointer": "/webhookUrl", "detail": "must be https to a public address"},
                {"parameter": "limit", "detail": "must be 1..100"}
            ],
            "requestId": "req-1"
        });
        let e = interpret("POST /v1/admin/partners", 400, &body.to_string()).err();
        assert_eq!(
            e.map(|e| e.to_string()).unwrap_or_default(),
            "POST /v1/admin/partners: 400 Bad Request: the partner is invalid\n  \
             body /webhookUrl: must be https to a public address\n  \
             parameter limit: must be 1..100\n  \
             (problem bad-request, request id req-1)"
        );
        let forbidden = json!({"type": "https://api.zerobeta.example/problems/forbidden", "title": "Forbidden",
            "detail": "partner.create needs the role admin; you have ops"});
        assert_eq!(
            interpret("POST /v1/admin/partners", 403, &forbidden.to_string())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default(),
            "POST /v1/admin/partners: 403 Forbidden: partner.create needs the role admin; you have ops\n  (problem forbidden)"
        );
    }

    #[test]
    fn api_gateways_own_refusals_read_plainly() {
        let e = interpret("GET /v1/admin/me", 401, r#"{"message":"Unauthorized"}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("401 Unauthorized") && e.contains("zb login"), "{e}");
        let e = interpret("GET /v1/admin/me", 502, "<html>\nBad Gateway</html>")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(e, "GET /v1/admin/me answered HTTP 502: <html>");
        assert_eq!(interpret("POST /x", 204, "").ok(), Some(Value::Null));
        assert_eq!(interpret("GET /x", 200, r#"{"a":1}"#).ok(), Some(json!({"a": 1})));
    }

    #[test]
    fn tables_pad_every_column_but_the_last() {
        let items = vec![
            json!({"partnerId": "partner-a", "status": "active", "webhookUrl": null}),
            json!({"partnerId": "b", "status": "disabled", "webhookUrl": "https://h.example/x", "n": 3}),
        ];
        let cols: &[Column] = &[
            ("PARTNER", "/partnerId"),
            ("STATUS", "/status"),
            ("WEBHOOK", "/webhookUrl"),
        ];
        assert_eq!(
            render_list(Output::Table, &items, cols).unwrap_or_default(),
            "PARTNER    STATUS    WEBHOOK\npartner-a  active    -\nb          disabled  https://h.example/x\n"
        );
        let json_out = render_list(Output::Json, &items, cols).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Value>(&json_out).ok(), Some(Value::Array(items)));
        assert_eq!(cell(&json!({"g": ["admin", "ops"]}), "/g"), "admin,ops");
        assert_eq!(cell(&json!({"o": {"a": 1}}), "/o"), r#"{"a":1}"#);
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("partner-a@1"), "partner-a@1");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn the_admin_url_is_the_flag_the_local_cloud_or_the_last_login() {
        let mut store = StoreFile::default();
        let none = ApiArgs::default();
        assert!(resolve_admin_url(&none, false, &store).is_err());
        let flag = ApiArgs {
            admin_url: Some("https://a.example/".into()),
            state_dir: None,
        };
        assert_eq!(
            resolve_admin_url(&flag, false, &store).ok().as_deref(),
            Some("https://a.example")
        );
        store.current = Some("http://127.0.0.1:3001".into());
        assert_eq!(
            resolve_admin_url(&none, false, &store).ok().as_deref(),
            Some("http://127.0.0.1:3001")
        );
        let missing = ApiArgs {
            admin_url: None,
            state_dir: Some(std::env::temp_dir().join("zb-no-such-state-dir")),
        };
        let e = resolve_admin_url(&missing, true, &store)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("endpoints.json") && e.contains("make run"), "{e}");
    }
}
