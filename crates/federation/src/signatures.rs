//! HTTP signatures for ActivityPub, both directions, both schemes.
//!
//! # Schemes
//!
//! - [`Scheme::Cavage`]: draft-cavage-http-signatures-12 as Mastodon does it, one
//!   `Signature` header:
//!   `Signature: keyId="…",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="…"`.
//!   A POST signs `(request-target) host date digest` and carries
//!   `Digest: SHA-256=<base64>`; a GET signs `(request-target) host date` plus
//!   `accept` when the caller set an `Accept` header before signing.
//! - [`Scheme::Rfc9421`]: RFC 9421 HTTP Message Signatures as Mastodon (4.4+ verifies,
//!   4.7+ sends) and Fedify do it for ActivityPub, two headers:
//!   `Signature-Input: sig1=("@method" "@target-uri" "content-digest");created=1700000000;keyid="…";alg="rsa-v1_5-sha256"`
//!   and `Signature: sig1=:<base64>:`, with `Content-Digest: sha-256=:<base64>:`
//!   (RFC 9530) when there is a body. GETs cover `("@method" "@target-uri")`.
//!
//! Both use RSASSA-PKCS1-v1_5 with SHA-256 ([`crate::keys`]). Servers that only speak
//! one scheme answer the other with 401: the delivery code "double-knocks" (signs with
//! one scheme, and on a 401 re-signs the request with the other), as Mastodon,
//! Fedify and others do. That is why every signature problem here is a 401.
//!
//! # Signing
//!
//! [`sign_request`] sets `Host`, `Date`, `Digest` (cavage) or `Content-Digest`
//! (RFC 9421) for requests with a body, and the signature header(s), on a
//! [`HeaderMap`] that goes out with the request unchanged.
//!
//! # Verifying, in two phases
//!
//! The key is found by its `keyId`, possibly over the network, so verification is
//! split around that lookup:
//!
//! 1. [`parse_request`] finds the signature (RFC 9421 when `Signature-Input` is
//!    present, else cavage from `Signature` or `Authorization: Signature …`), parses
//!    it tolerantly, checks algorithm, coverage, the date window and the body digest,
//!    and builds the signing string. All of this is cheap and needs no key.
//! 2. The caller resolves [`PendingSignature::key_id`] to a [`PublicKey`] and calls
//!    [`PendingSignature::verify`] (one RSA verification, ~17 µs; two for a cavage
//!    request with a query string, see below). If a cached key fails, the caller may
//!    re-fetch the key and call `verify` again.
//!
//! ```ignore
//! let pending = parse_request(&method, path_and_query, &headers, Some(&body), SystemTime::now(), &limits)
//!     .map_err(|e| (e.status(), e.message()))?;
//! let key = key_store.public_key_for(pending.key_id()).await?;
//! pending.verify(&key).map_err(|e| (e.status(), e.message()))?;
//! ```
//!
//! The request's authority comes from the `Host` header (for HTTP/2 requests, where
//! the authority travels in `:authority`, the server must copy it into `Host` before
//! calling). `path_and_query` is the request target as received (`/inbox?x=1`). The
//! scheme for RFC 9421 `@target-uri` / `@scheme` is not in the request as the server
//! sees it behind a TLS-terminating proxy: it is [`VerifyLimits::target_scheme`]
//! (HTTPS by default).
//!
//! # Verification policy
//!
//! Cavage: algorithm `rsa-sha256` or `hs2019` (or absent, read as `hs2019`), both
//! verified as RSA-SHA256. The covered headers must include `(request-target)`,
//! `host`, `date` or `(created)`, and `digest` when the request has a body (every
//! method but GET and HEAD, and any request with a non-empty body). `(created)` and
//! `(expires)` need the matching parameters and are refused with `rsa-sha256`, as the
//! draft says. Like Mastodon, a `(request-target)` signed without the query string is
//! also accepted (older Mastodon and Fedify sign only the path).
//!
//! RFC 9421: the first label of `Signature-Input` that passes the checks is used. It
//! must have `keyid` and `created`; `alg`, if present, must be `rsa-v1_5-sha256`. The
//! covered components must include `@method`, a target (`@target-uri`, or
//! `@authority`/`host` with `@path`/`@request-target`) and, for requests with a body,
//! `content-digest` (or the legacy `digest`). Supported components: `@method`,
//! `@target-uri`, `@authority`, `@scheme`, `@request-target`, `@path`, `@query` and
//! plain header fields, without component parameters.
//!
//! Both: the date (`Date`, `(created)` or `created`) must be at most
//! [`VerifyLimits::max_age`] (12 h) old and at most [`VerifyLimits::max_future`]
//! (1 h) ahead; an `expires` in the past (beyond the same 1 h of skew) is refused. A
//! covered `Digest` / `Content-Digest` must contain a `sha-256` (or `sha-512`) digest,
//! any casing, and every such digest must match the body exactly.
//!
//! # Errors and status codes
//!
//! [`VerifyError::status`] is 401 for every signature problem (missing, malformed,
//! unsupported, not covering enough, out of its time window, wrong) so that
//! double-knocking senders retry with the other scheme, as Mastodon answers; it is
//! 400 only when the body does not match a well-formed digest or the digest header is
//! unreadable, which no re-signing fixes. [`VerifyError::message`] is safe to send to
//! the client: it echoes no request content except sanitized, truncated names.
//!
//! # Hard limits
//!
//! Signature headers are capped at [`MAX_SIGNATURE_HEADER_LEN`], covered components
//! at [`MAX_COVERED_COMPONENTS`], parameters at [`MAX_SIGNATURE_PARAMS`], RFC 9421
//! labels at [`MAX_SIGNATURE_LABELS`], digest headers at [`MAX_DIGEST_HEADER_LEN`]
//! and the signing string at [`MAX_SIGNING_STRING_LEN`]; nothing allocates more than
//! a small multiple of the request's own header size, and nothing panics.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use reqwest::Url;
use reqwest::header::{ACCEPT, AUTHORIZATION, DATE, HOST, HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest as _, Sha256, Sha512};

use crate::keys::{KeyError, KeyPair, PublicKey};

/// Longest accepted value of a `Signature`, `Signature-Input` or `Authorization`
/// header (all lines of it together), in bytes.
pub const MAX_SIGNATURE_HEADER_LEN: usize = 8 * 1024;
/// Most components (cavage `headers`, RFC 9421 inner list items) a signature may cover.
pub const MAX_COVERED_COMPONENTS: usize = 32;
/// Most parameters a cavage `Signature` or one RFC 9421 signature may carry.
pub const MAX_SIGNATURE_PARAMS: usize = 16;
/// Most labelled signatures an RFC 9421 `Signature-Input` / `Signature` may carry.
pub const MAX_SIGNATURE_LABELS: usize = 8;
/// Longest accepted `Digest` / `Content-Digest` header, in bytes.
pub const MAX_DIGEST_HEADER_LEN: usize = 2 * 1024;
/// Longest signing string (signature base) we build, in bytes.
pub const MAX_SIGNING_STRING_LEN: usize = 32 * 1024;
/// Longest accepted key id, in bytes.
pub const MAX_KEY_ID_LEN: usize = 2 * 1024;
/// Longest accepted signature value, in bytes (a 4096-bit RSA signature is 512).
pub const MAX_SIGNATURE_BYTES: usize = 1024;
/// How old a signature's date may be: 12 hours, as Mastodon.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(12 * 60 * 60);
/// How far in the future a signature's date may be (clock skew): 1 hour, as Mastodon.
pub const DEFAULT_MAX_FUTURE: Duration = Duration::from_secs(60 * 60);
/// The label of the RFC 9421 signatures we send.
pub const RFC9421_LABEL: &str = "sig1";
/// The RFC 9421 algorithm name of RSASSA-PKCS1-v1_5 with SHA-256.
pub const RFC9421_ALG: &str = "rsa-v1_5-sha256";

/// The `Signature` header (cavage, and RFC 9421's signature values).
pub const SIGNATURE: HeaderName = HeaderName::from_static("signature");
/// The RFC 9421 `Signature-Input` header.
pub const SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");
/// The RFC 3230 `Digest` header (cavage).
pub const DIGEST: HeaderName = HeaderName::from_static("digest");
/// The RFC 9530 `Content-Digest` header (RFC 9421).
pub const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");

