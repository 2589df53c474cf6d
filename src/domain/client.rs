//! The client address that per-address limits are keyed by.
//!
//! One IPv4 address is one key, but an IPv6 client usually holds a whole /64 (often far more): keying
//! by the full 128 bits would hand every such client 2^64 fresh buckets. So an IPv6 address counts by
//! its /64 prefix, and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket reports
//! for IPv4 peers) counts as the IPv4 address it carries.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A client address as a rate-limit key: an IPv4 address, or an IPv6 /64 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(Key);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    V4(Ipv4Addr),
    /// The upper 64 bits of the address.
    V6(u64),
}

impl ClientAddr {
    /// The key of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(Key::V4(v4)),
            IpAddr::V6(v6) => Self(Key::V6((v6.to_bits() >> 64) as u64)),
        }
    }
}

impl From<IpAddr> for ClientAddr {
    fn from(ip: IpAddr) -> Self {
        Self::of(ip)
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Key::V4(v4) => write!(f, "{v4}"),
            Key::V6(prefix) => write!(f, "{}/64", Ipv6Addr::from_bits(u128::from(prefix) << 64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> ClientAddr {
        ClientAddr::of(text.parse().unwrap())
    }

    #[test]
    fn addresses_within_one_ipv6_slash_64_share_a_key() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:abcd::7"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn neighbouring_ipv6_slash_64s_get_different_keys() {
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db9:1:2::1"));
    }

    #[test]
    fn each_ipv4_address_is_its_own_key() {
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
        assert_eq!(key("192.0.2.1"), key("192.0.2.1"));
        assert_eq!(key("192.0.2.1").to_string(), "192.0.2.1");
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_counts_as_its_ipv4_address() {
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        // Positive control: two mapped addresses differ as their IPv4 addresses do, not by a shared /64.
        assert_ne!(key("::ffff:192.0.2.1"), key("::ffff:192.0.2.2"));
    }
}
