//! Server-side request forgery (SSRF) protection for every outbound request.
//!
//! A federated server fetches URLs that strangers hand it (actor ids, key ids, inbox
//! URLs, attachment links). Without a guard, `http://169.254.169.254/` (cloud
//! metadata), `http://127.0.0.1:6379/` (a local Redis) or `http://10.0.0.1/` (the
//! admin's router) are one `Follow` away. This module decides which IP addresses a
//! request may reach:
//!
//! - [`forbidden_reason`] classifies one address: loopback, private (RFC 1918,
//!   `fc00::/7`), link-local, multicast, unspecified, broadcast, CGNAT, documentation,
//!   benchmarking and reserved ranges, and the IPv6 forms that embed an IPv4 address
//!   (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`), which are
//!   judged by the embedded address. For IPv6 only global unicast space (`2000::/3`)
//!   is allowed at all, minus its special-purpose blocks.
//! - [`AddressPolicy`] applies that classifier, or not (`allow_private_addresses` for
//!   tests and private deployments), with an explicit list of exceptions.
//! - [`SsrfResolver`] is the DNS resolver installed on the one HTTP client: it resolves
//!   a name, refuses the whole name if *any* of its addresses is forbidden, and hands
//!   reqwest exactly the addresses it checked, so there is no window between "check"
//!   and "connect" for DNS rebinding.
//!
//! Raw-IP URLs never reach a resolver (the connector parses them itself), so the
//! fetcher checks them with [`AddressPolicy::check`] before connecting, on every hop.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why `ip` must not be the target of an outbound request, or `None` if it is a
/// public (globally routable) address.
///
/// IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`)
/// IPv6 addresses are judged by the IPv4 address they carry.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// `true` if `ip` is a public address an outbound request may reach.
pub fn is_public(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_none()
}

/// Special-purpose IPv4 blocks (IANA registry, RFC 6890 and successors) that are
/// never a fediverse server.
const V4_BLOCKS: &[([u8; 4], u32, &str)] = &[
    ([255, 255, 255, 255], 32, "limited broadcast"),
    ([0, 0, 0, 0], 8, "\"this network\" (0.0.0.0/8)"),
    ([10, 0, 0, 0], 8, "private (RFC 1918)"),
    (
        [100, 64, 0, 0],
        10,
        "shared address space / CGNAT (100.64.0.0/10)",
    ),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local"),
    ([172, 16, 0, 0], 12, "private (RFC 1918)"),
    (
        [192, 0, 0, 0],
        24,
        "IETF protocol assignments (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "documentation (TEST-NET-1)"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast (deprecated)"),
    ([192, 168, 0, 0], 16, "private (RFC 1918)"),
    ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
    ([198, 51, 100, 0], 24, "documentation (TEST-NET-2)"),
    ([203, 0, 113, 0], 24, "documentation (TEST-NET-3)"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
];

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let n = u32::from(ip);
    V4_BLOCKS.iter().find_map(|&(net, len, reason)| {
        let mask = u32::MAX << (32 - len);
        (n & mask == u32::from_be_bytes(net) & mask).then_some(reason)
    })
}