/// The `Accept-Signature` value (RFC 9421 §5.1) an inbox sends back: the components
/// it wants an HTTP Message Signature of a POST to cover (those [`sign_request`]
/// covers), with `created` and `keyid`.
pub const INBOX_ACCEPT_SIGNATURE: &str =
    "sig1=(\"@method\" \"@target-uri\" \"content-digest\");created;keyid";

/// Which HTTP signature specification a signature follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// draft-cavage-http-signatures-12, as Mastodon and most of the fediverse use it.
    Cavage,
    /// RFC 9421 HTTP Message Signatures.
    Rfc9421,
}

/// The URI scheme clients used to reach this server, for RFC 9421 `@target-uri` and
/// `@scheme` (a server behind a TLS-terminating proxy sees plain HTTP itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TargetScheme {
    /// `https` (every real fediverse server).
    #[default]
    Https,
    /// `http` (local development and tests).
    Http,
}

impl TargetScheme {
    fn as_str(self) -> &'static str {
        match self {
            TargetScheme::Https => "https",
            TargetScheme::Http => "http",
        }
    }

    fn default_port(self) -> &'static str {
        match self {
            TargetScheme::Https => "443",
            TargetScheme::Http => "80",
        }
    }
}

/// The verifier's policy: the accepted date window and the public URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    /// How old the signed date may be ([`DEFAULT_MAX_AGE`], 12 h).
    pub max_age: Duration,
    /// How far ahead of our clock the signed date may be ([`DEFAULT_MAX_FUTURE`],
    /// 1 h). Also the grace allowed after a signature's `expires`.
    pub max_future: Duration,
    /// The scheme clients reach us by, for RFC 9421 `@target-uri` (HTTPS).
    pub target_scheme: TargetScheme,
}

