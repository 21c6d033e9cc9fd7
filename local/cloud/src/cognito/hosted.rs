//! The hosted UI: Cognito's "user pool endpoints" for the authorization code
//! grant with PKCE, as the developer guide documents them:
//! - "The redirect and authorization endpoint" (`GET /oauth2/authorize`,
//!   docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html):
//!   checks the client and that redirect_uri is one of its CallbackURLs, then
//!   redirects to the login endpoint with the same parameters.
//! - "The managed login sign-in endpoint" (`GET|POST /login`,
//!   docs.aws.amazon.com/cognito/latest/developerguide/login-endpoint.html):
//!   a username/password form; success redirects to
//!   `redirect_uri?code=...&state=...`.
//! - "The token issuer endpoint" (`POST /oauth2/token`,
//!   docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html):
//!   grant_type authorization_code (single-use code, 5 minutes, bound to
//!   client_id and redirect_uri, code_verifier checked against the S256
//!   challenge) and refresh_token; errors are HTTP 400 `{"error": ...}` with
//!   invalid_request, invalid_client, invalid_grant, unauthorized_client or
//!   unsupported_grant_type.
//! - "The user attributes endpoint" (`GET /oauth2/userInfo`,
//!   docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html):
//!   the user's attributes for an access token from the token endpoint
//!   (one with the `openid` scope).
//! - "The managed login sign-out endpoint" (`GET /logout`,
//!   docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html):
//!   redirects to logout_uri when it is one of the client's LogoutURLs.
//!
//! Errors at /oauth2/authorize follow "Managed login and federation error
//! responses" (federation-endpoint-idp-responses.html) and RFC 6749
//! §4.1.2.1: with an unknown client or a redirect_uri that is not a callback
//! URL of the client, an error page (HTTP 400), never a redirect; any other
//! error is a redirect to the callback URL with `error` and
//! `error_description` (and `state`).
//!
//! CORS: a console on another origin (the local console at
//! `http://127.0.0.1:3000/console/`) POSTs to /oauth2/token and GETs
//! /oauth2/userInfo from script. The developer guide's endpoint pages say
//! nothing of CORS, yet browser apps with a public client (Amplify,
//! oidc-client-ts) make exactly these calls against Cognito, so Cognito
//! answers them cross-origin. What is chosen here, and why: every answer of
//! those two endpoints to a request with an `Origin` carries
//! `Access-Control-Allow-Origin: *` (any origin: the client is public, the
//! token travels in the body or the Authorization header, never in a
//! cookie, so no credentials mode and no per-origin list is needed), and an
//! `OPTIONS` preflight is answered 204 allowing GET, POST and OPTIONS and
//! the headers the browser asks for (userInfo's Authorization makes the
//! browser ask). /oauth2/authorize, /login and /logout are navigations, not
//! script calls: no CORS there.
//!
//! Cognito serves these on the pool's domain; locally they are at the root of
//! the Cognito port and the pool is the one holding the client_id. There is
//! no session cookie: every /oauth2/authorize asks for the password.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{tokens, Cognito, Session};

/// "The authorization code is valid for five minutes" (token endpoint page).
pub(crate) const CODE_LIFETIME_SECS: i64 = 300;

/// An authorization code the login endpoint issued.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pool: usize,
    client_id: String,
    redirect_uri: String,
    /// The S256 code_challenge, if the authorize request had one.
    challenge: Option<String>,
    scope: String,
    username: String,
    auth_time: i64,
    expires_at: i64,
}

pub(super) fn routes() -> Router<Arc<Cognito>> {
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/login", get(login_form).post(login_submit))
        .route("/oauth2/token", axum::routing::post(token).options(preflight))
        .route("/oauth2/userInfo", get(user_info).post(user_info).options(preflight))
        .route("/logout", get(logout))
}

type Params = HashMap<String, String>;

/// The parameters the login form carries through (authorize → login → POST).
const CARRIED: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page Cognito shows instead of redirecting (unknown client, foreign
/// redirect_uri): HTTP 400 naming the error.
fn error_page(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><title>Error</title></head><body>\
             <h1>An error was encountered with the requested page.</h1>\
             <p id=\"error\">error={}</p><p id=\"error_description\">{}</p></body></html>",
            esc(error),
            esc(description)
        )),
    )
        .into_response()
}

fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_string())]).into_response()
}

/// `redirect_uri` with the pairs added to its query.
fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = reqwest::Url::parse(redirect_uri).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(url.into())
}

/// A request the authorize and login endpoints accept.
struct Checked {
    pool: usize,
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    /// Granted scopes, space-separated, in the order asked.
    scope: String,
    challenge: Option<String>,
}

impl Cognito {
    /// The checks of /oauth2/authorize (and of /login, which takes the same
    /// parameters). Err is the response to send: an error page while the
    /// redirect_uri is not trusted, a redirect with `error` after.
    /// (The Err is a whole response, built once per refused request: the
    /// size clippy warns of costs nothing here.)
    #[allow(clippy::result_large_err)]
    fn check_authorize(&self, q: &Params) -> Result<Checked, Response> {
        let client_id = q.get("client_id").map(String::as_str).unwrap_or_default();
        let Some((pool, client)) = self.client(client_id) else {
            return Err(error_page(
                "invalid_request",
                &format!("client_id {client_id:?} is not an app client of this user pool"),
            ));
        };
        let redirect_uri = q.get("redirect_uri").map(String::as_str).unwrap_or_default();
        if !client.callback_urls.iter().any(|u| u == redirect_uri) {
            return Err(error_page(
                "redirect_mismatch",
                "redirect_uri is not one of the app client's callback URLs",
            ));
        }
        let state = q.get("state").cloned();
        let redirect_error = |error: &str, description: &str| {
            let mut pairs = vec![("error_description", description), ("error", error)];
            if let Some(s) = &state {
                pairs.push(("state", s.as_str()));
            }
            match with_query(redirect_uri, &pairs) {
                Some(location) => found(&location),
                None => error_page(error, description),
            }
        };
        match q.get("response_type").map(String::as_str) {
            None | Some("") => return Err(redirect_error("invalid_request", "response_type is required")),
            Some("code") => {}
            Some("token") => {
                return Err(redirect_error(
                    "unauthorized_client",
                    "the implicit grant is not emulated by the local Cognito",
                ))
            }
            Some(_) => {
                return Err(redirect_error(
                    "unsupported_response_type",
                    "response_type must be code or token",
                ))
            }
        }
        if !client.allowed_oauth_flows.iter().any(|f| f == "code") {
            return Err(redirect_error(
                "unauthorized_client",
                "the app client does not allow the authorization code grant",
            ));
        }
        let asked: Vec<&str> = q
            .get("scope")
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default();
        // Without `scope`, Cognito grants every scope the client allows.
        let granted: Vec<String> = if asked.is_empty() {
            client.allowed_oauth_scopes.clone()
        } else {
            if let Some(bad) = asked
                .iter()
                .find(|s| !client.allowed_oauth_scopes.iter().any(|a| a == *s))
            {
                return Err(redirect_error(
                    "invalid_scope",
                    &format!("scope {bad} is not allowed for the app client"),
                ));
            }
            let mut g: Vec<String> = Vec::new();
            for s in asked {
                if !g.iter().any(|x| x == s) {
                    g.push(s.to_string());
                }
            }
            g
        };
        let challenge = q.get("code_challenge").filter(|c| !c.is_empty()).cloned();
        let method = q.get("code_challenge_method").filter(|m| !m.is_empty());
        match (&challenge, method.map(String::as_str)) {
            (None, None) => {}
            // Cognito supports S256 only ("Using PKCE in authorization code grants").
            (Some(_), Some("S256")) => {}
            (Some(_), _) => return Err(redirect_error("invalid_request", "code_challenge_method must be S256")),
            (None, Some(_)) => {
                return Err(redirect_error(
                    "invalid_request",
                    "code_challenge_method without code_challenge",
                ))
            }
        }
        Ok(Checked {
            pool,
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_string(),
            state,
            scope: granted.join(" "),
            challenge,
        })
    }
}

