//! The read routes: GET /v1/feeds/{feedId}, GET /v1/orders,
//! GET /v1/orders/{sequenceNumber} and GET /v1/errors. Every read is keyed
//! by the caller's partnerId from the authorizer, so another partner's feed
//! or order is simply not found: 404, never its content.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use tracing::Instrument;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::http::{self, Caller};
use zb_shared::problem::{FieldError, Problem, ProblemKind};
use zb_shared::store::{
    outcome_cursor, outcome_page_of, DeliveryStore, ErrorItem, ErrorLog, FeedStore, OrderStore, OutboxStore, Page,
    RateLimitStore, StoreError, StoredOrder,
};

mod deliveries;
mod outbox;

pub const DEFAULT_LIMIT: i32 = 50;
pub const MAX_LIMIT: i32 = 100;
const EARLIEST: &str = "0000-01-01T00:00:00.000Z";
const LATEST: &str = "9999-12-31T23:59:59.999Z";

pub struct App {
    pub feeds: FeedStore,
    pub orders: OrderStore,
    pub errors: ErrorLog,
    /// Read only: the GET routes report the partner's feed quota, they do not spend it.
    pub rate_limits: RateLimitStore,
    /// GET /v1/deliveries.
    pub deliveries: DeliveryStore,
    /// GET /v1/outbox, POST /v1/outbox/ack.
    pub outbox: OutboxStore,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let ddb = zb_shared::aws::dynamodb_client().await;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        // Every read leaves out items past their retention, by this clock;
        // a broken retention value stops the function at start.
        let ttl = zb_shared::store::Ttl {
            retention: zb_shared::config::Retention::from_env()?,
            clock: clock.clone(),
        };
        Ok(Self {
            feeds: FeedStore::new(ddb.clone(), required_env("FEEDS_TABLE")?).with_ttl(ttl.clone()),
            orders: OrderStore::new(ddb.clone(), required_env("ORDERS_TABLE")?).with_ttl(ttl.clone()),
            errors: ErrorLog::new(ddb.clone(), required_env("ERRORS_TABLE")?).with_ttl(ttl.clone()),
            rate_limits: RateLimitStore::new(ddb.clone(), required_env("RATE_LIMIT_TABLE")?),
            deliveries: DeliveryStore::new(ddb.clone(), required_env("DELIVERIES_TABLE")?).with_ttl(ttl.clone()),
            outbox: OutboxStore::new(ddb, required_env("OUTBOX_TABLE")?).with_ttl(ttl),
            clock,
            function_name: zb_shared::config::function_name("query"),
        })
    }
}

pub async fn handler(
    app: &App,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Infallible> {
    let req = event.payload;
    let request_id = http::request_id(&req);
    let span = zb_shared::invocation_span!(request_id);
    let (mut cost, started) = CostRecord::start(&app.function_name);
    // The record's RequestId is Lambda's, as in every other function, so it
    // joins the REPORT line; the caller's X-Request-ID is on the span.
    cost.request_id = Some(event.context.request_id.clone());
    let meter = CostMeter::default();
    let resp = async {
        let Some(caller) = http::caller(&req) else {
            return http::unauthorized(&request_id);
        };
        tracing::Span::current().record("partnerId", caller.partner_id.as_str());
        cost.partner_id = Some(caller.partner_id.clone());
        let resp = answer(app, &req, &caller, &meter, &request_id).await;
        with_rate_limit(app, resp, &caller, &meter).await
    }
    .instrument(span.clone())
    .await;
    span.in_scope(|| {
        tracing::info!(status = resp.status_code, "query answered");
        cost.finish(started, &meter).emit();
    });
    Ok(resp)
}

/// RateLimit-Policy, and the quota left in the current window (one
/// eventually consistent read; left out if the read fails).
async fn with_rate_limit(
    app: &App,
    resp: ApiGatewayV2httpResponse,
    caller: &Caller,
    meter: &CostMeter,
) -> ApiGatewayV2httpResponse {
    let policy = caller.rate_limit.policy();
    let resp = http::with_header(resp, "ratelimit-policy", &policy.header());
    match app
        .rate_limits
        .peek(&caller.partner_id, policy, app.clock.now(), meter)
        .await
    {
        Ok(d) => http::with_header(resp, "ratelimit", &d.header()),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the rate limit");
            resp
        }
    }
}

