//! The partners table: `PARTNER#<id>` records and `KEY#<sha256>` key records.

use super::{classify, corrupt, from_item, from_items, n, num_attr, s, to_item, Item, Metered, StoreError};
use crate::cost::CostMeter;
use crate::partner::{ApiKey, KeyRecord, Partner, PartnerRecord, WebhookStatus};
use crate::secrets::SecretSealer;
use aws_sdk_dynamodb::types::{Put, ReturnConsumedCapacity, ReturnValue, TransactWriteItem, Update};
use std::sync::Arc;

#[derive(Clone)]
pub struct PartnerStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// Seals webhook secrets before they are written and opens them for signing
    /// (crate::secrets). Items hold the stored form; this store never decrypts on its own.
    sealer: Arc<dyn SecretSealer>,
}

impl std::fmt::Debug for PartnerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerStore")
            .field("table", &self.table)
            .field("seals", &self.sealer.seals())
            .finish()
    }
}

impl PartnerStore {
    /// A store whose secrets are sealed as the environment says (`WEBHOOK_SECRETS_KEY_ID`: KMS;
    /// unset: in clear, see [`crate::secrets::from_env`]).
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            sealer: crate::secrets::from_env(),
        }
    }

    /// The same store with another sealer (tests, a CLI naming its key).
    pub fn with_sealer(mut self, sealer: Arc<dyn SecretSealer>) -> Self {
        self.sealer = sealer;
        self
    }

    /// What seals and opens this table's webhook secrets.
    pub fn sealer(&self) -> &dyn SecretSealer {
        self.sealer.as_ref()
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        meter: &CostMeter,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        from_item(out.item)
    }

    async fn put(&self, pk: String, item: &impl serde::Serialize, meter: &CostMeter) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_pk(pk, item)?))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        Ok(())
    }

    pub async fn get_partner(&self, partner_id: &str, meter: &CostMeter) -> Result<Option<Partner>, StoreError> {
        self.get(format!("PARTNER#{partner_id}"), meter).await
    }

    pub async fn get_key(&self, key_hash: &str, meter: &CostMeter) -> Result<Option<ApiKey>, StoreError> {
        self.get(format!("KEY#{key_hash}"), meter).await
    }

    pub async fn put_partner(&self, partner: &Partner, meter: &CostMeter) -> Result<(), StoreError> {
        self.put(format!("PARTNER#{}", partner.partner_id), partner, meter)
            .await
    }

    pub async fn put_key(&self, key: &ApiKey, meter: &CostMeter) -> Result<(), StoreError> {
        self.put(format!("KEY#{}", key.key_hash), key, meter).await
    }

    /// The whole `PARTNER#` item, with its webhook and rotation state.
    pub async fn get_record(&self, partner_id: &str, meter: &CostMeter) -> Result<Option<PartnerRecord>, StoreError> {
        self.get(format!("PARTNER#{partner_id}"), meter).await
    }

    /// The whole `KEY#` item, with the end of its rotation overlap.
    pub async fn get_key_record(&self, key_hash: &str, meter: &CostMeter) -> Result<Option<KeyRecord>, StoreError> {
        self.get(format!("KEY#{key_hash}"), meter).await
    }

    /// Replaces the whole `PARTNER#` item (operator commands: read, change, write).
    pub async fn put_record(&self, record: &PartnerRecord, meter: &CostMeter) -> Result<(), StoreError> {
        self.put(format!("PARTNER#{}", record.partner.partner_id), record, meter)
            .await
    }

    fn put_item(&self, pk: String, item: &impl serde::Serialize) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(with_pk(pk, item)?))
            .build()
            .map_err(corrupt)
    }

    async fn transact(&self, items: Vec<TransactWriteItem>, meter: &CostMeter) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .record_consumed(meter)
            .map_err(|e| {
                let cancelled = e
                    .as_service_error()
                    .is_some_and(|s| s.is_transaction_canceled_exception());
                if cancelled {
                    StoreError::Missing("the partner (or it already exists)".into())
                } else {
                    classify(e)
                }
            })?;
        Ok(())
    }

    /// Writes a new partner and its first key in one transaction; refuses
    /// (`StoreError::Conflict`) a partner id that exists.
    pub async fn create(&self, record: &PartnerRecord, key: &KeyRecord, meter: &CostMeter) -> Result<(), StoreError> {
        let mut put_partner = self.put_item(format!("PARTNER#{}", record.partner.partner_id), record)?;
        put_partner.condition_expression = Some("attribute_not_exists(pk)".into());
        let put_key = self.put_item(format!("KEY#{}", key.key.key_hash), key)?;
        self.transact(
            vec![
                TransactWriteItem::builder().put(put_partner).build(),
                TransactWriteItem::builder().put(put_key).build(),
            ],
            meter,
        )
        .await
        .map_err(|e| match e {
            StoreError::Missing(_) => StoreError::Conflict(format!("partner {}", record.partner.partner_id)),
            other => other,
        })
    }

    /// A key rotation in one transaction: the new key, the old key's
    /// `expiresAt` (the end of the overlap), and the partner's current key.
    pub async fn rotate_key(
        &self,
        record: &PartnerRecord,
        new_key: &KeyRecord,
        old_key_hash: Option<&str>,
        old_expires_at: i64,
        meter: &CostMeter,
    ) -> Result<(), StoreError> {
        let mut items = vec![
            TransactWriteItem::builder()
                .put(self.put_item(format!("PARTNER#{}", record.partner.partner_id), record)?)
                .build(),
            TransactWriteItem::builder()
                .put(self.put_item(format!("KEY#{}", new_key.key.key_hash), new_key)?)
                .build(),
        ];
        if let Some(old) = old_key_hash {
            // Only shortens: an old key already expiring sooner keeps its earlier end.
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(format!("KEY#{old}")))
                .update_expression("SET expiresAt = :t")
                .condition_expression("attribute_exists(pk) AND (attribute_not_exists(expiresAt) OR expiresAt > :t)")
                .expression_attribute_values(":t", n(old_expires_at))
                .build()
                .map_err(corrupt)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        self.transact(items, meter).await
    }

    /// Every `PARTNER#` item (a Scan: the table holds partners and keys only).
    pub async fn list_records(&self, meter: &CostMeter) -> Result<Vec<PartnerRecord>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(":p", s("PARTNER#"))
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .metered(meter)?;
            out.extend(from_items::<PartnerRecord>(page.items)?);
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        out.sort_by(|a: &PartnerRecord, b| a.partner.partner_id.cmp(&b.partner.partner_id));
        Ok(out)
    }

    /// A failed delivery: remembers when the current run of failures began
    /// (kept if already set) and returns it. A targeted update, so it cannot
    /// undo an operator's concurrent change to the rest of the item.
    pub async fn note_webhook_failure(&self, partner_id: &str, now: i64, meter: &CostMeter) -> Result<i64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("PARTNER#{partner_id}")))
            .update_expression("SET failingSince = if_not_exists(failingSince, :now)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::UpdatedNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered(meter)?;
        out.attributes
            .as_ref()
            .and_then(|a| num_attr(a, "failingSince"))
            .ok_or_else(|| StoreError::Corrupt("failingSince was not returned".into()))
    }

    /// A successful delivery ends the run of failures.
    pub async fn note_webhook_success(&self, partner_id: &str, meter: &CostMeter) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("PARTNER#{partner_id}")))
            .update_expression("REMOVE failingSince")
            .condition_expression("attribute_exists(failingSince)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            // A failed condition: nothing to clear, the usual case.
            .metered_conditional(meter)?;
        Ok(())
    }

    /// Stops pushes to the partner's webhook (410, or 24 h of failures).
    /// Returns false when it was already disabled.
    pub async fn disable_webhook(&self, partner_id: &str, reason: &str, meter: &CostMeter) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("PARTNER#{partner_id}")))
            .update_expression("SET webhookStatus = :d, disabledReason = :r REMOVE failingSince")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(webhookStatus) OR webhookStatus <> :d)",
            )
            .expression_attribute_values(":d", s(status_name(WebhookStatus::Disabled)))
            .expression_attribute_values(":r", s(reason))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .metered_conditional(meter)?;
        Ok(out.is_some())
    }
}

fn status_name(status: WebhookStatus) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "DISABLED".into(),
    }
}

/// The item of `value` under partition key `pk`.
fn with_pk(pk: String, value: &impl serde::Serialize) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    item.insert("pk".into(), s(pk));
    Ok(item)
}
