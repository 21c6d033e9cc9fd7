//! The admin API (issue 14): partners, formats, feeds, orders, errors,
//! deliveries, volume, cost and the audit log, for operators; and (issue 15)
//! the state machines and their executions, for the ops console; and
//! (issue 16) erasure and export of one data subject.
//!
//! API Gateway's JWT authorizer has checked the access token before this
//! runs; what it says about the caller arrives as string claims
//! (`requestContext.authorizer.jwt.claims`). Every route first checks the
//! caller's roles against the contract's table (`zb_shared::admin::roles`),
//! before any I/O, so a refused caller costs nothing and learns nothing but
//! which roles the route is for. Every change writes an audit entry.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use zb_shared::admin::{self, roles, AuditEntry, Change, Operator, Origin};
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::format::{FormatError, FormatResolver};
use zb_shared::http;
use zb_shared::onboarding::Onboarding;
use zb_shared::problem::{FieldError, Problem, ProblemKind};
use zb_shared::store::{
    AuditStore, BadCursor, CostStore, DeliveryStore, ErrorLog, FeedStore, FormatStore, MetricsStore, OrderStore,
    PartnerStore, StoreError,
};
use zb_shared::workflow::{ExecutionStarter, SfnStarter};

pub use executions::Machines;
pub use zb_shared::executions::ExecutionReader;

mod audit;
mod data;
mod executions;
mod feeds;
mod figures;
mod formats;
mod params;
mod partners;
mod privacy;
mod walk;

pub use privacy::Privacy;

/// The header a caller may tie its requests together with (as on the partner API).
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";
/// How long a rotated-out key or secret keeps working (`zb partners`' default).
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 60 * 60);

pub struct App<S: ExecutionStarter = SfnStarter> {
    pub partners: PartnerStore,
    /// Partner changes (the same code as `zb partners --direct`).
    pub onboarding: Onboarding,
    /// With the metrics store: a redrive takes back the feed's volume.
    pub feeds: FeedStore,
    pub orders: OrderStore,
    pub errors: ErrorLog,
    pub deliveries: DeliveryStore,
    pub audit: AuditStore,
    /// Volume per partner and hour (VOLUME# items).
    pub metrics: MetricsStore,
    /// Cost per partner and day, per feed (the cost job's items).
    pub costs: CostStore,
    /// Built-in formats, then published ones (the formats table).
    pub formats: FormatResolver,
    /// StartExecution on the order pipeline (redrive).
    pub pipeline: S,
    /// StartExecution on webhook-delivery (replay).
    pub webhooks: S,
    /// The two state machines' ARNs (the console's executions).
    pub machines: Machines,
    /// DescribeStateMachine, DescribeExecution, GetExecutionHistory and
    /// FilterLogEvents on the pipeline's log group.
    pub executions: ExecutionReader,
    /// Erasure and export of one data subject (issue 16); None answers
    /// those routes with a 500 (a deployment without them).
    pub privacy: Option<privacy::Privacy<S>>,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App<SfnStarter> {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        use zb_shared::config::required_env;
        let sdk = zb_shared::aws::sdk_config().await;
        let ddb = zb_shared::aws::dynamodb_client().await;
        let sfn = aws_sdk_sfn::Client::new(&sdk);
        let builtin = zb_shared::format::FormatRegistry::builtin()?;
        let machines = Machines {
            order_pipeline: required_env("ORDER_PIPELINE_STATE_MACHINE_ARN")?,
            webhook_delivery: required_env("WEBHOOK_DELIVERY_STATE_MACHINE_ARN")?,
        };
        let partners = PartnerStore::new(ddb.clone(), required_env("PARTNERS_TABLE")?);
        let feeds_table = required_env("FEEDS_TABLE")?;
        let privacy_machine = required_env("PRIVACY_ERASURE_STATE_MACHINE_ARN")?;
        let privacy = privacy::Privacy {
            data: ::privacy::Data {
                client: ddb.clone(),
                feeds: FeedStore::new(ddb.clone(), feeds_table.clone()),
                feeds_table: feeds_table.clone(),
                orders_table: required_env("ORDERS_TABLE")?,
                errors_table: required_env("ERRORS_TABLE")?,
                formats: FormatResolver::with_clock(
                    builtin.clone(),
                    Some(FormatStore::new(ddb.clone(), required_env("FORMATS_TABLE")?)),
                    Arc::new(SystemClock),
                ),
            },
            index: zb_shared::store::PrivacyIndex::new(ddb.clone(), required_env("PRIVACY_INDEX_TABLE")?),
            erasures: zb_shared::store::ErasureStore::new(ddb.clone(), required_env("ERASURES_TABLE")?),
            starter: SfnStarter::new(sfn.clone(), &privacy_machine),
            machine_arn: privacy_machine,
        };
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let metrics_table = required_env("METRICS_TABLE")?;
        let metrics = MetricsStore::new(ddb.clone(), metrics_table.clone());
        let formats = FormatResolver::with_clock(
            builtin.clone(),
            Some(FormatStore::new(ddb.clone(), required_env("FORMATS_TABLE")?)),
            clock.clone(),
        );
        Ok(Self {
            onboarding: Onboarding {
                store: partners.clone(),
                clock: clock.clone(),
                url_policy: zb_shared::ssrf::UrlPolicy::from_env(),
                // Unused: the admin API checks formats through the resolver.
                formats: builtin.ids().map(str::to_string).collect(),
            },
            partners,
            feeds: FeedStore::new(ddb.clone(), feeds_table).with_metrics(metrics.clone()),
            orders: OrderStore::new(ddb.clone(), required_env("ORDERS_TABLE")?),
            errors: ErrorLog::new(ddb.clone(), required_env("ERRORS_TABLE")?),
            deliveries: DeliveryStore::new(ddb.clone(), required_env("DELIVERIES_TABLE")?),
            audit: AuditStore::new(ddb.clone(), required_env("AUDIT_TABLE")?),
            metrics,
            costs: CostStore::new(ddb, metrics_table),
            formats,
            pipeline: SfnStarter::new(sfn.clone(), &machines.order_pipeline),
            webhooks: SfnStarter::new(sfn, &machines.webhook_delivery),
            machines,
            executions: ExecutionReader::from_sdk(&sdk),
            privacy: Some(privacy),
            clock,
            function_name: zb_shared::config::function_name("admin"),
        })
    }
}

