//! POST /v1/feeds: checks a partner's feed, stores it, announces it on the
//! bus and answers 202. Every refusal is an RFC 9457 problem naming the
//! field at fault; every answer carries X-Request-ID.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use tracing::Instrument;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::events::{DomainEvent, EventBridgeSink, EventSink, ORDER_FEED_RECEIVED};
use zb_shared::feed::{FeedCounts, FeedRecord, FeedStatus, MAX_ORDERS_PER_FEED};
use zb_shared::format::{Format, FormatResolver};
use zb_shared::http::{self, header};
use zb_shared::idempotency::{self, Claim, StoredResponse};
use zb_shared::pipeline::FeedRef;
use zb_shared::problem::{FieldError, Problem, ProblemKind};
use zb_shared::ratelimit::{Decision, Policy};
use zb_shared::store::{FeedStore, IdempotencyStore, RateLimitStore, StoreError};
use zb_shared::strict_json::{self, StrictJsonError};

/// 256 KB: what a partner may send in one feed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

pub struct App<E: EventSink> {
    pub feeds: FeedStore,
    pub idempotency: IdempotencyStore,
    pub rate_limits: RateLimitStore,
    pub events: E,
    /// Built-in formats, then the formats table (each version read once).
    pub formats: FormatResolver,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App<EventBridgeSink> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        Ok(Self {
            feeds: FeedStore::new(ddb.clone(), required_env("FEEDS_TABLE")?),
            idempotency: IdempotencyStore::new(ddb.clone(), required_env("IDEMPOTENCY_TABLE")?),
            rate_limits: RateLimitStore::new(ddb.clone(), required_env("RATE_LIMIT_TABLE")?),
            events: EventBridgeSink::from_env(&sdk)?,
            formats: FormatResolver::from_env(ddb)?,
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("ingest"),
        })
    }
}

pub async fn handler<E: EventSink>(
    app: &App<E>,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Infallible> {
    let req = event.payload;
    let request_id = http::request_id(&req);
    let span = zb_shared::invocation_span!(request_id);
    let (mut cost, started) = CostRecord::start(&app.function_name);
    // The record's RequestId is Lambda's, as in every other function, so it
    // joins the REPORT line; the caller's X-Request-ID is on the span.
    cost.request_id = Some(event.context.request_id.clone());
    // Joins this request's authorizer invocation to the feed (`zb cost`); the
    // body as API Gateway passed it is what the HTTP API meters.
    cost.api_request_id = req.request_context.request_id.clone();
    cost.api_request_bytes = Some(req.body.as_deref().map_or(0, str::len) as u64);
    let meter = CostMeter::default();
    let resp = ingest(app, &req, &request_id, &meter, &mut cost)
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::info!(status = resp.status_code, "ingest answered");
        cost.finish(started, &meter).emit();
    });
    Ok(resp)
}

/// A refusal before anything was stored.
fn refuse(
    kind: ProblemKind,
    detail: impl Into<String>,
    error: FieldError,
    request_id: &str,
) -> ApiGatewayV2httpResponse {
    http::problem_response(
        Problem::new(kind, detail).with_error(error).with_instance("/v1/feeds"),
        request_id,
    )
}

fn boxed_refuse(
    kind: ProblemKind,
    detail: impl Into<String>,
    error: FieldError,
    request_id: &str,
) -> Box<ApiGatewayV2httpResponse> {
    Box::new(refuse(kind, detail, error, request_id))
}

fn store_failure(e: &StoreError, request_id: &str) -> ApiGatewayV2httpResponse {
    tracing::error!(error = %e, "storing the feed failed");
    let kind = if e.is_transient() {
        ProblemKind::ServiceUnavailable
    } else {
        ProblemKind::Internal
    };
    let resp = http::problem_response(Problem::new(kind, "the feed was not accepted; retry later"), request_id);
    if e.is_transient() {
        http::with_header(resp, "retry-after", "1")
    } else {
        resp
    }
}

