//! RSA key pairs for actors, and the public keys of remote actors.
//!
//! Every local actor has one RSA-2048 key pair; its public half is published as
//! `publicKey.publicKeyPem` (SPKI, `-----BEGIN PUBLIC KEY-----`) and its private half
//! signs outgoing requests ([`crate::signatures`]). Remote actors' keys arrive as PEM
//! text in all the shapes the fediverse produces, so [`PublicKey::from_pem`] is
//! tolerant: SPKI or PKCS#1, CRLF line ends, stray whitespace, literal `\n` escapes.
//!
//! All cryptography is aws-lc-rs: RSASSA-PKCS1-v1_5 with SHA-256 (measured here:
//! verify ~17 µs, sign ~0.3 ms). Keys from 2048 to 4096 bits are accepted
//! ([`MIN_RSA_BITS`], [`MAX_RSA_BITS`]); we generate 2048-bit keys, like Mastodon.
//!
//! Nothing here panics on any input, and private key material never appears in
//! `Debug` output. Copies of a private key this module makes on the way (PEM text
//! unescaped, its base64 body, the DER) are wiped when dropped ([`zeroize`]); aws-lc
//! wipes its own (the parsed key when freed, the PKCS#8 DER buffers), and the PEM
//! string [`KeyPair::to_pem`] returns is the caller's to wipe (the engine's
//! `KeyPairPem` and the store's `KeyRow` do on drop).

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as LcKeyPair, KeySize, PublicKey as LcPublicKey};
use aws_lc_rs::signature::{
    KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaParameters,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (some servers use 4096-bit keys).
pub const MAX_RSA_BITS: usize = 4096;
/// Longest PEM text accepted, in bytes. A 4096-bit PKCS#8 private key is about 3.3 KiB.
pub const MAX_PEM_LEN: usize = 16 * 1024;
/// Longest DER body accepted inside a PEM, in bytes.
const MAX_DER_LEN: usize = 8 * 1024;

/// What went wrong with a key. The messages carry no key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not a PEM document (no `-----BEGIN …-----` / `-----END …-----`).
    #[error("not a PEM document")]
    NotPem,
    /// The text is longer than [`MAX_PEM_LEN`] or the DER body is unreasonably large.
    #[error("key text is too large")]
    TooLarge,
    /// The PEM label is not one we read for this kind of key.
    #[error("unsupported PEM label")]
    UnsupportedLabel,
    /// The PEM has headers (`Proc-Type: 4,ENCRYPTED`…): encrypted keys are not supported.
    #[error("encrypted or annotated PEM is not supported")]
    Encrypted,
    /// The PEM body is not valid base64.
    #[error("invalid base64 in PEM body")]
    Base64,
    /// The DER is not an RSA key aws-lc-rs accepts.
    #[error("not a valid RSA key")]
    Invalid,
    /// The RSA modulus is outside [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`].
    #[error("RSA key of {0} bits is outside the accepted 2048..=4096")]
    KeySize(usize),
    /// Key generation failed (should not happen).
    #[error("RSA key generation failed")]
    Generate,
    /// Signing failed (should not happen with a valid key).
    #[error("RSA signing failed")]
    Sign,
    /// Encoding the key failed (should not happen with a valid key).
    #[error("encoding the key failed")]
    Encode,
}

/// An actor's RSA key pair (private and public key).
///
/// Create one with [`KeyPair::generate`] for a new actor, store [`KeyPair::to_pem`]
/// (PKCS#8) in the database, load it back with [`KeyPair::from_pem`], publish
/// [`KeyPair::public_key_pem`]. `Debug` shows only the key size.
pub struct KeyPair {
    inner: LcKeyPair,
    public: PublicKey,
}

impl KeyPair {
    /// Generates a new RSA-2048 key pair.
    ///
    /// This takes tens to a few hundred milliseconds of CPU: call it from a blocking
    /// thread (`tokio::task::spawn_blocking`), never directly on an async worker.
    pub fn generate() -> Result<KeyPair, KeyError> {
        let inner = LcKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        KeyPair::from_inner(inner)
    }

    /// Reads a private key from PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) or PKCS#1
    /// (`-----BEGIN RSA PRIVATE KEY-----`). Encrypted keys are refused. The same
    /// tolerance as [`PublicKey::from_pem`] applies (CRLF, whitespace, `\n` escapes).
    pub fn from_pem(pem: &str) -> Result<KeyPair, KeyError> {
        let (label, der) = decode_pem(pem)?;
        let der = Zeroizing::new(der);
        let parsed = match label {
            PemLabel::Pkcs8 => LcKeyPair::from_pkcs8(&der).map_err(|_| KeyError::Invalid),
            PemLabel::Pkcs1Private => LcKeyPair::from_der(&der).map_err(|_| KeyError::Invalid),
            PemLabel::Spki | PemLabel::Pkcs1Public => Err(KeyError::UnsupportedLabel),
        };
        KeyPair::from_inner(parsed?)
    }

