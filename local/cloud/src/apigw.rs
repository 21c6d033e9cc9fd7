//! API Gateway HTTP API (payload format 2.0): routes from the functions'
//! HttpApi events, the Lambda authorizer with its identity source and cache
//! TTL, and the body limit, answering as AWS does where no function runs:
//!
//! - no route for the method and path (and no `$default` route): 404
//!   `{"message":"Not Found"}`, whatever the method, without authorizing;
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html>
//! - an identity source missing or empty: 401 `{"message":"Unauthorized"}`,
//!   without invoking the authorizer;
//!   <https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html>
//! - a simple response `isAuthorized: false`: 403 `{"message":"Forbidden"}`;
//!   an authorizer that raises an error, answers another shape or takes
//!   longer than 10 s: 500 `{"message":"Internal Server Error"}`; its answer
//!   (either way) cached for the TTL, keyed by the identity sources' values.
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html>
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html>
//!
//! - a route with a JWT authorizer: the checks of [`jwt`] (401
//!   `{"message":"Unauthorized"}` with a `www-authenticate` challenge, or 403
//!   for a missing scope), then `requestContext.authorizer.jwt`.
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>
//!
//! - an API with a CORS configuration: preflights answered by the gateway
//!   itself, CORS headers on every other answer ([`cors`]).
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>
//!
//! It also serves an API's contract as JSON, unauthenticated (local only):
//! the partner API's openapi.yaml at GET /v1/openapi.json ([`OPENAPI_PATH`]),
//! the admin API's openapi-admin.yaml at GET /v1/admin/openapi.json
//! ([`ADMIN_OPENAPI_PATH`]).

pub mod cors;
pub mod jwt;

use crate::template::{Authorizer, HttpApi, Route};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures::future::BoxFuture;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// API Gateway's own payload limit for HTTP APIs.
pub const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// "Timeout for Lambda authorizer response: 10000 ms" (HTTP API quotas).
pub const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the local cloud serves openapi.yaml (as JSON, unauthenticated).
/// Local only: on AWS an HTTP API has no mock integration, so serving a
/// static document would take a Lambda route outside the authorizer; the
/// document ships with the repository instead. A route of the template
/// with the same path would take precedence.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// Where the local cloud serves the admin API's openapi-admin.yaml (as JSON,
/// unauthenticated), for the same reason as [`OPENAPI_PATH`].
pub const ADMIN_OPENAPI_PATH: &str = "/v1/admin/openapi.json";

/// The contract, compiled in so the gateway needs no path to the repository.
const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

/// An API's contract, served as JSON at `path` when no route matches it.
#[derive(Debug, Clone)]
pub struct OpenApi {
    pub path: String,
    pub source: OpenApiSource,
}

#[derive(Debug, Clone)]
pub enum OpenApiSource {
    /// The partner API's openapi.yaml, compiled in.
    Partner,
    /// A YAML file read on each request: absent (not written yet), the path answers 404.
    File(std::path::PathBuf),
}

impl OpenApi {
    /// The partner API's contract at [`OPENAPI_PATH`].
    pub fn partner() -> Self {
        Self {
            path: OPENAPI_PATH.into(),
            source: OpenApiSource::Partner,
        }
    }

    fn serve(&self, method: &str) -> Response {
        match &self.source {
            OpenApiSource::Partner => serve_openapi(method),
            OpenApiSource::File(path) => {
                if method != "GET" && method != "HEAD" {
                    return not_found();
                }
                let Ok(text) = std::fs::read_to_string(path) else {
                    return not_found();
                };
                match serde_yaml::from_str::<Value>(&text) {
                    Ok(v) => {
                        let mut resp = (StatusCode::OK, v.to_string()).into_response();
                        resp.headers_mut()
                            .insert("content-type", HeaderValue::from_static("application/json"));
                        resp
                    }
                    Err(e) => {
                        tracing::error!(target: "apigw", path = %path.display(), error = %e, "cannot serve the contract");
                        internal_error()
                    }
                }
            }
        }
    }
}

/// What a gateway serves besides the template's routes.
#[derive(Clone, Default)]
pub struct GatewayOptions {
    /// The contract served unauthenticated (None: nothing).
    pub openapi: Option<OpenApi>,
    /// The JWKS of the JWT authorizers' issuers (shared between gateways);
    /// None: every JWT route fetches from the issuers' own URLs.
    pub jwks: Option<Arc<jwt::Jwks>>,
}

