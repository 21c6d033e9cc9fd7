//! CORS of an HTTP API, as API Gateway applies its CORS configuration
//! ("Configure CORS for HTTP APIs in API Gateway",
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>):
//!
//! - "If you configure CORS for an API, API Gateway automatically sends a
//!   response to preflight OPTIONS requests, even if there isn't an OPTIONS
//!   route configured for your API": a preflight is answered here, before
//!   any route, authorizer or integration.
//! - "To return CORS headers, your request must contain an origin header.
//!   For the OPTIONS method, your request must contain an origin header and
//!   an Access-Control-Request-Method header": an OPTIONS without both is an
//!   ordinary request (routed, so usually API Gateway's 404).
//! - "For a CORS request, API Gateway adds the configured CORS headers to the
//!   response from an integration" and "ignores CORS headers returned from
//!   your backend integration": [`Cors::decorate`] removes the function's
//!   `access-control-*` headers and adds the configured ones when the
//!   Origin is allowed.
//!
//! What the page leaves open, and what this does:
//! - A preflight whose Origin is not allowed: 204 without any CORS header
//!   (API Gateway still answers it itself; the missing
//!   Access-Control-Allow-Origin is what makes the browser refuse).
//! - The preflight's status: 204 No Content, API Gateway's answer.
//! - The requested method and headers are not compared with the lists: the
//!   answer carries the configured lists and the browser compares them.
//! - API Gateway's own answers (401 of the JWT authorizer, 404, 413, 500)
//!   get the CORS headers too, so a page can read why it was refused.
//! - `*` in AllowOrigins answers `Access-Control-Allow-Origin: *` (any
//!   other allowed origin is echoed).
//!
//! The configuration comes from SAM's `CorsConfiguration` of
//! AWS::Serverless::HttpApi (HttpApiCorsConfiguration,
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-httpapicorsconfiguration.html>),
//! which SAM turns into the API's `CorsConfiguration`
//! (AWS::ApiGatewayV2::Api Cors,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-apigatewayv2-api-cors.html>).
//! `CorsConfiguration: true` is SAM's shorthand for `AllowOrigins: ['*']`;
//! `false` is no CORS.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value as Json;

/// "The number of seconds that the browser should cache preflight request
/// results": -1 to 86400 (API Gateway V2 API reference, Cors.maxAge).
pub const MAX_AGE_RANGE: std::ops::RangeInclusive<i64> = -1..=86_400;

/// An HTTP API's CORS configuration, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub allow_methods: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<i64>,
    pub allow_credentials: bool,
}

/// Why a CorsConfiguration is refused: the property (relative to
/// `CorsConfiguration`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {detail}")]
pub struct CorsError {
    /// Empty for the configuration itself.
    pub key: String,
    pub detail: String,
}

fn err(key: &str, detail: impl Into<String>) -> CorsError {
    CorsError {
        key: key.to_string(),
        detail: detail.into(),
    }
}

const KEYS: [&str; 6] = [
    "AllowOrigins",
    "AllowHeaders",
    "AllowMethods",
    "ExposeHeaders",
    "MaxAge",
    "AllowCredentials",
];

fn strings(v: Option<&Json>, key: &str) -> Result<Vec<String>, CorsError> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Json::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                other => Err(err(
                    &format!("{key}[{i}]"),
                    format!("must be a non-empty string, got {other}"),
                )),
            })
            .collect(),
        Some(other) => Err(err(key, format!("must be a list of strings, got {other}"))),
    }
}

