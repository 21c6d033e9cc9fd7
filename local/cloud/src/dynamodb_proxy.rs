//! A small HTTP proxy in front of DynamoDB Local that asks a [`Gate`]
//! whether each call is allowed before forwarding it.
//!
//! DynamoDB Local accepts any credentials, so IAM cannot be enforced there;
//! the functions are pointed at this proxy instead (their
//! `AWS_ENDPOINT_URL_DYNAMODB`). Every request is one awsJson1_0 call: the
//! operation is named by `X-Amz-Target: DynamoDB_20120810.<Op>`, the caller
//! by the access key id in the SigV4 `Authorization` header, the resources by
//! the JSON body. A denied call is answered here as DynamoDB answers it
//! (HTTP 400, `AccessDeniedException`); an allowed one is forwarded and its
//! answer copied back byte for byte, so the SDK sees DynamoDB Local's own
//! responses (status, `x-amz-crc32`, `x-amzn-RequestId`, body).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Decides whether a DynamoDB call may go through.
pub trait Gate: Send + Sync + 'static {
    /// `access_key`: the SigV4 access key id the request was signed with
    /// (None when unsigned); `operation`: the `X-Amz-Target` operation
    /// (`PutItem`), or the whole target when it is not a
    /// `DynamoDB_20120810.` one (DynamoDB Local also serves DynamoDB Streams'
    /// `DynamoDBStreams_20120810.*` on the same port, and an empty string when
    /// there is none); `body`: the request's JSON.
    fn check(&self, access_key: Option<&str>, operation: &str, body: &Value) -> Result<(), Denied>;
}

/// Why a call is refused: the `Message` of the `AccessDeniedException`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub message: String,
}

/// The largest request body read. DynamoDB's largest requests are
/// BatchWriteItem's 16 MB
/// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html);
/// with the JSON around the items a full batch can be a little larger, so
/// the limit leaves room rather than refuse what DynamoDB accepts.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// How long [`Proxy::stop`] lets calls in flight finish.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// The `X-Amz-Target` prefix of DynamoDB's operations (API version 2012-08-10).
const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// A running proxy. Dropping it stops accepting connections (calls in flight
/// still finish); [`Proxy::stop`] also waits for them.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`: what clients use as their DynamoDB endpoint.
    pub url: String,
    shutdown: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Stops the proxy: no new connections, idle ones closed, calls in flight
    /// given up to 5 s to finish before the server is aborted.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(STOP_GRACE, &mut server).await.is_err() {
                server.abort();
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // A graceful signal, not abort(): aborting the accept loop would leave
        // the per-connection tasks serving kept-alive connections.
        let _ = self.shutdown.send(true);
    }
}

struct Shared {
    /// The upstream's base URL without a trailing `/`.
    upstream: String,
    /// One pooled client for every forwarded call.
    client: reqwest::Client,
    gate: Arc<dyn Gate>,
    /// The access key forwarded calls are signed under, when set (see [`start_as`]).
    forward_key: Option<String>,
}

/// Starts a proxy on 127.0.0.1 (a free port) that forwards the calls `gate`
/// allows to `upstream` (DynamoDB Local's URL, `http://127.0.0.1:8000`).
pub async fn start(upstream: String, gate: Arc<dyn Gate>) -> std::io::Result<Proxy> {
    start_as(upstream, gate, None).await
}

/// [`start`], forwarding every call under `forward_key` instead of the caller's access key. On AWS
/// every role of an account reaches the same tables; DynamoDB Local without `-sharedDb` keeps a
/// database per access key, so calls signed with a function's own key would find no table. The
/// signature is not re-computed: DynamoDB Local does not verify it.
pub async fn start_as(upstream: String, gate: Arc<dyn Gate>, forward_key: Option<String>) -> std::io::Result<Proxy> {
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    reqwest::Url::parse(&upstream).map_err(|e| invalid(format!("DynamoDB endpoint {upstream:?}: {e}")))?;
    let client = reqwest::Client::builder()
        // The upstream is local: a developer's HTTP(S)_PROXY must not route it elsewhere.
        .no_proxy()
        // Bodies go back exactly as DynamoDB Local sent them (x-amz-crc32 is
        // over those bytes), even if another crate turns these features on.
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| std::io::Error::other(format!("HTTP client for the DynamoDB proxy: {e}")))?;
    let shared = Arc::new(Shared {
        upstream: upstream.trim_end_matches('/').to_string(),
        client,
        gate,
        forward_key,
    });
    let router = axum::Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (shutdown, mut stopped) = watch::channel(false);
    let server = tokio::spawn(async move {
        let signal = async move {
            // Err: the Proxy is gone, which is also a reason to stop.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(signal).await {
            tracing::error!(target: "dynamodb_proxy", error = %e, "the DynamoDB proxy stopped");
        }
    });
    Ok(Proxy {
        url,
        shutdown,
        server: Some(server),
    })
}