/// openapi.yaml as JSON, converted once.
fn openapi_json() -> Result<&'static str, &'static str> {
    static JSON: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        serde_yaml::from_str::<Value>(OPENAPI_YAML)
            .map(|v| v.to_string())
            .map_err(|e| format!("openapi.yaml does not parse: {e}"))
    })
    .as_deref()
    .map_err(String::as_str)
}

/// Ok(the response payload) or Err((errorType, the error document)).
pub type InvokeResult = Result<Vec<u8>, (String, Vec<u8>)>;

/// A synchronous Lambda invoke.
pub trait Invoke: Send + Sync + 'static {
    fn invoke(&self, function: &str, payload: Vec<u8>) -> BoxFuture<'_, InvokeResult>;
}

/// An authorizer's answer, as cached: the context of an allow, or a deny.
#[derive(Debug, Clone)]
enum Decision {
    Allow(Value),
    Deny,
}

/// (authorizer, the identity sources' values) → (decision, expiry)
type AuthCache = HashMap<(String, Vec<String>), (Decision, Instant)>;

pub struct Gateway {
    api: HttpApi,
    openapi: Option<OpenApi>,
    jwks: Arc<jwt::Jwks>,
    invoke: Arc<dyn Invoke>,
    cache: Mutex<AuthCache>,
    time_scale: f64,
    authorizer_timeout: Duration,
    /// Where each request's access log line goes, once someone listens.
    access: Mutex<Option<tokio::sync::mpsc::UnboundedSender<AccessLine>>>,
}

/// One request, as the access log prints it: `POST /v1/feeds 202 41 ms
/// feed=<id> partner=<id>` (or `sub=<sub>` for a JWT route). The feed comes
/// from the path or the function's answer, the partner from the Lambda
/// authorizer's context, `sub` from the JWT's claims
/// (`$context.authorizer.claims.sub` of the template's access log format),
/// when known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLine {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub ms: u64,
    pub request_id: String,
    pub feed_id: Option<String>,
    pub partner_id: Option<String>,
    pub sub: Option<String>,
}

impl std::fmt::Display for AccessLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {} {} ms", self.method, self.path, self.status, self.ms)?;
        if let Some(feed) = &self.feed_id {
            write!(f, " feed={feed}")?;
        }
        if let Some(partner) = &self.partner_id {
            write!(f, " partner={partner}")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, " sub={sub}")?;
        }
        Ok(())
    }
}

/// What a request revealed about its feed and partner.
#[derive(Debug, Default)]
struct Known {
    feed_id: Option<String>,
    partner_id: Option<String>,
    sub: Option<String>,
}

