//! The client's address behind reverse proxies: `X-Forwarded-For` and RFC 7239
//! `Forwarded` are believed only as far as they were written by proxies we trust
//! (`SLUICE_TRUSTED_PROXIES`).
//!
//! Each proxy appends the address it received the request from, so the list is read
//! from the right: starting at the TCP peer, while the current hop is a trusted proxy
//! the next address to the left is taken; the first untrusted one is the client (a
//! client can write anything to the left of it, never to its right). Without trusted
//! proxies, or when the peer is not one, the headers are ignored and the peer is the
//! client. The rate limits key on this address.
//!
//! `X-Forwarded-For` is read when present (nginx, Caddy, HAProxy, Apache, Traefik all
//! write it), else `Forwarded`: a proxy that writes only `Forwarded` must drop an
//! `X-Forwarded-For` a client sent (docs/operations.md).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks of the proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Loopback (`127.0.0.0/8`, `::1`): the default when the server listens on a
    /// loopback address or a unix socket, where only a proxy on the same machine
    /// can reach it.
    pub fn loopback() -> Self {
        TrustedProxies(vec![
            "127.0.0.0/8".parse().expect("a network"),
            "::1/128".parse().expect("a network"),
        ])
    }

    /// Parses `SLUICE_TRUSTED_PROXIES`: addresses and CIDR networks separated by commas
    /// or spaces (`127.0.0.1, 10.0.0.0/8, fd00::/8`); empty trusts none.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split([',', ' ', '\t', '\n'])
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&addr))
    }

    /// The client's address: `peer` (None for a unix socket, which counts as a
    /// loopback peer) or, when that is a trusted proxy, the rightmost untrusted address
    /// its forwarding headers name. None: a unix-socket peer that forwarded nothing.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = peer.map(|p| p.to_canonical());
        let as_seen = client.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        if !self.trusts(as_seen) {
            return client;
        }
        for hop in forwarded_hops(headers).into_iter().rev() {
            // An entry no proxy of ours would write (`unknown`, garbage): stop at the
            // last proxy we trust.
            let Some(addr) = hop else {
                return client;
            };
            client = Some(addr);
            if !self.trusts(addr) {
                break;
            }
        }
        client
    }
}

/// Longest forwarding list read: a real chain is a few proxies long.
const MAX_HOPS: usize = 32;

