//! The console's hosting, standing in for CloudFront + S3 (ConsoleDistribution
//! in front of ConsoleBucket on AWS): `console/site/` served under `/console/`
//! on the partner API's port, merged into its router (the partner API's
//! routes are untouched: `/console...` is no API route).
//!
//! - `GET /console` → 301 to `/console/`; `GET /console/` → `index.html`;
//!   `GET /console/<path>` → `console/site/<path>`: no `..`, `.`, empty or
//!   backslashed segment and nothing outside the folder (symbolic links
//!   included), else 404. Only GET and HEAD, the methods the distribution
//!   allows: anything else is CloudFront's 403.
//! - `GET /console/config.json` is generated: where the admin API and the
//!   local Cognito's hosted UI are, the console's app client and its
//!   redirect URL (on AWS `make console-publish` writes the same shape from
//!   the stack's outputs, with `local: false`).
//! - Every answer carries the headers of the template's
//!   `ConsoleSecurityHeaders` (AWS::CloudFront::ResponseHeadersPolicy
//!   SecurityHeadersConfig and CustomHeadersConfig,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-cloudfront-responseheaderspolicy-securityheadersconfig.html>),
//!   with the CSP's `connect-src` and `form-action` naming the local admin
//!   API and Cognito instead of AWS's. Strict-Transport-Security is left
//!   out: browsers ignore it over plain HTTP (RFC 6797 §8.1), and locally
//!   there is no HTTPS. Without the policy in the template, the same
//!   headers from the defaults below.
//! - `Cache-Control: no-cache` on everything: index.html and config.json
//!   must never be stale, and locally the other files change under a
//!   developer's hands too.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The logical id of the response headers policy the console is served with.
pub const SECURITY_HEADERS_POLICY: &str = "ConsoleSecurityHeaders";

/// Where the console is served, under the partner API's URL.
pub const PREFIX: &str = "/console";

/// The scopes the console asks the hosted UI for.
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "aws.cognito.signin.user.admin"];

/// What config.json tells the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The admin API's base URL.
    pub admin_api: String,
    /// The local Cognito (its hosted UI is at its root).
    pub hosted_ui: String,
    /// The console's app client; None without a user pool.
    pub client_id: Option<String>,
    /// The console's own URL (`<partner API>/console/`): its redirect and
    /// sign-out URL.
    pub console_url: String,
}

impl Settings {
    /// The generated `/console/config.json`.
    pub fn config_json(&self) -> Json {
        json!({
            "adminApi": self.admin_api,
            "region": crate::template::REGION,
            "auth": {
                "hostedUi": self.hosted_ui,
                "clientId": self.client_id,
                "redirectUri": self.console_url,
                "logoutUri": self.console_url,
                "scopes": SCOPES,
            },
            "local": true,
        })
    }
}

/// The console's files and the headers every answer carries.
pub struct ConsoleSite {
    root: PathBuf,
    /// `host:port` of the console's URL: the one origin its app client's
    /// callback and the admin API's CORS name.
    own_host: String,
    config_json: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// `scheme://host[:port]` of a URL (what CSP source lists and CORS name).
fn origin(url: &str) -> String {
    reqwest::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|_| url.trim_end_matches('/').to_string())
}

/// The CSP the contract gives the console, for when the template has no policy.
fn default_csp() -> String {
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        .to_string()
}

