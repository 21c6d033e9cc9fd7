//! ZeroBeta's shared library: the order domain (partner formats, validation,
//! transformation, idempotency, cost records) and the small AWS adapters every
//! Lambda function uses. Functions stay thin; everything testable lives here.

pub mod admin;
pub mod apikey;
pub mod aws;
pub mod claim;
pub mod clock;
pub mod config;
pub mod cost;
pub mod credentials;
pub mod delivery;
pub mod events;
pub mod executions;
pub mod feed;
pub mod format;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod onboarding;
pub mod order;
pub mod partner;
pub mod pipeline;
pub mod privacy;
pub mod problem;
pub mod ratelimit;
pub mod record;
pub mod rejection;
pub mod secrets;
pub mod signing;
pub mod ssrf;
pub mod store;
pub mod strict_json;
pub mod telemetry;
pub mod time;
pub mod transform;
pub mod validate;
pub mod webhook;
pub mod workflow;
