//! Issue 16: erasure and export of one data subject (admin only).
//!
//! `POST /v1/admin/privacy/erasures` stores the request (with its
//! identifiers, for the workflow to find them) and starts the Standard
//! privacy-erasure machine named by the erasure id, with `{"erasureId"}` as
//! its only input: a Standard history keeps its input 90 days, so the
//! identifiers never enter it. The machine's last step replaces them by
//! their hashes. `GET .../erasures/{id}` shows the request without them.
//! `POST /v1/admin/privacy/exports` answers, synchronously, every order,
//! error and raw order the privacy index knows for the subject.
//!
//! The audit log holds the subjects' hashes, never the identifiers.

use crate::params::{body_object, id_path, is_partner_id};
use crate::{bad_member, not_found, Answer, App, Ctx, Fail};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use zb_shared::admin::{AuditAction, Change};
use zb_shared::privacy::{subject_hash, Identifier, IdentifierKind, IndexRef};
use zb_shared::store::{ErasedCounts, ErasureRecord, ErasureStatus, ErasureStore, PrivacyIndex};
use zb_shared::workflow::{ExecutionStarter, StartError, Started};

/// Identifiers one request names at most (the contract's limit).
pub const MAX_IDENTIFIERS: usize = 20;
/// Erasure ids are UUIDs we mint.
const MAX_ERASURE_ID: usize = 64;

/// What the privacy routes need beyond the rest of the admin API.
pub struct Privacy<S: ExecutionStarter> {
    /// The subject's items (the same reads the erasure steps make).
    pub data: privacy::Data,
    pub index: PrivacyIndex,
    pub erasures: ErasureStore,
    /// StartExecution on the privacy-erasure machine.
    pub starter: S,
    pub machine_arn: String,
}

/// A checked request body: the partner and its identifiers.
struct Subject {
    partner_id: String,
    ids: Vec<Identifier>,
    hashes: Vec<String>,
}

fn privacy_of<S: ExecutionStarter>(app: &App<S>) -> Result<&Privacy<S>, Fail> {
    app.privacy
        .as_ref()
        .ok_or_else(|| Fail::Internal("the privacy routes are not configured".into()))
}

/// One list member (`customerRefs` or `emails`): an array of strings, each
/// a valid identifier of `kind`. A refusal names the member (JSON Pointer),
/// never the value, which is personal data.
fn identifiers(
    body: &Map<String, Value>,
    name: &str,
    kind: IdentifierKind,
    out: &mut Vec<Identifier>,
) -> Result<(), Fail> {
    let Some(v) = body.get(name) else { return Ok(()) };
    let Value::Array(items) = v else {
        return Err(bad_member(&format!("/{name}"), "must be an array of strings").into());
    };
    if items.len() > MAX_IDENTIFIERS {
        return Err(bad_member(
            &format!("/{name}"),
            format!("at most {MAX_IDENTIFIERS} identifiers in one request"),
        )
        .into());
    }
    for (i, item) in items.iter().enumerate() {
        let pointer = format!("/{name}/{i}");
        let Value::String(text) = item else {
            return Err(bad_member(&pointer, "must be a string").into());
        };
        let id = Identifier::new(kind, text).map_err(|e| bad_member(&pointer, e.to_string()))?;
        out.push(id);
    }
    Ok(())
}

fn subject(body: &Map<String, Value>) -> Result<Subject, Fail> {
    let partner_id = match body.get("partnerId") {
        Some(Value::String(p)) if is_partner_id(p) => p.clone(),
        Some(_) => return Err(bad_member("/partnerId", "must be 1-64 characters of a-z, 0-9 and '-'").into()),
        None => return Err(bad_member("/partnerId", "is required").into()),
    };
    let mut ids = Vec::new();
    identifiers(body, "customerRefs", IdentifierKind::CustomerRef, &mut ids)?;
    identifiers(body, "emails", IdentifierKind::Email, &mut ids)?;
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err(bad_member("/emails", "name at least one identifier in customerRefs or emails").into());
    }
    if ids.len() > MAX_IDENTIFIERS {
        return Err(bad_member(
            "/emails",
            format!("at most {MAX_IDENTIFIERS} identifiers in customerRefs and emails together"),
        )
        .into());
    }
    let mut hashes: Vec<String> = ids.iter().map(|id| subject_hash(&partner_id, id)).collect();
    hashes.sort();
    hashes.dedup();
    Ok(Subject {
        partner_id,
        ids,
        hashes,
    })
}

