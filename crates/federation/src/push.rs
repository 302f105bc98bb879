//! Web Push messages: the payload encrypted for the subscriber (RFC 8291, the
//! `aes128gcm` content coding of RFC 8188), the request signed for the push service
//! with a VAPID JWT (RFC 8292), and sent by the delivery workers through the one
//! fetcher (SSRF rules, caps) like an activity.
//!
//! Built on aws-lc-rs, which the server already uses for its HTTP signatures and TLS:
//! P-256 ECDH, HKDF-SHA-256, AES-128-GCM and ECDSA P-256 are all there, so Web Push
//! adds no dependency. (`web-push-native` would bring the RustCrypto `p256`,
//! `aes-gcm`, `hkdf` stacks and a JWT crate beside it; `ece` pulls OpenSSL.) What is
//! ours is the assembly of those primitives that RFC 8291 §3.4 and RFC 8188 §2 spell
//! out, checked against RFC 8291's own worked example in the tests below.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::{aead, agreement, hkdf, rand as lc_rand, signature};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sluice_engine::push::{PUSH_TTL_SECS, PushMessage, VapidKey};
use url::Url;

use crate::fetch::RequestSigner;

/// Content type of a push message.
pub const PUSH_CONTENT_TYPE: &str = "application/octet-stream";
/// The record size written in the header: one record holds the whole message.
const RECORD_SIZE: u32 = 4096;
/// Largest push message body push services take (RFC 8030 §7.2 lets them refuse
/// more than 4096 bytes): header (86) + payload + delimiter (1) + tag (16).
pub const MAX_BODY: usize = 4096;
/// Largest clear payload that fits in [`MAX_BODY`].
pub const MAX_PAYLOAD: usize = MAX_BODY - 86 - 1 - 16;
/// How long a VAPID JWT is valid (RFC 8292 §2: at most 24 hours).
const JWT_LIFETIME_SECS: i64 = 12 * 60 * 60;

/// Makes a new VAPID key pair (P-256): the public key as browsers take it
/// (uncompressed point, base64url), the private key as PKCS#8 (base64).
pub fn generate_vapid_key() -> Result<VapidKey, String> {
    let pair = signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|e| format!("generating the VAPID key: {e}"))?;
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|e| format!("encoding the VAPID key: {e}"))?;
    use signature::KeyPair as _;
    Ok(VapidKey {
        public: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        private_pkcs8: STANDARD.encode(pkcs8.as_ref()),
    })
}

/// Decodes base64url with or without padding (browsers send either; some apps send
/// standard base64).
pub fn decode_key(text: &str) -> Option<Vec<u8>> {
    let t = text.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD.decode(t).ok().or_else(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(t)
            .ok()
    })
}

/// Checks a subscription's keys as Mastodon apps send them: `p256dh` an uncompressed
/// P-256 point (65 bytes, on the curve), `auth` 16 bytes. The reason when not.
pub fn check_keys(p256dh: &str, auth: &str) -> Result<(), &'static str> {
    let point = decode_key(p256dh).ok_or("keys.p256dh is not base64url")?;
    if point.len() != 65 || point[0] != 4 {
        return Err("keys.p256dh must be an uncompressed P-256 point (65 bytes)");
    }
    let parsed = agreement::ParsedPublicKey::try_from(&agreement::UnparsedPublicKey::new(
        &agreement::ECDH_P256,
        &point,
    ))
    .map_err(|_| "keys.p256dh is not a point on P-256")?;
    if parsed.format() != agreement::ParsedPublicKeyFormat::Uncompressed {
        return Err("keys.p256dh must be an uncompressed P-256 point (65 bytes)");
    }
    let secret = decode_key(auth).ok_or("keys.auth is not base64url")?;
    if secret.len() != 16 {
        return Err("keys.auth must be 16 bytes");
    }
    Ok(())
}

/// An HKDF output length.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_expand(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) -> Result<(), String> {
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| "HKDF expand failed".to_string())
}

