//! The Lambda Runtime API (version 2018-06-01) one instance talks to, on its own 127.0.0.1 port.
//!
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>: the runtime long-polls
//! `GET /runtime/invocation/next`, answers with `POST /runtime/invocation/{id}/response` or `.../error`, and reports
//! a failed initialisation with `POST /runtime/init/error`. One server per instance keeps the bookkeeping trivial:
//! whatever arrives on this port belongs to this instance.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Largest response a synchronous invoke may return: "Invocation payload (request and response): 6 MB each for
/// synchronous" (Lambda quotas). The Runtime API answers a larger `/response` with 413 and the caller gets
/// `Function.ResponseSizeTooLarge`.
pub(crate) const MAX_BUFFERED_RESPONSE: usize = 6 * 1024 * 1024;
/// Streamed responses may be larger (20 MB soft limit); nothing bigger is read.
const MAX_BODY: usize = 20 * 1024 * 1024;

const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";
const ERROR_BODY_TRAILER: &str = "lambda-runtime-function-error-body";
const RESPONSE_MODE_HEADER: &str = "lambda-runtime-function-response-mode";

/// An invocation handed to the runtime by `GET /next`.
pub(crate) struct Delivery {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: u64,
    pub function_arn: String,
    pub trace_id: String,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
}

/// What the runtime told the Runtime API.
#[derive(Debug)]
pub(crate) enum ApiEvent {
    /// The first `GET /next`: init is over.
    Ready {
        at: Instant,
    },
    Response {
        request_id: String,
        body: Bytes,
    },
    Error {
        request_id: String,
        error_type: Option<String>,
        body: Bytes,
    },
    InitError {
        error_type: Option<String>,
        body: Bytes,
    },
}

struct Shared {
    deliveries: tokio::sync::Mutex<mpsc::UnboundedReceiver<Delivery>>,
    events: mpsc::UnboundedSender<ApiEvent>,
    /// The invocation delivered and not answered yet.
    current: Mutex<Option<String>>,
    initialized: AtomicBool,
}

impl Shared {
    fn take_current(&self, request_id: &str) -> bool {
        match self.current.lock() {
            Ok(mut current) if current.as_deref() == Some(request_id) => {
                *current = None;
                true
            }
            _ => false,
        }
    }
}

/// A running Runtime API server; stops when dropped.
pub(crate) struct RuntimeApi {
    pub addr: SocketAddr,
    pub deliver: mpsc::UnboundedSender<Delivery>,
    pub events: mpsc::UnboundedReceiver<ApiEvent>,
    server: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.abort();
    }
}

/// Binds a free port on 127.0.0.1 and serves the Runtime API on it.
pub(crate) async fn start() -> std::io::Result<RuntimeApi> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let (deliver, deliveries) = mpsc::unbounded_channel();
    let (events_tx, events) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        deliveries: tokio::sync::Mutex::new(deliveries),
        events: events_tx,
        current: Mutex::new(None),
        initialized: AtomicBool::new(false),
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{request_id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{request_id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(not_found)
        // Sizes are checked per route (6 MB responses); axum's 2 MB default would cut valid payloads.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(RuntimeApi {
        addr,
        deliver,
        events,
        server,
        stop: Some(stop),
    })
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "errorMessage": message, "errorType": error_type })),
    )
        .into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "status": "OK" }))).into_response()
}

async fn next(State(api): State<Arc<Shared>>) -> Response {
    if !api.initialized.swap(true, Ordering::SeqCst) {
        let _ = api.events.send(ApiEvent::Ready { at: Instant::now() });
    }
    let delivery = api.deliveries.lock().await.recv().await;
    let Some(d) = delivery else {
        // The instance is being torn down; the process is about to be killed.
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Shutdown",
            "The execution environment is shutting down",
        );
    };
    if let Ok(mut current) = api.current.lock() {
        *current = Some(d.request_id.clone());
    }
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        // Only caller-supplied values (client context, identity) can be invalid; those are left out.
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &d.request_id);
    set("lambda-runtime-deadline-ms", &d.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &d.function_arn);
    set("lambda-runtime-trace-id", &d.trace_id);
    if let Some(cc) = &d.client_context {
        set("lambda-runtime-client-context", cc);
    }
    if let Some(ci) = &d.cognito_identity {
        set("lambda-runtime-cognito-identity", ci);
    }
    (StatusCode::OK, headers, Body::from(d.payload)).into_response()
}