async fn answer(
    app: &App,
    req: &ApiGatewayV2httpRequest,
    caller: &Caller,
    meter: &CostMeter,
    request_id: &str,
) -> ApiGatewayV2httpResponse {
    // Boxed: the SDK's nested futures otherwise exceed rustc's layout depth limit.
    match Box::pin(route(app, req, caller, meter)).await {
        Ok(Ok(body)) => http::json_response(200, &body, request_id),
        Ok(Err(problem)) => http::problem_response(problem.with_instance(path(req)), request_id),
        Err(e) => {
            tracing::error!(error = %e, "query failed");
            let (kind, retry) = if e.is_transient() {
                (ProblemKind::ServiceUnavailable, true)
            } else {
                (ProblemKind::Internal, false)
            };
            let resp = http::problem_response(Problem::new(kind, "the read failed; retry later"), request_id);
            if retry {
                http::with_header(resp, "retry-after", "1")
            } else {
                resp
            }
        }
    }
}

fn path(req: &ApiGatewayV2httpRequest) -> String {
    req.raw_path.clone().unwrap_or_default()
}

fn not_found(what: &str) -> Problem {
    Problem::new(
        ProblemKind::NotFound,
        format!("no {what} with that id for this partner"),
    )
}

fn bad_parameter(name: &str, detail: impl Into<String>) -> Problem {
    Problem::new(
        ProblemKind::BadRequest,
        format!("the query parameter {name} is not valid"),
    )
    .with_error(FieldError::parameter(name, detail))
}

type Answer = Result<Result<Value, Problem>, StoreError>;

async fn route(app: &App, req: &ApiGatewayV2httpRequest, caller: &Caller, meter: &CostMeter) -> Answer {
    let route_key = req.route_key.as_deref().unwrap_or_default();
    let param = |name: &str| req.path_parameters.get(name).map(String::as_str).unwrap_or_default();
    match route_key {
        "GET /v1/feeds/{feedId}" => get_feed(app, req, caller, param("feedId"), meter).await,
        "GET /v1/orders/{sequenceNumber}" => get_order(app, caller, param("sequenceNumber"), meter).await,
        "GET /v1/orders" => list_orders(app, req, caller, meter).await,
        "GET /v1/errors" => list_errors(app, req, caller, meter).await,
        "GET /v1/deliveries" => deliveries::list(&app.deliveries, req, caller, meter).await,
        "GET /v1/outbox" => outbox::read(&app.outbox, req, caller, meter).await,
        "POST /v1/outbox/ack" => outbox::ack(&app.outbox, req, caller, meter).await,
        other => Ok(Err(Problem::new(ProblemKind::NotFound, format!("no route {other:?}")))),
    }
}

/// A feed with one page of its outcomes: the first, or the one `cursor`
/// names. `nextCursor` leads to the next page, so the outcome list of any
/// feed is retrievable while every item and answer stays small.
async fn get_feed(
    app: &App,
    req: &ApiGatewayV2httpRequest,
    caller: &Caller,
    feed_id: &str,
    meter: &CostMeter,
) -> Answer {
    tracing::Span::current().record("feedId", feed_id);
    let Some(feed) = app.feeds.get(&caller.partner_id, feed_id, meter).await? else {
        return Ok(Err(not_found("feed")));
    };
    let page = match req.query_string_parameters.first("cursor") {
        None => 0,
        Some(cursor) => match outcome_page_of(&caller.partner_id, feed_id, cursor, feed.outcome_pages) {
            Ok(page) => page,
            Err(_) => return Ok(Err(bad_cursor())),
        },
    };
    let outcomes = if page == 0 {
        feed.outcomes
    } else {
        match app.feeds.outcome_page(&caller.partner_id, feed_id, page, meter).await {
            Ok(Some(outcomes)) => outcomes,
            // Outcome pages are kept RawFeedRetentionDays, the record longer.
            Err(StoreError::Expired(_)) => {
                return Ok(Err(Problem::new(
                    ProblemKind::NotFound,
                    "this page of the feed's outcomes is past its retention (RawFeedRetentionDays)",
                )))
            }
            Err(e) => return Err(e),
            Ok(None) => {
                return Err(StoreError::Corrupt(format!(
                    "feed {feed_id} has no outcome page {page}"
                )))
            }
        }
    };
    let next = (page + 1 < feed.outcome_pages).then(|| outcome_cursor(&caller.partner_id, feed_id, page + 1));
    let mut body = json!({
        "feedId": feed.feed_id,
        "status": feed.status,
        "format": feed.format,
        "receivedAt": feed.received_at,
        "updatedAt": feed.updated_at,
        "requestId": feed.request_id,
        "orderCount": feed.order_count,
        "counts": feed.counts,
        "orders": outcomes,
        "nextCursor": next,
    });
    if let Some(failure) = feed.failure {
        body["failure"] = json!({"error": failure.error, "cause": failure.cause});
    }
    Ok(Ok(body))
}