/// The addresses of the forwarding chain, leftmost (the original client) first; None
/// for an entry that is not an address. `X-Forwarded-For` if sent, else `Forwarded`.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    };
    let xff = values("x-forwarded-for");
    let hops: Vec<Option<IpAddr>> = if !xff.is_empty() {
        xff.iter()
            .flat_map(|v| v.split(','))
            .map(|s| node(s.trim()))
            .collect()
    } else {
        values("forwarded")
            .iter()
            .flat_map(|v| split_outside_quotes(v, ','))
            .map(|element| {
                split_outside_quotes(element, ';')
                    .find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| v.trim().trim_matches('"').to_string())
                    })
                    .and_then(|v| node(&v))
            })
            .collect()
    };
    let skip = hops.len().saturating_sub(MAX_HOPS);
    hops.into_iter().skip(skip).collect()
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`,
/// `192.0.2.1:4711`, `[2001:db8::1]:4711`.
fn node(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| s.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
        .map(|a| a.to_canonical())
}

/// Splits at `sep` where it is not inside a quoted string (RFC 7239 values may be
/// quoted and hold `,` or `;`).
fn split_outside_quotes(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// Headers sent, and the client expected.
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);

    #[test]
    fn parses_addresses_and_networks() {
        let t = TrustedProxies::parse("127.0.0.1, 10.1.2.3/8 fd00::/8,::1").unwrap();
        assert!(t.trusts(ip("127.0.0.1")) && !t.trusts(ip("127.0.0.2")));
        assert!(t.trusts(ip("10.200.0.1")) && t.trusts(ip("fd12::1")) && t.trusts(ip("::1")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("localhost").is_err());
    }

    #[test]
    fn reads_the_chain_from_the_right_through_trusted_proxies() {
        let t = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let peer = Some(ip("127.0.0.1"));
        let cases: &[Case] = &[
            (&[], Some("127.0.0.1")),
            (&[("x-forwarded-for", "203.0.113.7")], Some("203.0.113.7")),
            // A client's own entry left of the real one is not believed.
            (
                &[("x-forwarded-for", "1.1.1.1, 203.0.113.7")],
                Some("203.0.113.7"),
            ),
            // Through two proxies of ours.
            (
                &[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.5")],
                Some("203.0.113.7"),
            ),
            (
                &[
                    ("x-forwarded-for", "1.1.1.1, 203.0.113.7"),
                    ("x-forwarded-for", "10.0.0.5"),
                ],
                Some("203.0.113.7"),
            ),
            (
                &[("x-forwarded-for", "[2001:db8::1]:4711")],
                Some("2001:db8::1"),
            ),
            (
                &[("x-forwarded-for", "203.0.113.7:80")],
                Some("203.0.113.7"),
            ),
            (
                &[("x-forwarded-for", "::ffff:203.0.113.7")],
                Some("203.0.113.7"),
            ),
            // Garbage where an address should be: the last proxy we trust.
            (
                &[("x-forwarded-for", "203.0.113.7, garbage")],
                Some("127.0.0.1"),
            ),
            (
                &[("x-forwarded-for", "unknown, 10.0.0.5")],
                Some("10.0.0.5"),
            ),
            (&[("x-forwarded-for", "")], Some("127.0.0.1")),
            // Every hop trusted: the leftmost.
            (
                &[("x-forwarded-for", "10.0.0.9, 10.0.0.5")],
                Some("10.0.0.9"),
            ),
            (
                &[("forwarded", "for=192.0.2.60;proto=https;by=10.0.0.1")],
                Some("192.0.2.60"),
            ),
            (
                &[("forwarded", "for=1.1.1.1, for=\"[2001:db8:cafe::17]:4711\"")],
                Some("2001:db8:cafe::17"),
            ),
            (
                &[(
                    "forwarded",
                    "proto=https;For=\"203.0.113.9:1\", for=10.0.0.2",
                )],
                Some("203.0.113.9"),
            ),
            (&[("forwarded", "for=unknown")], Some("127.0.0.1")),
            (
                &[("forwarded", "for=\"a,b;c\";proto=http")],
                Some("127.0.0.1"),
            ),
            // X-Forwarded-For wins when both are sent.
            (
                &[
                    ("forwarded", "for=1.1.1.1"),
                    ("x-forwarded-for", "203.0.113.7"),
                ],
                Some("203.0.113.7"),
            ),
        ];
        for (h, want) in cases {
            assert_eq!(t.client(peer, &headers(h)), want.map(ip), "{h:?}");
        }
    }

    #[test]
    fn untrusted_peers_and_unix_sockets() {
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        let loopback = TrustedProxies::loopback();
        // Not a trusted peer: its headers are ignored.
        assert_eq!(
            loopback.client(Some(ip("198.51.100.1")), &h),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(
            TrustedProxies::default().client(Some(ip("127.0.0.1")), &h),
            Some(ip("127.0.0.1"))
        );
        // A unix socket's peer counts as loopback.
        assert_eq!(loopback.client(None, &h), Some(ip("203.0.113.7")));
        assert_eq!(loopback.client(None, &HeaderMap::new()), None);
        assert_eq!(TrustedProxies::default().client(None, &h), None);
        // IPv4-mapped peers (a dual-stack listener) are their IPv4 address.
        assert_eq!(
            loopback.client(Some(ip("::ffff:127.0.0.1")), &h),
            Some(ip("203.0.113.7"))
        );
    }
}
