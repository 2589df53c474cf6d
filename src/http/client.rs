//! Who is on the other end: the client address of each request, which per-address limits key on.
//!
//! The peer of the TCP connection is the client, unless it is one of the operator's `--trusted-proxies`:
//! then the client is the right-most `X-Forwarded-For` entry that is not a trusted proxy. Right-most,
//! because every proxy appends the address it saw, so only the entries our own proxies wrote can be
//! believed — everything left of them is whatever the client chose to send. An entry that does not parse
//! where we need to read one means the header cannot be trusted at all, and the peer is used. A peer that
//! is not a trusted proxy has its `X-Forwarded-For` ignored entirely: anyone can send one.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use super::AppState;
use crate::domain::ClientAddr;
use crate::hub::{Hub, HubError};

/// Most ranges `--trusted-proxies` takes: each request is checked against all of them.
pub const MAX_TRUSTED_RANGES: usize = 256;

/// Most `X-Forwarded-For` entries read from the right before giving up on the header: a real chain of
/// proxies is short, and reading stops at the first untrusted entry anyway.
const MAX_HOPS: usize = 32;

/// The proxies whose `X-Forwarded-For` entries are believed (`--trusted-proxies`; none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// Comma-separated CIDR ranges (`10.0.0.0/8, 2001:db8::/32`) or single addresses; empty means none.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if nets.len() == MAX_TRUSTED_RANGES {
                return Err(format!("at most {MAX_TRUSTED_RANGES} ranges"));
            }
            let net = match item.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        let shown: String = item.chars().take(60).collect();
                        return Err(format!("`{shown}` is not an IP address or CIDR range (like 10.0.0.0/8)"));
                    }
                },
            };
            nets.push(canonical_net(net));
        }
        Ok(Self(nets))
    }
}

/// An IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) as the IPv4 range it means, since addresses are
/// compared in their canonical form.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map(IpNet::V4).unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