/// What a route could not do: a problem to answer, or a dependency that failed.
#[derive(Debug)]
pub(crate) enum Fail {
    Problem(Box<Problem>),
    /// A problem with extension members (RFC 9457 section 3.2), such as
    /// the sample report of a 422.
    Extended(Box<Problem>, Value),
    /// Worth retrying (DynamoDB or Step Functions throttled or down): 503.
    Unavailable(String),
    /// 500.
    Internal(String),
}

impl From<Problem> for Fail {
    fn from(p: Problem) -> Self {
        Self::Problem(Box::new(p))
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

impl From<BadCursor> for Fail {
    fn from(_: BadCursor) -> Self {
        bad_parameter(
            "cursor",
            "not a cursor this API issued for this listing and these filters",
        )
        .into()
    }
}

/// A route's answer: status and JSON body.
pub(crate) type Answer = Result<(u16, Value), Fail>;

/// A 400 naming a query or path parameter.
pub(crate) fn bad_parameter(name: &str, detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::BadRequest, format!("the parameter {name} is not valid"))
        .with_error(FieldError::parameter(name, detail))
}

/// A 400 naming a member of the body (JSON Pointer).
pub(crate) fn bad_member(pointer: &str, detail: impl Into<String>) -> Problem {
    Problem::new(
        ProblemKind::BadRequest,
        format!("the body member {pointer} is not valid"),
    )
    .with_error(FieldError::pointer(pointer, detail))
}

pub(crate) fn not_found(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::NotFound, detail)
}

pub(crate) fn conflict(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::Conflict, detail)
}

/// Everything a route needs to know about the request besides the app.
pub(crate) struct Ctx<'a> {
    pub req: &'a ApiGatewayV2httpRequest,
    pub operator: &'a Operator,
    pub meter: &'a CostMeter,
    pub origin: Origin,
}

impl Ctx<'_> {
    pub fn path_param(&self, name: &str) -> &str {
        self.req
            .path_parameters
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.req.query_string_parameters.first(name)
    }
}