/// GET /oauth2/authorize: checked, then on to the login endpoint "with the
/// same URL parameters that you included in your request".
async fn authorize(State(c): State<Arc<Cognito>>, Query(q): Query<Params>, RawQuery(raw): RawQuery) -> Response {
    if let Err(r) = c.check_authorize(&q) {
        return r;
    }
    found(&format!("/login?{}", raw.unwrap_or_default()))
}

fn login_page(q: &Params, message: Option<&str>) -> Response {
    let hidden: String = CARRIED
        .iter()
        .filter_map(|k| q.get(*k).map(|v| (k, v)))
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
        .collect();
    let message = message
        .map(|m| format!("<p id=\"loginErrorMessage\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title></head><body>\
         <h1>Sign in (local Cognito)</h1>{message}\
         <form method=\"post\" action=\"/login\">{hidden}\
         <p><label for=\"signInFormUsername\">Username</label> \
         <input id=\"signInFormUsername\" name=\"username\" autocomplete=\"username\" required autofocus></p>\
         <p><label for=\"signInFormPassword\">Password</label> \
         <input id=\"signInFormPassword\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\
         <button type=\"submit\" name=\"signInSubmitButton\">Sign in</button></form></body></html>"
    ))
    .into_response()
}

/// GET /login: the sign-in form, carrying the authorize parameters.
async fn login_form(State(c): State<Arc<Cognito>>, Query(q): Query<Params>) -> Response {
    match c.check_authorize(&q) {
        Ok(_) => login_page(&q, None),
        Err(r) => r,
    }
}

/// POST /login: the seeded user's password; a code back to the callback URL.
async fn login_submit(State(c): State<Arc<Cognito>>, form: Result<Form<Params>, FormRejection>) -> Response {
    let Ok(Form(f)) = form else {
        return error_page(
            "invalid_request",
            "the sign-in form was not application/x-www-form-urlencoded",
        );
    };
    let checked = match c.check_authorize(&f) {
        Ok(ch) => ch,
        Err(r) => return r,
    };
    let username = f.get("username").map(String::as_str).unwrap_or_default();
    let password = f.get("password").map(String::as_str).unwrap_or_default();
    let Some(user) = c.pools[checked.pool]
        .users
        .get(username)
        .filter(|u| u.password == password)
    else {
        // The same words for an unknown user (PreventUserExistenceErrors).
        return login_page(&f, Some("Incorrect username or password."));
    };
    let code = match super::api::refresh_token() {
        Ok(t) => t,
        Err(_) => return error_page("server_error", "no random bytes for the code"),
    };
    let now = chrono::Utc::now().timestamp();
    {
        let mut codes = c.codes.lock().unwrap_or_else(|p| p.into_inner());
        codes.retain(|_, a| a.expires_at > now);
        codes.insert(
            code.clone(),
            AuthCode {
                pool: checked.pool,
                client_id: checked.client_id.clone(),
                redirect_uri: checked.redirect_uri.clone(),
                challenge: checked.challenge.clone(),
                scope: checked.scope.clone(),
                username: user.username.clone(),
                auth_time: now,
                expires_at: now + CODE_LIFETIME_SECS,
            },
        );
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &checked.state {
        pairs.push(("state", s.as_str()));
    }
    match with_query(&checked.redirect_uri, &pairs) {
        Some(location) => found(&location),
        None => error_page("redirect_mismatch", "the callback URL is not a URL"),
    }
}

/// The token endpoint's errors: HTTP 400 `{"error": "..."}`.
fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

/// The client_id of the body, or the user of HTTP Basic (client_secret_basic
/// with the empty secret of a public client).
fn client_id_of(f: &Params, headers: &HeaderMap) -> Option<String> {
    if let Some(id) = f.get("client_id").filter(|s| !s.is_empty()) {
        return Some(id.clone());
    }
    let basic = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(basic.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':').map_or(text.as_str(), |(id, _)| id).to_string())
}

