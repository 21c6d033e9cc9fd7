//! The outbox of a partner without a webhook: GET /v1/outbox?cursor=&limit=
//! returns its notifications in order with an opaque cursor (per item and
//! for the page); POST /v1/outbox/ack {"cursor": …} acknowledges everything
//! up to that cursor, so the next GET without a cursor starts after it.
//! Nothing is deleted by an ack: entries stay until their 30-day TTL.

use super::{bad_parameter, Answer, DEFAULT_LIMIT, MAX_LIMIT};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{json, Value};
use zb_shared::cost::CostMeter;
use zb_shared::http::Caller;
use zb_shared::problem::{FieldError, Problem, ProblemKind};
use zb_shared::store::{cursor_of, OutboxStore};

pub(crate) async fn read(
    store: &OutboxStore,
    req: &ApiGatewayV2httpRequest,
    caller: &Caller,
    meter: &CostMeter,
) -> Answer {
    let q = &req.query_string_parameters;
    // Strict like the other list routes: an empty or repeated-and-bad limit is a 400.
    let limit = match q.first("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Ok(Err(bad_parameter(
                    "limit",
                    format!("must be an integer from 1 to {MAX_LIMIT}"),
                )))
            }
        },
    };
    let cursor = q.first("cursor").filter(|c| !c.is_empty());
    let page = store.read(&caller.partner_id, cursor, limit, meter).await?;
    Ok(page
        .map(|p| {
            let items: Vec<Value> = p
                .entries
                .into_iter()
                .map(|e| {
                    let notification = serde_json::from_str::<Value>(&e.body).unwrap_or(Value::String(e.body));
                    json!({
                        "cursor": cursor_of(&caller.partner_id, e.seq),
                        "webhookId": e.webhook_id,
                        "type": e.event_type,
                        "createdAt": e.created_at,
                        "notification": notification,
                    })
                })
                .collect();
            json!({"items": items, "nextCursor": p.cursor, "hasMore": p.has_more})
        })
        .map_err(|_| super::bad_cursor()))
}

fn bad_body(pointer: &str, detail: &str) -> Problem {
    Problem::new(ProblemKind::BadRequest, "the acknowledgement is not valid")
        .with_error(FieldError::pointer(pointer, detail))
}

pub(crate) async fn ack(
    store: &OutboxStore,
    req: &ApiGatewayV2httpRequest,
    caller: &Caller,
    meter: &CostMeter,
) -> Answer {
    let body = match zb_shared::http::body_bytes(req) {
        Ok(b) => b,
        Err(_) => return Ok(Err(bad_body("", "the body is not valid base64"))),
    };
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return Ok(Err(Problem::new(ProblemKind::MalformedBody, "the body is not JSON")
            .with_error(FieldError::pointer("", "expected {\"cursor\": \"…\"}"))));
    };
    let Some(cursor) = doc.get("cursor").and_then(Value::as_str) else {
        return Ok(Err(bad_body("/cursor", "required: a cursor from GET /v1/outbox")));
    };
    let acked = store.ack(&caller.partner_id, cursor, meter).await?;
    Ok(acked
        .map(|seq| json!({"acknowledged": cursor_of(&caller.partner_id, seq)}))
        .map_err(|_| bad_body("/cursor", "not a cursor this API issued for this outbox")))
}
