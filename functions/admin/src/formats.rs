//! Formats: the built-in and published versions (FormatResolver, helper C's
//! shared/src/format/), one version's documents, and publishing a new one,
//! checked with sample orders first.

use crate::params::{self, body_object};
use crate::walk::page_body;
use crate::{bad_member, bad_parameter, not_found, Answer, App, Ctx, Fail};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use zb_shared::admin::{AuditAction, Change};
use zb_shared::format::{split_format_id, FormatError, PublishError};
use zb_shared::store::{BadCursor, MAX_CURSOR_LEN};
use zb_shared::workflow::ExecutionStarter;

const LISTING: &str = "formats";

fn encode(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(json!({"l": LISTING, "a": after}).to_string())
}

/// The formatId a formats cursor continues after.
fn decode(cursor: &str) -> Result<String, BadCursor> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
        return Err(BadCursor);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(BadCursor);
    };
    match (m.len(), m.get("l"), m.get("a")) {
        (2, Some(Value::String(l)), Some(Value::String(a))) if l == LISTING && split_format_id(a).is_some() => {
            Ok(a.clone())
        }
        _ => Err(BadCursor),
    }
}

fn lookup_failed(id: &str, e: FormatError) -> Fail {
    match e {
        FormatError::Store(e) => e.into(),
        FormatError::Unknown(_) => not_found(format!("no format {id}")).into(),
        other => Fail::Internal(other.to_string()),
    }
}

/// GET /v1/admin/formats: built-in and published, by name and version.
pub async fn list<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let limit = params::limit(ctx)?;
    let after = params::cursor(ctx).map(decode).transpose()?;
    let all = app.formats.list(ctx.meter).await?;
    // The listing's own order (name, then version as a number).
    let start = match &after {
        None => 0,
        Some(a) => all.iter().position(|f| &f.format_id == a).map_or(all.len(), |i| i + 1),
    };
    let rest = all.get(start..).unwrap_or_default();
    let items: Vec<Value> = rest
        .iter()
        .take(limit)
        .map(|f| serde_json::to_value(f).unwrap_or_default())
        .collect();
    let next = (rest.len() > limit).then(|| encode(&rest[limit - 1].format_id));
    Ok((200, page_body(items, next)))
}

/// GET /v1/admin/formats/{formatId}
pub async fn show<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let id = ctx.path_param("formatId");
    if split_format_id(id).is_none() {
        return Err(bad_parameter("formatId", "must be <name>@<version>, e.g. partner-a@1").into());
    }
    let detail = app
        .formats
        .detail(id, ctx.meter)
        .await
        .map_err(|e| lookup_failed(id, e))?;
    Ok((
        200,
        serde_json::to_value(&detail).map_err(|e| Fail::Internal(e.to_string()))?,
    ))
}

/// POST /v1/admin/formats?dryRun=: 201 published (200 for a dry run) with
/// what each sample became; 400 naming the member at fault, 409 for a
/// version that exists, 422 when no sample yields a canonical order.
pub async fn publish<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let dry_run = match ctx.query("dryRun") {
        None | Some("") | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad_parameter("dryRun", "must be true or false").into()),
    };
    let body = body_object(ctx)?;
    let member = |name: &str, want: &str, ok: fn(&Value) -> bool| -> Result<Value, Fail> {
        match body.get(name) {
            Some(v) if ok(v) => Ok(v.clone()),
            _ => Err(bad_member(&format!("/{name}"), format!("is required: {want}")).into()),
        }
    };
    let format = member("format", "the format.json object", Value::is_object)?;
    let schema = member("schema", "a JSON Schema object", Value::is_object)?;
    let samples = member("samples", "an array of 1 to 100 sample orders", |v| {
        v.as_array().is_some_and(|a| (1..=100).contains(&a.len()))
    })?;
    let samples = samples.as_array().cloned().unwrap_or_default();
    let published_by = if ctx.operator.username.is_empty() {
        ctx.operator.sub.as_str()
    } else {
        ctx.operator.username.as_str()
    };
    let report = match app
        .formats
        .publish(&format, &schema, &samples, published_by, dry_run, ctx.meter)
        .await
    {
        Ok(report) => report,
        Err(PublishError::Store(e)) => return Err(e.into()),
        Err(e @ PublishError::NoCanonicalSample(_)) => {
            let samples = match &e {
                PublishError::NoCanonicalSample(report) => json!(report.samples),
                _ => Value::Null,
            };
            return Err(Fail::Extended(Box::new(e.to_problem()), json!({ "samples": samples })));
        }
        Err(e) => return Err(e.to_problem().into()),
    };
    let body = serde_json::to_value(&report).map_err(|e| Fail::Internal(e.to_string()))?;
    if dry_run {
        return Ok((200, body));
    }
    app.record(
        ctx,
        Change {
            action: AuditAction::FormatPublish,
            target: format!("format/{}", report.format_id),
            before: None,
            after: Some(json!({
                "formatId": report.format_id,
                "format": format,
                "schema": schema,
                "samples": samples.len(),
                "canonicalSamples": report.canonical_count(),
            })),
        },
    )
    .await;
    Ok((201, body))
}
