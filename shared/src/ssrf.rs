//! The SSRF guard for webhook URLs: a partner's URL must not make us send
//! requests into our own network. On AWS a URL must be https and every
//! address its host resolves to must be public (no private, loopback,
//! link-local, CGNAT, unique-local, multicast or unspecified address); the
//! delivery then connects to the checked address only, so a DNS answer that
//! changes between the check and the request (rebinding) cannot slip past.
//! In the local cloud, http to a loopback address is allowed too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::Url;

/// Which URLs deliveries may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPolicy {
    /// AWS: https only, public addresses only.
    PublicHttps,
    /// The local cloud: also http (or https) to loopback addresses.
    AllowLoopbackHttp,
}

pub const POLICY_VAR: &str = "WEBHOOK_URL_POLICY";

impl UrlPolicy {
    /// `WEBHOOK_URL_POLICY` (the template sets `public-https`), except when
    /// DynamoDB is reached on a loopback address: that is the local cloud
    /// (or a test), which sets `AWS_ENDPOINT_URL_DYNAMODB` to 127.0.0.1 and
    /// never runs on AWS, where the variable is unset.
    pub fn from_env() -> Self {
        if std::env::var(POLICY_VAR).is_ok_and(|v| v == "allow-loopback-http") {
            return Self::AllowLoopbackHttp;
        }
        let local = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|u| is_loopback_url(&u));
        if local {
            Self::AllowLoopbackHttp
        } else {
            Self::PublicHttps
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("the webhook URL is not a URL: {0}")]
    Invalid(String),
    #[error("the webhook URL must use https")]
    NotHttps,
    #[error("the webhook URL must not carry a user name or password")]
    Credentials,
    #[error("the webhook host {host} resolves to {ip}, a non-public address")]
    Forbidden { host: String, ip: IpAddr },
    #[error("the webhook host {0} does not resolve")]
    Unresolved(String),
}

/// `http://127.0.0.1:8000` -> true: an endpoint on this machine.
pub fn is_loopback_url(raw: &str) -> bool {
    Url::parse(raw).is_ok_and(|u| host_is_loopback(&u))
}

fn host_is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The URL's shape: parses, scheme, no credentials. No DNS.
pub fn check_url(raw: &str, policy: UrlPolicy) -> Result<Url, SsrfError> {
    let url = Url::parse(raw).map_err(|e| SsrfError::Invalid(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SsrfError::Credentials);
    }
    let host = url.host_str().ok_or_else(|| SsrfError::Invalid("no host".into()))?;
    match (url.scheme(), policy) {
        ("https", _) => {}
        ("http", UrlPolicy::AllowLoopbackHttp) if host_is_loopback(&url) => {}
        _ => return Err(SsrfError::NotHttps),
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal {
        check_ip(host, ip, policy)?;
    }
    Ok(url)
}

fn check_ip(host: &str, ip: IpAddr, policy: UrlPolicy) -> Result<(), SsrfError> {
    let allowed = is_public(ip) || (policy == UrlPolicy::AllowLoopbackHttp && ip.is_loopback());
    if allowed {
        Ok(())
    } else {
        Err(SsrfError::Forbidden {
            host: host.to_string(),
            ip,
        })
    }
}

/// Resolves the URL's host and checks every address; returns the addresses
/// to connect to.
pub async fn resolve(url: &Url, policy: UrlPolicy) -> Result<Vec<SocketAddr>, SsrfError> {
    let host = url.host_str().ok_or_else(|| SsrfError::Invalid("no host".into()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| SsrfError::Invalid("no port".into()))?;
    let lookup_host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host, port))
        .await
        .map_err(|_| SsrfError::Unresolved(host.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(SsrfError::Unresolved(host.to_string()));
    }
    for a in &addrs {
        check_ip(host, a.ip(), policy)?;
    }
    Ok(addrs)
}

/// Globally routable unicast. Hand-written because `IpAddr::is_global` is
/// still unstable; the ranges are IANA's special-purpose registries.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 can reach private IPv4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_needs_https_and_public_literal_addresses() {
        let p = UrlPolicy::PublicHttps;
        assert!(check_url("https://hooks.example.com/zb", p).is_ok());
        assert_eq!(check_url("http://hooks.example.com/zb", p), Err(SsrfError::NotHttps));
        assert_eq!(check_url("http://127.0.0.1:9000/", p), Err(SsrfError::NotHttps));
        assert_eq!(check_url("https://u:p@example.com/", p), Err(SsrfError::Credentials));
        for bad in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert!(
                matches!(check_url(bad, p), Err(SsrfError::Forbidden { .. })),
                "{bad} was allowed"
            );
        }
        assert!(check_url("https://93.184.215.14/", p).is_ok());
        assert!(check_url("ftp://example.com/", p).is_err());
        assert!(check_url("not a url", p).is_err());
    }

    #[test]
    fn the_local_cloud_also_allows_http_to_loopback_only() {
        let p = UrlPolicy::AllowLoopbackHttp;
        assert!(check_url("http://127.0.0.1:9000/hook", p).is_ok());
        assert!(check_url("http://localhost:9000/hook", p).is_ok());
        assert_eq!(check_url("http://example.com/hook", p), Err(SsrfError::NotHttps));
        assert!(matches!(
            check_url("https://10.0.0.1/hook", p),
            Err(SsrfError::Forbidden { .. })
        ));
    }

    #[tokio::test]
    async fn resolution_is_checked_too() {
        let url = check_url("https://localhost:9/", UrlPolicy::PublicHttps).expect("shape is fine");
        assert!(matches!(
            resolve(&url, UrlPolicy::PublicHttps).await,
            Err(SsrfError::Forbidden { .. })
        ));
        let url = check_url("http://localhost:9/", UrlPolicy::AllowLoopbackHttp).expect("local");
        let addrs = resolve(&url, UrlPolicy::AllowLoopbackHttp)
            .await
            .expect("loopback allowed");
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
    }
}
