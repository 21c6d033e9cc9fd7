//! Feeds across partners (FeedStore::list, partner by partner), one feed
//! by its id alone (the byFeedId index finds its partner), and the redrive
//! of a FAILED feed: FeedStore::reopen_for_redrive, then StartExecution of
//! the order pipeline named `<feedId>-redrive-<n>` with the input the
//! sweeper's restart sends (the feed's FeedRef).

use crate::data::partners_to_walk;
use crate::params::{self, id_path, partner_filter};
use crate::walk::walk;
use crate::{bad_parameter, conflict, not_found, Answer, App, Ctx, Fail};
use serde_json::{json, Value};
use zb_shared::admin::{AuditAction, Change};
use zb_shared::feed::{FeedRecord, FeedStatus};
use zb_shared::pipeline::FeedRef;
use zb_shared::store::{FeedFilter, RedriveError};
use zb_shared::workflow::{ExecutionStarter, StartError};

/// A feed id in a path: UUIDs are 36 characters; the documented bound is 64.
const MAX_FEED_ID: usize = 64;

/// A feed as every admin answer shows it (no body, no outcomes).
pub fn summary(f: &FeedRecord) -> Value {
    let mut v = json!({
        "feedId": f.feed_id,
        "partnerId": f.partner_id,
        "status": f.status,
        "format": f.format,
        "receivedAt": f.received_at,
        "updatedAt": f.updated_at,
        "requestId": f.request_id,
        "correlationId": f.correlation_id,
        "orderCount": f.order_count,
        "counts": f.counts,
    });
    if let Some(failure) = &f.failure {
        v["failure"] = json!({"error": failure.error, "cause": failure.cause});
    }
    v
}

/// The executions a feed's pipeline ran under names we choose: the stuck-feed
/// sweeper's restarts since it was last (re)opened (`<feedId>-sweep-<n>`).
/// The first execution, started by the EventBridge rule, has a name AWS
/// picks; a redrive's is `<feedId>-redrive-<n>` and is named in its answer
/// and its audit entry.
fn executions(f: &FeedRecord) -> Value {
    use zb_shared::feed::{redrive_execution_name, sweep_execution_name};
    let redrives =
        (1..=f.redrive_count).map(|r| json!({"name": redrive_execution_name(&f.feed_id, r), "by": "redrive"}));
    let sweeps = (1..=f.sweep_attempts)
        .map(|n| json!({"name": sweep_execution_name(&f.feed_id, f.redrive_count, n), "by": "sweeper"}));
    Value::Array(redrives.chain(sweeps).collect())
}

fn status_filter(ctx: &Ctx<'_>) -> Result<Option<String>, Fail> {
    match ctx.query("status") {
        None | Some("") => Ok(None),
        Some(s) => match serde_json::from_value::<FeedStatus>(Value::from(s)) {
            Ok(_) => Ok(Some(s.to_string())),
            Err(_) => Err(bad_parameter(
                "status",
                "must be one of RECEIVED, COMPLETED, COMPLETED_WITH_REJECTIONS, FAILED",
            )
            .into()),
        },
    }
}

/// `?orderId=`: an order's sequenceNumber (a whole number), only with a partner.
fn order_filter(ctx: &Ctx<'_>, partner: Option<&str>) -> Result<Option<u64>, Fail> {
    match ctx.query("orderId") {
        None | Some("") => Ok(None),
        Some(_) if partner.is_none() => {
            Err(bad_parameter("orderId", "needs partnerId: sequence numbers are per partner").into())
        }
        // Exactly the documented pattern ^[0-9]{1,19}$ (u64::from_str would
        // also take a leading '+'); 19 digits always fit a u64.
        Some(v) if (1..=19).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<u64>().map(Some).map_err(|e| Fail::Internal(e.to_string()))
        }
        Some(v) => Err(bad_parameter("orderId", format!("{v:?} is not a sequence number (1 to 19 digits)")).into()),
    }
}

/// The feed that stored the partner's order `seq` (the order item names
/// it), if it passes the other filters: zero or one item, no cursor.
async fn by_order<S: ExecutionStarter>(
    app: &App<S>,
    ctx: &Ctx<'_>,
    partner: &str,
    seq: u64,
    status: Option<&str>,
    window: params::Window,
) -> Answer {
    if params::cursor(ctx).is_some_and(|c| !c.is_empty()) {
        // This listing has one page, so it never issues a cursor.
        return Err(zb_shared::store::BadCursor.into());
    }
    let mut items = Vec::new();
    if let Some(order) = app.orders.get(partner, seq, ctx.meter).await? {
        if let Some(feed) = app.feeds.get(partner, &order.feed_id, ctx.meter).await? {
            let received = zb_shared::time::parse_rfc3339(&feed.received_at).ok();
            let in_window = match (window, received) {
                ((None, None), _) => true,
                ((from, to), Some(t)) => from.is_none_or(|f| f <= t) && to.is_none_or(|u| t <= u),
                (_, None) => false,
            };
            let status_ok = status.is_none_or(|s| json!(feed.status) == json!(s));
            if in_window && status_ok {
                items.push(summary(&feed));
            }
        }
    }
    Ok((200, json!({ "items": items })))
}