/// 404 unless the partner exists: an erasure or export for a partner we
/// do not know is a typo, not an empty answer.
async fn known_partner<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>, partner_id: &str) -> Result<(), Fail> {
    match app.partners.get_record(partner_id, ctx.meter).await? {
        Some(_) => Ok(()),
        None => Err(not_found(format!("no partner {partner_id}")).into()),
    }
}

/// The execution ARN Step Functions gives execution `name` of `machine_arn`
/// (`arn:…:stateMachine:<machine>` → `arn:…:execution:<machine>:<name>`).
fn execution_arn(machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

/// POST /v1/admin/privacy/erasures: 202 with the running erasure.
pub async fn erase<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let p = privacy_of(app)?;
    let body = body_object(ctx)?;
    let subject = subject(&body)?;
    known_partner(app, ctx, &subject.partner_id).await?;
    let now = app.clock.now();
    let erasure_id = zb_shared::admin::audit::entry_id(now);
    let record = ErasureRecord {
        erasure_id: erasure_id.clone(),
        partner_id: subject.partner_id.clone(),
        status: ErasureStatus::Running,
        requested_by: ctx.operator.username.clone(),
        requested_at: zb_shared::time::format_utc(now),
        finished_at: None,
        subjects: subject.hashes.clone(),
        identifiers: subject.ids,
        erased: ErasedCounts::default(),
        execution_arn: None,
        failure: None,
    };
    p.erasures.create(&record, ctx.meter).await?;
    let input = json!({ "erasureId": erasure_id }).to_string();
    let arn = match p.starter.start(&erasure_id, input).await {
        Ok(Started::New(arn)) => arn,
        Ok(Started::AlreadyRunning) => execution_arn(&p.machine_arn, &erasure_id),
        Err(e) => {
            // Nothing will run this request: end it FAILED, which takes its
            // identifiers out of the table, and let the caller ask again.
            let now = zb_shared::time::format_utc(app.clock.now());
            let why = match &e {
                StartError::Transient(_) => "StartExecutionUnavailable",
                StartError::Rejected(_) => "StartExecutionRejected",
            };
            if let Err(store) = p
                .erasures
                .finish(
                    &erasure_id,
                    ErasureStatus::Failed,
                    &ErasedCounts::default(),
                    &now,
                    Some(why),
                    ctx.meter,
                )
                .await
            {
                tracing::error!(error = %store, erasureId = %erasure_id, "could not end an erasure that did not start");
            }
            return Err(match e {
                StartError::Transient(m) => Fail::Unavailable(m),
                StartError::Rejected(m) => Fail::Internal(m),
            });
        }
    };
    // The answer stands without it (the id names the execution).
    if let Err(e) = p.erasures.set_execution(&erasure_id, &arn, ctx.meter).await {
        tracing::warn!(error = %e, erasureId = %erasure_id, "could not record the erasure's execution");
    }
    app.record(
        ctx,
        Change {
            action: AuditAction::PrivacyErase,
            target: format!("privacy/{erasure_id}"),
            before: None,
            after: Some(json!({
                "erasureId": erasure_id,
                "partnerId": subject.partner_id,
                "subjects": subject.hashes,
                "executionArn": arn,
            })),
        },
    )
    .await;
    Ok((
        202,
        json!({"erasureId": erasure_id, "executionArn": arn, "status": ErasureStatus::Running}),
    ))
}

/// GET /v1/admin/privacy/erasures/{erasureId}: never the identifiers.
pub async fn show<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let p = privacy_of(app)?;
    let id = id_path(ctx, "erasureId", MAX_ERASURE_ID)?;
    match p.erasures.get(&id, ctx.meter).await? {
        Some(record) => Ok((200, record.view())),
        None => Err(not_found(format!("no erasure {id}")).into()),
    }
}

