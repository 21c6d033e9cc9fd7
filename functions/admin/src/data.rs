//! Orders (one partner, by event time), rejected orders and webhook
//! deliveries (one partner or partner by partner), and the replay of a dead
//! delivery.

use crate::params::{self, id_path, partner_filter, partner_path};
use crate::walk::{page_body, walk};
use crate::{bad_parameter, conflict, not_found, Answer, App, Ctx, Fail};
use serde_json::{json, Value};
use zb_shared::admin::{AuditAction, Change};
use zb_shared::delivery::{Delivery, DeliveryStatus};
use zb_shared::rejection::RejectionCode;
use zb_shared::store::{ErrorItem, StoredOrder};
use zb_shared::workflow::{ExecutionStarter, ReplayError, StartError};

/// An order as operators see it: whose it is, then the partner's view.
fn order_view(o: StoredOrder) -> Value {
    with_partner(o.partner_id.clone(), o.view())
}

/// A rejected order as operators see it: whose it is, then the partner's view.
fn error_view(e: ErrorItem) -> Value {
    with_partner(e.partner_id.clone(), e.view())
}

/// `{"partnerId": ..., ...view}`: a partner's view with whose it is first.
fn with_partner(partner_id: String, view: Value) -> Value {
    let mut v = serde_json::Map::new();
    v.insert("partnerId".into(), Value::from(partner_id));
    if let Value::Object(partner_view) = view {
        v.extend(partner_view);
    }
    Value::Object(v)
}

/// A delivery as operators see it: the partner's view plus whose it is.
pub fn delivery_view(d: &Delivery) -> Value {
    let mut v = d.view();
    v["partnerId"] = Value::from(d.partner_id.as_str());
    v
}

/// The partners a listing walks: the one asked for, or all (by id).
pub async fn partners_to_walk<S: ExecutionStarter>(
    app: &App<S>,
    ctx: &Ctx<'_>,
    only: Option<String>,
) -> Result<Vec<String>, Fail> {
    match only {
        Some(p) => Ok(vec![p]),
        None => Ok(app
            .partners
            .list_records(ctx.meter)
            .await?
            .into_iter()
            .map(|r| r.partner.partner_id)
            .collect()),
    }
}

fn page_limit(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// GET /v1/admin/orders?partnerId=&from=&to=: one partner's, by event time.
pub async fn orders<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let partner = partner_filter(ctx)?
        .ok_or_else(|| bad_parameter("partnerId", "is required: orders are read one partner at a time"))?;
    let (from, to) = params::window_text(ctx)?;
    let limit = params::limit(ctx)?;
    let page = app
        .orders
        .by_event_time(&partner, &from, &to, params::cursor(ctx), page_limit(limit), ctx.meter)
        .await??;
    let items = page.items.into_iter().map(order_view).collect();
    Ok((200, page_body(items, page.next_cursor)))
}

fn code_filter(ctx: &Ctx<'_>) -> Result<Option<RejectionCode>, Fail> {
    match ctx.query("code") {
        None | Some("") => Ok(None),
        Some(c) => serde_json::from_value(Value::from(c))
            .map(Some)
            .map_err(|_| bad_parameter("code", format!("{c:?} is not a rejection code such as MISSING_FIELD")).into()),
    }
}

/// GET /v1/admin/errors?partnerId=&code=&from=&to=
pub async fn errors<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let only = partner_filter(ctx)?;
    let code = code_filter(ctx)?;
    let (from, to) = params::window_text(ctx)?;
    let limit = params::limit(ctx)?;
    let partners = partners_to_walk(app, ctx, only).await?;
    let (from, to) = (from.as_str(), to.as_str());
    let body = walk(
        "errors",
        &partners,
        params::cursor(ctx),
        limit,
        |partner, cursor, want| async move {
            let page = app
                .errors
                .query_code(&partner, from, to, code, cursor.as_deref(), page_limit(want), ctx.meter)
                .await?;
            Ok(page.map(|p| (p.items.into_iter().map(error_view).collect(), p.next_cursor)))
        },
    )
    .await?;
    Ok((200, body))
}

fn status_filter(ctx: &Ctx<'_>) -> Result<Option<DeliveryStatus>, Fail> {
    match ctx.query("status") {
        None | Some("") => Ok(None),
        Some(v) => DeliveryStatus::parse_filter(v)
            .map(Some)
            .ok_or_else(|| bad_parameter("status", "must be one of pending, failed, delivered, dead").into()),
    }
}

/// GET /v1/admin/deliveries?partnerId=&status=: oldest first per partner.
pub async fn deliveries<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let only = partner_filter(ctx)?;
    let status = status_filter(ctx)?;
    let limit = params::limit(ctx)?;
    let partners = partners_to_walk(app, ctx, only).await?;
    let body = walk(
        "deliveries",
        &partners,
        params::cursor(ctx),
        limit,
        |partner, cursor, want| async move {
            let page = app
                .deliveries
                .list(&partner, status, "", cursor.as_deref(), page_limit(want), ctx.meter)
                .await?;
            Ok(page.map(|p| (p.items.iter().map(delivery_view).collect(), p.next_cursor)))
        },
    )
    .await?;
    Ok((200, body))
}

/// POST /v1/admin/partners/{partnerId}/deliveries/{deliveryId}/replay:
/// what `zb deliveries replay` does (`zb_shared::workflow::replay_delivery`).
pub async fn replay<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let partner = partner_path(ctx)?;
    let delivery_id = id_path(ctx, "deliveryId", 200)?;
    let Some(before) = app.deliveries.get(&partner, &delivery_id, ctx.meter).await? else {
        return Err(not_found(format!("partner {partner} has no delivery {delivery_id}")).into());
    };
    if before.status != DeliveryStatus::Dead {
        return Err(conflict(format!(
            "delivery {delivery_id} is {}; only a DEAD delivery is replayed",
            before.status.as_str()
        ))
        .into());
    }
    let now = zb_shared::time::format_utc(app.clock.now());
    let replayed =
        zb_shared::workflow::replay_delivery(&app.deliveries, &app.webhooks, &partner, &delivery_id, &now, ctx.meter)
            .await;
    let (after, _started) = match replayed {
        Ok(Some(done)) => done,
        // Another replay (or the delivery's own run) got there first.
        Ok(None) => return Err(conflict(format!("delivery {delivery_id} is no longer DEAD")).into()),
        Err(ReplayError::Store(e)) => return Err(e.into()),
        Err(ReplayError::Start(StartError::Transient(e))) => return Err(Fail::Unavailable(e)),
        Err(e) => return Err(Fail::Internal(e.to_string())),
    };
    app.record(
        ctx,
        Change {
            action: AuditAction::DeliveryReplay,
            target: format!("delivery/{partner}/{delivery_id}"),
            before: Some(delivery_view(&before)),
            after: Some(delivery_view(&after)),
        },
    )
    .await;
    Ok((
        202,
        json!({
            "partnerId": partner,
            "deliveryId": delivery_id,
            "executionName": after.execution_name(),
            "replays": after.replays,
        }),
    ))
}
