//! API Gateway HTTP API (payload format 2.0): routes from the functions'
//! HttpApi events, the Lambda authorizer with its identity source and cache
//! TTL, the body limit, and 404/405 problem responses for unknown routes and
//! methods. It also serves the partner API's contract, openapi.yaml as
//! JSON, at GET /v1/openapi.json (local only: see [`OPENAPI_PATH`]).

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
use zb_shared::problem::{Problem, ProblemKind};

/// API Gateway's own payload limit for HTTP APIs.
pub const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// Where the local cloud serves openapi.yaml (as JSON, unauthenticated).
/// Local only: on AWS an HTTP API has no mock integration, so serving a
/// static document would take a Lambda route outside the authorizer; the
/// document ships with the repository instead. A route of the template
/// with the same path would take precedence.
pub const OPENAPI_PATH: &str = "/v1/openapi.json";

/// The contract, compiled in so the gateway needs no path to the repository.
const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

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

pub struct Gateway {
    api: HttpApi,
    invoke: Arc<dyn Invoke>,
    /// (authorizer, identity) → (context, expiry)
    cache: Mutex<HashMap<(String, String), (Value, Instant)>>,
    time_scale: f64,
}

/// A matched route and its path parameters; otherwise the methods the path
/// takes (empty: no such path).
fn match_route<'a>(
    routes: &'a [Route],
    method: &str,
    path: &str,
) -> Result<(&'a Route, Map<String, Value>), Vec<String>> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut allowed = Vec::new();
    for route in routes {
        let rsegs: Vec<&str> = route.path.trim_end_matches('/').split('/').collect();
        let mut params = Map::new();
        let mut ok = true;
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
                i = segs.len();
                break;
            }
            match segs.get(i) {
                Some(s) if r.starts_with('{') && r.ends_with('}') && !s.is_empty() => {
                    params.insert(r[1..r.len() - 1].to_string(), json!(percent_decode(s)));
                }
                Some(s) if *s == r => {}
                _ => {
                    ok = false;
                    break;
                }
            }
            i += 1;
        }
        if ok && i == segs.len() {
            if route.method == method || route.method == "ANY" {
                return Ok((route, params));
            }
            allowed.push(route.method.clone());
        }
    }
    Err(allowed)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn problem(kind: ProblemKind, detail: String) -> Response {
    let status = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, Problem::new(kind, detail).to_json()).into_response();
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(zb_shared::problem::CONTENT_TYPE),
    );
    resp
}

/// 405 with the Allow header RFC 9110 asks for.
fn method_not_allowed(method: &str, path: &str, allowed: &[String]) -> Response {
    let mut resp = problem(
        ProblemKind::MethodNotAllowed,
        format!("{method} is not allowed on {path}; it takes {}", allowed.join(", ")),
    );
    if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
        resp.headers_mut().insert("allow", v);
    }
    resp
}

/// GET /v1/openapi.json.
fn serve_openapi(method: &str) -> Response {
    if method != "GET" && method != "HEAD" {
        return method_not_allowed(method, OPENAPI_PATH, &["GET".to_string()]);
    }
    match openapi_json() {
        Ok(json) => {
            let mut resp = (StatusCode::OK, json).into_response();
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            resp
        }
        Err(e) => problem(ProblemKind::Internal, e.to_string()),
    }
}