async fn read_body(body: Body) -> Result<(Bytes, Option<HeaderMap>), ()> {
    let collected = Limited::new(body, MAX_BODY).collect().await.map_err(|_| ())?;
    let trailers = collected.trailers().cloned();
    Ok((collected.to_bytes(), trailers))
}

fn too_large(api: &Shared, request_id: &str) -> Response {
    let message =
        format!("Response payload size exceeded maximum allowed payload size ({MAX_BUFFERED_RESPONSE} bytes).");
    if api.take_current(request_id) {
        let body = json!({ "errorMessage": message, "errorType": "Function.ResponseSizeTooLarge" });
        let _ = api.events.send(ApiEvent::Error {
            request_id: request_id.to_owned(),
            error_type: Some("Function.ResponseSizeTooLarge".into()),
            body: Bytes::from(body.to_string()),
        });
    }
    api_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", &message)
}

fn invalid_request_id() -> Response {
    api_error(StatusCode::BAD_REQUEST, "InvalidRequestID", "Invalid request ID")
}

async fn response(
    State(api): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok((body, trailers)) = read_body(body).await else {
        return too_large(&api, &request_id);
    };
    let streaming = headers
        .get(RESPONSE_MODE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("streaming"));
    if !streaming && body.len() > MAX_BUFFERED_RESPONSE {
        return too_large(&api, &request_id);
    }
    if !api.take_current(&request_id) {
        return invalid_request_id();
    }
    // A streamed response that failed half-way names the error in trailers.
    let trailer_error = trailers.as_ref().and_then(|t| header_str(t, ERROR_TYPE_HEADER));
    let event = match trailer_error {
        Some(error_type) => {
            let error_body = trailers
                .as_ref()
                .and_then(|t| header_str(t, ERROR_BODY_TRAILER))
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .map(Bytes::from)
                .unwrap_or_default();
            ApiEvent::Error {
                request_id,
                error_type: Some(error_type),
                body: error_body,
            }
        }
        None => ApiEvent::Response { request_id, body },
    };
    let _ = api.events.send(event);
    accepted()
}

async fn error(
    State(api): State<Arc<Shared>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok((body, _)) = read_body(body).await else {
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Error payload too large",
        );
    };
    if !api.take_current(&request_id) {
        return invalid_request_id();
    }
    let error_type = header_str(&headers, ERROR_TYPE_HEADER);
    let _ = api.events.send(ApiEvent::Error {
        request_id,
        error_type,
        body,
    });
    accepted()
}

async fn init_error(State(api): State<Arc<Shared>>, headers: HeaderMap, body: Body) -> Response {
    let Ok((body, _)) = read_body(body).await else {
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Error payload too large",
        );
    };
    // After the first /next the runtime is past init; RAPID refuses the transition the same way.
    if api.initialized.load(Ordering::SeqCst) {
        return api_error(
            StatusCode::FORBIDDEN,
            "InvalidStateTransition",
            "State transition from Ready to InitError failed for runtime. Error: State transition is not allowed",
        );
    }
    let error_type = header_str(&headers, ERROR_TYPE_HEADER);
    let _ = api.events.send(ApiEvent::InitError { error_type, body });
    accepted()
}

async fn not_found() -> Response {
    // Extensions (2020-01-01) and the Telemetry API (2022-07-01) are not served by the local host.
    api_error(StatusCode::NOT_FOUND, "InvalidRequest", "Unknown Runtime API path")
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}