/// OPTIONS on /oauth2/token and /oauth2/userInfo: the CORS preflight (see
/// the module's notes).
async fn preflight(headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if headers.contains_key(header::ORIGIN) {
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        let asked = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| header::HeaderValue::from_static("authorization, content-type"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
        h.insert(header::ACCESS_CONTROL_MAX_AGE, header::HeaderValue::from_static("600"));
    }
    resp
}

/// A cross-origin call's answer: readable by any origin's script.
fn cors(request: &HeaderMap, mut resp: Response) -> Response {
    if request.contains_key(header::ORIGIN) {
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
        // The bearer challenge of a refused userInfo call, for the page to read.
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static("www-authenticate"),
        );
    }
    resp
}

/// POST /oauth2/token.
async fn token(
    State(c): State<Arc<Cognito>>,
    headers: HeaderMap,
    form: Result<Form<Params>, FormRejection>,
) -> Response {
    let resp = token_answer(&c, &headers, form);
    cors(&headers, resp)
}

fn token_answer(c: &Cognito, headers: &HeaderMap, form: Result<Form<Params>, FormRejection>) -> Response {
    let Ok(Form(f)) = form else {
        return token_error("invalid_request");
    };
    let Some(grant_type) = f.get("grant_type").filter(|g| !g.is_empty()) else {
        return token_error("invalid_request");
    };
    let Some(client_id) = client_id_of(&f, headers) else {
        return token_error("invalid_request");
    };
    let Some((pool_index, client)) = c.client(&client_id) else {
        return token_error("invalid_client");
    };
    let now = chrono::Utc::now().timestamp();
    match grant_type.as_str() {
        "authorization_code" => {
            let (Some(code), Some(redirect_uri)) = (f.get("code"), f.get("redirect_uri")) else {
                return token_error("invalid_request");
            };
            if !client.allowed_oauth_flows.iter().any(|g| g == "code") {
                return token_error("unauthorized_client");
            }
            // Single use: the code is gone whatever the outcome.
            let Some(grant) = c.codes.lock().unwrap_or_else(|p| p.into_inner()).remove(code) else {
                return token_error("invalid_grant");
            };
            if grant.expires_at <= now
                || grant.client_id != client.client_id
                || grant.pool != pool_index
                || &grant.redirect_uri != redirect_uri
            {
                return token_error("invalid_grant");
            }
            if let Some(challenge) = &grant.challenge {
                let verifier = f.get("code_verifier").map(String::as_str).unwrap_or_default();
                if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
                    return token_error("invalid_grant");
                }
            }
            let Some(user) = c.pools[pool_index].users.get(&grant.username) else {
                return token_error("invalid_grant");
            };
            let session = Session {
                pool: pool_index,
                client_id: client.client_id.clone(),
                username: user.username.clone(),
                auth_time: grant.auth_time,
                origin_jti: uuid::Uuid::new_v4().to_string(),
                event_id: uuid::Uuid::new_v4().to_string(),
                expires_at: now + tokens::secs(client.refresh_token_validity_secs),
                id_token: grant.scope.split(' ').any(|s| s == "openid"),
                scope: grant.scope.clone(),
            };
            let (access, id, expires_in) = match c.sign_tokens(pool_index, &client.client_id, user, &session, now) {
                Ok(t) => t,
                Err(e) => return (e.status, Json(json!({"error": "server_error"}))).into_response(),
            };
            let Ok(refresh) = super::api::refresh_token() else {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(json!({"error": "server_error"})),
                )
                    .into_response();
            };
            {
                let mut sessions = c.sessions.lock().unwrap_or_else(|p| p.into_inner());
                sessions.retain(|_, s| s.expires_at > now);
                sessions.insert(refresh.clone(), session);
            }
            let mut body = json!({
                "access_token": access,
                "refresh_token": refresh,
                "token_type": "Bearer",
                "expires_in": expires_in,
            });
            if let Some(id) = id {
                body["id_token"] = Value::String(id);
            }
            Json(body).into_response()
        }
        "refresh_token" => {
            let Some(token) = f.get("refresh_token") else {
                return token_error("invalid_request");
            };
            let session = c
                .sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(token)
                .cloned()
                .filter(|s| s.client_id == client.client_id && s.pool == pool_index && s.expires_at > now);
            let Some(session) = session else {
                return token_error("invalid_grant");
            };
            let Some(user) = c.pools[pool_index].users.get(&session.username) else {
                return token_error("invalid_grant");
            };
            let (access, id, expires_in) = match c.sign_tokens(pool_index, &client.client_id, user, &session, now) {
                Ok(t) => t,
                Err(e) => return (e.status, Json(json!({"error": "server_error"}))).into_response(),
            };
            // A refresh answers new access and ID tokens, no new refresh token.
            let mut body = json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": expires_in,
            });
            if let Some(id) = id {
                body["id_token"] = Value::String(id);
            }
            Json(body).into_response()
        }
        "client_credentials" => token_error("unauthorized_client"),
        _ => token_error("unsupported_grant_type"),
    }
}