impl Known {
    /// The feed a function's payload-2.0 answer names in its JSON body.
    fn read_answer(&mut self, out: &[u8]) {
        if self.feed_id.is_some() {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(out) else {
            return;
        };
        let body = match v.get("body") {
            Some(Value::String(text)) => serde_json::from_str::<Value>(text).ok(),
            _ => None,
        };
        self.feed_id = body
            .as_ref()
            .and_then(|b| b.get("feedId"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
}

/// How specific a matching route is, most specific first when sorted: a
/// route without a greedy `{proxy+}` before one with it, then more literal
/// segments, then a route for the method before an `ANY` route.
type Specificity = (bool, std::cmp::Reverse<usize>, bool);

/// The route for the method and path, and its path parameters. API Gateway
/// picks the most specific match: a full match for the route and method,
/// then a match with a greedy path variable, then `$default`; `ANY` matches
/// the methods the path does not define. None: API Gateway's 404.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html>
fn match_route<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<(&'a Route, Map<String, Value>)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(Specificity, &'a Route, Map<String, Value>)> = None;
    for route in routes {
        if route.method != method && route.method != "ANY" {
            continue;
        }
        let rsegs: Vec<&str> = route.path.trim_end_matches('/').split('/').collect();
        let mut params = Map::new();
        let (mut ok, mut greedy, mut literal) = (true, false, 0);
        let mut i = 0;
        while i < rsegs.len() {
            let r = rsegs[i];
            if let Some(name) = r.strip_prefix('{').and_then(|r| r.strip_suffix("+}")) {
                // Greedy {proxy+}: the rest of the path.
                if i >= segs.len() {
                    ok = false;
                    break;
                }
                params.insert(name.to_string(), json!(segs[i..].join("/")));
                greedy = true;
                i = segs.len();
                break;
            }
            match segs.get(i) {
                Some(s) if r.starts_with('{') && r.ends_with('}') && !s.is_empty() => {
                    params.insert(r[1..r.len() - 1].to_string(), json!(percent_decode(s)));
                }
                Some(s) if *s == r => literal += 1,
                _ => {
                    ok = false;
                    break;
                }
            }
            i += 1;
        }
        if !ok || i != segs.len() {
            continue;
        }
        let rank = (greedy, std::cmp::Reverse(literal), route.method == "ANY");
        if best.as_ref().is_none_or(|(b, _, _)| rank < *b) {
            best = Some((rank, route, params));
        }
    }
    best.map(|(_, route, params)| (route, params))
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// GET /v1/openapi.json; another method is unmatched, as on any route.
fn serve_openapi(method: &str) -> Response {
    if method != "GET" && method != "HEAD" {
        return not_found();
    }
    match openapi_json() {
        Ok(json) => {
            let mut resp = (StatusCode::OK, json).into_response();
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            resp
        }
        Err(e) => {
            tracing::error!(target: "apigw", error = e, "cannot serve openapi.yaml");
            internal_error()
        }
    }
}

/// API Gateway's own bare answers (what AWS sends when no function runs).
fn gateway_message(status: StatusCode, message: &str) -> Response {
    let mut resp = (status, json!({"message": message}).to_string()).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

/// A JWT authorizer's refusal: 401 with its challenge, or 403.
fn refused(refusal: &jwt::Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut resp = gateway_message(status, refusal.message);
    if let Some(v) = refusal.challenge.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert("www-authenticate", v);
    }
    resp
}

/// The authorizer answered `isAuthorized: false`.
fn forbidden() -> Response {
    gateway_message(StatusCode::FORBIDDEN, "Forbidden")
}

/// No route matches (the API has no `$default` route).
fn not_found() -> Response {
    gateway_message(StatusCode::NOT_FOUND, "Not Found")
}

fn internal_error() -> Response {
    gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

fn headers_json(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in headers {
        let v = v.to_str().unwrap_or_default();
        let key = k.as_str().to_ascii_lowercase();
        // HTTP APIs join repeated headers with commas.
        let joined = match out.get(&key).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v.to_string(),
        };
        out.insert(key, json!(joined));
    }
    out
}

impl Gateway {
    /// A gateway serving the partner API's contract at [`OPENAPI_PATH`].
    pub fn new(api: HttpApi, invoke: Arc<dyn Invoke>, time_scale: f64) -> Arc<Self> {
        let options = GatewayOptions {
            openapi: Some(OpenApi::partner()),
            jwks: None,
        };
        Self::with_options(api, invoke, time_scale, options)
    }

    pub fn with_options(api: HttpApi, invoke: Arc<dyn Invoke>, time_scale: f64, options: GatewayOptions) -> Arc<Self> {
        Arc::new(Self {
            api,
            openapi: options.openapi,
            jwks: options
                .jwks
                .unwrap_or_else(|| Arc::new(jwt::Jwks::new(std::collections::BTreeMap::new()))),
            invoke,
            cache: Mutex::new(HashMap::new()),
            time_scale,
            authorizer_timeout: AUTHORIZER_TIMEOUT,
            access: Mutex::new(None),
        })
    }

    /// From now on, one [`AccessLine`] per request (a second call replaces the first listener).
    pub fn access_log(&self) -> tokio::sync::mpsc::UnboundedReceiver<AccessLine> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        if let Ok(mut access) = self.access.lock() {
            *access = Some(tx);
        }
        rx
    }

    /// From now on, one [`AccessLine`] per request on `tx` (shared by several gateways).
    pub fn access_to(&self, tx: tokio::sync::mpsc::UnboundedSender<AccessLine>) {
        if let Ok(mut access) = self.access.lock() {
            *access = Some(tx);
        }
    }

    /// The API this gateway serves.
    pub fn api(&self) -> &HttpApi {
        &self.api
    }

    pub fn router(self: &Arc<Self>) -> axum::Router {
        // One byte over the limit still reaches `route`, which answers 413 the
        // way API Gateway does; axum's own 2 MB default would be too small.
        axum::Router::new()
            .fallback(handle)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_PAYLOAD + 1))
            .with_state(self.clone())
    }

    fn request_context(
        &self,
        method: &str,
        uri: &Uri,
        route_key: &str,
        headers: &HeaderMap,
        request_id: &str,
    ) -> Value {
        let now = chrono::Utc::now();
        json!({
            "accountId": crate::template::ACCOUNT,
            "apiId": self.api.logical_id,
            "domainName": headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
            "domainPrefix": "127",
            "http": {
                "method": method,
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        })
    }

    /// Runs the authorizer (or answers from its cache). Err is the response to send.
    async fn authorize(&self, auth: &Authorizer, headers: &HeaderMap, base: &Value) -> Result<Value, Response> {
        let mut identity = Vec::new();
        for h in &auth.identity_headers {
            match headers.get(h).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()) {
                Some(v) => identity.push(v.to_string()),
                // A missing or empty identity source never reaches the authorizer.
                None => return Err(gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized")),
            }
        }
        let key = (auth.name.clone(), identity.clone());
        if auth.ttl_secs > 0 {
            let cached = self.cache.lock().ok().and_then(|cache| {
                cache
                    .get(&key)
                    .filter(|(_, until)| Instant::now() < *until)
                    .map(|(d, _)| d.clone())
            });
            if let Some(decision) = cached {
                return decision.context().ok_or_else(forbidden);
            }
        }
        let mut event = base.clone();
        event["type"] = json!("REQUEST");
        event["routeArn"] = json!(format!(
            "arn:aws:execute-api:{}:{}:{}/$default/{}",
            crate::template::REGION,
            crate::template::ACCOUNT,
            self.api.logical_id,
            base["routeKey"].as_str().unwrap_or_default().replace(' ', "")
        ));
        event["identitySource"] = json!(identity);
        let payload = event.to_string().into_bytes();
        let out = match tokio::time::timeout(self.authorizer_timeout, self.invoke.invoke(&auth.function, payload)).await
        {
            Ok(Ok(out)) => out,
            // Any error the function raises, "Unauthorized" included, is a 500
            // with simple responses; so is no answer within the quota.
            Ok(Err((error_type, _))) => {
                tracing::warn!(target: "apigw", authorizer = %auth.name, %error_type, "the authorizer failed");
                return Err(internal_error());
            }
            Err(_) => {
                tracing::warn!(target: "apigw", authorizer = %auth.name, "the authorizer timed out");
                return Err(internal_error());
            }
        };
        let decision = match simple_response(&out) {
            Some(d) => d,
            None => {
                tracing::warn!(target: "apigw", authorizer = %auth.name, "the authorizer's answer is not a simple response");
                return Err(internal_error());
            }
        };
        if auth.ttl_secs > 0 {
            let ttl = Duration::from_secs_f64(auth.ttl_secs as f64 * self.time_scale.max(0.0));
            if let Ok(mut cache) = self.cache.lock() {
                cache.retain(|_, (_, until)| Instant::now() < *until);
                cache.insert(key, (decision.clone(), Instant::now() + ttl));
            }
        }
        decision.context().ok_or_else(forbidden)
    }
}

/// A simple response: `isAuthorized` a boolean, `context` (optional) an
/// object. Anything else is not an answer API Gateway can use.
fn simple_response(out: &[u8]) -> Option<Decision> {
    let v: Value = serde_json::from_slice(out).ok()?;
    let context = match v.get("context") {
        None | Some(Value::Null) => json!({}),
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => return None,
    };
    match v.get("isAuthorized")? {
        Value::Bool(true) => Some(Decision::Allow(context)),
        Value::Bool(false) => Some(Decision::Deny),
        _ => None,
    }
}

impl Decision {
    /// The context of an allow; None for a deny (API Gateway's 403 `Forbidden`).
    fn context(self) -> Option<Value> {
        match self {
            Decision::Allow(ctx) => Some(ctx),
            Decision::Deny => None,
        }
    }
}

/// Turns a function's payload-2.0 response into HTTP.
fn to_http(out: &[u8]) -> Response {
    let v: Value = match serde_json::from_slice(out) {
        Ok(v) => v,
        Err(_) => return gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    let Some(status) = v.get("statusCode").and_then(Value::as_u64) else {
        // Without statusCode, API Gateway infers a 200 with the output as JSON.
        let mut resp = (StatusCode::OK, v.to_string()).into_response();
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return resp;
    };
    let body = match v.get("body").and_then(Value::as_str) {
        Some(b) if v.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default()
        }
        Some(b) => b.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, body).into_response();
    if let Some(Value::Object(h)) = v.get("headers") {
        for (k, val) in h {
            if let (Ok(name), Some(Ok(value))) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                val.as_str().map(HeaderValue::from_str),
            ) {
                resp.headers_mut().insert(name, value);
            }
        }
    }
    if let Some(Value::Array(cookies)) = v.get("cookies") {
        for c in cookies.iter().filter_map(Value::as_str) {
            if let Ok(value) = HeaderValue::from_str(c) {
                resp.headers_mut().append("set-cookie", value);
            }
        }
    }
    resp
}

async fn handle(State(gw): State<Arc<Gateway>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let mut known = Known::default();
    let resp = match &gw.api.cors {
        // API Gateway answers a preflight itself: no route, authorizer or function.
        Some(cors) if cors::Cors::is_preflight(&method, &headers) => cors.preflight(&headers),
        Some(cors) => {
            let mut resp = route(&gw, method.as_str(), &uri, &headers, body, &request_id, &mut known).await;
            cors.decorate(&headers, &mut resp);
            resp
        }
        None => route(&gw, method.as_str(), &uri, &headers, body, &request_id, &mut known).await,
    };
    let line = AccessLine {
        method: method.to_string(),
        path: uri.path().to_string(),
        status: resp.status().as_u16(),
        ms: started.elapsed().as_millis() as u64,
        request_id: request_id.clone(),
        feed_id: known.feed_id,
        partner_id: known.partner_id,
        sub: known.sub,
    };
    tracing::info!(target: "apigw", %line, "request");
    if let Ok(access) = gw.access.lock() {
        if let Some(tx) = access.as_ref() {
            let _ = tx.send(line);
        }
    }
    let mut resp = resp;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("apigw-requestid", v);
    }
    resp
}

