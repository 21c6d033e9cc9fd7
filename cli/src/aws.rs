//! AWS SDK configuration shared by every `zb` subcommand, and SDK errors
//! turned into messages an operator can act on.
//!
//! Endpoints resolve like everywhere else in ZeroBeta (shared/src/aws.rs):
//! aws-config honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>;
//! `--endpoint-url` overrides both for every service.

use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sfn::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use clap::Args;
use std::path::Path;

/// Options every subcommand that talks to AWS accepts.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Endpoint for every AWS call, e.g. http://127.0.0.1:4000 for the local cloud
    /// [default: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then AWS]
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region [default: AWS_REGION or the profile's; us-east-1 for a local endpoint]
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
}

/// The services `zb` calls, with the names their endpoint variables use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    StepFunctions,
    CloudWatchLogs,
}

impl Service {
    pub fn display_name(self) -> &'static str {
        match self {
            Self::StepFunctions => "Step Functions",
            Self::CloudWatchLogs => "CloudWatch Logs",
        }
    }

    /// AWS_ENDPOINT_URL_<service id>, as aws-config reads it.
    fn env_var(self) -> &'static str {
        match self {
            Self::StepFunctions => "AWS_ENDPOINT_URL_SFN",
            Self::CloudWatchLogs => "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        }
    }
}

/// Where a service's calls go, for messages and for the Express decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub service: Service,
    /// None: the SDK's AWS endpoint for the region.
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

impl Target {
    /// True for anything that is not AWS itself (the local cloud, an
    /// emulator): decides the hints of unreachable-endpoint messages.
    pub fn is_emulator(&self) -> bool {
        self.endpoint.as_deref().is_some_and(is_emulator_url)
    }

    pub fn describe(&self) -> String {
        match (&self.endpoint, &self.region) {
            (Some(url), _) => format!("the {} endpoint {url}", self.service.display_name()),
            (None, Some(r)) => format!("AWS {} in {r}", self.service.display_name()),
            (None, None) => format!("AWS {}", self.service.display_name()),
        }
    }
}

/// `http://127.0.0.1:4000` -> true; `https://states.us-east-1.amazonaws.com` -> false.
pub fn is_emulator_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    let host = host.to_ascii_lowercase();
    !(host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn") || host.ends_with(".api.aws"))
}

/// Loaded SDK configuration plus what it resolved to.
pub struct Aws {
    pub config: SdkConfig,
    pub args: AwsArgs,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Aws {
    pub async fn load(args: &AwsArgs) -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = &args.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let local = args
            .endpoint_url
            .as_deref()
            .or(env("AWS_ENDPOINT_URL").as_deref())
            .is_some_and(is_emulator_url)
            || env(Service::StepFunctions.env_var())
                .as_deref()
                .is_some_and(is_emulator_url);
        loader = match &args.region {
            Some(r) => loader.region(Region::new(r.clone())),
            // The local cloud does not care about the region, but the SDK refuses to run without one.
            None if local => loader.region(RegionProviderChain::default_provider().or_else("us-east-1")),
            None => loader,
        };
        if local && !has_configured_credentials() {
            // Emulators ignore signatures, but the SDK will not send a request unsigned.
            loader = loader.credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "local", "local", None, None, "zb-local",
            ));
        }
        Aws {
            config: loader.load().await,
            args: args.clone(),
        }
    }

    pub fn target(&self, service: Service) -> Target {
        Target {
            service,
            endpoint: self
                .args
                .endpoint_url
                .clone()
                .or_else(|| env(service.env_var()))
                .or_else(|| env("AWS_ENDPOINT_URL")),
            region: self.config.region().map(|r| r.to_string()),
        }
    }
}

/// Whether aws-config's default chain has something to find without asking
/// the instance metadata service (which would stall a laptop for seconds).
fn has_configured_credentials() -> bool {
    let vars = [
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];
    if vars.iter().any(|v| env(v).is_some()) {
        return true;
    }
    let home = env("HOME").or_else(|| env("USERPROFILE"));
    home.is_some_and(|h| {
        let aws = Path::new(&h).join(".aws");
        aws.join("credentials").exists() || aws.join("config").exists()
    })
}