/// GET /v1/admin/feeds?partnerId=&status=&from=&to=&orderId=: newest first within a partner.
pub async fn list<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let only = partner_filter(ctx)?;
    let status = status_filter(ctx)?;
    let (from, to) = params::window(ctx)?;
    let limit = params::limit(ctx)?;
    if let Some(seq) = order_filter(ctx, only.as_deref())? {
        let partner = only.as_deref().unwrap_or_default();
        return by_order(app, ctx, partner, seq, status.as_deref(), (from, to)).await;
    }
    let filter = FeedFilter { status, from, to };
    let partners = partners_to_walk(app, ctx, only).await?;
    let filter = &filter;
    let body = walk(
        "feeds",
        &partners,
        params::cursor(ctx),
        limit,
        |partner, cursor, want| async move {
            let page = app
                .feeds
                .list(&partner, filter, want, cursor.as_deref(), ctx.meter)
                .await?;
            Ok(page.map(|(feeds, next)| (feeds.iter().map(summary).collect(), next)))
        },
    )
    .await?;
    Ok((200, body))
}

/// The feed a path names, whoever's it is.
pub(crate) async fn find<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>, feed_id: &str) -> Result<FeedRecord, Fail> {
    let missing = || -> Fail { not_found(format!("no feed {feed_id}")).into() };
    let partner = app.feeds.find_partner(feed_id, ctx.meter).await?.ok_or_else(missing)?;
    app.feeds.get(&partner, feed_id, ctx.meter).await?.ok_or_else(missing)
}

/// GET /v1/admin/feeds/{feedId}: the record, the first page of outcomes,
/// the executions we named.
pub async fn show<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let feed_id = id_path(ctx, "feedId", MAX_FEED_ID)?;
    tracing::Span::current().record("feedId", feed_id.as_str());
    let feed = find(app, ctx, &feed_id).await?;
    let mut body = summary(&feed);
    body["orders"] = json!(feed.outcomes);
    body["outcomePages"] = json!(feed.outcome_pages);
    body["executions"] = executions(&feed);
    Ok((200, body))
}

/// POST /v1/admin/feeds/{feedId}/redrive: 202, or 409 unless FAILED.
pub async fn redrive<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let feed_id = id_path(ctx, "feedId", MAX_FEED_ID)?;
    tracing::Span::current().record("feedId", feed_id.as_str());
    let before = find(app, ctx, &feed_id).await?;
    let partner = before.partner_id.clone();
    let now = zb_shared::time::format_utc(app.clock.now());
    let reopened = match app.feeds.reopen_for_redrive(&partner, &feed_id, &now, ctx.meter).await {
        Ok(r) => r,
        Err(RedriveError::NotFound) => return Err(not_found(format!("no feed {feed_id}")).into()),
        Err(RedriveError::NotFailed { status }) => {
            return Err(conflict(format!("feed {feed_id} is {status}; only a FAILED feed is redriven")).into())
        }
        Err(RedriveError::Store(e)) => return Err(e.into()),
    };
    let name = zb_shared::feed::redrive_execution_name(&feed_id, reopened.redrive_count);
    let input = serde_json::to_string(&FeedRef::from(&reopened.feed)).map_err(|e| Fail::Internal(e.to_string()))?;
    // The feed is RECEIVED again and back in the pending index, so if the
    // start fails the sweeper restarts it within its stuck bound; answering
    // an error would invite a retry that can only be refused (not FAILED).
    let started = match app.pipeline.start(&name, input).await {
        Ok(_) => true,
        Err(e @ (StartError::Transient(_) | StartError::Rejected(_))) => {
            tracing::error!(error = %e, execution = %name, "the redrive could not start; the sweeper will");
            false
        }
    };
    let mut after = summary(&reopened.feed);
    after["redriveCount"] = json!(reopened.redrive_count);
    after["executionName"] = json!(name);
    app.record(
        ctx,
        Change {
            action: AuditAction::FeedRedrive,
            target: format!("feed/{feed_id}"),
            before: Some(summary(&before)),
            after: Some(after),
        },
    )
    .await;
    Ok((
        202,
        json!({
            "feedId": feed_id,
            "partnerId": partner,
            "executionName": name,
            "redriveCount": reopened.redrive_count,
            "executionStarted": started,
        }),
    ))
}