/// Checks size, content type and shape; returns the parsed body and its order count.
fn check_request(
    format: &Format,
    req: &ApiGatewayV2httpRequest,
    request_id: &str,
) -> Result<(String, String, usize), Box<ApiGatewayV2httpResponse>> {
    let bytes = http::body_bytes(req).map_err(|_| {
        boxed_refuse(
            ProblemKind::MalformedBody,
            "the body is marked base64 but does not decode",
            FieldError::pointer("", "invalid base64"),
            request_id,
        )
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(boxed_refuse(
            ProblemKind::PayloadTooLarge,
            format!(
                "the body is {} bytes; a feed may be at most {MAX_BODY_BYTES} bytes",
                bytes.len()
            ),
            FieldError::pointer(
                "",
                format!("split the feed into bodies of at most {MAX_BODY_BYTES} bytes"),
            ),
            request_id,
        ));
    }
    let accepted = format.content_types.join(", ");
    let content_type = match header(req, "content-type") {
        Some(ct) if format.accepts_content_type(ct) => ct.to_string(),
        Some(ct) => {
            return Err(boxed_refuse(
                ProblemKind::UnsupportedMediaType,
                format!("format {} takes {accepted}", format.id),
                FieldError::header("content-type", format!("{ct:?} is not accepted")),
                request_id,
            ))
        }
        None => {
            return Err(boxed_refuse(
                ProblemKind::UnsupportedMediaType,
                format!("format {} takes {accepted}", format.id),
                FieldError::header("content-type", "the Content-Type header is missing"),
                request_id,
            ))
        }
    };
    let body: Value = strict_json::parse(&bytes).map_err(|e| {
        let detail = match &e {
            StrictJsonError::Syntax(_) => "the body is not valid JSON",
            StrictJsonError::DuplicateKey { .. } => "the body names a key twice in one object",
            StrictJsonError::NullCharacter { .. } => "the body holds a null character (U+0000)",
        };
        boxed_refuse(
            ProblemKind::MalformedBody,
            detail,
            FieldError::pointer(e.pointer(), e.to_string()),
            request_id,
        )
    })?;
    let orders = zb_shared::validate::orders_of(format, &body).map_err(|e| {
        boxed_refuse(
            ProblemKind::MalformedBody,
            format!("the body does not look like a {} feed", format.id),
            FieldError::pointer(e.pointer(), e.to_string()),
            request_id,
        )
    })?;
    if orders.is_empty() {
        return Err(boxed_refuse(
            ProblemKind::MalformedBody,
            "the feed holds no orders",
            FieldError::pointer(format.orders_pointer.clone(), "must hold at least one order"),
            request_id,
        ));
    }
    let count = orders.len();
    if count > MAX_ORDERS_PER_FEED {
        return Err(boxed_refuse(
            ProblemKind::MalformedBody,
            format!("the feed holds {count} orders; a feed may hold at most {MAX_ORDERS_PER_FEED}"),
            FieldError::pointer(
                format.orders_pointer.clone(),
                format!("must hold at most {MAX_ORDERS_PER_FEED} orders; split the feed"),
            ),
            request_id,
        ));
    }
    // serde_json accepted it, so it is UTF-8.
    let text = String::from_utf8(bytes).map_err(|_| {
        boxed_refuse(
            ProblemKind::MalformedBody,
            "the body is not UTF-8",
            FieldError::pointer("", "invalid UTF-8"),
            request_id,
        )
    })?;
    Ok((text, content_type, count))
}

async fn ingest<E: EventSink>(
    app: &App<E>,
    req: &ApiGatewayV2httpRequest,
    request_id: &str,
    meter: &CostMeter,
    cost: &mut CostRecord,
) -> ApiGatewayV2httpResponse {
    let Some(caller) = http::caller(req) else {
        return http::unauthorized(request_id);
    };
    let span = tracing::Span::current();
    span.record("partnerId", caller.partner_id.as_str());
    cost.partner_id = Some(caller.partner_id.clone());
    let correlation_id = header(req, CORRELATION_ID_HEADER)
        .filter(|c| !c.is_empty() && c.len() <= 128)
        .unwrap_or(request_id)
        .to_string();
    span.record("correlationId", correlation_id.as_str());

    // Counted first, before any work on the body: a partner over its limit
    // costs one conditional write and nothing else.
    let policy = caller.rate_limit.policy();
    let decision = match app
        .rate_limits
        .consume(&caller.partner_id, policy, app.clock.now(), meter)
        .await
    {
        Ok(d) => Some(d),
        Err(e) => {
            // Fail open: an unreachable limiter must not stop every partner;
            // the stage throttle in the template still bounds the total.
            tracing::warn!(error = %e, "the rate limiter is unavailable; serving without a limit");
            None
        }
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        tracing::info!(quota = policy.quota, window = policy.window_secs, "over the rate limit");
        let resp = refuse(
            ProblemKind::TooManyRequests,
            format!(
                "this partner may send {} requests per {} s; retry in {} s",
                policy.quota, policy.window_secs, d.reset_secs
            ),
            FieldError::header("x-api-key", "the rate limit of this key's partner is used up"),
            request_id,
        );
        return with_rate_limit(
            http::with_header(resp, "retry-after", &d.retry_after()),
            policy,
            Some(d),
        );
    }
    let resp = accept(app, req, &caller, request_id, meter, cost, &correlation_id).await;
    with_rate_limit(resp, policy, decision)
}

/// RateLimit-Policy always; RateLimit when the limiter answered.
fn with_rate_limit(
    resp: ApiGatewayV2httpResponse,
    policy: Policy,
    decision: Option<Decision>,
) -> ApiGatewayV2httpResponse {
    let resp = http::with_header(resp, "ratelimit-policy", &policy.header());
    match decision {
        Some(d) => http::with_header(resp, "ratelimit", &d.header()),
        None => resp,
    }
}

/// Everything after the rate limit: checks, idempotency, storage, the event.
async fn accept<E: EventSink>(
    app: &App<E>,
    req: &ApiGatewayV2httpRequest,
    caller: &http::Caller,
    request_id: &str,
    meter: &CostMeter,
    cost: &mut CostRecord,
    correlation_id: &str,
) -> ApiGatewayV2httpResponse {
    let span = tracing::Span::current();
    let correlation_id = correlation_id.to_string();
    let format = match app.formats.get(&caller.format, meter).await {
        Ok(f) => f,
        // The formats table is unavailable: the partner may retry (nothing was stored).
        Err(e) if e.is_transient() => {
            tracing::error!(error = %e, "looking up the partner's format failed");
            let resp = http::problem_response(
                Problem::new(
                    ProblemKind::ServiceUnavailable,
                    "the feed was not accepted; retry later",
                ),
                request_id,
            );
            return http::with_header(resp, "retry-after", "1");
        }
        Err(e) => {
            tracing::error!(error = %e, "the partner's format is not deployed");
            return http::problem_response(
                Problem::new(
                    ProblemKind::Internal,
                    "your account's feed format is not available; contact support",
                ),
                request_id,
            );
        }
    };
    let (body, content_type, order_count) = match check_request(&format, req, request_id) {
        Ok(checked) => checked,
        Err(resp) => return *resp,
    };

    let idem_key = match header(req, IDEMPOTENCY_KEY_HEADER) {
        None => None,
        Some(k) if idempotency::valid_key(k) => Some(k.to_string()),
        Some(_) => {
            return refuse(
                ProblemKind::BadRequest,
                "the Idempotency-Key header is not usable",
                FieldError::header(
                    IDEMPOTENCY_KEY_HEADER,
                    format!("must be 1 to {} printable ASCII characters", idempotency::MAX_KEY_LEN),
                ),
                request_id,
            )
        }
    };
    let now = app.clock.now();
    if let Some(key) = &idem_key {
        let hash = idempotency::body_hash(body.as_bytes());
        match app
            .idempotency
            .claim(&caller.partner_id, key, &hash, now.timestamp(), meter)
            .await
        {
            Ok(Claim::Acquired) => {}
            Ok(Claim::Replay(stored)) => {
                tracing::info!("replaying the stored response for this Idempotency-Key");
                let body: Value = serde_json::from_str(&stored.body).unwrap_or(Value::Null);
                return with_location(http::json_response(stored.status, &body, request_id), &body);
            }
            Ok(Claim::InFlight) => {
                return refuse(
                    ProblemKind::IdempotencyInFlight,
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                    FieldError::header(IDEMPOTENCY_KEY_HEADER, "in use by a request in progress"),
                    request_id,
                )
            }
            Ok(Claim::Mismatch) => {
                return refuse(
                    ProblemKind::IdempotencyKeyReused,
                    "this Idempotency-Key was used with a different body",
                    FieldError::header(IDEMPOTENCY_KEY_HEADER, "already used for another request body"),
                    request_id,
                )
            }
            Err(e) => return store_failure(&e, request_id),
        }
    }

    let feed_id = uuid::Uuid::now_v7().to_string();
    span.record("feedId", feed_id.as_str());
    cost.feed_id = Some(feed_id.clone());
    cost.orders = order_count;
    let received_at = zb_shared::time::format_utc(now);
    let record = FeedRecord {
        partner_id: caller.partner_id.clone(),
        feed_id: feed_id.clone(),
        status: FeedStatus::Received,
        format: format.id.clone(),
        received_at: received_at.clone(),
        request_id: request_id.to_string(),
        correlation_id: correlation_id.clone(),
        content_type,
        body_bytes: body.len(),
        order_count,
        counts: FeedCounts {
            received: order_count,
            ..FeedCounts::default()
        },
        outcomes: Vec::new(),
        outcome_pages: 0,
        failure: None,
        updated_at: received_at.clone(),
        sweep_attempts: 0,
        redrive_count: 0,
    };
    if let Err(e) = app.feeds.create(&record, &body, meter).await {
        release(app, &caller.partner_id, idem_key.as_deref(), meter).await;
        return store_failure(&e, request_id);
    }
    let feed_ref = FeedRef {
        feed_id: feed_id.clone(),
        partner_id: caller.partner_id.clone(),
        format: format.id.clone(),
        received_at,
        request_id: request_id.to_string(),
        correlation_id,
    };
    let detail = serde_json::to_value(&feed_ref).unwrap_or(Value::Null);
    let published = app
        .events
        .publish(
            vec![DomainEvent {
                detail_type: ORDER_FEED_RECEIVED,
                detail,
            }],
            meter,
        )
        .await;
    if let Err(e) = published {
        // The feed is stored but nobody will process it, so we must not
        // answer 202; the partner retries and gets a fresh feed.
        tracing::error!(error = %e, "publishing OrderFeedReceived failed");
        release(app, &caller.partner_id, idem_key.as_deref(), meter).await;
        let resp = http::problem_response(
            Problem::new(
                ProblemKind::ServiceUnavailable,
                "the feed was not accepted; retry later",
            ),
            request_id,
        );
        return http::with_header(resp, "retry-after", "1");
    }

    let accepted = json!({
        "feedId": feed_id,
        "status": FeedStatus::Received,
        "statusUrl": format!("/v1/feeds/{feed_id}"),
        "orderCount": order_count,
    });
    if let Some(key) = &idem_key {
        let stored = StoredResponse {
            status: 202,
            body: accepted.to_string(),
        };
        if let Err(e) = app.idempotency.complete(&caller.partner_id, key, &stored, meter).await {
            tracing::warn!(error = %e, "could not store the response for replay");
        }
    }
    cost.metrics.push(("OrdersReceived", order_count as f64));
    tracing::info!(orders = order_count, "feed accepted");
    with_location(http::json_response(202, &accepted, request_id), &accepted)
}

fn with_location(resp: ApiGatewayV2httpResponse, body: &Value) -> ApiGatewayV2httpResponse {
    match body.get("statusUrl").and_then(Value::as_str) {
        Some(url) => http::with_header(resp, "location", url),
        None => resp,
    }
}

/// Frees the Idempotency-Key after a failure so the partner's retry is not
/// blocked (if this fails too, the claim's lock expires by itself).
async fn release<E: EventSink>(app: &App<E>, partner_id: &str, key: Option<&str>, meter: &CostMeter) {
    if let Some(key) = key {
        if let Err(e) = app.idempotency.release(partner_id, key, meter).await {
            tracing::warn!(error = %e, "could not free the Idempotency-Key");
        }
    }
}