impl Cors {
    /// Reads a resolved `CorsConfiguration` (intrinsics already applied, a
    /// list item that was `AWS::NoValue` already gone). None: no CORS.
    pub fn from_sam(v: &Json) -> Result<Option<Cors>, CorsError> {
        let map = match v {
            Json::Bool(false) | Json::Null => return Ok(None),
            // SAM: "if CorsConfiguration is True, the default value for
            // AllowOrigins is *" (and nothing else is configured).
            Json::Bool(true) => {
                return Ok(Some(Cors {
                    allow_origins: vec!["*".into()],
                    ..Cors::default()
                }))
            }
            Json::String(s) if s == "true" || s == "false" => {
                return Cors::from_sam(&Json::Bool(s == "true"));
            }
            Json::Object(map) => map,
            other => {
                return Err(err(
                    "",
                    format!("must be true, false or a HttpApiCorsConfiguration mapping, got {other}"),
                ))
            }
        };
        if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(err(
                k,
                format!("is not a CorsConfiguration property ({})", KEYS.join(", ")),
            ));
        }
        let allow_credentials = match map.get("AllowCredentials") {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) if s == "true" || s == "false" => s == "true",
            Some(other) => return Err(err("AllowCredentials", format!("must be true or false, got {other}"))),
        };
        let max_age = match map.get("MaxAge") {
            None | Some(Json::Null) => None,
            Some(v) => {
                let n = match v {
                    Json::Number(n) => n.as_i64(),
                    Json::String(s) => s.parse().ok(),
                    _ => None,
                };
                match n {
                    Some(n) if MAX_AGE_RANGE.contains(&n) => Some(n),
                    _ => {
                        return Err(err(
                            "MaxAge",
                            format!("must be a whole number from -1 to 86400, got {v}"),
                        ))
                    }
                }
            }
        };
        let cors = Cors {
            allow_origins: strings(map.get("AllowOrigins"), "AllowOrigins")?,
            allow_headers: strings(map.get("AllowHeaders"), "AllowHeaders")?,
            allow_methods: strings(map.get("AllowMethods"), "AllowMethods")?,
            expose_headers: strings(map.get("ExposeHeaders"), "ExposeHeaders")?,
            max_age,
            allow_credentials,
        };
        // The Fetch standard forbids `Access-Control-Allow-Origin: *` with
        // credentials, and API Gateway refuses the combination when the API
        // is created.
        if cors.allow_credentials && cors.allow_origins.iter().any(|o| o == "*") {
            return Err(err(
                "AllowCredentials",
                "cannot be true when AllowOrigins contains * (name the origins instead)",
            ));
        }
        for (i, o) in cors.allow_origins.iter().enumerate() {
            if o != "*" && !(o.starts_with("https://") || o.starts_with("http://")) {
                return Err(err(
                    &format!("AllowOrigins[{i}]"),
                    format!("{o:?} is not an origin (scheme://host[:port]) or *"),
                ));
            }
        }
        Ok(Some(cors))
    }

    /// The value of Access-Control-Allow-Origin for this Origin, if allowed.
    /// Origins compare by exact string, as the browser sends them
    /// (scheme://host[:port], no path): `http://127.0.0.1:3000` is not
    /// `http://localhost:3000`.
    pub fn allowed_origin(&self, origin: &str) -> Option<String> {
        if self.allow_origins.iter().any(|o| o == "*") && !self.allow_credentials {
            return Some("*".into());
        }
        let origin = origin.trim_end_matches('/');
        self.allow_origins
            .iter()
            .find(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
            .map(|_| origin.to_string())
    }

    /// Whether the request is a preflight API Gateway answers itself:
    /// OPTIONS with Origin and Access-Control-Request-Method.
    pub fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
        method == Method::OPTIONS
            && headers.contains_key("origin")
            && headers.contains_key("access-control-request-method")
    }

    /// API Gateway's answer to a preflight: 204, with the configured headers
    /// when the Origin is allowed, else none.
    pub fn preflight(&self, headers: &HeaderMap) -> Response {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let Some(allowed) = origin_of(headers).and_then(|o| self.allowed_origin(o)) else {
            return resp;
        };
        let h = resp.headers_mut();
        put(h, "access-control-allow-origin", &allowed);
        if self.allow_credentials {
            put(h, "access-control-allow-credentials", "true");
        }
        if !self.allow_methods.is_empty() {
            put(h, "access-control-allow-methods", &self.allow_methods.join(","));
        }
        if !self.allow_headers.is_empty() {
            put(h, "access-control-allow-headers", &self.allow_headers.join(","));
        }
        if !self.expose_headers.is_empty() {
            put(h, "access-control-expose-headers", &self.expose_headers.join(","));
        }
        if let Some(age) = self.max_age {
            put(h, "access-control-max-age", &age.to_string());
        }
        resp
    }

    /// A response to an ordinary request: the integration's CORS headers
    /// dropped, the configured ones added when the Origin is allowed.
    pub fn decorate(&self, request: &HeaderMap, resp: &mut Response) {
        let h = resp.headers_mut();
        let theirs: Vec<HeaderName> = h
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for k in theirs {
            h.remove(k);
        }
        let Some(allowed) = origin_of(request).and_then(|o| self.allowed_origin(o)) else {
            return;
        };
        put(h, "access-control-allow-origin", &allowed);
        if self.allow_credentials {
            put(h, "access-control-allow-credentials", "true");
        }
        if !self.expose_headers.is_empty() {
            put(h, "access-control-expose-headers", &self.expose_headers.join(","));
        }
    }
}

fn origin_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|o| !o.is_empty())
}