/// The template's CSP with `connect-src` and `form-action` naming the local
/// admin API and Cognito (the template names the AWS ones, which a local
/// console never calls); the other directives as written.
pub fn local_csp(template_csp: &str, settings: &Settings) -> String {
    let admin = origin(&settings.admin_api);
    let cognito = origin(&settings.hosted_ui);
    let connect: Vec<&str> = ["'self'", admin.as_str(), cognito.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let form: Vec<&str> = ["'self'", cognito.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let mut seen_connect = false;
    let mut seen_form = false;
    let mut out: Vec<String> = Vec::new();
    for directive in template_csp.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let name = directive
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match name.as_str() {
            "connect-src" => {
                seen_connect = true;
                out.push(format!("connect-src {}", connect.join(" ")));
            }
            "form-action" => {
                seen_form = true;
                out.push(format!("form-action {}", form.join(" ")));
            }
            _ => out.push(directive.to_string()),
        }
    }
    if !seen_connect {
        out.push(format!("connect-src {}", connect.join(" ")));
    }
    if !seen_form {
        out.push(format!("form-action {}", form.join(" ")));
    }
    out.join("; ")
}

/// The response headers of a ResponseHeadersPolicyConfig (or the defaults),
/// for a local console.
pub fn security_headers(policy: Option<&Json>, settings: &Settings) -> Vec<(HeaderName, HeaderValue)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let security = policy.and_then(|p| p.get("SecurityHeadersConfig"));
    match security {
        None => {
            out.push(("content-security-policy".into(), local_csp(&default_csp(), settings)));
            out.push(("x-content-type-options".into(), "nosniff".into()));
            out.push(("x-frame-options".into(), "DENY".into()));
            out.push(("referrer-policy".into(), "strict-origin-when-cross-origin".into()));
        }
        Some(s) => {
            if let Some(csp) = s
                .pointer("/ContentSecurityPolicy/ContentSecurityPolicy")
                .and_then(Json::as_str)
            {
                out.push(("content-security-policy".into(), local_csp(csp, settings)));
            }
            if s.get("ContentTypeOptions").is_some() {
                out.push(("x-content-type-options".into(), "nosniff".into()));
            }
            if let Some(f) = s.pointer("/FrameOptions/FrameOption").and_then(Json::as_str) {
                out.push(("x-frame-options".into(), f.to_ascii_uppercase()));
            }
            if let Some(r) = s.pointer("/ReferrerPolicy/ReferrerPolicy").and_then(Json::as_str) {
                out.push(("referrer-policy".into(), r.to_string()));
            }
            if let Some(x) = s.get("XSSProtection") {
                let on = matches!(x.get("Protection"), Some(Json::Bool(true)))
                    || x.get("Protection").and_then(Json::as_str) == Some("true");
                let mut v = if on { "1".to_string() } else { "0".to_string() };
                if on && (x.get("ModeBlock") == Some(&Json::Bool(true)) || x.get("ModeBlock") == Some(&json!("true"))) {
                    v.push_str("; mode=block");
                } else if let Some(uri) = x.get("ReportUri").and_then(Json::as_str).filter(|_| on) {
                    v.push_str(&format!("; report={uri}"));
                }
                out.push(("x-xss-protection".into(), v));
            }
        }
    }
    if let Some(items) = policy
        .and_then(|p| p.pointer("/CustomHeadersConfig/Items"))
        .and_then(Json::as_array)
    {
        for item in items {
            if let (Some(h), Some(v)) = (
                item.get("Header").and_then(Json::as_str),
                item.get("Value").and_then(Json::as_str),
            ) {
                out.push((h.to_ascii_lowercase(), v.to_string()));
            }
        }
    }
    out.into_iter()
        .filter_map(|(k, v)| {
            let name = HeaderName::from_bytes(k.as_bytes()).ok()?;
            let value = HeaderValue::from_str(&v).ok()?;
            Some((name, value))
        })
        .collect()
}

/// The content type of a file, by extension.
pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Percent-decodes one path segment; None if it is not UTF-8.
fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The file under `root` a request path (after `/console/`) names, or None:
/// a segment that is empty, `.` or `..`, holds a backslash or NUL, or a
/// file that resolves (links followed) outside `root`.
pub fn resolve(root: &Path, rest: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for raw in rest.split('/') {
        let seg = decode(raw)?;
        if seg.is_empty() || seg == "." || seg == ".." || seg.contains(['\\', '\0', '/']) {
            return None;
        }
        path.push(seg);
    }
    let real = path.canonicalize().ok()?;
    let real_root = root.canonicalize().ok()?;
    (real.starts_with(&real_root) && real.is_file()).then_some(real)
}