impl Default for VerifyLimits {
    fn default() -> Self {
        VerifyLimits {
            max_age: DEFAULT_MAX_AGE,
            max_future: DEFAULT_MAX_FUTURE,
            target_scheme: TargetScheme::Https,
        }
    }
}

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The URL has no host, or is not http(s).
    #[error("cannot sign a request to this URL: {0}")]
    InvalidUrl(&'static str),
    /// The key id is empty, too long, or has characters that cannot be quoted
    /// (control characters, non-ASCII, `"` or `\`).
    #[error("invalid key id")]
    InvalidKeyId,
    /// A header value to be signed cannot travel in an HTTP header.
    #[error("invalid header value for {0}")]
    InvalidHeader(&'static str),
    /// The signing string would exceed [`MAX_SIGNING_STRING_LEN`].
    #[error("signing string too large")]
    TooLarge,
    /// The key failed to sign.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Why an incoming request's signature was refused.
///
/// [`VerifyError::status`] gives the HTTP status to answer with and
/// [`VerifyError::message`] (also the `Display` text) a message safe to send back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `Signature`, `Signature-Input` or `Authorization: Signature` header.
    #[error("request is not signed")]
    Unsigned,
    /// A signature header could not be parsed; the text says which part.
    #[error("malformed signature: {0}")]
    Malformed(&'static str),
    /// A signature header exceeds one of the hard limits.
    #[error("signature exceeds a size limit: {0}")]
    TooLarge(&'static str),
    /// The algorithm is not one we verify (sanitized, truncated name).
    #[error("unsupported signature algorithm \"{0}\"")]
    UnsupportedAlgorithm(String),
    /// A required component is not covered by the signature.
    #[error("signature does not cover {0}")]
    NotCovered(&'static str),
    /// A covered header is absent from the request (sanitized, truncated name).
    #[error("signed header \"{0}\" is missing from the request")]
    MissingHeader(String),
    /// A date (`Date`, `created`, `expires`) cannot be read.
    #[error("invalid signature date: {0}")]
    InvalidDate(&'static str),
    /// The signed date is older than [`VerifyLimits::max_age`].
    #[error("signature date is too old")]
    TooOld,
    /// The signed date is further ahead than [`VerifyLimits::max_future`].
    #[error("signature date is in the future")]
    InFuture,
    /// The signature's `expires` has passed.
    #[error("signature has expired")]
    Expired,
    /// The request has a body but no `Digest` / `Content-Digest` header.
    #[error("digest header is missing")]
    DigestMissing,
    /// The digest header offers no SHA-256 (or SHA-512) digest.
    #[error("digest header has no supported algorithm (sha-256)")]
    DigestUnsupported,
    /// The digest header cannot be read.
    #[error("digest header is malformed")]
    DigestMalformed,
    /// The body does not match its digest.
    #[error("body does not match its digest")]
    DigestMismatch,
    /// The signature does not verify with the key.
    #[error("signature does not verify")]
    BadSignature,
}

impl VerifyError {
    /// The HTTP status to answer with: 400 when the body does not match a readable
    /// digest (or the digest header is unreadable), 401 for everything else (see the
    /// module documentation).
    pub fn status(&self) -> u16 {
        match self {
            VerifyError::DigestMismatch | VerifyError::DigestMalformed => 400,
            _ => 401,
        }
    }

    /// A message safe to return to the client.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// A parsed, policy-checked signature waiting for its key: the result of
/// [`parse_request`].
#[derive(Clone)]
pub struct PendingSignature {
    scheme: Scheme,
    key_id: String,
    label: Option<String>,
    covered: Vec<String>,
    signature: Vec<u8>,
    signing_string: Vec<u8>,
    /// Cavage only: the signing string with `(request-target)` lacking the query.
    alt_signing_string: Option<Vec<u8>>,
}

impl PendingSignature {
    /// The key id (`keyId` / `keyid`): look the key up by it, then call
    /// [`PendingSignature::verify`].
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Which specification the signature follows.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The RFC 9421 label of the signature used (`None` for cavage).
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The covered components, as named in the signature (cavage names lowercased).
    pub fn covered_components(&self) -> &[String] {
        &self.covered
    }

    /// The signing string (cavage) or signature base (RFC 9421) that the signature
    /// must verify against. Useful for logs when verification fails.
    pub fn signing_string(&self) -> &[u8] {
        &self.signing_string
    }

    /// The raw signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Verifies the signature with `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), VerifyError> {
        if key.verify_sha256(&self.signing_string, &self.signature) {
            return Ok(());
        }
        if let Some(alt) = &self.alt_signing_string
            && key.verify_sha256(alt, &self.signature)
        {
            return Ok(());
        }
        Err(VerifyError::BadSignature)
    }
}

impl fmt::Debug for PendingSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingSignature")
            .field("scheme", &self.scheme)
            .field("key_id", &self.key_id)
            .field("label", &self.label)
            .field("covered", &self.covered)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------

/// Signs an outgoing request in place.
///
/// Sets `Host` (from `url`, with the port when it is not the default), `Date` (from
/// `with.now`), the body digest when the request has a body (`Digest: SHA-256=…` for
/// cavage, `Content-Digest: sha-256=:…:` for RFC 9421) and the signature header(s).
/// A body of `None` on a method other than GET/HEAD is signed as an empty body.
///
/// Cavage covers `(request-target) host date digest` for requests with a body, and
/// `(request-target) host date` plus `accept` when an `Accept` header is already
/// set, for the others. RFC 9421 covers `@method @target-uri` and `content-digest`
/// for requests with a body, with `created`, `keyid` and `alg="rsa-v1_5-sha256"`,
/// under the label [`RFC9421_LABEL`].
///
/// When signing with cavage, a stale `Signature-Input` is removed (its presence would
/// make receivers read the request as RFC 9421); re-signing replaces the previous
/// signature.
pub fn sign_request(
    method: &Method,
    url: &Url,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    with: &SignWith<'_>,
) -> Result<(), SignError> {
    if !valid_outgoing_key_id(with.key_id) {
        return Err(SignError::InvalidKeyId);
    }
    let target = OutgoingTarget::of(method, url, body)?;
    let date = httpdate::fmt_http_date(with.now);

    headers.insert(HOST, header_value(&target.authority, "host")?);
    headers.insert(DATE, header_value(&date, "date")?);

    match with.scheme {
        Scheme::Cavage => sign_cavage(&target, date, headers, with),
        Scheme::Rfc9421 => sign_rfc9421(&target, headers, with),
    }
}

/// Who signs an outgoing request, with which scheme, and when ([`sign_request`]).
#[derive(Debug, Clone, Copy)]
pub struct SignWith<'a> {
    /// The key's id as receivers look it up (cavage `keyId`, RFC 9421 `keyid`).
    pub key_id: &'a str,
    pub key: &'a KeyPair,
    pub scheme: Scheme,
    /// The time the signature states (`Date`, and RFC 9421 `created`).
    pub now: SystemTime,
}

/// What both schemes sign of an outgoing request, read from its URL once.
struct OutgoingTarget<'a> {
    method: &'a Method,
    scheme: TargetScheme,
    /// Host, with the port when it is not the default.
    authority: String,
    path_and_query: String,
    /// The body a digest protects; None for a request without one.
    body: Option<&'a [u8]>,
}

impl<'a> OutgoingTarget<'a> {
    fn of(method: &'a Method, url: &Url, body: Option<&'a [u8]>) -> Result<Self, SignError> {
        let scheme = match url.scheme() {
            "https" => TargetScheme::Https,
            "http" => TargetScheme::Http,
            _ => return Err(SignError::InvalidUrl("scheme is not http or https")),
        };
        let host = url
            .host_str()
            .ok_or(SignError::InvalidUrl("URL has no host"))?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut path_and_query = url.path().to_owned();
        if let Some(query) = url.query() {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        Ok(OutgoingTarget {
            method,
            scheme,
            authority,
            path_and_query,
            body: has_body(method, body).then(|| body.unwrap_or_default()),
        })
    }
}

/// The cavage `Signature` header (and `Digest` for a body); a stale
/// `Signature-Input` is removed.
fn sign_cavage(
    target: &OutgoingTarget<'_>,
    date: String,
    headers: &mut HeaderMap,
    with: &SignWith<'_>,
) -> Result<(), SignError> {
    let mut lines: Vec<(&str, String)> = vec![
        (
            "(request-target)",
            format!(
                "{} {}",
                target.method.as_str().to_ascii_lowercase(),
                target.path_and_query
            ),
        ),
        ("host", target.authority.clone()),
        ("date", date),
    ];
    if let Some(body) = target.body {
        let digest = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
        headers.insert(DIGEST, header_value(&digest, "digest")?);
        lines.push(("digest", digest));
    } else if let Some(accept) = combined_header(headers, &ACCEPT) {
        let accept = String::from_utf8(accept).map_err(|_| SignError::InvalidHeader("accept"))?;
        lines.push(("accept", accept));
    }
    let mut signing_string = String::new();
    for (i, (name, value)) in lines.iter().enumerate() {
        if i > 0 {
            signing_string.push('\n');
        }
        signing_string.push_str(name);
        signing_string.push_str(": ");
        signing_string.push_str(value);
    }
    if signing_string.len() > MAX_SIGNING_STRING_LEN {
        return Err(SignError::TooLarge);
    }
    let signature = with.key.sign_sha256(signing_string.as_bytes())?;
    let names: Vec<&str> = lines.iter().map(|(name, _)| *name).collect();
    let value = format!(
        "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{}\"",
        with.key_id,
        names.join(" "),
        STANDARD.encode(signature)
    );
    headers.remove(&SIGNATURE_INPUT);
    headers.insert(SIGNATURE, header_value(&value, "signature")?);
    Ok(())
}

/// The RFC 9421 `Signature-Input` and `Signature` headers (and `Content-Digest` for
/// a body), under [`RFC9421_LABEL`].
fn sign_rfc9421(
    target: &OutgoingTarget<'_>,
    headers: &mut HeaderMap,
    with: &SignWith<'_>,
) -> Result<(), SignError> {
    let target_uri = format!(
        "{}://{}{}",
        target.scheme.as_str(),
        target.authority,
        target.path_and_query
    );
    let mut components: Vec<(&str, String)> = vec![
        ("@method", target.method.as_str().to_owned()),
        ("@target-uri", target_uri),
    ];
    if let Some(body) = target.body {
        let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)));
        headers.insert(CONTENT_DIGEST, header_value(&digest, "content-digest")?);
        components.push(("content-digest", digest));
    }
    let created = unix_secs(with.now);
    let mut params = String::from("(");
    for (i, (name, _)) in components.iter().enumerate() {
        if i > 0 {
            params.push(' ');
        }
        sf::write_string(&mut params, name);
    }
    params.push_str(&format!(");created={created};keyid="));
    sf::write_string(&mut params, with.key_id);
    params.push_str(";alg=");
    sf::write_string(&mut params, RFC9421_ALG);

    let mut base = String::new();
    for (name, value) in &components {
        sf::write_string(&mut base, name);
        base.push_str(": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&params);
    if base.len() > MAX_SIGNING_STRING_LEN {
        return Err(SignError::TooLarge);
    }
    let signature = with.key.sign_sha256(base.as_bytes())?;
    let input = format!("{RFC9421_LABEL}={params}");
    let value = format!("{RFC9421_LABEL}=:{}:", STANDARD.encode(signature));
    headers.insert(SIGNATURE_INPUT, header_value(&input, "signature-input")?);
    headers.insert(SIGNATURE, header_value(&value, "signature")?);
    Ok(())
}

fn header_value(value: &str, name: &'static str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(value).map_err(|_| SignError::InvalidHeader(name))
}

/// Key ids we emit must quote safely in both schemes.
fn valid_outgoing_key_id(key_id: &str) -> bool {
    !key_id.is_empty()
        && key_id.len() <= MAX_KEY_ID_LEN
        && key_id
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

// ---------------------------------------------------------------------------
// Verifying
// ---------------------------------------------------------------------------

/// Finds, parses and checks the signature of an incoming request, without its key.
///
/// - `method`: the request method.
/// - `path_and_query`: the request target as received, e.g. `/users/a/inbox?x=1`
///   (axum: `uri.path_and_query()`, `/` if absent).
/// - `headers`: the request headers as received; `Host` must be present (copy the
///   HTTP/2 `:authority` into it).
/// - `body`: the raw request body; `None` is read as an empty body.
/// - `now`: the current time; `limits`: the policy ([`VerifyLimits::default`]).
///
/// See the module documentation for what is checked. On success, look the key up by
/// [`PendingSignature::key_id`] and call [`PendingSignature::verify`].
pub fn parse_request(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: SystemTime,
    limits: &VerifyLimits,
) -> Result<PendingSignature, VerifyError> {
    if path_and_query.is_empty()
        || path_and_query.len() > MAX_SIGNING_STRING_LEN
        || !path_and_query.bytes().all(|b| (0x21..0x7f).contains(&b))
    {
        return Err(VerifyError::Malformed("request target"));
    }
    let request = Request {
        method,
        path_and_query,
        headers,
        body: body.unwrap_or_default(),
        with_body: has_body(method, body),
        now: unix_secs(now),
        limits,
    };
    if headers.contains_key(&SIGNATURE_INPUT) {
        return parse_rfc9421(&request);
    }
    if let Some(value) = single_header(headers, &SIGNATURE)? {
        return parse_cavage(&request, &value);
    }
    if let Some(value) = single_header(headers, &AUTHORIZATION)?
        && let Some(params) = strip_auth_scheme(&value)
    {
        return parse_cavage(&request, params);
    }
    Err(VerifyError::Unsigned)
}

struct Request<'a> {
    method: &'a Method,
    path_and_query: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
    with_body: bool,
    now: i64,
    limits: &'a VerifyLimits,
}

impl Request<'_> {
    fn check_window(&self, t: i64) -> Result<(), VerifyError> {
        let max_age = duration_secs(self.limits.max_age);
        let max_future = duration_secs(self.limits.max_future);
        if t < self.now.saturating_sub(max_age) {
            Err(VerifyError::TooOld)
        } else if t > self.now.saturating_add(max_future) {
            Err(VerifyError::InFuture)
        } else {
            Ok(())
        }
    }

    fn check_expires(&self, expires: i64) -> Result<(), VerifyError> {
        let grace = duration_secs(self.limits.max_future);
        if self.now > expires.saturating_add(grace) {
            Err(VerifyError::Expired)
        } else {
            Ok(())
        }
    }

    fn path(&self) -> &str {
        let path = self
            .path_and_query
            .split_once('?')
            .map_or(self.path_and_query, |(path, _)| path);
        if path.is_empty() { "/" } else { path }
    }

    fn query(&self) -> Option<&str> {
        self.path_and_query.split_once('?').map(|(_, query)| query)
    }

    /// The `Host` header, lowercased, without the scheme's default port.
    fn authority(&self) -> Result<String, VerifyError> {
        let host = self.header_string(&HOST)?;
        let mut host = host.to_ascii_lowercase();
        let default_suffix = format!(":{}", self.limits.target_scheme.default_port());
        if host.ends_with(&default_suffix) {
            host.truncate(host.len() - default_suffix.len());
        }
        Ok(host)
    }

    /// A header's values as visible ASCII text, combined with ", ".
    fn header_string(&self, name: &HeaderName) -> Result<String, VerifyError> {
        let bytes =
            combined_header(self.headers, name).ok_or_else(|| missing_header(name.as_str()))?;
        if !bytes
            .iter()
            .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            return Err(VerifyError::Malformed("non-ASCII header value"));
        }
        // Only ASCII bytes remain.
        String::from_utf8(bytes).map_err(|_| VerifyError::Malformed("non-ASCII header value"))
    }

    /// Checks a covered digest header against the body.
    fn check_digest(&self, name: &HeaderName, structured: bool) -> Result<(), VerifyError> {
        let Some(value) = combined_header(self.headers, name) else {
            return Err(VerifyError::DigestMissing);
        };
        if value.len() > MAX_DIGEST_HEADER_LEN {
            return Err(VerifyError::TooLarge("digest header"));
        }
        verify_digests(&value, structured, self.body)
    }
}

fn missing_header(name: &str) -> VerifyError {
    VerifyError::MissingHeader(sanitize(name))
}

/// Whether the request has a body to protect with a digest.
fn has_body(method: &Method, body: Option<&[u8]>) -> bool {
    !(method == Method::GET || method == Method::HEAD) || body.is_some_and(|b| !b.is_empty())
}

/// The value of a header that must appear at most once, bounded in size.
fn single_header(headers: &HeaderMap, name: &HeaderName) -> Result<Option<String>, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(VerifyError::Malformed("repeated signature header"));
    }
    if first.len() > MAX_SIGNATURE_HEADER_LEN {
        return Err(VerifyError::TooLarge("signature header"));
    }
    let text = first
        .to_str()
        .map_err(|_| VerifyError::Malformed("non-ASCII signature header"))?;
    Ok(Some(text.to_owned()))
}