async fn route(
    gw: &Gateway,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    request_id: &str,
    known: &mut Known,
) -> Response {
    let (route, params) = match match_route(&gw.api.routes, method, uri.path()) {
        Some(found) => found,
        None => {
            return match &gw.openapi {
                Some(doc) if uri.path() == doc.path => doc.serve(method),
                _ => not_found(),
            }
        }
    };
    known.feed_id = params.get("feedId").and_then(Value::as_str).map(str::to_string);
    if body.len() > MAX_PAYLOAD {
        return gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    let route_key = format!("{} {}", route.method, route.path);
    let context = gw.request_context(method, uri, &route_key, headers, request_id);
    let query = uri.query().unwrap_or_default().to_string();
    let mut qs = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (
            percent_decode(&k.replace('+', " ")),
            percent_decode(&v.replace('+', " ")),
        );
        let joined = match qs.get(&k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v,
        };
        qs.insert(k, json!(joined));
    }
    let mut base = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": uri.path(),
        "rawQueryString": query,
        "headers": headers_json(headers),
        "requestContext": context,
    });
    if !qs.is_empty() {
        base["queryStringParameters"] = Value::Object(qs);
    }
    if !params.is_empty() {
        base["pathParameters"] = Value::Object(params);
    }
    if let Some(jwt_auth) = route
        .authorizer
        .as_ref()
        .and_then(|name| gw.api.jwt_authorizers.iter().find(|a| &a.name == name))
    {
        let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        match jwt::authorize(&gw.jwks, jwt_auth, &route.scopes, headers, now).await {
            Ok(ctx) => {
                known.sub = ctx.sub().map(str::to_string);
                base["requestContext"]["authorizer"] = json!({"jwt": ctx.to_json()});
            }
            Err(refusal) => return refused(&refusal),
        }
    } else if let Some(name) = &route.authorizer {
        let Some(auth) = gw.api.authorizers.iter().find(|a| &a.name == name) else {
            return internal_error();
        };
        match gw.authorize(auth, headers, &base).await {
            Ok(ctx) => {
                known.partner_id = ctx.get("partnerId").and_then(Value::as_str).map(str::to_string);
                base["requestContext"]["authorizer"] = json!({"lambda": ctx});
            }
            Err(resp) => return resp,
        }
    }
    // Text bodies pass as text; anything else is base64, as API Gateway does.
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let textual = content_type.starts_with("text/") || content_type.contains("json") || content_type.contains("xml");
    if !body.is_empty() {
        match std::str::from_utf8(&body) {
            Ok(text) if textual => {
                base["body"] = json!(text);
                base["isBase64Encoded"] = json!(false);
            }
            _ => {
                base["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
                base["isBase64Encoded"] = json!(true);
            }
        }
    } else {
        base["isBase64Encoded"] = json!(false);
    }
    match gw.invoke.invoke(&route.function, base.to_string().into_bytes()).await {
        Ok(out) => {
            known.read_answer(&out);
            to_http(&out)
        }
        Err(_) => gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_lines_read_as_one_line_with_what_is_known() {
        let mut known = Known::default();
        known.read_answer(br#"{"statusCode":202,"body":"{\"feedId\":\"f-1\",\"orders\":2}"}"#);
        assert_eq!(known.feed_id.as_deref(), Some("f-1"));
        // Not JSON, or no feed: nothing known, nothing breaks.
        let mut none = Known::default();
        none.read_answer(b"oops");
        none.read_answer(br#"{"statusCode":500,"body":"Internal"}"#);
        assert_eq!(none.feed_id, None);
        let line = AccessLine {
            method: "POST".into(),
            path: "/v1/feeds".into(),
            status: 202,
            ms: 41,
            request_id: "r".into(),
            feed_id: known.feed_id,
            partner_id: Some("partner-a".into()),
            sub: None,
        };
        assert_eq!(line.to_string(), "POST /v1/feeds 202 41 ms feed=f-1 partner=partner-a");
        let bare = AccessLine {
            feed_id: None,
            partner_id: None,
            status: 404,
            ..line
        };
        assert_eq!(bare.to_string(), "POST /v1/feeds 404 41 ms");
    }

    fn routes() -> Vec<Route> {
        let r = |m: &str, p: &str| Route {
            method: m.into(),
            path: p.into(),
            function: "f".into(),
            authorizer: None,
            scopes: Vec::new(),
        };
        vec![
            r("POST", "/v1/feeds"),
            r("GET", "/v1/feeds/{feedId}"),
            r("GET", "/v1/orders"),
            r("ANY", "/files/{proxy+}"),
        ]
    }

    #[test]
    fn routes_match_the_most_specific_route_or_nothing() {
        let mut routes = routes();
        let (r, p) = match_route(&routes, "GET", "/v1/feeds/abc%20d").unwrap();
        assert_eq!(r.path, "/v1/feeds/{feedId}");
        assert_eq!(p["feedId"], "abc d");
        assert!(match_route(&routes, "POST", "/v1/feeds").is_some());
        // A known path with another method is no route: API Gateway's 404, no 405.
        assert!(match_route(&routes, "DELETE", "/v1/feeds").is_none());
        assert!(match_route(&routes, "GET", "/v2/feeds").is_none());
        let (_, p) = match_route(&routes, "PUT", "/files/a/b/c").unwrap();
        assert_eq!(p["proxy"], "a/b/c");
        // The most specific match wins, whatever the template's order:
        // method over ANY, literal over variable, variable over greedy.
        let r = |m: &str, p: &str, f: &str| Route {
            method: m.into(),
            path: p.into(),
            function: f.into(),
            authorizer: None,
            scopes: Vec::new(),
        };
        routes.insert(0, r("ANY", "/files/{proxy+}", "greedy-first"));
        routes.insert(0, r("ANY", "/files/{name}", "any-name"));
        routes.insert(0, r("GET", "/files/{name}", "get-name"));
        routes.insert(0, r("GET", "/files/readme", "readme"));
        let f = |m: &str, p: &str| match_route(&routes, m, p).map(|(r, _)| r.function.clone());
        assert_eq!(f("GET", "/files/readme").as_deref(), Some("readme"));
        assert_eq!(f("GET", "/files/other").as_deref(), Some("get-name"));
        assert_eq!(f("PUT", "/files/other").as_deref(), Some("any-name"));
        assert_eq!(f("PUT", "/files/a/b").as_deref(), Some("greedy-first"));
    }

    /// An authorizer function that answers `answer` after `delay`, counting calls.
    struct FakeAuthorizer {
        answer: InvokeResult,
        delay: Duration,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl Invoke for FakeAuthorizer {
        fn invoke(&self, _function: &str, _payload: Vec<u8>) -> BoxFuture<'_, InvokeResult> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(self.delay).await;
                self.answer.clone()
            })
        }
    }

    fn gateway(answer: InvokeResult, delay: Duration, ttl_secs: u64) -> (Arc<Gateway>, Arc<FakeAuthorizer>) {
        let fake = Arc::new(FakeAuthorizer {
            answer,
            delay,
            calls: Default::default(),
        });
        let api = HttpApi {
            logical_id: "Api".into(),
            routes: Vec::new(),
            authorizers: Vec::new(),
            jwt_authorizers: Vec::new(),
            cors: None,
        };
        let mut gw = Gateway {
            api,
            openapi: None,
            jwks: Arc::new(jwt::Jwks::new(Default::default())),
            invoke: fake.clone(),
            cache: Mutex::new(HashMap::new()),
            time_scale: 1.0,
            authorizer_timeout: AUTHORIZER_TIMEOUT,
            access: Mutex::new(None),
        };
        gw.api.authorizers.push(Authorizer {
            name: "Auth".into(),
            function: "authorizer".into(),
            identity_headers: vec!["x-api-key".into()],
            ttl_secs,
        });
        gw.authorizer_timeout = Duration::from_millis(200);
        (Arc::new(gw), fake)
    }

    fn key(k: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", HeaderValue::from_str(k).unwrap());
        h
    }

    /// The status and `message` of the gateway's answer, or 200 and the context.
    async fn ask(gw: &Gateway, headers: &HeaderMap) -> (u16, Value) {
        let auth = gw.api.authorizers[0].clone();
        let base = json!({"routeKey": "GET /v1/orders"});
        match gw.authorize(&auth, headers, &base).await {
            Ok(ctx) => (200, ctx),
            Err(resp) => {
                let status = resp.status().as_u16();
                assert_eq!(resp.headers()["content-type"], "application/json");
                let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
                (status, serde_json::from_slice(&body).unwrap())
            }
        }
    }

    fn calls(fake: &FakeAuthorizer) -> usize {
        fake.calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn ok(v: Value) -> InvokeResult {
        Ok(v.to_string().into_bytes())
    }

    #[tokio::test]
    async fn a_missing_or_empty_identity_source_is_401_without_the_authorizer() {
        let (gw, fake) = gateway(ok(json!({"isAuthorized": true})), Duration::ZERO, 300);
        let unauthorized = (401, json!({"message": "Unauthorized"}));
        assert_eq!(ask(&gw, &HeaderMap::new()).await, unauthorized);
        assert_eq!(ask(&gw, &key("")).await, unauthorized);
        assert_eq!(calls(&fake), 0);
    }

    #[tokio::test]
    async fn a_refusal_is_403_and_cached_per_identity_like_an_allow() {
        let (gw, fake) = gateway(ok(json!({"isAuthorized": false})), Duration::ZERO, 300);
        let forbidden = (403, json!({"message": "Forbidden"}));
        assert_eq!(ask(&gw, &key("k1")).await, forbidden);
        assert_eq!(ask(&gw, &key("k1")).await, forbidden);
        assert_eq!(calls(&fake), 1, "the refusal is answered from the cache");
        assert_eq!(ask(&gw, &key("k2")).await, forbidden);
        assert_eq!(calls(&fake), 2, "the cache key is the identity sources' values");

        let (gw, fake) = gateway(
            ok(json!({"isAuthorized": true, "context": {"p": 1}})),
            Duration::ZERO,
            300,
        );
        assert_eq!(ask(&gw, &key("k1")).await, (200, json!({"p": 1})));
        assert_eq!(ask(&gw, &key("k1")).await, (200, json!({"p": 1})));
        assert_eq!(calls(&fake), 1);

        let (gw, fake) = gateway(ok(json!({"isAuthorized": false})), Duration::ZERO, 0);
        ask(&gw, &key("k1")).await;
        ask(&gw, &key("k1")).await;
        assert_eq!(calls(&fake), 2, "ReauthorizeEvery 0: no cache");
    }

    #[tokio::test]
    async fn an_error_a_wrong_shape_or_a_timeout_is_500_and_not_cached() {
        let internal = (500, json!({"message": "Internal Server Error"}));
        let raised = |t: &str| {
            Err((
                t.to_string(),
                json!({"errorType": t, "errorMessage": t}).to_string().into_bytes(),
            ))
        };
        for answer in [
            raised("Unauthorized"),
            raised("TransientDependencyError"),
            ok(json!({"isAuthorized": "true"})),
            ok(json!({"context": {}})),
            ok(json!({"isAuthorized": true, "context": "partner-a"})),
            Ok(b"not json".to_vec()),
        ] {
            let (gw, fake) = gateway(answer.clone(), Duration::ZERO, 300);
            assert_eq!(ask(&gw, &key("k")).await, internal, "{answer:?}");
            assert_eq!(ask(&gw, &key("k")).await, internal, "{answer:?}");
            assert_eq!(calls(&fake), 2, "{answer:?}: a failure is not cached");
        }
        let (gw, _) = gateway(ok(json!({"isAuthorized": true})), Duration::from_secs(5), 300);
        assert_eq!(ask(&gw, &key("k")).await, internal, "past the authorizer timeout");
    }

    /// A function that records every payload it gets and answers 200.
    #[derive(Default)]
    struct Recorder {
        payloads: Mutex<Vec<Value>>,
    }

    impl Invoke for Recorder {
        fn invoke(&self, _function: &str, payload: Vec<u8>) -> BoxFuture<'_, InvokeResult> {
            if let Ok(mut p) = self.payloads.lock() {
                p.push(serde_json::from_slice(&payload).unwrap_or(Value::Null));
            }
            Box::pin(async { Ok(br#"{"statusCode":200,"body":"{}"}"#.to_vec()) })
        }
    }

    /// The JWT authorizer in front of a function: a refusal never invokes it;
    /// an accepted token reaches it as requestContext.authorizer.jwt
    /// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html).
    #[tokio::test]
    async fn a_jwt_route_invokes_the_function_only_with_a_valid_token() {
        use jwt::tests::{access_claims, authorizer, serve_jwks, sign, test_key, ISSUER};
        let key = test_key("k1");
        let (base, _) = serve_jwks(vec![key.jwk.clone()]).await;
        let discovery = [(ISSUER.to_string(), format!("{base}/.well-known/openid-configuration"))]
            .into_iter()
            .collect();
        let auth = authorizer();
        let api = HttpApi {
            logical_id: "AdminApi".into(),
            routes: vec![Route {
                method: "GET".into(),
                path: "/v1/admin/me".into(),
                function: "admin".into(),
                authorizer: Some(auth.name.clone()),
                scopes: auth.scopes.clone(),
            }],
            authorizers: Vec::new(),
            jwt_authorizers: vec![auth],
            cors: None,
        };
        let recorder = Arc::new(Recorder::default());
        let options = GatewayOptions {
            openapi: None,
            jwks: Some(Arc::new(jwt::Jwks::new(discovery))),
        };
        let gw = Gateway::with_options(api, recorder.clone(), 1.0, options);
        let uri: Uri = "/v1/admin/me".parse().unwrap();
        let call = |headers: HeaderMap| {
            let gw = gw.clone();
            let uri = uri.clone();
            async move {
                let mut known = Known::default();
                let resp = route(&gw, "GET", &uri, &headers, Bytes::new(), "r-1", &mut known).await;
                (resp, known)
            }
        };
        let mut expired = access_claims();
        expired["exp"] = json!(chrono::Utc::now().timestamp() - 5);
        for headers in [HeaderMap::new(), {
            let mut h = HeaderMap::new();
            let token = sign(&key, "k1", jsonwebtoken::Algorithm::RS256, &expired);
            h.insert("authorization", format!("Bearer {token}").parse().unwrap());
            h
        }] {
            let (resp, _) = call(headers).await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
            assert!(resp.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"));
            let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
            assert_eq!(
                serde_json::from_slice::<Value>(&body).unwrap(),
                json!({"message": "Unauthorized"})
            );
        }
        assert!(
            recorder.payloads.lock().unwrap().is_empty(),
            "no invocation on a refusal"
        );
        let token = sign(&key, "k1", jsonwebtoken::Algorithm::RS256, &access_claims());
        let mut h = HeaderMap::new();
        h.insert("authorization", token.parse().unwrap());
        let (resp, known) = call(h).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(known.sub.as_deref(), Some("1f2e3d4c-0000-4000-8000-000000000001"));
        let payloads = recorder.payloads.lock().unwrap();
        let jwt = &payloads[0]["requestContext"]["authorizer"]["jwt"];
        assert_eq!(jwt["claims"]["cognito:groups"], "[admin ops]");
        assert_eq!(jwt["claims"]["username"], "admin");
        assert_eq!(jwt["scopes"], json!(["aws.cognito.signin.user.admin"]));
    }

    #[tokio::test]
    async fn the_admin_contract_is_served_from_its_file_or_404() {
        let dir = std::env::temp_dir().join(format!("zb-openapi-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let doc = OpenApi {
            path: ADMIN_OPENAPI_PATH.into(),
            source: OpenApiSource::File(dir.join("openapi-admin.yaml")),
        };
        assert_eq!(doc.serve("GET").status(), StatusCode::NOT_FOUND, "not written yet");
        std::fs::write(dir.join("openapi-admin.yaml"), "openapi: 3.1.0\npaths: {}\n").unwrap();
        let resp = doc.serve("GET");
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["openapi"], "3.1.0");
        assert_eq!(doc.serve("POST").status(), StatusCode::NOT_FOUND);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_contract_converts_to_json() {
        let json: Value = serde_json::from_str(openapi_json().unwrap()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        assert!(json["paths"]["/v1/feeds"]["post"].is_object());
    }
}