/// POST /v1/admin/privacy/exports: everything the index knows of the subject.
pub async fn export<S: ExecutionStarter>(app: &App<S>, ctx: &Ctx<'_>) -> Answer {
    let p = privacy_of(app)?;
    let body = body_object(ctx)?;
    let subject = subject(&body)?;
    known_partner(app, ctx, &subject.partner_id).await?;
    let partner = subject.partner_id.as_str();
    let refs = privacy::find_refs(&p.index, partner, &subject.hashes, ctx.meter).await?;
    let mut orders = Vec::new();
    let mut errors = Vec::new();
    let mut bodies: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut error_refs: Vec<(String, usize)> = Vec::new();
    for r in &refs {
        match IndexRef::parse(r) {
            Some(IndexRef::Order { sequence_number }) => {
                if let Some(o) = p.data.order(partner, sequence_number, ctx.meter).await? {
                    orders.push(o);
                }
            }
            Some(IndexRef::Body { feed_id, index }) => bodies.entry(feed_id).or_default().push(index),
            Some(IndexRef::Error { feed_id, index }) => error_refs.push((feed_id, index)),
            None => {}
        }
    }
    let mut feeds = BTreeMap::new();
    for feed_id in bodies.keys().chain(error_refs.iter().map(|(f, _)| f)) {
        if !feeds.contains_key(feed_id) {
            feeds.insert(feed_id.clone(), p.data.feed(partner, feed_id, ctx.meter).await?);
        }
    }
    let mut raw_orders = Vec::new();
    for (feed_id, indexes) in &bodies {
        if let Some(Some(feed)) = feeds.get(feed_id) {
            let found = p
                .data
                .raw_orders(partner, feed, indexes, ctx.meter)
                .await
                .map_err(data_fail)?;
            raw_orders.extend(
                found
                    .into_iter()
                    .map(|r| json!({"feedId": r.feed_id, "index": r.index, "order": r.order})),
            );
        }
    }
    for (feed_id, index) in &error_refs {
        if let Some(Some(feed)) = feeds.get(feed_id) {
            if let Some(e) = p.data.error(partner, feed, *index, ctx.meter).await? {
                errors.push(e);
            }
        }
    }
    app.record(
        ctx,
        Change {
            action: AuditAction::PrivacyExport,
            target: "privacy/export".into(),
            before: None,
            after: Some(json!({
                "partnerId": partner,
                "subjects": subject.hashes,
                "orders": orders.len(),
                "errors": errors.len(),
                "rawOrders": raw_orders.len(),
            })),
        },
    )
    .await;
    Ok((
        200,
        json!({
            "partnerId": partner,
            "exportedAt": zb_shared::time::format_utc(app.clock.now()),
            "subjects": subject.hashes,
            "orders": orders,
            "errors": errors,
            "rawOrders": raw_orders,
        }),
    ))
}

fn data_fail(e: privacy::DataError) -> Fail {
    match e {
        privacy::DataError::Store(s) => s.into(),
        e if e.is_transient() => Fail::Unavailable(e.to_string()),
        e => Fail::Internal(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_arns_follow_the_machine() {
        assert_eq!(
            execution_arn("arn:aws:states:eu-west-1:1:stateMachine:zb-privacy-erasure", "e-1"),
            "arn:aws:states:eu-west-1:1:execution:zb-privacy-erasure:e-1"
        );
    }

    #[test]
    fn bodies_are_checked_and_refusals_name_the_member_not_the_value() {
        let body = |v: Value| v.as_object().cloned().unwrap_or_default();
        let ok = subject(&body(
            json!({"partnerId": "partner-b", "emails": ["Ann@Example.com", "ann@example.com"]}),
        ));
        let Ok(ok) = ok else { panic!("a valid body was refused") };
        assert_eq!(ok.ids.len(), 1, "normalized and deduplicated");
        assert_eq!(ok.hashes.len(), 1);
        for (v, pointer) in [
            (json!({"emails": ["a@b.example"]}), "/partnerId"),
            (json!({"partnerId": "partner-b"}), "/emails"),
            (
                json!({"partnerId": "partner-b", "emails": ["secret-not-an-address"]}),
                "/emails/0",
            ),
            (
                json!({"partnerId": "partner-b", "customerRefs": "c-1"}),
                "/customerRefs",
            ),
            (
                json!({"partnerId": "partner-b", "customerRefs": [" "]}),
                "/customerRefs/0",
            ),
            (json!({"partnerId": "B!", "customerRefs": ["c"]}), "/partnerId"),
        ] {
            let Err(Fail::Problem(p)) = subject(&body(v.clone())) else {
                panic!("{v} was taken")
            };
            let text = serde_json::to_string(&*p).unwrap_or_default();
            assert!(text.contains(pointer), "{v}: {text}");
            assert!(!text.contains("secret-not-an-address"), "{text}");
        }
        let many: Vec<String> = (0..21).map(|i| format!("c-{i}")).collect();
        assert!(subject(&body(json!({"partnerId": "p", "customerRefs": many}))).is_err());
    }
}