/// `Signature keyId=…` → `keyId=…` (scheme name case-insensitive).
fn strip_auth_scheme(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("signature").then_some(rest)
}

/// All values of a header, each trimmed, joined with ", " (the HTTP field value).
fn combined_header(headers: &HeaderMap, name: &HeaderName) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    for value in headers.get_all(name) {
        match &mut out {
            None => out = Some(trim_ows(value.as_bytes()).to_vec()),
            Some(buf) => {
                buf.extend_from_slice(b", ");
                buf.extend_from_slice(trim_ows(value.as_bytes()));
            }
        }
    }
    out
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Printable ASCII, at most 64 characters: safe to echo in an error message.
fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.()@:/".contains(*c))
        .take(64)
        .collect()
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn duration_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn decode_signature(text: &str) -> Result<Vec<u8>, VerifyError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(VerifyError::Malformed("empty signature"));
    }
    if text.len() > MAX_SIGNATURE_BYTES * 4 / 3 + 4 {
        return Err(VerifyError::TooLarge("signature value"));
    }
    LENIENT_BASE64
        .decode(text.as_bytes())
        .map_err(|_| VerifyError::Malformed("signature is not base64"))
}

fn check_key_id(key_id: &str) -> Result<(), VerifyError> {
    if key_id.is_empty() {
        return Err(VerifyError::Malformed("empty key id"));
    }
    if key_id.len() > MAX_KEY_ID_LEN {
        return Err(VerifyError::TooLarge("key id"));
    }
    if key_id.chars().any(char::is_control) {
        return Err(VerifyError::Malformed("control character in key id"));
    }
    Ok(())
}

/// Base64 decoding that accepts a missing `=` padding.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

// ---------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------

/// Checks a `Digest` (`structured == false`: `SHA-256=<b64>`) or `Content-Digest`
/// (`structured == true`: `sha-256=:<b64>:`) value against `body`. Algorithm names
/// are case-insensitive; several comma-separated digests may be present. At least one
/// SHA-256 or SHA-512 digest is required and every one present must match; other
/// algorithms are ignored.
fn verify_digests(value: &[u8], structured: bool, body: &[u8]) -> Result<(), VerifyError> {
    let text = std::str::from_utf8(value).map_err(|_| VerifyError::DigestMalformed)?;
    let mut sha256: Option<[u8; 32]> = None;
    let mut sha512: Option<[u8; 64]> = None;
    let mut checked = 0usize;
    for (i, entry) in text.split(',').enumerate() {
        if i >= 16 {
            return Err(VerifyError::TooLarge("digest header"));
        }
        let entry = entry.trim_matches([' ', '\t']);
        if entry.is_empty() {
            continue;
        }
        let Some((alg, encoded)) = entry.split_once('=') else {
            return Err(VerifyError::DigestMalformed);
        };
        let alg = alg.trim_matches([' ', '\t']).to_ascii_lowercase();
        if alg != "sha-256" && alg != "sha-512" {
            continue;
        }
        let mut encoded = encoded.trim_matches([' ', '\t']);
        if structured {
            // An SF byte sequence, possibly followed by parameters.
            encoded = encoded.split(';').next().unwrap_or_default().trim_end();
            encoded = encoded
                .strip_prefix(':')
                .and_then(|e| e.strip_suffix(':'))
                .ok_or(VerifyError::DigestMalformed)?;
        } else {
            // Be lenient with senders that use the structured form in `Digest`.
            encoded = encoded
                .strip_prefix(':')
                .and_then(|e| e.strip_suffix(':'))
                .unwrap_or(encoded);
        }
        let given = LENIENT_BASE64
            .decode(encoded.as_bytes())
            .map_err(|_| VerifyError::DigestMalformed)?;
        let matches = if alg == "sha-256" {
            given[..] == sha256.get_or_insert_with(|| Sha256::digest(body).into())[..]
        } else {
            given[..] == sha512.get_or_insert_with(|| Sha512::digest(body).into())[..]
        };
        if !matches {
            return Err(VerifyError::DigestMismatch);
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(VerifyError::DigestUnsupported);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// draft-cavage-http-signatures-12
// ---------------------------------------------------------------------------

/// Parses the parameter list of a cavage `Signature` header: `name="value"` pairs
/// (or `name=value` for numbers), comma-separated, spaces allowed anywhere between.
/// Names are matched case-insensitively; a repeated name is an error (the draft says
/// such a signature MUST NOT be processed); unknown names are kept and ignored.
fn parse_cavage_params(text: &str) -> Result<Vec<(String, String)>, VerifyError> {
    let mut scan = ParamScanner { text, i: 0 };
    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        scan.skip(|b| matches!(b, b' ' | b'\t' | b','));
        if scan.at_end() {
            break;
        }
        let name = scan.name()?;
        scan.skip(is_ows);
        if scan.peek() != Some(b'=') {
            return Err(VerifyError::Malformed("signature parameter without value"));
        }
        scan.i += 1;
        scan.skip(is_ows);
        let value = if scan.peek() == Some(b'"') {
            scan.quoted()?
        } else {
            scan.bare()?
        };
        if params.iter().any(|(n, _)| *n == name) {
            return Err(VerifyError::Malformed("repeated signature parameter"));
        }
        if params.len() >= MAX_SIGNATURE_PARAMS {
            return Err(VerifyError::TooLarge("too many signature parameters"));
        }
        params.push((name, value));
        // After a value: optional whitespace, then a comma or the end.
        scan.skip(is_ows);
        if !scan.at_end() && scan.peek() != Some(b',') {
            return Err(VerifyError::Malformed(
                "expected a comma between parameters",
            ));
        }
    }
    Ok(params)
}

fn is_ows(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// A cavage parameter list being read, byte by byte ([`parse_cavage_params`]).
struct ParamScanner<'a> {
    text: &'a str,
    i: usize,
}

impl ParamScanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn at_end(&self) -> bool {
        self.i >= self.text.len()
    }

    fn skip(&mut self, what: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&what) {
            self.i += 1;
        }
    }

    /// A parameter name (letters, digits, `-`, `_`), lowercased.
    fn name(&mut self) -> Result<String, VerifyError> {
        let start = self.i;
        self.skip(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if self.i == start {
            return Err(VerifyError::Malformed("signature parameter name"));
        }
        Ok(self.text[start..self.i].to_ascii_lowercase())
    }

    /// A quoted value, from its opening quote, with its backslash escapes removed.
    fn quoted(&mut self) -> Result<String, VerifyError> {
        let bytes = self.text.as_bytes();
        self.i += 1;
        let mut value = Vec::new();
        loop {
            match bytes.get(self.i) {
                None => return Err(VerifyError::Malformed("unterminated quoted string")),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let Some(&escaped) = bytes.get(self.i + 1) else {
                        return Err(VerifyError::Malformed("unterminated quoted string"));
                    };
                    value.push(escaped);
                    self.i += 2;
                }
                Some(&b) => {
                    value.push(b);
                    self.i += 1;
                }
            }
        }
        // The input is valid UTF-8 and we only removed ASCII escapes.
        String::from_utf8(value).map_err(|_| VerifyError::Malformed("signature parameter value"))
    }

    /// An unquoted value (a number), up to a comma, a space or a quote.
    fn bare(&mut self) -> Result<String, VerifyError> {
        let start = self.i;
        self.skip(|b| !matches!(b, b',' | b' ' | b'\t' | b'"'));
        if self.i == start {
            return Err(VerifyError::Malformed("empty signature parameter value"));
        }
        Ok(self.text[start..self.i].to_owned())
    }
}

