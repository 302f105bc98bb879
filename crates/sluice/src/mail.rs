//! The SMTP client the engine mails through (`SLUICE_SMTP_URL`), with lettre: its URL
//! forms (`smtps://` for TLS, `smtp://…?tls=required` for STARTTLS, plain `smtp://` to
//! a relay on this machine only), authentication, TLS through rustls with the
//! system's roots, and a connection pool.

use std::future::Future;
use std::pin::Pin;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sluice_engine::email::{Mail, Mailer};

/// A bad URL, said before the server starts. Plain SMTP (no TLS) is refused to any
/// host but this machine: a password and every reset link would cross the network
/// in clear.
pub fn check_url(url: &str) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| e.to_string())?;
    let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    let plain = parsed.scheme() == "smtp" && !parsed.query_pairs().any(|(k, _)| k == "tls");
    let local = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        // `smtp:` is not a scheme the URL standard knows, so its host stays text.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    };
    if plain && !local {
        return Err(format!(
            "plain SMTP to {} would send passwords and links in clear: use smtps:// or add ?tls=required",
            parsed.host_str().unwrap_or("")
        ));
    }
    Ok(())
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> anyhow::Result<SmtpMailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("SLUICE_SMTP_URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let from = from
            .parse()
            .map_err(|e| anyhow::anyhow!("SLUICE_SMTP_FROM {from:?}: {e}"))?;
        Ok(SmtpMailer { transport, from })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: Mail) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let to: Mailbox = mail.to.parse().map_err(|e| format!("{}: {e}", mail.to))?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body)
                .map_err(|e| e.to_string())?;
            self.transport
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_smtp_only_to_this_machine() {
        assert_eq!(super::check_url("smtp://127.0.0.1:2525"), Ok(()));
        assert!(super::check_url("smtp://localhost").is_ok());
        assert!(super::check_url("smtp://[::1]:25").is_ok());
        assert!(super::check_url("smtp://10.0.0.1:25").is_err());
        assert!(super::check_url("smtp://mail.example.com:587?tls=required").is_ok());
        assert!(super::check_url("smtps://u:p@mail.example.com").is_ok());
        assert!(super::check_url("smtp://mail.example.com").is_err());
        assert!(super::check_url("ftp://mail.example.com").is_err());
    }
}
