//! Staged step batches (the claim check, see [`crate::claim`]): a batch too
//! large to travel in a Step Functions message is written beside the feed
//! as `<feedId>#stage#<step>#<part>` items and read back by the next step.

use super::{s, Item, StoreError};
use crate::claim::{split_parts, StageRef, PART_MAX_BYTES};
use crate::cost::CostMeter;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use super::FeedStore;

fn part_key(feed_id: &str, step: &str, part: usize) -> String {
    format!("{feed_id}#stage#{step}#{part:03}")
}

impl FeedStore {
    /// Stages `text`, the JSON of `step`'s batch. A retried step rewrites
    /// the same items.
    pub async fn stage(
        &self,
        partner_id: &str,
        feed_id: &str,
        step: &str,
        text: &str,
        meter: &CostMeter,
    ) -> Result<StageRef, StoreError> {
        let parts = split_parts(text, PART_MAX_BYTES);
        let requests = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mut item = Item::new();
                item.insert("partnerId".into(), s(partner_id));
                item.insert("feedId".into(), s(part_key(feed_id, step, i)));
                item.insert("part".into(), s(*part));
                // Staged batches hold raw orders: kept as long as the body.
                item.insert(
                    super::TTL_ATTRIBUTE.into(),
                    super::n(self.ttl.expires_in(self.ttl.retention.raw_feed_days)),
                );
                let put = PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(super::corrupt)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        super::batch_write(&self.client, &self.table, requests, meter).await?;
        Ok(StageRef {
            step: step.to_string(),
            parts: parts.len(),
            bytes: text.len(),
        })
    }

    /// The text a step staged. A missing part is [`StoreError::Missing`].
    pub async fn unstage(
        &self,
        partner_id: &str,
        feed_id: &str,
        stage: &StageRef,
        meter: &CostMeter,
    ) -> Result<String, StoreError> {
        let mut text = String::with_capacity(stage.bytes);
        for i in 0..stage.parts {
            let key = part_key(feed_id, &stage.step, i);
            let item = self.get_item(partner_id, key.clone(), meter).await?;
            if item.as_ref().is_some_and(|i| !self.ttl.is_live(i)) {
                return Err(StoreError::Expired(format!("staged part {key}")));
            }
            match item.and_then(|mut i| i.remove("part")) {
                Some(AttributeValue::S(part)) => text.push_str(&part),
                Some(_) => return Err(super::corrupt(format!("staged part {key} is not a string"))),
                None => return Err(StoreError::Missing(format!("staged part {key}"))),
            }
        }
        Ok(text)
    }
}