fn parse_cavage(request: &Request<'_>, header: &str) -> Result<PendingSignature, VerifyError> {
    let params = parse_cavage_params(header)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let key_id = get("keyid").ok_or(VerifyError::Malformed("missing keyId"))?;
    check_key_id(key_id)?;
    let signature =
        decode_signature(get("signature").ok_or(VerifyError::Malformed("missing signature"))?)?;

    // Mastodon reads a missing algorithm as hs2019.
    let algorithm = get("algorithm").unwrap_or("hs2019").to_ascii_lowercase();
    let hs2019 = match algorithm.as_str() {
        "hs2019" => true,
        "rsa-sha256" => false,
        other => return Err(VerifyError::UnsupportedAlgorithm(sanitize(other))),
    };
    let covered = cavage_covered(get("headers"), hs2019)?;
    let times = CavageTimes {
        created: get("created"),
        expires: get("expires"),
    };
    check_cavage_coverage(request, &covered)?;
    check_cavage_dates(request, &covered, &times)?;
    if covered.iter().any(|c| c == "digest") {
        request.check_digest(&DIGEST, false)?;
    }
    let (signing_string, target_offset) = cavage_signing_string(request, &covered, &times)?;
    let alt_signing_string = target_offset
        .and_then(|offset| without_query(&signing_string, offset, request.path_and_query));
    Ok(PendingSignature {
        scheme: Scheme::Cavage,
        key_id: key_id.to_owned(),
        label: None,
        covered,
        signature,
        signing_string,
        alt_signing_string,
    })
}

/// The `created` and `expires` parameters of a cavage signature, as given.
struct CavageTimes<'a> {
    created: Option<&'a str>,
    expires: Option<&'a str>,
}

/// The headers a cavage signature covers (`headers`, lowercased; by default `date`,
/// `(created)` for hs2019), each a known pseudo-header or a valid header name.
fn cavage_covered(headers: Option<&str>, hs2019: bool) -> Result<Vec<String>, VerifyError> {
    let default_headers = if hs2019 { "(created)" } else { "date" };
    let header_list = headers.unwrap_or(default_headers).to_ascii_lowercase();
    let covered: Vec<String> = header_list
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    if covered.is_empty() {
        return Err(VerifyError::Malformed("empty headers list"));
    }
    if covered.len() > MAX_COVERED_COMPONENTS {
        return Err(VerifyError::TooLarge("too many covered headers"));
    }
    for name in &covered {
        match name.as_str() {
            "(request-target)" => {}
            "(created)" | "(expires)" if !hs2019 => {
                return Err(VerifyError::Malformed(
                    "(created)/(expires) with rsa-sha256",
                ));
            }
            "(created)" | "(expires)" => {}
            other if other.starts_with('(') => {
                return Err(VerifyError::Malformed("unknown pseudo-header"));
            }
            other => {
                HeaderName::from_bytes(other.as_bytes())
                    .map_err(|_| VerifyError::Malformed("invalid header name"))?;
            }
        }
    }
    Ok(covered)
}

/// A cavage signature must cover the target, the host, a date and, with a body, its
/// digest.
fn check_cavage_coverage(request: &Request<'_>, covered: &[String]) -> Result<(), VerifyError> {
    let covers = |name: &str| covered.iter().any(|c| c == name);
    if !covers("(request-target)") {
        return Err(VerifyError::NotCovered("(request-target)"));
    }
    if !covers("host") {
        return Err(VerifyError::NotCovered("host"));
    }
    if !covers("date") && !covers("(created)") {
        return Err(VerifyError::NotCovered("date"));
    }
    if request.with_body && !covers("digest") {
        return Err(VerifyError::NotCovered("digest"));
    }
    Ok(())
}

/// The covered `Date` and the `created` parameter within the window, `expires` not
/// passed.
fn check_cavage_dates(
    request: &Request<'_>,
    covered: &[String],
    times: &CavageTimes<'_>,
) -> Result<(), VerifyError> {
    let covers = |name: &str| covered.iter().any(|c| c == name);
    if covers("date") {
        let date = request.header_string(&DATE)?;
        let t = httpdate::parse_http_date(date.trim())
            .map_err(|_| VerifyError::InvalidDate("Date header"))?;
        request.check_window(unix_secs(t))?;
    }
    if covers("(created)") || times.created.is_some() {
        let text = times.created.ok_or(VerifyError::Malformed(
            "(created) without created parameter",
        ))?;
        request.check_window(parse_unix_time(text, false)?)?;
    }
    if let Some(text) = times.expires {
        request.check_expires(parse_unix_time(text, true)?)?;
    } else if covers("(expires)") {
        return Err(VerifyError::Malformed(
            "(expires) without expires parameter",
        ));
    }
    Ok(())
}

/// The cavage signing string, and where the request target's path starts in it.
fn cavage_signing_string(
    request: &Request<'_>,
    covered: &[String],
    times: &CavageTimes<'_>,
) -> Result<(Vec<u8>, Option<usize>), VerifyError> {
    let method = request.method.as_str().to_ascii_lowercase();
    let mut out = Vec::new();
    let mut target_offset = None;
    for (i, name) in covered.iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        match name.as_str() {
            "(request-target)" => {
                out.extend_from_slice(method.as_bytes());
                out.push(b' ');
                if target_offset.is_none() {
                    target_offset = Some(out.len());
                }
                out.extend_from_slice(request.path_and_query.as_bytes());
            }
            "(created)" => out.extend_from_slice(times.created.unwrap_or_default().as_bytes()),
            "(expires)" => out.extend_from_slice(times.expires.unwrap_or_default().as_bytes()),
            other => {
                let header = HeaderName::from_bytes(other.as_bytes())
                    .map_err(|_| VerifyError::Malformed("invalid header name"))?;
                let value = combined_header(request.headers, &header)
                    .ok_or_else(|| missing_header(other))?;
                out.extend_from_slice(&value);
            }
        }
        if out.len() > MAX_SIGNING_STRING_LEN {
            return Err(VerifyError::TooLarge("signing string"));
        }
    }
    Ok((out, target_offset))
}

/// The signing string with the request target's query left out (its path starting at
/// `offset`), as older Mastodon and Fedify sign `(request-target)`; None without a
/// query.
fn without_query(signing_string: &[u8], offset: usize, path_and_query: &str) -> Option<Vec<u8>> {
    let (path, query) = path_and_query.split_once('?')?;
    let mut alt = Vec::with_capacity(signing_string.len());
    alt.extend_from_slice(&signing_string[..offset]);
    alt.extend_from_slice(path.as_bytes());
    alt.extend_from_slice(&signing_string[offset + path.len() + 1 + query.len()..]);
    Some(alt)
}

