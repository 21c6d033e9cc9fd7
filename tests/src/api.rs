//! Builders for the events API Gateway and EventBridge hand our functions,
//! and readers for what the functions answer. The events are built from
//! JSON, the way Lambda delivers them, so the tests exercise the same
//! deserialization as production.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Context, LambdaEvent};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// Wraps a payload the way lambda_runtime hands it to a handler.
pub fn lambda_event<T>(payload: T) -> LambdaEvent<T> {
    let mut ctx = Context::default();
    ctx.request_id = uuid::Uuid::new_v4().to_string();
    LambdaEvent::new(payload, ctx)
}

/// Deserializes JSON into an event type, as the runtime would.
pub fn from_json<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("test event does not deserialize: {e}"))
}

/// An HTTP API (payload 2.0) request.
#[derive(Debug, Clone)]
pub struct Request {
    method: &'static str,
    route_key: String,
    path: String,
    path_parameters: Map<String, Value>,
    query: Vec<(String, String)>,
    headers: Map<String, Value>,
    body: Option<String>,
    authorizer: Option<(String, String)>,
    /// The whole authorizer context, when a test got it from the authorizer.
    context: Option<Value>,
}

impl Request {
    pub fn new(method: &'static str, route: &str, path: &str) -> Self {
        Self {
            method,
            route_key: format!("{method} {route}"),
            path: path.to_string(),
            path_parameters: Map::new(),
            query: Vec::new(),
            headers: Map::new(),
            body: None,
            authorizer: None,
            context: None,
        }
    }

    /// POST /v1/feeds as `partner` (whose format is `format`) with a JSON body.
    pub fn post_feed(partner: &str, format: &str, body: &Value) -> Self {
        Self::new("POST", "/v1/feeds", "/v1/feeds")
            .partner(partner, format)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// A GET as `partner`.
    pub fn get(partner: &str, route: &str, path: &str) -> Self {
        Self::new("GET", route, path).partner(partner, "")
    }

    pub fn partner(mut self, partner_id: &str, format: &str) -> Self {
        self.authorizer = Some((partner_id.to_string(), format.to_string()));
        self
    }

    pub fn anonymous(mut self) -> Self {
        self.authorizer = None;
        self.context = None;
        self
    }

    /// Uses the context an authorizer answered (partnerId, format, limits).
    pub fn authorized_as(mut self, context: Value) -> Self {
        self.context = Some(context);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_ascii_lowercase(), json!(value));
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.remove(&name.to_ascii_lowercase());
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn path_param(mut self, name: &str, value: &str) -> Self {
        self.path_parameters.insert(name.to_string(), json!(value));
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    pub fn build(&self) -> ApiGatewayV2httpRequest {
        let mut qs = Map::new();
        for (k, v) in &self.query {
            qs.insert(k.clone(), json!(v));
        }
        let raw_query = self
            .query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut ctx = json!({
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": self.route_key,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000i64,
            "http": {"method": self.method, "path": self.path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "zb-tests"},
        });
        if let Some((partner, format)) = &self.authorizer {
            ctx["authorizer"] = json!({"lambda": {"partnerId": partner, "format": format}});
        }
        if let Some(context) = &self.context {
            ctx["authorizer"] = json!({ "lambda": context });
        }
        let mut v = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": raw_query,
            "headers": self.headers,
            "requestContext": ctx,
            "isBase64Encoded": false,
        });
        if !qs.is_empty() {
            v["queryStringParameters"] = Value::Object(qs);
        }
        if !self.path_parameters.is_empty() {
            v["pathParameters"] = Value::Object(self.path_parameters.clone());
        }
        if let Some(b) = &self.body {
            v["body"] = json!(b);
        }
        from_json(v)
    }

    pub fn event(&self) -> LambdaEvent<ApiGatewayV2httpRequest> {
        lambda_event(self.build())
    }
}

/// What a partner sees of a response.
#[derive(Debug, Clone)]
pub struct Seen {
    pub status: i64,
    pub content_type: String,
    pub request_id: Option<String>,
    pub headers: aws_lambda_events::http::HeaderMap,
    pub body: Value,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem's `errors[0]`, the field at fault.
    pub fn fault(&self) -> &Value {
        &self.body["errors"][0]
    }

    pub fn assert_problem(&self, status: i64) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json", "body: {}", self.body);
        assert_eq!(self.body["status"], json!(status));
        assert!(self.body["type"].as_str().is_some_and(|t| t.starts_with("https://")));
        assert!(self.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        self
    }
}

pub fn seen(resp: ApiGatewayV2httpResponse) -> Seen {
    let text = match &resp.body {
        Some(Body::Text(t)) => t.clone(),
        Some(Body::Binary(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let header = |n: &str| resp.headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    Seen {
        status: resp.status_code,
        content_type: header("content-type").unwrap_or_default(),
        request_id: header("x-request-id"),
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        headers: resp.headers,
    }
}

/// An EventBridge event as a rule delivers it to a Lambda target.
pub fn eventbridge_event(detail_type: &str, detail: &Value) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": "zerobeta.orders",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    })
}