/// API Gateway's own bare answers (what AWS sends when no function runs).
fn gateway_message(status: StatusCode, message: &str) -> Response {
    let mut resp = (status, json!({"message": message}).to_string()).into_response();
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
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
    pub fn new(api: HttpApi, invoke: Arc<dyn Invoke>, time_scale: f64) -> Arc<Self> {
        Arc::new(Self {
            api,
            invoke,
            cache: Mutex::new(HashMap::new()),
            time_scale,
        })
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
                // A missing identity source never reaches the authorizer.
                None => return Err(gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized")),
            }
        }
        let key = (auth.name.clone(), identity.join(","));
        if auth.ttl_secs > 0 {
            if let Ok(cache) = self.cache.lock() {
                if let Some((ctx, until)) = cache.get(&key) {
                    if Instant::now() < *until {
                        return Ok(ctx.clone());
                    }
                }
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
        match self.invoke.invoke(&auth.function, payload).await {
            Ok(out) => {
                let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
                match v.get("isAuthorized").and_then(Value::as_bool) {
                    Some(true) => {
                        let ctx = v.get("context").cloned().unwrap_or(json!({}));
                        if auth.ttl_secs > 0 {
                            let ttl = Duration::from_secs_f64(auth.ttl_secs as f64 * self.time_scale.max(0.0));
                            if let Ok(mut cache) = self.cache.lock() {
                                cache.insert(key, (ctx.clone(), Instant::now() + ttl));
                            }
                        }
                        Ok(ctx)
                    }
                    Some(false) => Err(gateway_message(StatusCode::FORBIDDEN, "Forbidden")),
                    None => Err(gateway_message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    )),
                }
            }
            // The "Unauthorized" error is a 401; anything else is the authorizer failing.
            Err((error_type, body)) => {
                let message = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("errorMessage").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                if error_type == "Unauthorized" || message == "Unauthorized" {
                    Err(gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized"))
                } else {
                    Err(gateway_message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    ))
                }
            }
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
    let resp = route(&gw, method.as_str(), &uri, &headers, body, &request_id).await;
    tracing::info!(
        target: "apigw",
        method = %method, path = %uri.path(), status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64, "request"
    );
    let mut resp = resp;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("apigw-requestid", v);
    }
    resp
}

async fn route(gw: &Gateway, method: &str, uri: &Uri, headers: &HeaderMap, body: Bytes, request_id: &str) -> Response {
    let (route, params) = match match_route(&gw.api.routes, method, uri.path()) {
        Ok(found) => found,
        Err(allowed) if allowed.is_empty() && uri.path() == OPENAPI_PATH => return serve_openapi(method),
        Err(allowed) if allowed.is_empty() => {
            return problem(ProblemKind::NotFound, format!("no route for {method} {}", uri.path()))
        }
        Err(allowed) => return method_not_allowed(method, uri.path(), &allowed),
    };
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
    if let Some(name) = &route.authorizer {
        let Some(auth) = gw.api.authorizers.iter().find(|a| &a.name == name) else {
            return gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        };
        match gw.authorize(auth, headers, &base).await {
            Ok(ctx) => base["requestContext"]["authorizer"] = json!({"lambda": ctx}),
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
        Ok(out) => to_http(&out),
        Err(_) => gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Vec<Route> {
        let r = |m: &str, p: &str| Route {
            method: m.into(),
            path: p.into(),
            function: "f".into(),
            authorizer: None,
        };
        vec![
            r("POST", "/v1/feeds"),
            r("GET", "/v1/feeds/{feedId}"),
            r("GET", "/v1/orders"),
            r("ANY", "/files/{proxy+}"),
        ]
    }

    #[test]
    fn routes_match_with_parameters_and_tell_404_from_405() {
        let routes = routes();
        let (r, p) = match_route(&routes, "GET", "/v1/feeds/abc%20d").unwrap();
        assert_eq!(r.path, "/v1/feeds/{feedId}");
        assert_eq!(p["feedId"], "abc d");
        assert!(match_route(&routes, "POST", "/v1/feeds").is_ok());
        assert_eq!(
            match_route(&routes, "DELETE", "/v1/feeds").unwrap_err(),
            vec!["POST".to_string()],
            "known path, wrong method: 405 with Allow"
        );
        assert!(
            match_route(&routes, "GET", "/v2/feeds").unwrap_err().is_empty(),
            "unknown path: 404"
        );
        let (_, p) = match_route(&routes, "PUT", "/files/a/b/c").unwrap();
        assert_eq!(p["proxy"], "a/b/c");
    }

    #[test]
    fn the_contract_converts_to_json() {
        let json: Value = serde_json::from_str(openapi_json().unwrap()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        assert!(json["paths"]["/v1/feeds"]["post"].is_object());
    }
}