/// A Unix timestamp parameter: an integer (or, for `expires`, a decimal whose
/// fraction is ignored).
fn parse_unix_time(text: &str, allow_fraction: bool) -> Result<i64, VerifyError> {
    let text = text.trim();
    let (int, fraction) = match text.split_once('.') {
        Some((int, fraction)) if allow_fraction => (int, Some(fraction)),
        _ => (text, None),
    };
    let digits_ok =
        |s: &str| !s.is_empty() && s.len() <= 15 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(int) || fraction.is_some_and(|f| !digits_ok(f)) {
        return Err(VerifyError::InvalidDate("timestamp parameter"));
    }
    int.parse::<i64>()
        .map_err(|_| VerifyError::InvalidDate("timestamp parameter"))
}

// ---------------------------------------------------------------------------
// RFC 9421
// ---------------------------------------------------------------------------

fn parse_rfc9421(request: &Request<'_>) -> Result<PendingSignature, VerifyError> {
    let input_text = combined_signature_header(request.headers, &SIGNATURE_INPUT)?
        .ok_or(VerifyError::Unsigned)?;
    let signature_text = combined_signature_header(request.headers, &SIGNATURE)?
        .ok_or(VerifyError::Malformed("Signature-Input without Signature"))?;
    let inputs = sf::parse_dictionary(input_text.as_bytes()).map_err(VerifyError::Malformed)?;
    let signatures =
        sf::parse_dictionary(signature_text.as_bytes()).map_err(VerifyError::Malformed)?;
    if inputs.is_empty() {
        return Err(VerifyError::Malformed("empty Signature-Input"));
    }
    let mut first_error = None;
    for (label, member) in &inputs {
        match check_rfc9421_label(request, label, member, &signatures) {
            Ok(pending) => return Ok(pending),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or(VerifyError::Malformed("no usable signature")))
}

/// All lines of a structured signature header joined with ", ", bounded in size.
fn combined_signature_header(
    headers: &HeaderMap,
    name: &HeaderName,
) -> Result<Option<String>, VerifyError> {
    let mut total = 0usize;
    for value in headers.get_all(name) {
        total = total.saturating_add(value.len() + 2);
        if total > MAX_SIGNATURE_HEADER_LEN {
            return Err(VerifyError::TooLarge("signature header"));
        }
    }
    let Some(bytes) = combined_header(headers, name) else {
        return Ok(None);
    };
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| VerifyError::Malformed("non-ASCII signature header"))
}

/// Checks one `Signature-Input` member (`label`) and its `Signature`: parameters,
/// components, coverage, dates and digests, then builds its signature base.
fn check_rfc9421_label(
    request: &Request<'_>,
    label: &str,
    member: &sf::Member,
    signatures: &sf::Dictionary,
) -> Result<PendingSignature, VerifyError> {
    let sf::Member::InnerList(items, params) = member else {
        return Err(VerifyError::Malformed(
            "Signature-Input member is not a list",
        ));
    };
    let signature = rfc9421_signature(label, signatures)?;
    let p = Rfc9421Params::read(params)?;
    let covered = rfc9421_components(items)?;
    check_rfc9421_coverage(request, &covered)?;

    // Dates.
    request.check_window(p.created)?;
    if let Some(expires) = p.expires {
        request.check_expires(expires)?;
    }

    // Body.
    let covers = |name: &str| covered.iter().any(|c| c.eq_ignore_ascii_case(name));
    if covers("content-digest") {
        request.check_digest(&CONTENT_DIGEST, true)?;
    }
    if covers("digest") {
        request.check_digest(&DIGEST, false)?;
    }

    let base = rfc9421_signature_base(request, &covered, items, params)?;
    Ok(PendingSignature {
        scheme: Scheme::Rfc9421,
        key_id: p.key_id,
        label: Some(label.to_owned()),
        covered,
        signature,
        signing_string: base.into_bytes(),
        alt_signing_string: None,
    })
}

/// The `Signature` member of `label`: a byte sequence of a plausible size.
fn rfc9421_signature(label: &str, signatures: &sf::Dictionary) -> Result<Vec<u8>, VerifyError> {
    let signature = match signatures.iter().find(|(l, _)| l == label) {
        Some((
            _,
            sf::Member::Item(sf::Item {
                value: sf::BareItem::Bytes(bytes),
                ..
            }),
        )) => bytes.clone(),
        Some(_) => {
            return Err(VerifyError::Malformed(
                "Signature member is not a byte sequence",
            ));
        }
        None => {
            return Err(VerifyError::Malformed(
                "no Signature for the Signature-Input label",
            ));
        }
    };
    if signature.is_empty() {
        return Err(VerifyError::Malformed("empty signature"));
    }
    if signature.len() > MAX_SIGNATURE_BYTES {
        return Err(VerifyError::TooLarge("signature value"));
    }
    Ok(signature)
}

/// The parameters of an RFC 9421 signature we use: `keyid`, `alg` (checked only),
/// `created` and `expires`.
struct Rfc9421Params {
    key_id: String,
    created: i64,
    expires: Option<i64>,
}

impl Rfc9421Params {
    fn read(params: &sf::Params) -> Result<Self, VerifyError> {
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let key_id = match param("keyid") {
            Some(sf::BareItem::String(s)) => s.clone(),
            Some(_) => return Err(VerifyError::Malformed("keyid is not a string")),
            None => return Err(VerifyError::Malformed("missing keyid")),
        };
        check_key_id(&key_id)?;
        match param("alg") {
            None => {}
            Some(sf::BareItem::String(alg)) if alg.eq_ignore_ascii_case(RFC9421_ALG) => {}
            Some(sf::BareItem::String(alg)) => {
                return Err(VerifyError::UnsupportedAlgorithm(sanitize(alg)));
            }
            Some(_) => return Err(VerifyError::Malformed("alg is not a string")),
        }
        let created = match param("created") {
            Some(sf::BareItem::Integer(t)) => *t,
            Some(_) => return Err(VerifyError::InvalidDate("created is not an integer")),
            None => return Err(VerifyError::Malformed("missing created")),
        };
        let expires = match param("expires") {
            Some(sf::BareItem::Integer(t)) => Some(*t),
            Some(_) => return Err(VerifyError::InvalidDate("expires is not an integer")),
            None => None,
        };
        Ok(Rfc9421Params {
            key_id,
            created,
            expires,
        })
    }
}

/// The covered component names: strings without parameters, none repeated.
fn rfc9421_components(items: &[sf::Item]) -> Result<Vec<String>, VerifyError> {
    let mut covered: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let sf::BareItem::String(name) = &item.value else {
            return Err(VerifyError::Malformed("component is not a string"));
        };
        if !item.params.is_empty() {
            return Err(VerifyError::Malformed(
                "component parameters are not supported",
            ));
        }
        if covered.iter().any(|c| c.eq_ignore_ascii_case(name)) {
            return Err(VerifyError::Malformed("repeated component"));
        }
        covered.push(name.clone());
    }
    Ok(covered)
}

/// An RFC 9421 signature must cover the method, the target (whole, or authority and
/// path) and, with a body, a digest.
fn check_rfc9421_coverage(request: &Request<'_>, covered: &[String]) -> Result<(), VerifyError> {
    let covers = |name: &str| covered.iter().any(|c| c.eq_ignore_ascii_case(name));
    if !covers("@method") {
        return Err(VerifyError::NotCovered("@method"));
    }
    let has_authority = covers("@authority") || covers("host");
    let has_path = covers("@path") || covers("@request-target");
    let has_target = covers("@target-uri") || (has_authority && has_path);
    if !has_target {
        return Err(VerifyError::NotCovered("@target-uri"));
    }
    if request.with_body && !covers("content-digest") && !covers("digest") {
        return Err(VerifyError::NotCovered("content-digest"));
    }
    Ok(())
}