async fn handle(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    // A body that is not JSON names no resource: the gate sees null, and decides (the local
    // cloud's IAM refuses a function's call it cannot map, and lets the operator's through, which
    // DynamoDB Local then refuses with a SerializationException as DynamoDB would).
    let json = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    if let Err(denied) = s.gate.check(access_key(&headers), operation, &json) {
        return access_denied(&denied.message);
    }
    match &s.forward_key {
        Some(key) => forward(&s, method, &uri, &with_access_key(&headers, key), body).await,
        None => forward(&s, method, &uri, &headers, body).await,
    }
}

/// The access key id of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request, ...`,
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html).
pub fn access_key(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let (_, credential) = auth.split_once("Credential=")?;
    credential.split('/').next().filter(|id| !id.is_empty())
}

/// DynamoDB's answer to a call IAM refuses: HTTP 400, awsJson1_0,
/// `__type` + `Message`, as in "Error handling with DynamoDB"
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html:
/// the low-level error response, and AccessDeniedException under HTTP 400,
/// "OK to retry? No"). The `__type` namespace and the capital `Message` are
/// what DynamoDB sends for IAM denials (a raw body quoted in
/// https://github.com/sebdah/dynamic-dynamodb/issues/321); the SDKs read
/// either spelling.
fn access_denied(message: &str) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        "com.amazon.coral.service#AccessDeniedException",
        message,
    )
}

fn error_response(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"__type": kind, "Message": message}).to_string();
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.0"));
    // Always a valid header value: uppercase hex, like DynamoDB's request ids.
    let id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert("x-amzn-requestid", v);
    }
    resp
}

/// Sends the call on unchanged (but for the hop-by-hop headers and Host,
/// which belong to each connection; DynamoDB Local does not check the
/// signature they are part of) and copies DynamoDB Local's answer back.
/// `headers` with the Authorization header's access key replaced by `key`.
fn with_access_key(headers: &HeaderMap, key: &str) -> HeaderMap {
    let mut headers = headers.clone();
    let replaced = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| {
            let (before, credential) = auth.split_once("Credential=")?;
            let (_, rest) = credential.split_once('/')?;
            HeaderValue::from_str(&format!("{before}Credential={key}/{rest}")).ok()
        });
    if let Some(value) = replaced {
        headers.insert("authorization", value);
    }
    headers
}

async fn forward(s: &Shared, method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Response {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("{}{}", s.upstream, path);
    let sent = s
        .client
        .request(method, &url)
        .headers(end_to_end(headers))
        .body(body)
        .send()
        .await;
    let upstream = match sent {
        Ok(r) => r,
        Err(e) => return unreachable_upstream(&s.upstream, &e),
    };
    let status = upstream.status();
    let headers = end_to_end(upstream.headers());
    let body = match upstream.bytes().await {
        Ok(b) => b,
        Err(e) => return unreachable_upstream(&s.upstream, &e),
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    *resp.headers_mut() = headers;
    resp
}

/// DynamoDB Local is down or broke the connection: answered as DynamoDB's
/// InternalServerError (HTTP 500, which the SDKs retry), naming the cause.
fn unreachable_upstream(upstream: &str, e: &reqwest::Error) -> Response {
    tracing::warn!(target: "dynamodb_proxy", upstream, error = %e, "DynamoDB call failed");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "com.amazonaws.dynamodb.v20120810#InternalServerError",
        &format!("the local cloud's DynamoDB proxy could not reach DynamoDB Local at {upstream}: {e}"),
    )
}

/// The headers a proxy passes on: all but the hop-by-hop ones (RFC 9110
/// §7.6.1: Connection, the fields it names, and the classic list), Host
/// (the upstream's own is set by the client) and Content-Length (recomputed
/// from the same bytes by the HTTP library on each side).
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    const HOP_BY_HOP: [&str; 10] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    ];
    let named: Vec<HeaderName> = headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || n == "content-length" || named.contains(name) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_key_is_the_credential_scope_s_first_part() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc",
            ),
        );
        assert_eq!(access_key(&h), Some("AKIDEXAMPLE"));
        h.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=/x"),
        );
        assert_eq!(access_key(&h), None);
        assert_eq!(access_key(&HeaderMap::new()), None);
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_stay_behind() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("keep-alive, x-private"));
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("host", HeaderValue::from_static("127.0.0.1:1"));
        h.insert("content-length", HeaderValue::from_static("2"));
        h.insert("x-amz-target", HeaderValue::from_static("DynamoDB_20120810.PutItem"));
        h.append("x-multi", HeaderValue::from_static("a"));
        h.append("x-multi", HeaderValue::from_static("b"));
        let out = end_to_end(&h);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-amz-target", "x-multi"]);
        assert_eq!(out.get_all("x-multi").iter().count(), 2);
    }
}
