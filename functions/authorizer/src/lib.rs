//! The HTTP API's Lambda authorizer (payload 2.0, simple responses): hashes
//! the x-api-key, finds the partner, and puts partnerId and format in the
//! authorizer context. API Gateway caches the answer per key. A key rotated
//! out carries `expiresAt` (the end of its overlap) and is refused from then.
//!
//! A key it does not accept (unknown, disabled, rotated out, a disabled
//! partner) is answered `{"isAuthorized": false}`, which API Gateway turns
//! into 403 `{"message":"Forbidden"}`; a missing key never reaches it (401).
//! With simple responses there is no "Unauthorized" error convention: any
//! error the function raises is a 500 `{"message":"Internal Server Error"}`,
//! so it raises one only when it cannot decide (the table is unreachable).
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::json;
use std::sync::Arc;
use tracing::Instrument;
use zb_shared::apikey::hash_api_key;
use zb_shared::clock::{Clock, SystemClock};
use zb_shared::cost::{CostMeter, CostRecord};
use zb_shared::partner::PartnerStatus;
use zb_shared::store::{PartnerStore, StoreError};

pub const API_KEY_HEADER: &str = "x-api-key";

/// A failure to decide: API Gateway answers the request with a 500. A key
/// that is refused is not an error (see [`handler`]).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AuthError> for Diagnostic {
    fn from(e: AuthError) -> Self {
        let error_type = match &e {
            AuthError::Store(s) if s.is_transient() => "TransientDependencyError",
            AuthError::Store(_) => "StoreError",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

pub struct App {
    pub partners: PartnerStore,
    pub clock: Arc<dyn Clock>,
    pub function_name: String,
}

impl App {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let table = zb_shared::config::required_env("PARTNERS_TABLE")?;
        Ok(Self {
            partners: PartnerStore::new(zb_shared::aws::dynamodb_client().await, table),
            clock: Arc::new(SystemClock),
            function_name: zb_shared::config::function_name("authorizer"),
        })
    }
}

/// The API key: the identity source API Gateway resolved, else the header.
fn api_key(req: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<String> {
    let from_identity = req.identity_source.as_ref().and_then(|ids| ids.first()).cloned();
    let from_header = || {
        req.headers
            .get(API_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    from_identity.or_else(from_header).filter(|k| !k.is_empty())
}

pub async fn handler(
    app: &App,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, AuthError> {
    let span = zb_shared::invocation_span!(event.context.request_id);
    let (mut cost, started) = CostRecord::start(&app.function_name);
    cost.request_id = Some(event.context.request_id.clone());
    // Ingest records the same id, which ties this invocation to its feed (`zb cost`).
    cost.api_request_id = event.payload.request_context.request_id.clone();
    let meter = CostMeter::default();
    let result = authorize(app, &event.payload, &meter).instrument(span.clone()).await;
    if let Ok(resp) = &result {
        cost.partner_id = resp
            .context
            .get("partnerId")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    span.in_scope(|| {
        match &result {
            Ok(resp) if resp.is_authorized => tracing::info!("authorized"),
            Ok(_) => tracing::info!("refused an unknown, missing or disabled key"),
            Err(e) => tracing::error!(error = %e, "authorizer failed"),
        }
        cost.finish(started, &meter).emit();
    });
    result
}

/// `{"isAuthorized": false}`: API Gateway's 403.
fn refused() -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut resp = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    resp.is_authorized = false;
    resp.context = json!({});
    resp
}

async fn authorize(
    app: &App,
    req: &ApiGatewayV2CustomAuthorizerV2Request,
    meter: &CostMeter,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, AuthError> {
    let Some(key) = api_key(req) else {
        return Ok(refused());
    };
    let Some(key) = app
        .partners
        .get_key_record(&hash_api_key(&key), meter)
        .await?
        .filter(|k| k.is_valid_at(app.clock.now().timestamp()))
        .map(|k| k.key)
    else {
        return Ok(refused());
    };
    let Some(partner) = app
        .partners
        .get_partner(&key.partner_id, meter)
        .await?
        .filter(|p| p.status == PartnerStatus::Active)
    else {
        return Ok(refused());
    };
    tracing::Span::current().record("partnerId", partner.partner_id.as_str());
    let mut resp = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    resp.is_authorized = true;
    // The limit travels in the (cached) context, so ingest needs no read of its own.
    let limit = partner.rate_limit.unwrap_or_default();
    resp.context = json!({"partnerId": partner.partner_id, "format": partner.format,
                          "rate": limit.rate, "burst": limit.burst});
    Ok(resp)
}