/// The signature base: each covered component's value, then `@signature-params`.
fn rfc9421_signature_base(
    request: &Request<'_>,
    covered: &[String],
    items: &[sf::Item],
    params: &sf::Params,
) -> Result<String, VerifyError> {
    let mut base = String::new();
    for name in covered {
        sf::write_string(&mut base, name);
        base.push_str(": ");
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "@method" => base.push_str(request.method.as_str()),
            "@target-uri" => {
                base.push_str(request.limits.target_scheme.as_str());
                base.push_str("://");
                base.push_str(&request.authority()?);
                base.push_str(request.path_and_query);
            }
            "@authority" => base.push_str(&request.authority()?),
            "@scheme" => base.push_str(request.limits.target_scheme.as_str()),
            "@request-target" => base.push_str(request.path_and_query),
            "@path" => base.push_str(request.path()),
            "@query" => {
                base.push('?');
                base.push_str(request.query().unwrap_or_default());
            }
            other if other.starts_with('@') => {
                return Err(VerifyError::Malformed("unsupported derived component"));
            }
            other => {
                let header = HeaderName::from_bytes(other.as_bytes())
                    .map_err(|_| VerifyError::Malformed("invalid header name"))?;
                base.push_str(&request.header_string(&header)?);
            }
        }
        base.push('\n');
        if base.len() > MAX_SIGNING_STRING_LEN {
            return Err(VerifyError::TooLarge("signature base"));
        }
    }
    base.push_str("\"@signature-params\": ");
    sf::write_inner_list(&mut base, items, params);
    if base.len() > MAX_SIGNING_STRING_LEN {
        return Err(VerifyError::TooLarge("signature base"));
    }
    Ok(base)
}

/// RFC 8941 Structured Field Values as RFC 9421 needs them: dictionaries of items and
/// inner lists with parameters, parsed by the `sfv` crate (which passes the HTTP working
/// group's structured-field test suite) into the owned values below, and serialized back
/// canonically for the signature base. Stricter than RFC 8941 where a signature needs
/// it: a repeated dictionary key or parameter is refused rather than the last one
/// taken (two `sig1` labels must not leave doubt about which was verified), and the
/// counts are bounded as parsing goes. Panic-free on any input.
mod sf {
    use std::cell::Cell;
    use std::fmt;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use sfv::visitor::{
        DictionaryVisitor, EntryVisitor, InnerListVisitor, ItemVisitor, ParameterVisitor,
    };
    use sfv::{BareItemFromInput, GenericBareItem, KeyRef, Parser, Version};

    use super::{MAX_COVERED_COMPONENTS, MAX_SIGNATURE_LABELS, MAX_SIGNATURE_PARAMS};

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum BareItem {
        Integer(i64),
        /// Kept in its canonical serialization.
        Decimal(String),
        String(String),
        Token(String),
        Bytes(Vec<u8>),
        Boolean(bool),
    }