/// Encrypts `payload` for a subscriber (RFC 8291): the whole `aes128gcm` body,
/// header included. `ua_public` is the subscriber's `p256dh`, `auth` its secret;
/// `as_private` and `salt` are fresh per message (given for the RFC's test vector).
fn encrypt_with(
    payload: &[u8],
    ua_public: &[u8],
    auth: &[u8],
    as_private: &agreement::PrivateKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, String> {
    if payload.len() > MAX_PAYLOAD {
        return Err(format!(
            "push payload of {} bytes is over {MAX_PAYLOAD}",
            payload.len()
        ));
    }
    let as_public = as_private
        .compute_public_key()
        .map_err(|_| "computing the message key".to_string())?;
    let as_public = as_public.as_ref().to_vec();
    let ecdh_secret = agreement::agree(
        as_private,
        agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public),
        "the subscriber's key is not a P-256 point".to_string(),
        |s| Ok(s.to_vec()),
    )?;
    // §3.3: combine the shared secret with the authentication secret.
    let prk_key = hkdf::Salt::new(hkdf::HKDF_SHA256, auth).extract(&ecdh_secret);
    let mut ikm = [0u8; 32];
    hkdf_expand(
        &prk_key,
        &[b"WebPush: info\0", ua_public, &as_public],
        &mut ikm,
    )?;
    // RFC 8188 §2.2, §2.3: content-encryption key and nonce.
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
    let mut cek = [0u8; 16];
    hkdf_expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek)?;
    let mut nonce = [0u8; 12];
    hkdf_expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce)?;
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek).map_err(|_| "AES key".to_string())?,
    );
    // One record, the last: the payload and the 0x02 delimiter, no padding.
    let mut record = Vec::with_capacity(payload.len() + 17);
    record.extend_from_slice(payload);
    record.push(2);
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::empty(),
        &mut record,
    )
    .map_err(|_| "encrypting the push payload".to_string())?;
    let mut body = Vec::with_capacity(86 + record.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(as_public.len() as u8);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

/// Encrypts `payload` for the subscription keys `p256dh` and `auth` (base64url).
pub fn encrypt(payload: &[u8], p256dh: &str, auth: &str) -> Result<Vec<u8>, String> {
    let ua_public = decode_key(p256dh).ok_or("keys.p256dh is not base64url")?;
    let auth = decode_key(auth).ok_or("keys.auth is not base64url")?;
    let as_private = agreement::PrivateKey::generate(&agreement::ECDH_P256)
        .map_err(|_| "making the message key".to_string())?;
    let mut salt = [0u8; 16];
    lc_rand::fill(&mut salt).map_err(|_| "random salt".to_string())?;
    encrypt_with(payload, &ua_public, &auth, &as_private, &salt)
}

/// Decrypts an `aes128gcm` push message as its subscriber would (the private half of
/// `p256dh`, and `auth`): for the benchmarks' push sink and the round-trip test. The
/// integration tests decrypt with their own code, not this.
pub fn decrypt(
    body: &[u8],
    ua_private: &agreement::PrivateKey,
    auth: &[u8],
) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("too short".into());
    }
    let salt = &body[..16];
    let id_len = body[20] as usize;
    let as_public = body.get(21..21 + id_len).ok_or("too short")?;
    let mut record = body[21 + id_len..].to_vec();
    let ua_public = ua_private
        .compute_public_key()
        .map_err(|_| "public key".to_string())?;
    let ecdh = agreement::agree(
        ua_private,
        agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, as_public),
        "the message's key is not a P-256 point".to_string(),
        |s| Ok(s.to_vec()),
    )?;
    let prk_key = hkdf::Salt::new(hkdf::HKDF_SHA256, auth).extract(&ecdh);
    let mut ikm = [0u8; 32];
    hkdf_expand(
        &prk_key,
        &[b"WebPush: info\0", ua_public.as_ref(), as_public],
        &mut ikm,
    )?;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
    let mut cek = [0u8; 16];
    hkdf_expand(&prk, &[b"Content-Encoding: aes128gcm\0"], &mut cek)?;
    let mut nonce = [0u8; 12];
    hkdf_expand(&prk, &[b"Content-Encoding: nonce\0"], &mut nonce)?;
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek).map_err(|_| "AES key".to_string())?,
    );
    let plain = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut record,
        )
        .map_err(|_| "the message does not decrypt".to_string())?;
    let end = plain.iter().rposition(|b| *b != 0).ok_or("no delimiter")?;
    if plain[end] != 2 {
        return Err("not a last record".into());
    }
    Ok(plain[..end].to_vec())
}

/// Signs push requests as the instance (VAPID, RFC 8292) and sets the other headers
/// a push service reads. Made once per delivery worker set.
pub struct PushSender {
    key: signature::EcdsaKeyPair,
    /// The public key, base64url (`k=`).
    public: String,
    /// The JWT's `sub`: who to contact about this sender (the instance's contact
    /// address, else its URL).
    subject: String,
}

impl std::fmt::Debug for PushSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSender")
            .field("public", &self.public)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl PushSender {
    pub fn new(key: &VapidKey, subject: String) -> Result<Self, String> {
        let der = zeroize::Zeroizing::new(
            STANDARD
                .decode(&key.private_pkcs8)
                .map_err(|e| format!("VAPID key: {e}"))?,
        );
        let pair =
            signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map_err(|e| format!("VAPID key: {e}"))?;
        Ok(PushSender {
            key: pair,
            public: key.public.clone(),
            subject,
        })
    }

    /// The VAPID JWT for a push service's origin, valid from now.
    pub fn jwt(&self, audience: &str, now_secs: i64) -> Result<String, String> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": audience,
            "exp": now_secs + JWT_LIFETIME_SECS,
            "sub": self.subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{header}.{claims}");
        let sig = self
            .key
            .sign(&lc_rand::SystemRandom::new(), input.as_bytes())
            .map_err(|_| "signing the VAPID JWT".to_string())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
    }

    /// The message's body and the signer that adds its headers.
    pub fn prepare(
        self: &Arc<Self>,
        message: &PushMessage,
    ) -> Result<(Vec<u8>, PushHeaders), String> {
        let body = encrypt(message.payload.as_bytes(), &message.p256dh, &message.auth)?;
        Ok((
            body,
            PushHeaders {
                sender: self.clone(),
                ttl: Duration::from_secs(PUSH_TTL_SECS as u64),
            },
        ))
    }
}

