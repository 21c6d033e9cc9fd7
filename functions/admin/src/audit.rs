//! GET /v1/admin/audit?from=&to=&actor=: every change, newest first (admin only).

use crate::params;
use crate::walk::page_body;
use crate::{bad_parameter, Answer, App, Ctx};
use zb_shared::store::AuditFilter;
use zb_shared::workflow::ExecutionStarter;

pub async fn list<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let (from, to) = params::window(ctx)?;
    let actor = match ctx.query("actor") {
        None | Some("") => None,
        Some(a) if a.chars().count() <= 256 => Some(a.to_string()),
        Some(_) => return Err(bad_parameter("actor", "must be at most 256 characters").into()),
    };
    let limit = params::limit(ctx)?;
    let page = app
        .audit
        .query(
            &AuditFilter { from, to, actor },
            params::cursor(ctx),
            i32::try_from(limit).unwrap_or(i32::MAX),
            ctx.meter,
        )
        .await??;
    let items = page
        .items
        .iter()
        .map(|e| serde_json::to_value(e).unwrap_or_default())
        .collect();
    Ok((200, page_body(items, page.next_cursor)))
}
