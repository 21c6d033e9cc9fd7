//! GET /v1/deliveries?status=&from=&limit=&cursor=: the calling partner's
//! webhook deliveries, oldest first, each with every attempt (status code,
//! latency, error). Keyed by the caller's partnerId like every read.

use super::{bad_cursor, bad_parameter, page_body, range, Answer};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use zb_shared::cost::CostMeter;
use zb_shared::delivery::DeliveryStatus;
use zb_shared::http::Caller;
use zb_shared::store::DeliveryStore;

fn status(req: &ApiGatewayV2httpRequest) -> Result<Option<DeliveryStatus>, Box<zb_shared::problem::Problem>> {
    match req.query_string_parameters.first("status") {
        None | Some("") => Ok(None),
        Some(v) => DeliveryStatus::parse_filter(v).map(Some).ok_or_else(|| {
            Box::new(bad_parameter(
                "status",
                "must be one of pending, failed, delivered, dead",
            ))
        }),
    }
}

/// The deliveryId prefix of an instant (ids start with their creation time).
fn id_prefix(from: &str) -> String {
    zb_shared::time::parse_rfc3339(from)
        .map(|t| t.format("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

pub(crate) async fn list(
    store: &DeliveryStore,
    req: &ApiGatewayV2httpRequest,
    caller: &Caller,
    meter: &CostMeter,
) -> Answer {
    let (r, status) = match (range(req), status(req)) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(p), _) | (_, Err(p)) => return Ok(Err(*p)),
    };
    let page = store
        .list(
            &caller.partner_id,
            status,
            &id_prefix(&r.from),
            r.cursor.as_deref(),
            r.limit,
            meter,
        )
        .await?;
    Ok(page.map(|p| page_body(p, |d| d.view())).map_err(|_| bad_cursor()))
}