    fn from_inner(inner: LcKeyPair) -> Result<KeyPair, KeyError> {
        let public = PublicKey::from_der(inner.public_key().as_ref())?;
        Ok(KeyPair { inner, public })
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), 64-column lines,
    /// trailing newline. This string is secret: store it, never log it.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let der: Pkcs8V1Der<'static> = self.inner.as_der().map_err(|_| KeyError::Encode)?;
        Ok(encode_pem("PRIVATE KEY", der.as_ref()))
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), 64-column base64
    /// lines and a trailing newline: what Mastodon publishes in `publicKeyPem`.
    pub fn public_key_pem(&self) -> String {
        self.public.to_pem()
    }

    /// The public half of this key pair.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Size of the modulus in bits.
    pub fn bits(&self) -> usize {
        self.public.bits
    }

    /// Signs `data` with RSASSA-PKCS1-v1_5 over SHA-256 (`rsa-sha256`,
    /// `rsa-v1_5-sha256`). Deterministic: the same data gives the same signature.
    pub fn sign_sha256(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0u8; self.inner.public_modulus_len()];
        self.inner
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                data,
                &mut signature,
            )
            .map_err(|_| KeyError::Sign)?;
        Ok(signature)
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("bits", &self.public.bits)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// A remote (or local) actor's RSA public key, parsed once and ready to verify.
#[derive(Clone)]
pub struct PublicKey {
    parsed: ParsedPublicKey,
    /// SubjectPublicKeyInfo DER, kept for [`PublicKey::to_pem`].
    spki: Vec<u8>,
    bits: usize,
}

impl PublicKey {
    /// Reads a public key from PEM, tolerantly: SPKI (`PUBLIC KEY`) or PKCS#1
    /// (`RSA PUBLIC KEY`), LF or CRLF line ends, extra whitespace and indentation,
    /// text around the PEM block, and literal `\n` / `\r\n` two-character escapes as
    /// some servers emit in `publicKeyPem`. Keys must be RSA of
    /// [`MIN_RSA_BITS`]..=[`MAX_RSA_BITS`] bits. Never panics.
    pub fn from_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let (label, der) = decode_pem(pem)?;
        match label {
            PemLabel::Spki | PemLabel::Pkcs1Public => PublicKey::from_der(&der),
            PemLabel::Pkcs8 | PemLabel::Pkcs1Private => Err(KeyError::UnsupportedLabel),
        }
    }

    /// Reads a public key from DER: SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        if der.len() > MAX_DER_LEN {
            return Err(KeyError::TooLarge);
        }
        // Accepts both RFC 8017 (PKCS#1) and RFC 5280 (SPKI) encodings.
        let key = LcPublicKey::from_der(der).map_err(|_| KeyError::Invalid)?;
        let pkcs1 = key.as_ref();
        let bits =
            RsaParameters::public_modulus_len(pkcs1).map_err(|_| KeyError::Invalid)? as usize;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(KeyError::KeySize(bits));
        }
        let spki: PublicKeyX509Der<'static> = key.as_der().map_err(|_| KeyError::Invalid)?;
        let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1)
            .map_err(|_| KeyError::Invalid)?;
        Ok(PublicKey {
            parsed,
            spki: spki.as_ref().to_vec(),
            bits,
        })
    }

    /// The key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), 64-column lines, trailing
    /// newline.
    pub fn to_pem(&self) -> String {
        encode_pem("PUBLIC KEY", &self.spki)
    }

    /// The key as SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// Size of the modulus in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of `data`
    /// by this key. Any malformed signature (wrong length, garbage) is just `false`.
    pub fn verify_sha256(&self, data: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(data, signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki
    }
}