/// An SDK call that did not succeed, as the operator should read it.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("cannot reach {target}: {reason}{hint}")]
    Unreachable {
        target: String,
        reason: String,
        hint: &'static str,
    },
    #[error("{service} {operation} failed: {code}: {message}")]
    Service {
        service: &'static str,
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("{service} {operation} failed: {detail}")]
    Other {
        service: &'static str,
        operation: &'static str,
        detail: String,
    },
}

impl AwsError {
    /// The service's error code (e.g. `StateMachineTypeNotSupported`), if it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn from_sdk<E, R>(target: &Target, operation: &'static str, err: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let service = target.service.display_name();
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                let detail = DisplayErrorContext(&err).to_string();
                if detail.contains("credentials") {
                    return AwsError::Other {
                        service,
                        operation,
                        detail: format!("no usable AWS credentials ({detail}); set AWS_PROFILE or AWS_ACCESS_KEY_ID"),
                    };
                }
                let hint = if target.is_emulator() {
                    " — is `make run` running?"
                } else {
                    " — check your network, region and credentials"
                };
                AwsError::Unreachable {
                    target: target.describe(),
                    reason: network_reason(&err),
                    hint,
                }
            }
            SdkError::ServiceError(_) => AwsError::Service {
                service,
                operation,
                code: err.code().unwrap_or("UnknownError").to_string(),
                message: err.message().unwrap_or("(no message)").to_string(),
            },
            _ => AwsError::Other {
                service,
                operation,
                detail: DisplayErrorContext(&err).to_string(),
            },
        }
    }
}

/// The most specific reason in an error's source chain: "connection refused"
/// rather than "dispatch failure".
fn network_reason(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut last = err.to_string();
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::TimedOut => "connection timed out".to_string(),
                _ => io.to_string(),
            };
        }
        last = e.to_string();
        cur = e.source();
    }
    let lower = last.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused".to_string()
    } else if lower.contains("dns") || lower.contains("failed to lookup") {
        format!("name resolution failed ({last})")
    } else {
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulator_urls() {
        for url in [
            "http://127.0.0.1:4000",
            "http://localhost:4000/",
            "http://[::1]:4000",
            "http://host.docker.internal:4566",
            "http://sfn-local:8083",
        ] {
            assert!(is_emulator_url(url), "{url}");
        }
        for url in [
            "https://states.us-east-1.amazonaws.com",
            "https://logs.eu-west-1.amazonaws.com/",
            "https://states.cn-north-1.amazonaws.com.cn",
            "https://states.us-east-1.api.aws",
        ] {
            assert!(!is_emulator_url(url), "{url}");
        }
    }

    #[test]
    fn target_descriptions() {
        let local = Target {
            service: Service::StepFunctions,
            endpoint: Some("http://127.0.0.1:4000".into()),
            region: Some("us-east-1".into()),
        };
        assert!(local.is_emulator());
        assert_eq!(local.describe(), "the Step Functions endpoint http://127.0.0.1:4000");
        let aws = Target {
            service: Service::CloudWatchLogs,
            endpoint: None,
            region: Some("eu-west-1".into()),
        };
        assert!(!aws.is_emulator());
        assert_eq!(aws.describe(), "AWS CloudWatch Logs in eu-west-1");
    }

    #[test]
    fn unreachable_message() {
        let e = AwsError::Unreachable {
            target: "the Step Functions endpoint http://127.0.0.1:4000".into(),
            reason: "connection refused".into(),
            hint: " — is `make run` running?",
        };
        assert_eq!(
            e.to_string(),
            "cannot reach the Step Functions endpoint http://127.0.0.1:4000: connection refused — is `make run` running?"
        );
    }

    #[test]
    fn io_reason_is_found_in_the_chain() {
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("dispatch failure")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Wrap(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(network_reason(&e), "connection refused");
    }
}