/// The headers of one push request: `Authorization: vapid t=…, k=…` (for the
/// request's origin), `Content-Encoding: aes128gcm`, `TTL`, `Urgency`.
pub struct PushHeaders {
    sender: Arc<PushSender>,
    ttl: Duration,
}

/// `scheme://host[:port]` of a URL (the JWT's audience).
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl RequestSigner for PushHeaders {
    fn sign(
        &self,
        _method: &reqwest::Method,
        url: &Url,
        headers: &mut HeaderMap,
        _body: Option<&[u8]>,
    ) -> Result<(), String> {
        let now = sluice_model::id::now_millis() / 1000;
        let jwt = self.sender.jwt(&origin_of(url), now)?;
        let value = |s: String| HeaderValue::from_str(&s).map_err(|e| e.to_string());
        headers.insert(
            reqwest::header::AUTHORIZATION,
            value(format!("vapid t={jwt}, k={}", self.sender.public))?,
        );
        headers.insert(
            reqwest::header::CONTENT_ENCODING,
            HeaderValue::from_static("aes128gcm"),
        );
        headers.insert(
            HeaderName::from_static("ttl"),
            value(self.ttl.as_secs().to_string())?,
        );
        headers.insert(
            HeaderName::from_static("urgency"),
            HeaderValue::from_static("normal"),
        );
        Ok(())
    }

    fn sign_as(
        &self,
        _scheme: crate::signatures::Scheme,
        method: &reqwest::Method,
        url: &Url,
        headers: &mut HeaderMap,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        self.sign(method, url, headers, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    /// RFC 8291 Appendix A: the worked example, byte for byte.
    #[test]
    fn rfc8291_example() {
        let plaintext = b"When I grow up, I want to be a watermelon";
        let as_private = agreement::PrivateKey::from_private_key(
            &agreement::ECDH_P256,
            &b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"),
        )
        .unwrap();
        let ua_public = b64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
        );
        let auth = b64("BTBZMqHH6r4Tts7J_aSIgg");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt_with(plaintext, &ua_public, &auth, &as_private, &salt).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn rfc8291_example_decrypts() {
        let ua_private = agreement::PrivateKey::from_private_key(
            &agreement::ECDH_P256,
            &b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"),
        )
        .unwrap();
        let body = b64(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        );
        let plain = decrypt(&body, &ua_private, &b64("BTBZMqHH6r4Tts7J_aSIgg")).unwrap();
        assert_eq!(plain, b"When I grow up, I want to be a watermelon");
    }

    #[test]
    fn keys_are_checked() {
        let ua = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
        let public = URL_SAFE_NO_PAD.encode(ua.compute_public_key().unwrap().as_ref());
        let auth = URL_SAFE_NO_PAD.encode([7u8; 16]);
        assert!(check_keys(&public, &auth).is_ok());
        // Padded base64url is taken too.
        assert!(check_keys(&format!("{public}="), &format!("{auth}==")).is_ok());
        assert!(check_keys(&public, &URL_SAFE_NO_PAD.encode([7u8; 15])).is_err());
        let mut off_curve = ua.compute_public_key().unwrap().as_ref().to_vec();
        off_curve[64] ^= 1;
        assert!(check_keys(&URL_SAFE_NO_PAD.encode(&off_curve), &auth).is_err());
        let compressed = &ua.compute_public_key().unwrap().as_ref()[..33].to_vec();
        assert!(check_keys(&URL_SAFE_NO_PAD.encode(compressed), &auth).is_err());
        assert!(check_keys("not base64!", &auth).is_err());
    }

    #[test]
    fn jwt_verifies_with_the_public_key() {
        let key = generate_vapid_key().unwrap();
        let sender = PushSender::new(&key, "mailto:admin@example.org".into()).unwrap();
        let jwt = sender.jwt("https://push.example.net", 1_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let input = format!("{}.{}", parts[0], parts[1]);
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, b64(&key.public))
            .verify(input.as_bytes(), &b64(parts[2]))
            .unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["exp"], 1_000 + JWT_LIFETIME_SECS);
    }

    #[test]
    fn oversized_payloads_are_refused() {
        let ua = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
        let public = URL_SAFE_NO_PAD.encode(ua.compute_public_key().unwrap().as_ref());
        let auth = URL_SAFE_NO_PAD.encode([1u8; 16]);
        let ok = encrypt(&vec![b'a'; MAX_PAYLOAD], &public, &auth).unwrap();
        assert_eq!(ok.len(), MAX_BODY);
        assert!(encrypt(&vec![b'a'; MAX_PAYLOAD + 1], &public, &auth).is_err());
    }
}
