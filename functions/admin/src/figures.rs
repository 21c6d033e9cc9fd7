//! Volume (MetricsStore::volume, per partner per UTC hour) and cost
//! (CostStore::by_day per partner per UTC day, CostStore::feed per feed),
//! passed through partner by partner: the figures are kept per partner by
//! the pipeline and the hourly cost job, so nothing here scans or sums raw
//! data.

use crate::data::partners_to_walk;
use crate::params::{id_path, partner_filter};
use crate::{bad_parameter, not_found, Answer, App, Ctx, Fail};
use serde_json::{json, Value};
use zb_shared::workflow::ExecutionStarter;

/// One bound of a range: `YYYY-MM-DDTHH` (hours) or `YYYY-MM-DD` (days) as
/// given, or an RFC 3339 time within it; empty or absent is `open`.
fn bound(ctx: &Ctx<'_>, name: &str, hours: bool, open: &str) -> Result<String, Fail> {
    let (unit, width, suffix, example) = if hours {
        ("hour", 13, ":00:00Z", "2026-01-31T09")
    } else {
        ("day", 10, "T00:00:00Z", "2026-01-31")
    };
    let v = match ctx.query(name) {
        None | Some("") => return Ok(open.to_string()),
        Some(v) => v,
    };
    if v.len() == width && zb_shared::time::parse_rfc3339(&format!("{v}{suffix}")).is_ok() {
        return Ok(v.to_string());
    }
    match zb_shared::time::parse_rfc3339(v) {
        Ok(t) => Ok(if hours {
            t.format("%Y-%m-%dT%H").to_string()
        } else {
            t.format("%Y-%m-%d").to_string()
        }),
        Err(_) => Err(bad_parameter(name, format!("must be a {unit} like {example} or an RFC 3339 time")).into()),
    }
}

fn range(ctx: &Ctx<'_>, hours: bool) -> Result<(String, String), Fail> {
    let (lo, hi) = if hours {
        ("0000-01-01T00", "9999-12-31T23")
    } else {
        ("0000-01-01", "9999-12-31")
    };
    let from = bound(ctx, "from", hours, lo)?;
    let to = bound(ctx, "to", hours, hi)?;
    if from > to {
        return Err(bad_parameter("from", "must not be after to").into());
    }
    Ok((from, to))
}

/// GET /v1/admin/volume?partnerId=&from=&to=: per partner, oldest hour first.
pub async fn volume<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let only = partner_filter(ctx)?;
    let (from, to) = range(ctx, true)?;
    let mut items = Vec::new();
    for partner in partners_to_walk(app, ctx, only).await? {
        for hour in app.metrics.volume(&partner, &from, &to, ctx.meter).await? {
            items.push(serde_json::to_value(&hour).map_err(|e| Fail::Internal(e.to_string()))?);
        }
    }
    Ok((200, json!({ "items": items })))
}

/// GET /v1/admin/cost?partnerId=&from=&to=: per partner, oldest day first.
pub async fn cost<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let only = partner_filter(ctx)?;
    let (from, to) = range(ctx, false)?;
    let mut items = Vec::new();
    for partner in partners_to_walk(app, ctx, only).await? {
        for day in app.costs.by_day(&partner, &from, &to, ctx.meter).await? {
            items.push(serde_json::to_value(&day).map_err(|e| Fail::Internal(e.to_string()))?);
        }
    }
    Ok((200, json!({ "items": items })))
}

/// GET /v1/admin/cost/feeds/{feedId}: 404 until the cost job has rolled up
/// the hours the feed ran in.
pub async fn feed_cost<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let feed_id = id_path(ctx, "feedId", 64)?;
    let Some(cost) = app.costs.feed(&feed_id, ctx.meter).await? else {
        return Err(not_found(format!("no cost rolled up for feed {feed_id} (yet)")).into());
    };
    let mut body = serde_json::to_value(&cost).map_err(|e| Fail::Internal(e.to_string()))?;
    if body["partnerId"].is_null() {
        let partner = app.feeds.find_partner(&feed_id, ctx.meter).await?;
        body["partnerId"] = partner.map(Value::from).unwrap_or_else(|| Value::from(""));
    }
    Ok((200, body))
}
