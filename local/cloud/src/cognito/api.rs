//! HTTP: discovery, JWKS, the Cognito IdP JSON API (InitiateAuth) and the
//! local key rotation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{tokens, Cognito, Session};
use crate::awsjson::{respond, ApiError};

/// The JSON protocol version of the Cognito IdP API (awsJson1_1).
const PROTOCOL: &str = "1.1";
const TARGET_PREFIX: &str = "AWSCognitoIdentityProviderService.";

pub(crate) fn router(cognito: Arc<Cognito>) -> Router {
    Router::new()
        .route("/", post(idp_api))
        .route("/_local/rotate-keys", post(rotate_keys))
        .route("/{pool}/.well-known/openid-configuration", get(discovery))
        .route("/{pool}/.well-known/jwks.json", get(jwks))
        .route("/oauth2/revoke", any(not_emulated))
        .merge(super::hosted::routes())
        .with_state(cognito)
}

/// The local base URL, from the Host the client used (so a test on a free
/// port, or a container reaching the host by another name, gets URLs it can
/// fetch).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c)))
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// Cognito answers an unknown pool on its public endpoints this way.
fn no_such_pool(pool_id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "code": "ResourceNotFoundException",
            "message": format!("User pool {pool_id} does not exist."),
        })),
    )
        .into_response()
}

/// The OIDC discovery document, with the members Cognito's has ("Identity
/// provider and relying party endpoints", federation-endpoints.html).
/// `issuer` is the AWS issuer the tokens carry; the endpoints are local.
async fn discovery(State(c): State<Arc<Cognito>>, Path(pool_id): Path<String>, headers: HeaderMap) -> Response {
    let Some(pool) = c.pool(&pool_id) else {
        return no_such_pool(&pool_id);
    };
    let base = base_url(&headers);
    let pool_base = format!("{base}/{}", pool.config.pool_id);
    // The hosted UI's endpoints are at the root of the Cognito port, as on
    // the pool's domain (cognito/hosted.rs).
    Json(json!({
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "end_session_endpoint": format!("{base}/logout"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "issuer": pool.config.issuer,
        "jwks_uri": format!("{pool_base}/.well-known/jwks.json"),
        "response_types_supported": ["code", "token"],
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "token_endpoint": format!("{base}/oauth2/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
    }))
    .into_response()
}

async fn jwks(State(c): State<Arc<Cognito>>, Path(pool_id): Path<String>) -> Response {
    if c.pool(&pool_id).is_none() {
        return no_such_pool(&pool_id);
    }
    Json(c.keys.jwks()).into_response()
}

/// Token revocation (/oauth2/revoke) is not emulated: say so rather than
/// answer a bare 404 to a client that followed the discovery document.
async fn not_emulated() -> Response {
    (
        StatusCode::NOT_IMPLEMENTED,
        Json(json!({
            "error": "unsupported_locally",
            "error_description": "The local Cognito does not revoke tokens; they expire.",
        })),
    )
        .into_response()
}

async fn rotate_keys(State(c): State<Arc<Cognito>>) -> Response {
    // RSA key generation is CPU work: off the async workers.
    let rotated = tokio::task::spawn_blocking(move || c.rotate_keys().map(|kid| (kid, c.published_kids()))).await;
    match rotated {
        Ok(Ok((kid, published))) => Json(json!({ "kid": kid, "published": published })).into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "message": e.to_string() })),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "message": format!("key rotation did not finish: {e}") })),
        )
            .into_response(),
    }
}

/// `POST /` with X-Amz-Target: the Cognito IdP API. Only InitiateAuth is
/// emulated; any other operation is refused as the service refuses an
/// operation it does not know.
async fn idp_api(State(c): State<Arc<Cognito>>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .unwrap_or_default();
    let result = match target.strip_prefix(TARGET_PREFIX) {
        Some("InitiateAuth") => match serde_json::from_slice::<Value>(&body) {
            Ok(request) => c.initiate_auth(&request),
            Err(_) => Err(ApiError::new(
                "SerializationException",
                "Start of structure or map found where not expected.",
            )),
        },
        _ => Err(ApiError::new(
            "UnknownOperationException",
            format!("The local Cognito does not implement operation {target:?}."),
        )),
    };
    respond(PROTOCOL, result)
}

fn not_null(member: &str) -> ApiError {
    ApiError::new(
        "InvalidParameterException",
        format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"),
    )
}

fn auth_param<'a>(request: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    request
        .get("AuthParameters")
        .and_then(|p| p.get(name))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::new(
                "InvalidParameterException",
                format!("Missing required parameter {name}"),
            )
        })
}

/// The flows InitiateAuth's AuthFlow accepts (API reference, "InitiateAuth":
/// docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html).
const AUTH_FLOWS: [&str; 9] = [
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
    "ADMIN_USER_SRP_AUTH",
];