impl<S: ExecutionStarter> App<S> {
    /// Whether a partner may be given the format `id`: built in or published.
    pub(crate) async fn format_exists(&self, id: &str, meter: &CostMeter) -> Result<bool, Fail> {
        match self.formats.get(id, meter).await {
            Ok(_) => Ok(true),
            Err(FormatError::Store(e)) => Err(e.into()),
            Err(_) => Ok(false),
        }
    }

    /// Writes the audit entry of a change that has been made. A failed
    /// write does not undo the change, nor turn its answer into an error
    /// (a retried rotate-key would rotate twice): the entry is logged in
    /// full, at error level, so the log holds what the table missed.
    pub(crate) async fn record(&self, ctx: &Ctx<'_>, change: Change) {
        let entry = AuditEntry::new(ctx.operator, change, ctx.origin.clone(), self.clock.now());
        if let Err(e) = self.audit.put(&entry, ctx.meter).await {
            let text = serde_json::to_string(&entry).unwrap_or_default();
            tracing::error!(error = %e, entry = %text, "could not write an audit entry");
        }
    }
}

pub async fn handler<S: ExecutionStarter>(
    app: &App<S>,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Infallible> {
    let req = event.payload;
    let request_id = http::request_id(&req);
    let correlation_id = http::header(&req, CORRELATION_ID_HEADER)
        .filter(|c| !c.is_empty() && c.len() <= 128 && c.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or(&request_id)
        .to_string();
    let span = zb_shared::invocation_span!(request_id);
    span.record("correlationId", correlation_id.as_str());
    let (mut cost, started) = CostRecord::start(&app.function_name);
    cost.request_id = Some(event.context.request_id.clone());
    let meter = CostMeter::default();
    let origin = Origin {
        request_id: request_id.clone(),
        correlation_id,
    };
    let resp = answer(app, &req, &meter, origin).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = resp.status_code,
            route = req.route_key.as_deref().unwrap_or_default(),
            "admin answered"
        );
        cost.finish(started, &meter).emit();
    });
    Ok(resp)
}

/// The caller, or the reason it may not call anything.
fn caller(req: &ApiGatewayV2httpRequest) -> Result<Operator, roles::ClaimsError> {
    let claims = req
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .map(|j| &j.claims)
        .ok_or(roles::ClaimsError::Missing)?;
    roles::operator(claims)
}

async fn answer<S: ExecutionStarter>(
    app: &App<S>,
    req: &ApiGatewayV2httpRequest,
    meter: &CostMeter,
    origin: Origin,
) -> ApiGatewayV2httpResponse {
    let request_id = origin.request_id.clone();
    let instance = req.raw_path.clone().unwrap_or_default();
    let problem = |p: Problem| http::problem_response(p.with_instance(instance.clone()), &request_id);
    let route_key = req.route_key.as_deref().unwrap_or_default();
    // API Gateway only invokes us for the template's routes; anything else
    // is a wiring mistake, answered as API Gateway answers a non-route.
    let Some(rule) = roles::route(route_key) else {
        return problem(not_found(format!("no route {route_key:?}")));
    };
    // The role check, before any I/O.
    let operator = match caller(req) {
        Ok(op) => op,
        Err(e) => return problem(admin::forbidden(rule, &e.to_string())),
    };
    if !rule.allows(&operator.roles) {
        let why = if operator.roles.is_empty() {
            "the token's user is in no group of this API".to_string()
        } else {
            let held: Vec<_> = operator.roles.iter().map(|r| r.as_str()).collect();
            format!("the caller's roles ({}) do not include the route's", held.join(", "))
        };
        return problem(admin::forbidden(rule, &why));
    }
    let ctx = Ctx {
        req,
        operator: &operator,
        meter,
        origin,
    };
    // Boxed: the SDK's nested futures otherwise exceed rustc's layout depth limit.
    match Box::pin(route(app, rule, &ctx)).await {
        Ok((status, body)) => http::json_response(status, &body, &request_id),
        Err(Fail::Problem(p)) => problem(*p),
        Err(Fail::Extended(p, members)) => {
            let resp = problem(*p);
            with_members(resp, members)
        }
        Err(Fail::Unavailable(e)) => {
            tracing::error!(error = %e, "a dependency is unavailable");
            let resp = problem(Problem::new(
                ProblemKind::ServiceUnavailable,
                "a dependency is unavailable; retry later",
            ));
            http::with_header(resp, "retry-after", "1")
        }
        Err(Fail::Internal(e)) => {
            tracing::error!(error = %e, "admin request failed");
            problem(Problem::new(ProblemKind::Internal, "the request failed"))
        }
    }
}

