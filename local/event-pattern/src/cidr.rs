//! The `cidr` operator (IP address matching, IPv4 and IPv6).
//!
//! Event Ruler turns `a.b.c.d/n` into the range from the address *as written*
//! to that address with its host bits set; it does not clear the host bits
//! first. We keep that, so `10.0.0.5/24` matches 10.0.0.5–10.0.0.255 here as
//! it does on AWS.

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IpRange {
    V4 { low: u32, high: u32 },
    V6 { low: u128, high: u128 },
}

impl IpRange {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = text.split('/');
        let (Some(address), Some(mask), None) = (pieces.next(), pieces.next(), pieces.next()) else {
            return Err("Malformed CIDR, one '/' required".into());
        };
        if mask.is_empty() {
            return Err("Malformed CIDR, one '/' required".into());
        }
        let bits: i32 = mask
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?;
        let bits = u32::try_from(bits).map_err(|_| "Malformed CIDR, mask bits must not be negative".to_string())?;
        match address.parse::<IpAddr>() {
            Ok(IpAddr::V4(ip)) => {
                // AWS refuses /32 (and /128 below): a single address is written as a plain value.
                if bits > 31 {
                    return Err("IPv4 mask bits must be < 32".into());
                }
                let low = u32::from(ip);
                Ok(IpRange::V4 {
                    low,
                    high: low | (u32::MAX >> bits),
                })
            }
            Ok(IpAddr::V6(ip)) => {
                if bits > 127 {
                    return Err("IPv6 mask bits must be < 128".into());
                }
                let low = u128::from(ip);
                Ok(IpRange::V6 {
                    low,
                    high: low | (u128::MAX >> bits),
                })
            }
            Err(_) => Err(format!("Invalid IP address: {address}")),
        }
    }

    /// Whether a string event value is an address of the same family within range.
    pub(crate) fn contains(&self, value: &str) -> bool {
        match (self, value.parse::<IpAddr>()) {
            (IpRange::V4 { low, high }, Ok(IpAddr::V4(ip))) => (*low..=*high).contains(&u32::from(ip)),
            (IpRange::V6 { low, high }, Ok(IpAddr::V6(ip))) => (*low..=*high).contains(&u128::from(ip)),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_ranges() {
        let r = IpRange::parse("10.0.0.0/24").unwrap();
        assert!(r.contains("10.0.0.0"));
        assert!(r.contains("10.0.0.255"));
        assert!(!r.contains("10.0.1.0"));
        assert!(!r.contains("::1"));
        assert!(!r.contains("not an address"));
        let r = IpRange::parse("2001:db8::/32").unwrap();
        assert!(r.contains("2001:db8:ffff::1"));
        assert!(!r.contains("2001:db9::1"));
        let r = IpRange::parse("10.0.0.0/0").unwrap();
        assert!(r.contains("255.255.255.255"));
    }

    #[test]
    fn range_starts_at_the_written_address() {
        let r = IpRange::parse("10.0.0.5/24").unwrap();
        assert!(!r.contains("10.0.0.4"));
        assert!(r.contains("10.0.0.200"));
    }
}