impl TrustedProxies {
    /// Whether `ip` (canonical form) is one of the trusted proxies.
    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`,
/// `[2001:db8::1]`). Zone ids (`fe80::1%eth0`) are refused: they only mean something on the proxy's host.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim_matches([' ', '\t']);
    if text.is_empty() || text.len() > 64 || text.contains('%') {
        return None;
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    text.parse::<SocketAddr>().ok().map(|s| s.ip())
}

/// The client's IP address for a request from `peer` with `headers` (see the module doc).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let mut hops = 0;
    // Several header lines form one list, in order; read it from its right end.
    for value in headers.get_all("x-forwarded-for").iter().rev() {
        let Ok(text) = value.to_str() else { return peer };
        for hop in text.rsplit(',') {
            hops += 1;
            if hops > MAX_HOPS {
                return peer;
            }
            let Some(ip) = parse_hop(hop).map(|ip| ip.to_canonical()) else { return peer };
            if !trusted.contains(ip) {
                return ip;
            }
        }
    }
    // Only proxies of our own (or no header): the request started at a proxy.
    peer
}

/// The client address of a request, or `None` where the connection's peer is unknown (a router driven
/// without `serve`). Every handler that acts takes it and hands it to the hub.
#[derive(Debug, Clone, Copy, Default)]
pub struct Client(pub Option<ClientAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Client>().copied().unwrap_or_default())
    }
}

/// Admits minting a session for the request's client: the member extractor takes it from the request's
/// extensions, and [`super::session::CurrentMember::mint`] consults it only when it is about to store a
/// new anonymous identity.
#[derive(Clone)]
pub struct SessionGate {
    hub: Arc<Hub>,
    addr: Option<ClientAddr>,
}

impl std::fmt::Debug for SessionGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionGate").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl SessionGate {
    /// `RATE_LIMITED` when the client's address has minted its allowance of sessions.
    pub fn admit(&self) -> Result<(), HubError> {
        match self.addr {
            Some(addr) => self.hub.admit_new_session(addr),
            None => Ok(()),
        }
    }
}

/// Middleware: resolves the client address of every request once, for handlers ([`Client`]) and for
/// minting sessions ([`SessionGate`]).
pub(super) async fn identify(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let addr = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| ClientAddr::of(client_ip(peer.ip(), request.headers(), &app.web.trusted_proxies)));
    request.extensions_mut().insert(Client(addr));
    request.extensions_mut().insert(SessionGate { hub: app.hub.clone(), addr });
    next.run(request).await
}

/// `Retry-After` (whole seconds) for a rate-limited refusal.
pub(crate) fn retry_after(e: &HubError) -> Option<(HeaderName, HeaderValue)> {
    e.retry_after_secs().map(|secs| (header::RETRY_AFTER, HeaderValue::from(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(text: &str) -> TrustedProxies {
        text.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.5";

    fn via_proxy(values: &[&str]) -> IpAddr {
        client_ip(ip(PROXY), &xff(values), &trusted("10.0.0.0/8"))
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let headers = xff(&["203.0.113.7"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &headers, &TrustedProxies::default()), ip("198.51.100.1"));
        // Positive control: the same header through a trusted proxy is believed.
        assert_eq!(via_proxy(&["203.0.113.7"]), ip("203.0.113.7"));
    }

    #[test]
    fn an_untrusted_peers_header_is_ignored() {
        let headers = xff(&["203.0.113.7"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &headers, &trusted("10.0.0.0/8")), ip("198.51.100.1"));
    }

    #[test]
    fn the_right_most_untrusted_entry_wins_never_the_left_most() {
        // The client claimed 1.1.1.1; our proxies saw 203.0.113.7 and then each other.
        assert_eq!(via_proxy(&["1.1.1.1, 203.0.113.7, 10.0.0.9"]), ip("203.0.113.7"));
        assert_eq!(via_proxy(&["1.1.1.1, 203.0.113.7"]), ip("203.0.113.7"));
    }

    #[test]
    fn several_header_lines_are_one_list_in_order() {
        assert_eq!(via_proxy(&["1.1.1.1", "203.0.113.7", "10.0.0.9"]), ip("203.0.113.7"));
        assert_eq!(via_proxy(&["1.1.1.1, 203.0.113.7", "10.0.0.9, 10.0.0.8"]), ip("203.0.113.7"));
    }

    #[test]
    fn garbage_where_the_client_must_be_read_falls_back_to_the_peer() {
        for bad in ["", " ", "unknown", "not-an-ip", "203.0.113.7;drop", "999.1.1.1", "1.2.3", ",", "203.0.113.7,"] {
            assert_eq!(via_proxy(&[bad]), ip(PROXY), "{bad:?}");
        }
        assert_eq!(via_proxy(&["203.0.113.7, garbage, 10.0.0.9"]), ip(PROXY));
        // Positive control: garbage left of the entry our proxy wrote is never read.
        assert_eq!(via_proxy(&["garbage, 203.0.113.7"]), ip("203.0.113.7"));
    }

    #[test]
    fn bytes_that_are_not_visible_ascii_fall_back_to_the_peer() {
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_bytes(b"203.0.113.\xff").unwrap());
        assert_eq!(client_ip(ip(PROXY), &headers, &trusted("10.0.0.0/8")), ip(PROXY));
    }

    #[test]
    fn ipv6_entries_with_ports_are_read_and_zone_ids_refused() {
        assert_eq!(via_proxy(&["2001:db8::1"]), ip("2001:db8::1"));
        assert_eq!(via_proxy(&["[2001:db8::1]:4711"]), ip("2001:db8::1"));
        assert_eq!(via_proxy(&["[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(via_proxy(&["203.0.113.7:4711"]), ip("203.0.113.7"));
        assert_eq!(via_proxy(&["\t203.0.113.7 "]), ip("203.0.113.7"));
        for zoned in ["fe80::1%eth0", "[fe80::1%25eth0]:80", "[fe80::1%1]:80"] {
            assert_eq!(via_proxy(&[zoned]), ip(PROXY), "{zoned}");
        }
        for bad in ["[2001:db8::1", "2001:db8::1]:80", "[203.0.113.7]:80", "2001:db8::1:80:x"] {
            assert_eq!(via_proxy(&[bad]), ip(PROXY), "{bad}");
        }
    }

    #[test]
    fn ipv4_mapped_addresses_are_compared_and_returned_as_ipv4() {
        assert_eq!(via_proxy(&["::ffff:203.0.113.7"]), ip("203.0.113.7"));
        // A mapped proxy address is the proxy too.
        assert_eq!(via_proxy(&["203.0.113.7, ::ffff:10.0.0.9"]), ip("203.0.113.7"));
        assert_eq!(client_ip(ip("::ffff:10.0.0.5"), &xff(&["203.0.113.7"]), &trusted("10.0.0.0/8")), ip("203.0.113.7"));
        assert_eq!(
            client_ip(ip("10.0.0.5"), &xff(&["203.0.113.7"]), &trusted("::ffff:10.0.0.0/104")),
            ip("203.0.113.7"),
            "a mapped range means the IPv4 range"
        );
    }

    #[test]
    fn a_huge_list_is_not_read_past_a_bound() {
        let trusted_hops = vec!["10.0.0.9"; 5000].join(", ");
        assert_eq!(via_proxy(&[&format!("203.0.113.7, {trusted_hops}")]), ip(PROXY));
        let many_lines: Vec<&str> = vec!["10.0.0.9"; 100];
        assert_eq!(via_proxy(&[&["203.0.113.7"][..], &many_lines[..]].concat()), ip(PROXY));
        // Positive control: a long list of client-chosen junk left of a real entry costs nothing.
        let junk = vec!["1.1.1.1"; 5000].join(", ");
        assert_eq!(via_proxy(&[&format!("{junk}, 203.0.113.7, 10.0.0.9")]), ip("203.0.113.7"));
    }

    #[test]
    fn only_proxies_in_the_list_means_the_peer() {
        assert_eq!(via_proxy(&["10.0.0.7, 10.0.0.9"]), ip(PROXY));
        assert_eq!(via_proxy(&[]), ip(PROXY));
    }

    #[test]
    fn trusted_proxies_parse_ranges_and_addresses_and_refuse_garbage() {
        assert_eq!(trusted(""), TrustedProxies::default());
        assert_eq!(trusted(" , "), TrustedProxies::default());
        assert_eq!(trusted("10.0.0.0/8, 127.0.0.1,2001:db8::/32").0.len(), 3);
        assert!(trusted("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!trusted("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(trusted("10.1.2.3/8").contains(ip("10.200.0.1")), "host bits are dropped");
        for bad in ["10.0.0.0/33", "garbage", "10.0.0.0/8/8", "2001:db8::/129", "fe80::1%eth0", "10.0.0.0/-1"] {
            let err = bad.parse::<TrustedProxies>().unwrap_err();
            assert!(err.contains("not an IP address or CIDR range"), "{bad}: {err}");
        }
        let too_many = vec!["10.0.0.1"; MAX_TRUSTED_RANGES + 1].join(",");
        assert!(too_many.parse::<TrustedProxies>().unwrap_err().contains("at most"));
        let long = "x".repeat(10_000);
        assert!(long.parse::<TrustedProxies>().unwrap_err().len() < 200, "the error does not echo the whole input");
    }
}
