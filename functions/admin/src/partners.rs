//! Partners: list, show, create, update, disable, rotate-key, rotate-secret,
//! through shared/src/onboarding.rs (the code `zb partners` runs). Answers
//! never hold a key, its hash or a webhook secret, except the new one that
//! create and the rotations show once; audit entries show them redacted.

use crate::params::{self, body_object, partner_path, rate_limit_member, string_member};
use crate::walk::{decode, encode, page_body, Position};
use crate::{bad_member, conflict, not_found, Answer, App, Ctx, Fail};
use serde_json::{json, Map, Value};
use zb_shared::admin::{AuditAction, Change, REDACTED};
use zb_shared::onboarding::{NewPartner, OnboardingError, PartnerChanges};
use zb_shared::partner::PartnerRecord;
use zb_shared::store::StoreError;
use zb_shared::workflow::ExecutionStarter;

const LISTING: &str = "partners";

/// A partner as operators see it: no credential of any kind.
pub fn view(r: &PartnerRecord) -> Value {
    json!({
        "partnerId": r.partner.partner_id,
        "name": r.partner.name,
        "status": r.partner.status,
        "format": r.partner.format,
        "webhookUrl": r.partner.webhook_url,
        "webhookStatus": r.state.webhook_status,
        "webhookDisabledReason": r.state.disabled_reason,
        "rateLimit": r.partner.rate_limit,
        "createdAt": r.state.created_at,
    })
}

/// The whole stored record for the audit log (redacted by the entry).
fn snapshot(r: &PartnerRecord) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

fn target(partner_id: &str) -> String {
    format!("partner/{partner_id}")
}

fn failed(e: OnboardingError) -> Fail {
    match e {
        OnboardingError::UnknownPartner(p) => not_found(format!("no partner {p}")).into(),
        OnboardingError::BadPartnerId(p) => bad_member(
            "/partnerId",
            format!("{p:?} must be 1-64 characters of a-z, 0-9 and '-'"),
        )
        .into(),
        OnboardingError::EmptyName => bad_member("/name", "must not be empty").into(),
        OnboardingError::UnknownFormat(f, _) => bad_member("/format", format!("no format {f:?}")).into(),
        OnboardingError::WebhookUrl(e) => bad_member("/webhookUrl", e.to_string()).into(),
        OnboardingError::Store(StoreError::Conflict(what)) => conflict(format!("{what} already exists")).into(),
        OnboardingError::Store(e) => e.into(),
        OnboardingError::Random(e) => Fail::Internal(e.to_string()),
        OnboardingError::Secret(e) => Fail::Internal(e.to_string()),
    }
}

/// The format member, which must name a format a partner can be given.
async fn format_member<S: ExecutionStarter>(
    app: &App<S>,
    body: &Map<String, Value>,
    ctx: &Ctx<'_>,
) -> Result<Option<String>, Fail> {
    let Some(v) = body.get("format") else {
        return Ok(None);
    };
    let Some(id) = v.as_str().filter(|s| !s.is_empty()) else {
        return Err(bad_member("/format", "must be a format id like partner-a@1").into());
    };
    if !app.format_exists(id, ctx.meter).await? {
        return Err(bad_member("/format", format!("no built-in or published format {id:?}")).into());
    }
    Ok(Some(id.to_string()))
}

/// GET /v1/admin/partners: by id, `limit` a page.
pub async fn list<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let limit = params::limit(ctx)?;
    let after = match params::cursor(ctx) {
        None => None,
        Some(c) => Some(decode(LISTING, c)?.partner),
    };
    let all = app.partners.list_records(ctx.meter).await?;
    let rest: Vec<&PartnerRecord> = all
        .iter()
        .filter(|r| after.as_deref().is_none_or(|a| r.partner.partner_id.as_str() > a))
        .collect();
    let page: Vec<Value> = rest.iter().take(limit).map(|r| view(r)).collect();
    let next = (rest.len() > limit).then(|| {
        encode(
            LISTING,
            &Position {
                partner: rest[limit - 1].partner.partner_id.clone(),
                inner: None,
            },
        )
    });
    Ok((200, page_body(page, next)))
}

/// GET /v1/admin/partners/{partnerId}
pub async fn show<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let id = partner_path(ctx)?;
    match app.partners.get_record(&id, ctx.meter).await? {
        Some(r) => Ok((200, view(&r))),
        None => Err(not_found(format!("no partner {id}")).into()),
    }
}