async fn route<S: ExecutionStarter>(app: &App<S>, rule: &roles::RouteRule, ctx: &Ctx<'_>) -> Answer {
    match (rule.method, rule.path) {
        ("GET", "/v1/admin/me") => Ok((200, me(ctx.operator))),
        ("GET", "/v1/admin/partners") => partners::list(app, ctx).await,
        ("POST", "/v1/admin/partners") => partners::create(app, ctx).await,
        ("GET", "/v1/admin/partners/{partnerId}") => partners::show(app, ctx).await,
        ("PATCH", "/v1/admin/partners/{partnerId}") => partners::update(app, ctx).await,
        ("POST", "/v1/admin/partners/{partnerId}/disable") => partners::disable(app, ctx).await,
        ("POST", "/v1/admin/partners/{partnerId}/rotate-key") => partners::rotate_key(app, ctx).await,
        ("POST", "/v1/admin/partners/{partnerId}/rotate-secret") => partners::rotate_secret(app, ctx).await,
        ("GET", "/v1/admin/formats") => formats::list(app, ctx).await,
        ("POST", "/v1/admin/formats") => formats::publish(app, ctx).await,
        ("GET", "/v1/admin/formats/{formatId}") => formats::show(app, ctx).await,
        ("GET", "/v1/admin/feeds") => feeds::list(app, ctx).await,
        ("GET", "/v1/admin/feeds/{feedId}") => feeds::show(app, ctx).await,
        ("POST", "/v1/admin/feeds/{feedId}/redrive") => feeds::redrive(app, ctx).await,
        ("GET", "/v1/admin/feeds/{feedId}/executions") => executions::of_feed(app, ctx).await,
        ("GET", "/v1/admin/executions/{executionArn}") => executions::show(app, ctx).await,
        ("GET", "/v1/admin/state-machines") => executions::state_machines(app, ctx).await,
        ("GET", "/v1/admin/orders") => data::orders(app, ctx).await,
        ("GET", "/v1/admin/errors") => data::errors(app, ctx).await,
        ("GET", "/v1/admin/deliveries") => data::deliveries(app, ctx).await,
        ("POST", "/v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay") => data::replay(app, ctx).await,
        ("GET", "/v1/admin/volume") => figures::volume(app, ctx).await,
        ("GET", "/v1/admin/cost") => figures::cost(app, ctx).await,
        ("GET", "/v1/admin/cost/feeds/{feedId}") => figures::feed_cost(app, ctx).await,
        ("GET", "/v1/admin/audit") => audit::list(app, ctx).await,
        ("POST", "/v1/admin/privacy/erasures") => privacy::erase(app, ctx).await,
        ("GET", "/v1/admin/privacy/erasures/{erasureId}") => privacy::show(app, ctx).await,
        ("POST", "/v1/admin/privacy/exports") => privacy::export(app, ctx).await,
        (method, path) => Err(Fail::Internal(format!("{method} {path} is not served yet"))),
    }
}

/// A problem response with extension members added to its body.
fn with_members(mut resp: ApiGatewayV2httpResponse, members: Value) -> ApiGatewayV2httpResponse {
    use aws_lambda_events::encodings::Body;
    let Some(Body::Text(text)) = &resp.body else {
        return resp;
    };
    let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(text) else {
        return resp;
    };
    if let Value::Object(extra) = members {
        for (k, v) in extra {
            body.entry(k).or_insert(v);
        }
    }
    resp.body = Some(Body::Text(Value::Object(body).to_string()));
    resp
}

/// GET /v1/admin/me: who the token says the caller is.
fn me(op: &Operator) -> Value {
    serde_json::json!({
        "sub": op.sub,
        "username": op.username,
        "groups": op.groups,
        "roles": op.roles,
    })
}