impl Cognito {
    /// InitiateAuth, the two flows `zb login` and the tests use. Errors follow
    /// the API reference: NotAuthorizedException "Incorrect username or
    /// password." for a wrong password *and* an unknown user (the template's
    /// client sets PreventUserExistenceErrors ENABLED), ResourceNotFoundException
    /// for an unknown client, InvalidParameterException for a flow the client
    /// does not allow, NotAuthorizedException "Invalid Refresh Token".
    pub(crate) fn initiate_auth(&self, request: &Value) -> Result<Value, ApiError> {
        let flow = request
            .get("AuthFlow")
            .and_then(Value::as_str)
            .ok_or_else(|| not_null("authFlow"))?;
        let client_id = request
            .get("ClientId")
            .and_then(Value::as_str)
            .ok_or_else(|| not_null("clientId"))?;
        if !AUTH_FLOWS.contains(&flow) {
            return Err(ApiError::new(
                "InvalidParameterException",
                format!(
                    "1 validation error detected: Value '{flow}' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                    AUTH_FLOWS.join(", ")
                ),
            ));
        }
        let (pool_index, client) = self.client(client_id).ok_or_else(|| {
            ApiError::new(
                "ResourceNotFoundException",
                format!("User pool client {client_id} does not exist."),
            )
        })?;
        let allows = |f: &str| client.explicit_auth_flows.iter().any(|a| a == f);
        let pool = &self.pools[pool_index];
        let now = chrono::Utc::now().timestamp();

        match flow {
            "USER_PASSWORD_AUTH" => {
                if !allows("ALLOW_USER_PASSWORD_AUTH") {
                    return Err(ApiError::new(
                        "InvalidParameterException",
                        "USER_PASSWORD_AUTH flow not enabled for this client",
                    ));
                }
                let username = auth_param(request, "USERNAME")?;
                let password = auth_param(request, "PASSWORD")?;
                let user = pool
                    .users
                    .get(username)
                    .filter(|u| u.password == password)
                    .ok_or_else(|| ApiError::new("NotAuthorizedException", "Incorrect username or password."))?;
                let session = Session {
                    pool: pool_index,
                    client_id: client.client_id.clone(),
                    username: user.username.clone(),
                    auth_time: now,
                    origin_jti: uuid::Uuid::new_v4().to_string(),
                    event_id: uuid::Uuid::new_v4().to_string(),
                    expires_at: now + tokens::secs(client.refresh_token_validity_secs),
                    scope: tokens::SIGNIN_SCOPE.to_string(),
                    id_token: true,
                };
                let mut result = self.tokens(pool_index, client_id, user, &session, now)?;
                // Cognito hands out a refresh token only when the client may
                // use it.
                if allows("ALLOW_REFRESH_TOKEN_AUTH") {
                    let refresh = refresh_token().map_err(internal)?;
                    let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
                    sessions.retain(|_, s| s.expires_at > now);
                    sessions.insert(refresh.clone(), session);
                    result["AuthenticationResult"]["RefreshToken"] = Value::String(refresh);
                }
                Ok(result)
            }
            "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => {
                if !allows("ALLOW_REFRESH_TOKEN_AUTH") {
                    return Err(ApiError::new(
                        "InvalidParameterException",
                        "REFRESH_TOKEN_AUTH flow not enabled for this client",
                    ));
                }
                let token = auth_param(request, "REFRESH_TOKEN")?;
                let session = {
                    let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
                    sessions.get(token).cloned()
                }
                // A refresh token is bound to the client it was issued to.
                .filter(|s| s.client_id == client.client_id && s.pool == pool_index)
                .ok_or_else(|| ApiError::new("NotAuthorizedException", "Invalid Refresh Token"))?;
                if session.expires_at <= now {
                    return Err(ApiError::new("NotAuthorizedException", "Refresh Token has expired"));
                }
                let user = pool
                    .users
                    .get(&session.username)
                    .ok_or_else(|| ApiError::new("NotAuthorizedException", "Invalid Refresh Token"))?;
                // No new refresh token: the response of a refresh carries
                // only new access and ID tokens.
                self.tokens(pool_index, client_id, user, &session, now)
            }
            other => Err(ApiError::new(
                "InvalidParameterException",
                format!("{other} is not supported by the local Cognito; use USER_PASSWORD_AUTH or REFRESH_TOKEN_AUTH"),
            )),
        }
    }

    fn tokens(
        &self,
        pool_index: usize,
        client_id: &str,
        user: &super::User,
        session: &Session,
        now: i64,
    ) -> Result<Value, ApiError> {
        let (access, id, expires_in) = self.sign_tokens(pool_index, client_id, user, session, now)?;
        Ok(json!({
            "AuthenticationResult": {
                "AccessToken": access,
                "ExpiresIn": expires_in,
                "IdToken": id,
                "TokenType": "Bearer",
            },
            "ChallengeParameters": {},
        }))
    }

    /// The access token, the ID token (if the sign-in has one) and the
    /// access token's lifetime: what InitiateAuth and /oauth2/token answer.
    pub(super) fn sign_tokens(
        &self,
        pool_index: usize,
        client_id: &str,
        user: &super::User,
        session: &Session,
        now: i64,
    ) -> Result<(String, Option<String>, u64), ApiError> {
        let pool = &self.pools[pool_index].config;
        let client = pool.clients.iter().find(|c| c.client_id == client_id).ok_or_else(|| {
            ApiError::new(
                "ResourceNotFoundException",
                format!("User pool client {client_id} does not exist."),
            )
        })?;
        let access = self
            .keys
            .sign(&tokens::access(pool, client, user, session, now))
            .map_err(internal)?;
        let id = if session.id_token {
            Some(
                self.keys
                    .sign(&tokens::id(pool, client, user, session, now))
                    .map_err(internal)?,
            )
        } else {
            None
        };
        Ok((access, id, client.access_token_validity_secs))
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        kind: "InternalErrorException",
        message: e.to_string(),
    }
}

/// An opaque refresh token: 48 random bytes, base64url.
pub(super) fn refresh_token() -> Result<String, aws_lc_rs::error::Unspecified> {
    use base64::Engine;
    let mut bytes = [0u8; 48];
    aws_lc_rs::rand::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