    pub(super) type Params = Vec<(String, BareItem)>;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) struct Item {
        pub(super) value: BareItem,
        pub(super) params: Params,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) enum Member {
        Item(Item),
        InnerList(Vec<Item>, Params),
    }

    pub(super) type Dictionary = Vec<(String, Member)>;

    type Result<T> = std::result::Result<T, &'static str>;

    /// A visitor's refusal; its reason is kept in the [`Why`] cell all visitors share.
    #[derive(Debug)]
    struct Refused;

    impl fmt::Display for Refused {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("refused")
        }
    }

    impl std::error::Error for Refused {}

    type Why = Cell<Option<&'static str>>;

    fn refuse(why: &Why, reason: &'static str) -> Refused {
        why.set(Some(reason));
        Refused
    }

    /// An item's value; dates and display strings (RFC 9651) never reach here, as the
    /// parser reads RFC 8941.
    fn bare(item: BareItemFromInput<'_>, why: &Why) -> std::result::Result<BareItem, Refused> {
        Ok(match item {
            GenericBareItem::Integer(i) => BareItem::Integer(i64::from(i)),
            GenericBareItem::Decimal(d) => BareItem::Decimal(d.to_string()),
            GenericBareItem::String(s) => BareItem::String(s.as_str().to_owned()),
            GenericBareItem::Token(t) => BareItem::Token(t.as_str().to_owned()),
            GenericBareItem::ByteSequence(b) => BareItem::Bytes(b),
            GenericBareItem::Boolean(b) => BareItem::Boolean(b),
            _ => return Err(refuse(why, "structured field item")),
        })
    }

    /// Collects the members of a dictionary.
    struct Members<'w> {
        dict: Dictionary,
        why: &'w Why,
    }

    /// Collects one member's value into its place.
    struct MemberValue<'a> {
        member: &'a mut Member,
        why: &'a Why,
    }

    /// Collects an inner list's items.
    struct ListItems<'a> {
        member: &'a mut Member,
        items: Vec<Item>,
        why: &'a Why,
    }

    /// Collects an inner list item.
    struct ListItem<'a> {
        items: &'a mut Vec<Item>,
        why: &'a Why,
    }

    /// Collects parameters.
    struct ParamsInto<'a> {
        params: &'a mut Params,
        why: &'a Why,
    }

    impl<'de> DictionaryVisitor<'de> for Members<'_> {
        type Error = Refused;

        fn entry(
            &mut self,
            key: &'de KeyRef,
        ) -> std::result::Result<impl EntryVisitor<'de>, Refused> {
            if self.dict.iter().any(|(k, _)| k == key.as_str()) {
                return Err(refuse(self.why, "repeated signature label"));
            }
            if self.dict.len() >= MAX_SIGNATURE_LABELS {
                return Err(refuse(self.why, "too many signature labels"));
            }
            self.dict.push((
                key.as_str().to_owned(),
                Member::Item(Item {
                    value: BareItem::Boolean(true),
                    params: Params::new(),
                }),
            ));
            let why = self.why;
            Ok(self
                .dict
                .last_mut()
                .map(|(_, member)| MemberValue { member, why }))
        }
    }

    impl<'de> ItemVisitor<'de> for MemberValue<'_> {
        type Error = Refused;

        fn bare_item(
            self,
            bare_item: BareItemFromInput<'de>,
        ) -> std::result::Result<impl ParameterVisitor<'de>, Refused> {
            *self.member = Member::Item(Item {
                value: bare(bare_item, self.why)?,
                params: Params::new(),
            });
            let why = self.why;
            Ok(match self.member {
                Member::Item(item) => Some(ParamsInto {
                    params: &mut item.params,
                    why,
                }),
                Member::InnerList(..) => None,
            })
        }
    }

    impl<'de> EntryVisitor<'de> for MemberValue<'_> {
        fn inner_list(self) -> std::result::Result<impl InnerListVisitor<'de>, Refused> {
            Ok(ListItems {
                member: self.member,
                items: Vec::new(),
                why: self.why,
            })
        }
    }

    impl<'de> InnerListVisitor<'de> for ListItems<'_> {
        type Error = Refused;

        fn item(&mut self) -> std::result::Result<impl ItemVisitor<'de>, Refused> {
            if self.items.len() >= MAX_COVERED_COMPONENTS {
                return Err(refuse(self.why, "too many covered components"));
            }
            Ok(ListItem {
                items: &mut self.items,
                why: self.why,
            })
        }

        fn finish(self) -> std::result::Result<impl ParameterVisitor<'de>, Refused> {
            *self.member = Member::InnerList(self.items, Params::new());
            let why = self.why;
            Ok(match self.member {
                Member::InnerList(_, params) => Some(ParamsInto { params, why }),
                Member::Item(_) => None,
            })
        }
    }

    impl<'de> ItemVisitor<'de> for ListItem<'_> {
        type Error = Refused;

        fn bare_item(
            self,
            bare_item: BareItemFromInput<'de>,
        ) -> std::result::Result<impl ParameterVisitor<'de>, Refused> {
            self.items.push(Item {
                value: bare(bare_item, self.why)?,
                params: Params::new(),
            });
            let why = self.why;
            Ok(self.items.last_mut().map(|item| ParamsInto {
                params: &mut item.params,
                why,
            }))
        }
    }

    impl<'de> ParameterVisitor<'de> for ParamsInto<'_> {
        type Error = Refused;

        fn parameter(
            &mut self,
            key: &'de KeyRef,
            value: BareItemFromInput<'de>,
        ) -> std::result::Result<(), Refused> {
            if self.params.iter().any(|(k, _)| k == key.as_str()) {
                return Err(refuse(self.why, "repeated structured field parameter"));
            }
            if self.params.len() >= MAX_SIGNATURE_PARAMS {
                return Err(refuse(self.why, "too many structured field parameters"));
            }
            let value = bare(value, self.why)?;
            self.params.push((key.as_str().to_owned(), value));
            Ok(())
        }
    }

    /// Parses an RFC 8941 Dictionary (leading/trailing spaces allowed). Repeated keys
    /// are refused rather than overwritten.
    pub(super) fn parse_dictionary(input: &[u8]) -> Result<Dictionary> {
        let why = Why::new(None);
        let mut members = Members {
            dict: Dictionary::new(),
            why: &why,
        };
        match Parser::new(input)
            .with_version(Version::Rfc8941)
            .parse_dictionary_with_visitor(&mut members)
        {
            Ok(()) => Ok(members.dict),
            Err(_) => Err(why.get().unwrap_or("malformed structured field")),
        }
    }

    /// Appends `s` as an sf-string (quoted, `"` and `\` escaped).
    pub(super) fn write_string(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }

    fn write_bare_item(out: &mut String, item: &BareItem) {
        match item {
            BareItem::Integer(i) => out.push_str(&i.to_string()),
            BareItem::Decimal(d) => out.push_str(d),
            BareItem::String(s) => write_string(out, s),
            BareItem::Token(t) => out.push_str(t),
            BareItem::Bytes(b) => {
                out.push(':');
                out.push_str(&STANDARD.encode(b));
                out.push(':');
            }
            BareItem::Boolean(true) => out.push_str("?1"),
            BareItem::Boolean(false) => out.push_str("?0"),
        }
    }

    fn write_params(out: &mut String, params: &Params) {
        for (key, value) in params {
            out.push(';');
            out.push_str(key);
            if *value != BareItem::Boolean(true) {
                out.push('=');
                write_bare_item(out, value);
            }
        }
    }

    /// Appends the canonical serialization of an inner list with its parameters.
    pub(super) fn write_inner_list(out: &mut String, items: &[Item], params: &Params) {
        out.push('(');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            write_bare_item(out, &item.value);
            write_params(out, &item.params);
        }
        out.push(')');
        write_params(out, params);
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn reserialize(input: &str) -> String {
            let dict = parse_dictionary(input.as_bytes()).unwrap();
            let mut out = String::new();
            for (key, member) in &dict {
                out.push_str(key);
                out.push('=');
                match member {
                    Member::InnerList(items, params) => write_inner_list(&mut out, items, params),
                    Member::Item(item) => {
                        write_bare_item(&mut out, &item.value);
                        write_params(&mut out, &item.params);
                    }
                }
            }
            out
        }

        #[test]
        fn parses_signature_input() {
            let input = r#"sig1=("@method" "@target-uri" "content-digest");created=1618884473;keyid="test-key";alg="rsa-v1_5-sha256""#;
            assert_eq!(reserialize(input), input);
            // Extra spaces inside the list and around members are not canonical.
            assert_eq!(
                reserialize(r#"  sig1=(  "@method"   "@path" );created=1 "#),
                r#"sig1=("@method" "@path");created=1"#
            );
        }

        #[test]
        fn parses_all_item_types() {
            let dict = parse_dictionary(
                b"a=1, b=-2.50, c=\"x\\\"y\", d=tok/en:1, e=:AQID:, f=?0, g, h=(1 2);p",
            )
            .unwrap();
            let values: Vec<&Member> = dict.iter().map(|(_, m)| m).collect();
            assert_eq!(values.len(), 8);
            assert_eq!(
                values[1],
                &Member::Item(Item {
                    value: BareItem::Decimal("-2.5".into()),
                    params: vec![]
                })
            );
            assert_eq!(
                values[2],
                &Member::Item(Item {
                    value: BareItem::String("x\"y".into()),
                    params: vec![]
                })
            );
            assert_eq!(
                values[4],
                &Member::Item(Item {
                    value: BareItem::Bytes(vec![1, 2, 3]),
                    params: vec![]
                })
            );
            assert_eq!(
                values[6],
                &Member::Item(Item {
                    value: BareItem::Boolean(true),
                    params: vec![]
                })
            );
        }

        #[test]
        fn rejects_bad_input() {
            for bad in [
                "A=1",
                "a=1,",
                "a=1 b=2",
                "a=\"unterminated",
                "a=\"bad\\escape\"",
                "a=:not base64!:",
                "a=(1 2",
                "a=1, a=2",
                "a=?2",
                "a=1234567890123456",
                "a=1.1234",
                "a=1;b=1;b=2",
                "a=\u{e9}",
            ] {
                assert!(parse_dictionary(bad.as_bytes()).is_err(), "{bad}");
            }
            let many = (0..=MAX_SIGNATURE_LABELS)
                .map(|i| format!("k{i}=1"))
                .collect::<Vec<_>>()
                .join(",");
            assert!(parse_dictionary(many.as_bytes()).is_err());
            let long = format!("a=({})", vec!["1"; MAX_COVERED_COMPONENTS + 1].join(" "));
            assert!(parse_dictionary(long.as_bytes()).is_err());
        }

        #[test]
        fn escapes_strings() {
            let mut out = String::new();
            write_string(&mut out, "a\"b\\c");
            assert_eq!(out, r#""a\"b\\c""#);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cavage_params_tolerate_order_spaces_and_unquoted_numbers() {
        let params = parse_cavage_params(
            r#"  signature = "c2ln" , headers="(request-target) host",keyId="k",created=123 ,, algorithm="hs2019""#,
        )
        .unwrap();
        let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["signature", "headers", "keyid", "created", "algorithm"]
        );
        assert_eq!(params[3].1, "123");
    }

    #[test]
    fn cavage_params_rejections() {
        for bad in [
            r#"keyId"#,
            r#"keyId="a"#,
            r#"keyId="a" signature="b""#,
            r#"keyId="a",keyid="b""#,
            r#"="a""#,
            r#"keyId="#,
        ] {
            assert!(parse_cavage_params(bad).is_err(), "{bad}");
        }
        let many = (0..=MAX_SIGNATURE_PARAMS)
            .map(|i| format!("p{i}=\"v\""))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_cavage_params(&many).is_err());
    }

    #[test]
    fn digests_accept_casing_and_lists() {
        let body = b"{}";
        let b64 = STANDARD.encode(Sha256::digest(body));
        let b64_512 = STANDARD.encode(Sha512::digest(body));
        for ok in [
            format!("SHA-256={b64}"),
            format!("sha-256={b64}"),
            format!("Sha-256={b64}, MD5=abc"),
            format!("unixsum=30637, SHA-256={b64}"),
            format!("SHA-512={b64_512},SHA-256={b64}"),
            format!("SHA-256={}", b64.trim_end_matches('=')),
        ] {
            assert_eq!(verify_digests(ok.as_bytes(), false, body), Ok(()), "{ok}");
        }
        assert_eq!(
            verify_digests(format!("sha-256=:{b64}:").as_bytes(), true, body),
            Ok(())
        );
        assert_eq!(
            verify_digests(
                format!("sha-512=:{b64_512}:, sha-256=:{b64}:;p=1").as_bytes(),
                true,
                body
            ),
            Ok(())
        );
        assert_eq!(
            verify_digests(format!("SHA-256={b64}").as_bytes(), false, b"{ }"),
            Err(VerifyError::DigestMismatch)
        );
        assert_eq!(
            verify_digests(
                format!("SHA-256={b64}, SHA-512={b64}").as_bytes(),
                false,
                body
            ),
            Err(VerifyError::DigestMismatch)
        );
        assert_eq!(
            verify_digests(b"MD5=abc", false, body),
            Err(VerifyError::DigestUnsupported)
        );
        assert_eq!(
            verify_digests(b"SHA-256", false, body),
            Err(VerifyError::DigestMalformed)
        );
        assert_eq!(
            verify_digests(b"SHA-256=!!", false, body),
            Err(VerifyError::DigestMalformed)
        );
        assert_eq!(
            verify_digests(format!("sha-256={b64}").as_bytes(), true, body),
            Err(VerifyError::DigestMalformed)
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_unix_time("123", false), Ok(123));
        assert_eq!(parse_unix_time("123.5", true), Ok(123));
        assert!(parse_unix_time("123.5", false).is_err());
        assert!(parse_unix_time("-1", false).is_err());
        assert!(parse_unix_time("99999999999999999999", false).is_err());
        assert!(parse_unix_time("", false).is_err());
    }

    #[test]
    fn auth_scheme() {
        assert_eq!(
            strip_auth_scheme("Signature keyId=\"a\""),
            Some("keyId=\"a\"")
        );
        assert_eq!(
            strip_auth_scheme("signature  keyId=\"a\""),
            Some(" keyId=\"a\"")
        );
        assert_eq!(strip_auth_scheme("Bearer abc"), None);
        assert_eq!(strip_auth_scheme("Signature"), None);
    }
}