/// HTTP 401 with the OAuth 2.0 bearer challenge (RFC 6750 §3).
fn invalid_token(description: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
        )],
        Json(json!({"error": "invalid_token", "error_description": description})),
    )
        .into_response()
}

impl Cognito {
    /// The claims of an access token this pool signed and that is still
    /// valid (signature by a published key, exp, token_use access).
    fn verified_access_claims(&self, token: &str) -> Option<Value> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(self.keys.jwks()).ok()?;
        let jwk = set.find(header.kid.as_deref()?)?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).ok()?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).ok()?.claims;
        (claims["token_use"] == "access").then_some(claims)
    }
}

/// GET|POST /oauth2/userInfo: the user's attributes for an access token of
/// the token endpoint. InitiateAuth's tokens lack `openid` and are refused.
async fn user_info(State(c): State<Arc<Cognito>>, headers: HeaderMap) -> Response {
    let resp = user_info_answer(&c, &headers);
    cors(&headers, resp)
}

fn user_info_answer(c: &Cognito, headers: &HeaderMap) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_request\"")],
            Json(json!({"error": "invalid_request", "error_description": "Authorization: Bearer <access token> is required"})),
        )
            .into_response();
    };
    let Some(claims) = c.verified_access_claims(token) else {
        return invalid_token("Access token is expired, disabled, or deleted, or the user has globally signed out.");
    };
    if !claims["scope"]
        .as_str()
        .is_some_and(|s| s.split(' ').any(|x| x == "openid"))
    {
        return invalid_token("Access token does not contain openid scope");
    }
    let client_id = claims["client_id"].as_str().unwrap_or_default();
    let user = c
        .client(client_id)
        .and_then(|(pool, _)| c.pools[pool].users.get(claims["username"].as_str().unwrap_or_default()));
    let Some(user) = user else {
        return invalid_token("User does not exist.");
    };
    // Cognito answers attribute values as strings ("true" for email_verified).
    Json(json!({
        "sub": user.sub,
        "email_verified": "true",
        "email": user.email,
        "username": user.username,
    }))
    .into_response()
}

/// GET /logout?client_id=..&logout_uri=..: no cookie to clear locally; the
/// redirect to an allowed sign-out URL, else an error page.
async fn logout(State(c): State<Arc<Cognito>>, Query(q): Query<Params>) -> Response {
    let client_id = q.get("client_id").map(String::as_str).unwrap_or_default();
    let Some((_, client)) = c.client(client_id) else {
        return error_page(
            "invalid_request",
            &format!("client_id {client_id:?} is not an app client of this user pool"),
        );
    };
    match q.get("logout_uri") {
        Some(uri) if client.logout_urls.iter().any(|u| u == uri) => found(uri),
        Some(_) => error_page(
            "redirect_mismatch",
            "logout_uri is not one of the app client's sign-out URLs",
        ),
        // With redirect_uri (and the login parameters), back to sign in again.
        None if q.contains_key("redirect_uri") => match c.check_authorize(&q) {
            Ok(_) => {
                let query: String = reqwest::Url::parse_with_params(
                    "http://localhost/login",
                    CARRIED.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))),
                )
                .ok()
                .and_then(|u| u.query().map(str::to_string))
                .unwrap_or_default();
                found(&format!("/login?{query}"))
            }
            Err(r) => r,
        },
        None => error_page("invalid_request", "logout_uri or redirect_uri is required"),
    }
}