async fn get_order(app: &App, caller: &Caller, seq: &str, meter: &CostMeter) -> Answer {
    let Ok(seq) = seq.parse::<u64>() else {
        return Ok(Err(Problem::new(
            ProblemKind::BadRequest,
            "the sequence number is not valid",
        )
        .with_error(FieldError::parameter(
            "sequenceNumber",
            "must be a positive integer",
        ))));
    };
    match app.orders.get(&caller.partner_id, seq, meter).await? {
        Some(order) => Ok(Ok(StoredOrder::view(order))),
        None => Ok(Err(not_found("order"))),
    }
}

/// from/to/limit/cursor, checked; times normalised to the stored format.
struct Range {
    from: String,
    to: String,
    limit: i32,
    cursor: Option<String>,
}

fn range(req: &ApiGatewayV2httpRequest) -> Result<Range, Box<Problem>> {
    let q = &req.query_string_parameters;
    let time = |name: &str, default: &str| match q.first(name) {
        None | Some("") => Ok(default.to_string()),
        Some(v) => zb_shared::time::parse_rfc3339(v)
            .map(zb_shared::time::format_utc)
            .map_err(|_| Box::new(bad_parameter(name, format!("{v:?} is not an RFC 3339 timestamp")))),
    };
    let from = time("from", EARLIEST)?;
    let to = time("to", LATEST)?;
    if from > to {
        return Err(Box::new(bad_parameter("from", "must not be after to")));
    }
    let limit = match q.first("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(Box::new(bad_parameter(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                )))
            }
        },
    };
    Ok(Range {
        from,
        to,
        limit,
        cursor: q.first("cursor").map(str::to_string),
    })
}

fn page_body<T>(page: Page<T>, view: impl Fn(T) -> Value) -> Value {
    json!({
        "items": page.items.into_iter().map(view).collect::<Vec<_>>(),
        "nextCursor": page.next_cursor,
    })
}

fn bad_cursor() -> Problem {
    bad_parameter("cursor", "not a cursor this API issued for this query")
}

async fn list_orders(app: &App, req: &ApiGatewayV2httpRequest, caller: &Caller, meter: &CostMeter) -> Answer {
    let r = match range(req) {
        Ok(r) => r,
        Err(p) => return Ok(Err(*p)),
    };
    let page = app
        .orders
        .by_event_time(&caller.partner_id, &r.from, &r.to, r.cursor.as_deref(), r.limit, meter)
        .await?;
    Ok(page.map(|p| page_body(p, StoredOrder::view)).map_err(|_| bad_cursor()))
}

async fn list_errors(app: &App, req: &ApiGatewayV2httpRequest, caller: &Caller, meter: &CostMeter) -> Answer {
    let r = match range(req) {
        Ok(r) => r,
        Err(p) => return Ok(Err(*p)),
    };
    let page = app
        .errors
        .query(&caller.partner_id, &r.from, &r.to, r.cursor.as_deref(), r.limit, meter)
        .await?;
    Ok(page.map(|p| page_body(p, ErrorItem::view)).map_err(|_| bad_cursor()))
}