fn in_v6(n: u128, prefix: u128, len: u32) -> bool {
    let mask = u128::MAX << (128 - len);
    n & mask == prefix & mask
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    // ::ffff:a.b.c.d — the same host as a.b.c.d.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    let n = u128::from(ip);
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // NAT64 well-known prefix: reaches the embedded IPv4 address.
    if in_v6(n, 0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        return v4_reason(Ipv4Addr::from(n as u32));
    }
    // 6to4: 2002:AABB:CCDD::/48 reaches AA.BB.CC.DD.
    if in_v6(n, 0x2002_0000_0000_0000_0000_0000_0000_0000, 16) {
        return v4_reason(Ipv4Addr::from((n >> 80) as u32));
    }
    const V6_BLOCKS: &[(u128, u32, &str)] = &[
        (0, 96, "IPv4-compatible (deprecated)"),
        (
            0x0064_ff9b_0001_0000_0000_0000_0000_0000,
            48,
            "local-use NAT64 (64:ff9b:1::/48)",
        ),
        (
            0x0100_0000_0000_0000_0000_0000_0000_0000,
            64,
            "discard-only (100::/64)",
        ),
        (
            0x2001_0db8_0000_0000_0000_0000_0000_0000,
            32,
            "documentation (2001:db8::/32)",
        ),
        (
            0x3fff_0000_0000_0000_0000_0000_0000_0000,
            20,
            "documentation (3fff::/20)",
        ),
        (
            0x2001_0000_0000_0000_0000_0000_0000_0000,
            23,
            "IETF protocol assignments, Teredo (2001::/23)",
        ),
        (
            0xfc00_0000_0000_0000_0000_0000_0000_0000,
            7,
            "unique local (fc00::/7)",
        ),
        (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
        (
            0xfec0_0000_0000_0000_0000_0000_0000_0000,
            10,
            "site-local (deprecated)",
        ),
        (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, "multicast"),
    ];
    if let Some(&(_, _, reason)) = V6_BLOCKS
        .iter()
        .find(|&&(prefix, len, _)| in_v6(n, prefix, len))
    {
        return Some(reason);
    }
    // Only 2000::/3 is allocated for global unicast.
    if !in_v6(n, 0x2000_0000_0000_0000_0000_0000_0000_0000, 3) {
        return Some("not global unicast (outside 2000::/3)");
    }
    None
}

/// An outbound request was refused because its target address is not public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenAddress {
    /// The refused address.
    pub addr: IpAddr,
    /// Which special-purpose range it belongs to.
    pub reason: &'static str,
}

impl fmt::Display for ForbiddenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address {} is not allowed: {}", self.addr, self.reason)
    }
}

impl StdError for ForbiddenAddress {}

/// Which addresses outbound requests may reach.
///
/// Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    allow_private: bool,
    exceptions: Arc<[IpAddr]>,
}

impl AddressPolicy {
    /// Public addresses only, unless `allow_private` (then everything is allowed);
    /// `exceptions` are non-public addresses allowed anyway (e.g. one internal relay).
    /// Exceptions match IPv4 addresses and their IPv4-mapped IPv6 forms alike.
    pub fn new(allow_private: bool, exceptions: impl IntoIterator<Item = IpAddr>) -> Self {
        Self {
            allow_private,
            exceptions: exceptions.into_iter().map(|ip| ip.to_canonical()).collect(),
        }
    }

    /// Whether a request may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        if self.allow_private {
            return Ok(());
        }
        match forbidden_reason(ip) {
            None => Ok(()),
            Some(_) if self.exceptions.contains(&ip.to_canonical()) => Ok(()),
            Some(reason) => Err(ForbiddenAddress { addr: ip, reason }),
        }
    }
}

/// The DNS resolver of the outbound HTTP client: system resolution (getaddrinfo on
/// the blocking pool), then every address is checked against the [`AddressPolicy`].
///
/// A name is refused as a whole (the error is a [`ForbiddenAddress`], found in the
/// request error's source chain) if any of its addresses is forbidden: a public
/// server has no reason to publish private addresses, and a name that mixes them is
/// more likely an attack than a misconfiguration. The client connects only to the
/// addresses returned here, so a rebinding DNS server cannot swap them after the
/// check.
#[derive(Debug, Clone)]
pub struct SsrfResolver {
    policy: AddressPolicy,
}

impl SsrfResolver {
    /// A resolver that enforces `policy`.
    pub fn new(policy: AddressPolicy) -> Self {
        Self { policy }
    }

    /// Resolves `host` and checks every address; the ports of the result are 0.
    pub async fn lookup(
        &self,
        host: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn StdError + Send + Sync>> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        if addrs.is_empty() {
            return Err(format!("{host}: no addresses").into());
        }
        for addr in &addrs {
            self.policy.check(addr.ip())?;
        }
        Ok(addrs)
    }
}

impl Resolve for SsrfResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = this.lookup(&host).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