/// POST /v1/admin/partners: 201 with the key and the secret, shown once.
pub async fn create<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let body = body_object(ctx)?;
    let name = string_member(&body, "name", 256)?.ok_or_else(|| bad_member("/name", "is required"))?;
    let partner_id = match body.get("partnerId") {
        None => None,
        Some(Value::String(p)) if params::is_partner_id(p) => Some(p.clone()),
        Some(_) => return Err(bad_member("/partnerId", "must be 1-64 characters of a-z, 0-9 and '-'").into()),
    };
    let webhook_url = match body.get("webhookUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) => Some(u.clone()),
        Some(_) => return Err(bad_member("/webhookUrl", "must be a URL").into()),
    };
    let rate_limit = rate_limit_member(&body)?;
    let format = format_member(app, &body, ctx)
        .await?
        .ok_or_else(|| bad_member("/format", "is required"))?;
    let issued = app
        .onboarding
        .create_resolved(
            NewPartner {
                partner_id,
                name,
                format,
                webhook_url,
            },
            rate_limit,
        )
        .await
        .map_err(failed)?;
    let record = app.onboarding.get(&issued.partner_id).await.map_err(failed)?;
    let mut after = snapshot(&record);
    after["apiKey"] = Value::from(REDACTED);
    app.record(
        ctx,
        Change {
            action: AuditAction::PartnerCreate,
            target: target(&issued.partner_id),
            before: None,
            after: Some(after),
        },
    )
    .await;
    Ok((
        201,
        json!({
            "partnerId": issued.partner_id,
            "apiKey": issued.api_key,
            "webhookSecret": issued.webhook_secret,
            "partner": view(&record),
        }),
    ))
}

/// PATCH /v1/admin/partners/{partnerId}: any of name, webhookUrl (null
/// removes it), rateLimit, format.
pub async fn update<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let id = partner_path(ctx)?;
    let body = body_object(ctx)?;
    let webhook_url = match body.get("webhookUrl") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(u)) => Some(Some(u.clone())),
        Some(_) => return Err(bad_member("/webhookUrl", "must be a URL, or null to remove the webhook").into()),
    };
    let changes = PartnerChanges {
        name: string_member(&body, "name", 256)?,
        format: format_member(app, &body, ctx).await?,
        webhook_url,
        rate_limit: rate_limit_member(&body)?,
    };
    let (before, after) = app.onboarding.update(&id, changes).await.map_err(failed)?;
    app.record(
        ctx,
        Change {
            action: AuditAction::PartnerUpdate,
            target: target(&id),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
    )
    .await;
    Ok((200, view(&after)))
}

/// POST /v1/admin/partners/{partnerId}/disable
pub async fn disable<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let id = partner_path(ctx)?;
    let before = app.onboarding.get(&id).await.map_err(failed)?;
    let after = app.onboarding.disable(&id).await.map_err(failed)?;
    app.record(
        ctx,
        Change {
            action: AuditAction::PartnerDisable,
            target: target(&id),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
    )
    .await;
    Ok((200, view(&after)))
}

/// POST /v1/admin/partners/{partnerId}/rotate-key: the new key, once; the
/// old one works for the overlap.
pub async fn rotate_key<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    rotate(app, ctx, AuditAction::PartnerRotateKey).await
}

/// POST /v1/admin/partners/{partnerId}/rotate-secret: the new secret, once;
/// deliveries are signed with both for the overlap.
pub async fn rotate_secret<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    rotate(app, ctx, AuditAction::PartnerRotateSecret).await
}

async fn rotate<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>, action: AuditAction) -> Answer {
    let id = partner_path(ctx)?;
    let before = app.onboarding.get(&id).await.map_err(failed)?;
    let issued = if action == AuditAction::PartnerRotateKey {
        app.onboarding.rotate_key(&id, crate::ROTATION_OVERLAP).await
    } else {
        app.onboarding.rotate_secret(&id, crate::ROTATION_OVERLAP).await
    }
    .map_err(failed)?;
    let record = app.onboarding.get(&id).await.map_err(failed)?;
    let mut after = snapshot(&record);
    if action == AuditAction::PartnerRotateKey {
        after["apiKey"] = Value::from(REDACTED);
    }
    after["previousValidUntil"] = json!(issued.previous_valid_until);
    app.record(
        ctx,
        Change {
            action,
            target: target(&id),
            before: Some(snapshot(&before)),
            after: Some(after),
        },
    )
    .await;
    let mut body = serde_json::to_value(&issued).map_err(|e| Fail::Internal(e.to_string()))?;
    if let Value::Object(m) = &mut body {
        // Only the credential this route issues.
        if action == AuditAction::PartnerRotateKey {
            m.remove("webhookSecret");
        } else {
            m.remove("apiKey");
        }
    }
    Ok((200, body))
}