impl ConsoleSite {
    /// The console of `root` (`<repo>/console/site`), with the policy's headers.
    pub fn new(root: PathBuf, settings: &Settings, policy: Option<&Json>) -> Arc<Self> {
        let own_host = settings
            .console_url
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default().to_string())
            .unwrap_or_default();
        Arc::new(Self {
            root,
            own_host,
            config_json: settings.config_json().to_string(),
            headers: security_headers(policy, settings),
        })
    }

    /// `/console`, `/console/` and `/console/{*path}`, to merge into the
    /// partner API's router.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route(PREFIX, any(serve))
            .route(&format!("{PREFIX}/"), any(serve))
            .route(&format!("{PREFIX}/{{*path}}"), any(serve))
            .with_state(self.clone())
    }

    fn answer(&self, method: &Method, uri: &Uri) -> Response {
        if method != Method::GET && method != Method::HEAD {
            // CloudFront's answer to a method the cache behavior does not allow.
            return text(
                StatusCode::FORBIDDEN,
                "This distribution is not configured to allow the HTTP request method that was used for this request.",
            );
        }
        let path = uri.path();
        if path == PREFIX {
            let location = match uri.query() {
                Some(q) => format!("{PREFIX}/?{q}"),
                None => format!("{PREFIX}/"),
            };
            return (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, location)]).into_response();
        }
        let rest = path.strip_prefix(&format!("{PREFIX}/")).unwrap_or_default();
        if rest == "config.json" {
            let mut resp = (StatusCode::OK, self.config_json.clone()).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return resp;
        }
        let rest = if rest.is_empty() { "index.html" } else { rest };
        let Some(file) = resolve(&self.root, rest) else {
            return text(StatusCode::NOT_FOUND, "Not Found");
        };
        match std::fs::read(&file) {
            Ok(bytes) => {
                let mut resp = (StatusCode::OK, Body::from(bytes)).into_response();
                resp.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
                resp
            }
            Err(e) => {
                tracing::warn!(target: "cloudfront", file = %file.display(), error = %e, "cannot read a console file");
                text(StatusCode::NOT_FOUND, "Not Found")
            }
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Local only: the console opened under another name of this machine
/// (`localhost:3000` for `127.0.0.1:3000`) is sent to its own origin, since
/// sign-in (the app client's callback URL) and the admin API's CORS each
/// name exactly one origin; there it would fail with a redirect_mismatch or
/// a CORS refusal instead.
fn other_host(site: &ConsoleSite, headers: &axum::http::HeaderMap, uri: &Uri) -> Option<Response> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if site.own_host.is_empty() || host.eq_ignore_ascii_case(&site.own_host) {
        return None;
    }
    let target = match uri.path_and_query() {
        Some(pq) => format!("http://{}{pq}", site.own_host),
        None => format!("http://{}{PREFIX}/", site.own_host),
    };
    Some((StatusCode::FOUND, [(header::LOCATION, target)]).into_response())
}

