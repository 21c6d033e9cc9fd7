//! The partners table: `PARTNER#<id>` records and `KEY#<sha256>` key records.

use super::{classify, corrupt, s, Item, StoreError};
use crate::cost::CostMeter;
use crate::partner::{ApiKey, Partner};
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

#[derive(Debug, Clone)]
pub struct PartnerStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl PartnerStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get(&self, pk: String, meter: &CostMeter) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(classify)?;
        meter.dynamodb_read(out.consumed_capacity());
        Ok(out.item)
    }

    async fn put(&self, pk: String, mut item: Item, meter: &CostMeter) -> Result<(), StoreError> {
        item.insert("pk".into(), s(pk));
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(classify)?;
        meter.dynamodb_write(out.consumed_capacity());
        Ok(())
    }

    pub async fn get_partner(&self, partner_id: &str, meter: &CostMeter) -> Result<Option<Partner>, StoreError> {
        match self.get(format!("PARTNER#{partner_id}"), meter).await? {
            Some(item) => serde_dynamo::from_item(item).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    pub async fn get_key(&self, key_hash: &str, meter: &CostMeter) -> Result<Option<ApiKey>, StoreError> {
        match self.get(format!("KEY#{key_hash}"), meter).await? {
            Some(item) => serde_dynamo::from_item(item).map(Some).map_err(corrupt),
            None => Ok(None),
        }
    }

    pub async fn put_partner(&self, partner: &Partner, meter: &CostMeter) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(partner).map_err(corrupt)?;
        self.put(format!("PARTNER#{}", partner.partner_id), item, meter).await
    }

    pub async fn put_key(&self, key: &ApiKey, meter: &CostMeter) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(key).map_err(corrupt)?;
        self.put(format!("KEY#{}", key.key_hash), item, meter).await
    }
}