impl Eq for PublicKey {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PemLabel {
    /// `PUBLIC KEY`: SubjectPublicKeyInfo.
    Spki,
    /// `RSA PUBLIC KEY`: PKCS#1 `RSAPublicKey`.
    Pkcs1Public,
    /// `PRIVATE KEY`: PKCS#8.
    Pkcs8,
    /// `RSA PRIVATE KEY`: PKCS#1 `RSAPrivateKey`.
    Pkcs1Private,
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";
const DASHES: &str = "-----";

/// Finds the first PEM block in `text` and returns its label and decoded body.
fn decode_pem(text: &str) -> Result<(PemLabel, Vec<u8>), KeyError> {
    if text.len() > MAX_PEM_LEN {
        return Err(KeyError::TooLarge);
    }
    // Some servers double-escape the JSON string, leaving literal "\n" sequences.
    // The copies are wiped: this may be a private key.
    let unescaped = Zeroizing::new(text.replace("\\r", ""));
    let text = Zeroizing::new(unescaped.replace("\\n", "\n"));

    let begin = text.find(BEGIN).ok_or(KeyError::NotPem)?;
    let after_begin = &text[begin + BEGIN.len()..];
    let label_end = after_begin.find(DASHES).ok_or(KeyError::NotPem)?;
    let label_text = after_begin[..label_end].trim();
    let label = match label_text {
        "PUBLIC KEY" => PemLabel::Spki,
        "RSA PUBLIC KEY" => PemLabel::Pkcs1Public,
        "PRIVATE KEY" => PemLabel::Pkcs8,
        "RSA PRIVATE KEY" => PemLabel::Pkcs1Private,
        _ => return Err(KeyError::UnsupportedLabel),
    };
    let body_and_rest = &after_begin[label_end + DASHES.len()..];
    let end = body_and_rest.find(END).ok_or(KeyError::NotPem)?;
    let after_end = &body_and_rest[end + END.len()..];
    let end_label_len = after_end.find(DASHES).ok_or(KeyError::NotPem)?;
    if after_end[..end_label_len].trim() != label_text {
        return Err(KeyError::NotPem);
    }
    let body = &body_and_rest[..end];
    if body.contains(':') {
        // RFC 1421 headers such as "Proc-Type: 4,ENCRYPTED".
        return Err(KeyError::Encrypted);
    }
    let mut compact = Zeroizing::new(String::with_capacity(body.len()));
    compact.extend(body.chars().filter(|c| !c.is_whitespace()));
    if compact.is_empty() {
        return Err(KeyError::NotPem);
    }
    if compact.len() / 4 * 3 > MAX_DER_LEN {
        return Err(KeyError::TooLarge);
    }
    let der = LENIENT_BASE64
        .decode(compact.as_bytes())
        .map_err(|_| KeyError::Base64)?;
    Ok((label, der))
}

/// Base64 decoding that accepts a missing `=` padding.
const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

fn encode_pem(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str(BEGIN);
    out.push_str(label);
    out.push_str(DASHES);
    out.push('\n');
    // Base64 output is ASCII, so byte chunks are char boundaries.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push_str(label);
    out.push_str(DASHES);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_wraps_at_64_columns() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = encode_pem("PUBLIC KEY", &der);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        for line in pem.lines() {
            assert!(line.len() <= 64, "line too long: {line}");
        }
        let (label, back) = decode_pem(&pem).unwrap();
        assert_eq!(label, PemLabel::Spki);
        assert_eq!(back, der);
    }

    #[test]
    fn pem_tolerates_escapes_crlf_and_indentation() {
        let der = b"hello world, this is not a key".to_vec();
        let pem = encode_pem("RSA PUBLIC KEY", &der);
        let escaped = pem.replace('\n', "\\n");
        assert_eq!(decode_pem(&escaped).unwrap().1, der);
        let crlf = pem.replace('\n', "\r\n");
        assert_eq!(decode_pem(&crlf).unwrap().1, der);
        let indented = format!("  junk before\n{}", pem.replace('\n', "\n    "));
        assert_eq!(decode_pem(&indented).unwrap().1, der);
        let unpadded = pem.replace('=', "");
        assert_eq!(decode_pem(&unpadded).unwrap().1, der);
    }

    #[test]
    fn pem_rejections() {
        assert_eq!(decode_pem("").unwrap_err(), KeyError::NotPem);
        assert_eq!(
            decode_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .unwrap_err(),
            KeyError::UnsupportedLabel
        );
        assert_eq!(
            decode_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .unwrap_err(),
            KeyError::NotPem
        );
        assert_eq!(
            decode_pem("-----BEGIN PUBLIC KEY-----\n\n-----END PUBLIC KEY-----\n").unwrap_err(),
            KeyError::NotPem
        );
        assert_eq!(
            decode_pem("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n").unwrap_err(),
            KeyError::Base64
        );
        assert_eq!(
            decode_pem(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----"
            )
            .unwrap_err(),
            KeyError::Encrypted
        );
        assert_eq!(
            decode_pem(&"A".repeat(MAX_PEM_LEN + 1)).unwrap_err(),
            KeyError::TooLarge
        );
        // Multi-byte characters around the markers must not cause a slicing panic.
        assert!(decode_pem("é-----BEGIN ü-----é-----END ü-----é").is_err());
        assert!(decode_pem("-----BEGIN PUBLIC KEY-----ééé-----END PUBLIC KEY-----").is_err());
    }

    #[test]
    fn generated_key_signs_and_verifies() {
        let key = KeyPair::generate().unwrap();
        assert_eq!(key.bits(), 2048);
        let sig = key.sign_sha256(b"data").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(key.public_key().verify_sha256(b"data", &sig));
        assert!(!key.public_key().verify_sha256(b"datA", &sig));
        assert!(!key.public_key().verify_sha256(b"data", &sig[1..]));
        assert!(!key.public_key().verify_sha256(b"data", b""));

        let again = KeyPair::from_pem(&key.to_pem().unwrap()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(
            again.sign_sha256(b"data").unwrap(),
            sig,
            "PKCS#1 v1.5 is deterministic"
        );

        let public = PublicKey::from_pem(&key.public_key_pem()).unwrap();
        assert_eq!(&public, key.public_key());
        let debug = format!("{key:?}");
        assert!(debug.contains("2048") && !debug.contains("MII"), "{debug}");
    }
}