async fn serve(
    State(site): State<Arc<ConsoleSite>>,
    method: Method,
    headers: axum::http::HeaderMap,
    uri: Uri,
) -> Response {
    let mut resp = other_host(&site, &headers, &uri).unwrap_or_else(|| site.answer(&method, &uri));
    let h = resp.headers_mut();
    for (k, v) in &site.headers {
        h.insert(k.clone(), v.clone());
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            admin_api: "http://127.0.0.1:3001".into(),
            hosted_ui: "http://127.0.0.1:9229".into(),
            client_id: Some("abc123".into()),
            console_url: "http://127.0.0.1:3000/console/".into(),
        }
    }

    fn site() -> (PathBuf, Arc<ConsoleSite>) {
        let dir = std::env::temp_dir().join(format!("zb-console-{}", uuid::Uuid::new_v4().simple()));
        let root = dir.join("site");
        std::fs::create_dir_all(root.join("vendor")).unwrap();
        std::fs::write(root.join("index.html"), "<!doctype html><title>c</title>").unwrap();
        std::fs::write(root.join("app.mjs"), "export {}").unwrap();
        std::fs::write(root.join("vendor").join("a b.css"), "p{}").unwrap();
        std::fs::write(dir.join("secret.txt"), "no").unwrap();
        let policy = json!({
            "Name": "x",
            "SecurityHeadersConfig": {
                "ContentSecurityPolicy": {
                    "ContentSecurityPolicy": "default-src 'none'; script-src 'self'; connect-src 'self' https://abc.execute-api.us-east-1.amazonaws.com https://zb.auth.us-east-1.amazoncognito.com; frame-ancestors 'none'; form-action 'self' https://zb.auth.us-east-1.amazoncognito.com",
                    "Override": true
                },
                "ContentTypeOptions": {"Override": true},
                "FrameOptions": {"FrameOption": "DENY", "Override": true},
                "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": true},
                "StrictTransportSecurity": {"AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": true, "Override": true}
            }
        });
        let s = ConsoleSite::new(root, &settings(), Some(&policy));
        (dir, s)
    }

    async fn get(site: &Arc<ConsoleSite>, method: Method, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        get_as(site, method, "127.0.0.1:3000", path).await
    }

    async fn get_as(
        site: &Arc<ConsoleSite>,
        method: Method,
        host: &str,
        path: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let uri: Uri = path.parse().unwrap();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        let resp = serve(State(site.clone()), method, headers, uri).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn another_name_of_this_machine_is_sent_to_the_consoles_own_origin() {
        let (dir, s) = site();
        let (status, h, _) = get_as(&s, Method::GET, "localhost:3000", "/console/?code=x&state=y").await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(h["location"], "http://127.0.0.1:3000/console/?code=x&state=y");
        let (status, _, _) = get_as(&s, Method::GET, "127.0.0.1:3000", "/console/").await;
        assert_eq!(status, StatusCode::OK);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn files_are_served_with_their_type_and_the_policys_headers() {
        let (dir, s) = site();
        let (status, h, body) = get(&s, Method::GET, "/console/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("<title>c</title>"));
        assert_eq!(h["content-type"], "text/html; charset=utf-8");
        assert_eq!(h["cache-control"], "no-cache");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert!(h.get("strict-transport-security").is_none(), "HSTS is for HTTPS only");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("connect-src 'self' http://127.0.0.1:3001 http://127.0.0.1:9229"),
            "{csp}"
        );
        assert!(csp.contains("form-action 'self' http://127.0.0.1:9229"), "{csp}");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("amazonaws.com"),
            "{csp}"
        );
        let (_, h, _) = get(&s, Method::GET, "/console/app.mjs").await;
        assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
        let (status, h, body) = get(&s, Method::GET, "/console/vendor/a%20b.css").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "p{}"));
        assert_eq!(h["content-type"], "text/css; charset=utf-8");
        let (status, h, _) = get(&s, Method::GET, "/console?x=1").await;
        assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(h["location"], "/console/?x=1");
        assert_eq!(h["x-frame-options"], "DENY", "every answer carries the headers");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn config_json_is_generated() {
        let (dir, s) = site();
        let (status, h, body) = get(&s, Method::GET, "/console/config.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["cache-control"], "no-cache");
        let v: Json = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({"adminApi": "http://127.0.0.1:3001", "region": "us-east-1",
                   "auth": {"hostedUi": "http://127.0.0.1:9229", "clientId": "abc123",
                            "redirectUri": "http://127.0.0.1:3000/console/",
                            "logoutUri": "http://127.0.0.1:3000/console/",
                            "scopes": ["openid", "email", "profile", "aws.cognito.signin.user.admin"]},
                   "local": true})
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn nothing_outside_the_folder_and_nothing_missing_is_served() {
        let (dir, s) = site();
        for path in [
            "/console/../secret.txt",
            "/console/%2e%2e/secret.txt",
            "/console/vendor/..%2f..%2fsecret.txt",
            "/console/vendor%5c..%5c..%5csecret.txt",
            "/console//index.html",
            "/console/./index.html",
            "/console/missing.js",
            "/console/vendor",
            "/console/%ff",
        ] {
            let (status, h, body) = get(&s, Method::GET, path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(!body.contains("no"), "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("site").join("link.txt")).unwrap();
            let (status, _, _) = get(&s, Method::GET, "/console/link.txt").await;
            assert_eq!(status, StatusCode::NOT_FOUND, "a link out of the folder");
        }
        let (status, _, _) = get(&s, Method::POST, "/console/index.html").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn without_a_policy_the_contracts_headers_are_sent() {
        let h = security_headers(None, &settings());
        let get = |n: &str| {
            h.iter()
                .find(|(k, _)| k.as_str() == n)
                .map(|(_, v)| v.to_str().unwrap().to_string())
        };
        assert_eq!(get("x-frame-options").as_deref(), Some("DENY"));
        let csp = get("content-security-policy").unwrap();
        assert!(
            csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self'"),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self' http://127.0.0.1:3001 http://127.0.0.1:9229"));
    }
}