fn put(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    //! Behaviour of "Configure CORS for HTTP APIs in API Gateway"
    //! (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html)
    //! and SAM's HttpApiCorsConfiguration
    //! (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-httpapicorsconfiguration.html).

    use super::*;
    use serde_json::json;

    const CONSOLE: &str = "https://d111111abcdef8.cloudfront.net";
    const LOCAL: &str = "http://127.0.0.1:3000";

    fn admin() -> Cors {
        Cors::from_sam(&json!({
            "AllowOrigins": [CONSOLE, LOCAL],
            "AllowHeaders": ["authorization", "content-type", "x-request-id"],
            "AllowMethods": ["GET", "POST", "PATCH", "OPTIONS"],
            "ExposeHeaders": ["x-request-id"],
            "MaxAge": 600,
            "AllowCredentials": false,
        }))
        .unwrap()
        .unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_sam_forms_are_read_and_bad_values_named() {
        assert_eq!(Cors::from_sam(&json!(false)).unwrap(), None);
        assert_eq!(
            Cors::from_sam(&json!(true)).unwrap().unwrap().allow_origins,
            vec!["*".to_string()]
        );
        let c = admin();
        assert_eq!(c.max_age, Some(600));
        assert_eq!(c.expose_headers, vec!["x-request-id".to_string()]);
        let e = |v: Json| Cors::from_sam(&v).unwrap_err().to_string();
        assert!(e(json!({"AllowOrigin": ["*"]})).starts_with("AllowOrigin:"));
        assert!(e(json!({"MaxAge": 86401})).starts_with("MaxAge:"));
        assert!(e(json!({"AllowOrigins": "https://a.example"})).starts_with("AllowOrigins:"));
        assert!(e(json!({"AllowOrigins": ["a.example"]})).starts_with("AllowOrigins[0]:"));
        assert!(e(json!({"AllowOrigins": ["*"], "AllowCredentials": true})).starts_with("AllowCredentials:"));
        assert!(e(json!("https://a.example")).contains("true, false"));
    }

    #[tokio::test]
    async fn a_preflight_from_an_allowed_origin_gets_the_configured_headers() {
        let c = admin();
        let req = headers(&[
            ("origin", LOCAL),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ]);
        assert!(Cors::is_preflight(&Method::OPTIONS, &req));
        let resp = c.preflight(&req);
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], LOCAL);
        assert_eq!(h["access-control-allow-methods"], "GET,POST,PATCH,OPTIONS");
        assert_eq!(
            h["access-control-allow-headers"],
            "authorization,content-type,x-request-id"
        );
        assert_eq!(h["access-control-max-age"], "600");
        assert!(
            h.get("access-control-allow-credentials").is_none(),
            "AllowCredentials false"
        );
    }

    #[test]
    fn a_preflight_from_another_origin_is_answered_without_cors_headers() {
        let c = admin();
        let resp = c.preflight(&headers(&[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ]));
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        assert!(resp
            .headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")));
    }

    #[test]
    fn options_without_the_request_method_or_origin_is_not_a_preflight() {
        // "For the OPTIONS method, your request must contain an origin header
        // and an Access-Control-Request-Method header."
        assert!(!Cors::is_preflight(&Method::OPTIONS, &headers(&[("origin", LOCAL)])));
        assert!(!Cors::is_preflight(
            &Method::OPTIONS,
            &headers(&[("access-control-request-method", "GET")])
        ));
        assert!(!Cors::is_preflight(
            &Method::GET,
            &headers(&[("origin", LOCAL), ("access-control-request-method", "GET")])
        ));
    }

    #[test]
    fn responses_get_the_configured_headers_and_lose_the_integrations() {
        let c = admin();
        let with_function_cors = || {
            let mut r = StatusCode::OK.into_response();
            r.headers_mut()
                .insert("access-control-allow-origin", HeaderValue::from_static("*"));
            r.headers_mut()
                .insert("access-control-allow-methods", HeaderValue::from_static("DELETE"));
            r.headers_mut().insert("x-request-id", HeaderValue::from_static("r-1"));
            r
        };
        let mut resp = with_function_cors();
        c.decorate(&headers(&[("origin", CONSOLE)]), &mut resp);
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], CONSOLE);
        assert_eq!(h["access-control-expose-headers"], "x-request-id");
        assert!(
            h.get("access-control-allow-methods").is_none(),
            "the function's header is ignored"
        );
        assert_eq!(h["x-request-id"], "r-1");

        // "To return CORS headers, your request must contain an origin header."
        for request in [headers(&[]), headers(&[("origin", "https://evil.example")])] {
            let mut resp = with_function_cors();
            c.decorate(&request, &mut resp);
            assert!(resp
                .headers()
                .keys()
                .all(|k| !k.as_str().starts_with("access-control-")));
        }
    }

    #[test]
    fn a_wildcard_answers_star_and_credentials_echo_the_origin() {
        let any = Cors::from_sam(&json!(true)).unwrap().unwrap();
        assert_eq!(any.allowed_origin("https://a.example").as_deref(), Some("*"));
        let creds = Cors::from_sam(&json!({"AllowOrigins": [LOCAL], "AllowCredentials": true}))
            .unwrap()
            .unwrap();
        let mut resp = StatusCode::OK.into_response();
        creds.decorate(&headers(&[("origin", LOCAL)]), &mut resp);
        assert_eq!(resp.headers()["access-control-allow-origin"], LOCAL);
        assert_eq!(resp.headers()["access-control-allow-credentials"], "true");
        assert_eq!(creds.allowed_origin("http://localhost:3000"), None);
    }
}
