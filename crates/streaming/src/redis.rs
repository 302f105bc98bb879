//! Redis pub/sub as a wake-up between processes (`SLUICE_REDIS_URL`): after a commit
//! with events, a hub publishes the newest event id on [`CHANNEL`]; every hub
//! subscribed reads the log at once instead of at its next poll. The log stays the
//! only source of events: a lost or repeated wake-up changes nothing but latency.
//!
//! Only `AUTH`, `SELECT`, `PUBLISH` and `SUBSCRIBE` are needed, so this speaks RESP2
//! itself over one connection each way (no client library): publishing coalesces
//! wake-ups, and both sides reconnect with backoff after an error.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// The channel wake-ups are published on.
pub const CHANNEL: &str = "sluice:events";
/// Longest wait before reconnecting after an error.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Longest wait for Redis to answer a command or accept a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest reply line or bulk string read (wake-ups are a few bytes).
const MAX_REPLY: usize = 64 * 1024;

/// Where and how to reach Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: u32,
}

impl RedisTarget {
    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    pub fn parse(url: &str) -> Result<RedisTarget, String> {
        let u = url::Url::parse(url).map_err(|e| format!("SLUICE_REDIS_URL: {e}"))?;
        if u.scheme() != "redis" {
            return Err(format!(
                "SLUICE_REDIS_URL must start with redis:// (TLS is not supported), got {}",
                u.scheme()
            ));
        }
        let host = u
            .host_str()
            .ok_or("SLUICE_REDIS_URL has no host")?
            .trim_matches(['[', ']'])
            .to_string();
        let db = match u.path().trim_matches('/') {
            "" => 0,
            d => d
                .parse()
                .map_err(|_| format!("SLUICE_REDIS_URL: database {d:?} is not a number"))?,
        };
        let decode = |s: &str| {
            percent_decode(s).map_err(|_| "SLUICE_REDIS_URL: bad percent-encoding".to_string())
        };
        Ok(RedisTarget {
            host,
            port: u.port().unwrap_or(6379),
            username: Some(u.username())
                .filter(|s| !s.is_empty())
                .map(decode)
                .transpose()?,
            password: u.password().map(decode).transpose()?,
            db,
        })
    }

    async fn connect(&self) -> std::io::Result<BufReader<TcpStream>> {
        let stream = tokio::time::timeout(
            IO_TIMEOUT,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| std::io::Error::other("connecting to Redis timed out"))??;
        stream.set_nodelay(true)?;
        let mut conn = BufReader::new(stream);
        if let Some(password) = &self.password {
            let mut args = vec!["AUTH"];
            if let Some(user) = &self.username {
                args.push(user);
            }
            args.push(password);
            command(&mut conn, &args).await?;
        }
        if self.db != 0 {
            command(&mut conn, &["SELECT", &self.db.to_string()]).await?;
        }
        Ok(conn)
    }
}

/// A user name or password from the URL, percent-decoded. A `%` not followed by two
/// hex digits is refused (the URL Standard's decoder would keep it as it is), and so is
/// a result that is not UTF-8.
fn percent_decode(s: &str) -> Result<String, ()> {
    let well_formed = s.split('%').skip(1).all(|rest| {
        rest.get(..2)
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if !well_formed {
        return Err(());
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|d| d.into_owned())
        .map_err(|_| ())
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One RESP2 reply: a simple string, error, integer, bulk string or array of them.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Simple(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

async fn read_reply(conn: &mut BufReader<TcpStream>) -> std::io::Result<Reply> {
    Box::pin(read_reply_inner(conn, 0)).await
}

async fn read_reply_inner(conn: &mut BufReader<TcpStream>, depth: u8) -> std::io::Result<Reply> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    if depth > 4 {
        return Err(bad("Redis reply nested too deeply"));
    }
    let mut line = Vec::new();
    (&mut *conn)
        .take(MAX_REPLY as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if line.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "Redis closed the connection",
        ));
    }
    let text = String::from_utf8_lossy(&line)
        .trim_end_matches(['\r', '\n'])
        .to_string();
    let (kind, rest) = text.split_at(1.min(text.len()));
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| bad("bad number in Redis reply"))
    };
    match kind {
        "+" => Ok(Reply::Simple(rest.to_string())),
        "-" => Err(std::io::Error::other(format!("Redis: {rest}"))),
        ":" => Ok(Reply::Integer(number()?)),
        "$" => {
            let n = number()?;
            if n < 0 {
                return Ok(Reply::Bulk(None));
            }
            let n = n as usize;
            if n > MAX_REPLY {
                return Err(bad("Redis bulk reply too large"));
            }
            let mut buf = vec![0; n + 2];
            conn.read_exact(&mut buf).await?;
            buf.truncate(n);
            Ok(Reply::Bulk(Some(buf)))
        }
        "*" => {
            let n = number()?;
            if n > 16 {
                return Err(bad("Redis array reply too long"));
            }
            let mut items = Vec::new();
            for _ in 0..n.max(0) {
                items.push(Box::pin(read_reply_inner(conn, depth + 1)).await?);
            }
            Ok(Reply::Array(items))
        }
        _ => Err(bad("unknown Redis reply")),
    }
}

async fn command(conn: &mut BufReader<TcpStream>, args: &[&str]) -> std::io::Result<Reply> {
    tokio::time::timeout(IO_TIMEOUT, async {
        conn.get_mut().write_all(&encode(args)).await?;
        read_reply(conn).await
    })
    .await
    .map_err(|_| std::io::Error::other("Redis did not answer in time"))?
}

/// Starts the publisher and the subscriber: `publish` takes the newest event id this
/// process committed (latest wins: wake-ups coalesce); the returned receiver gets a
/// message for every wake-up another process (or this one) published. Both tasks end
/// when `shutdown` turns true.
pub fn start(
    target: RedisTarget,
    shutdown: watch::Receiver<bool>,
) -> (watch::Sender<i64>, mpsc::Receiver<()>) {
    let (publish, mut to_publish) = watch::channel(0i64);
    let (woke, wakeups) = mpsc::channel(1);
    {
        let target = target.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            let mut conn = None;
            loop {
                tokio::select! {
                    _ = async { drop(shutdown.wait_for(|s| *s).await) } => return,
                    changed = to_publish.changed() => if changed.is_err() { return },
                }
                let id = *to_publish.borrow_and_update();
                loop {
                    if conn.is_none() {
                        match target.connect().await {
                            Ok(c) => conn = Some(c),
                            Err(e) => {
                                tracing::warn!(error = %e, "Redis (publishing stream wake-ups) unreachable");
                                tokio::time::sleep(backoff).await;
                                backoff = (backoff * 2).min(MAX_BACKOFF);
                                if *shutdown.borrow() {
                                    return;
                                }
                                continue;
                            }
                        }
                    }
                    let Some(c) = conn.as_mut() else { continue };
                    match command(c, &["PUBLISH", CHANNEL, &id.to_string()]).await {
                        Ok(_) => {
                            backoff = Duration::from_millis(100);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "publishing a stream wake-up to Redis failed");
                            conn = None;
                        }
                    }
                }
            }
        });
    }
    {
        let mut shutdown = shutdown;
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let subscribed = async {
                    let mut c = target.connect().await?;
                    command(&mut c, &["SUBSCRIBE", CHANNEL]).await?;
                    // Wake once after (re)subscribing: something may have been
                    // published while no subscription was in place.
                    let _ = woke.try_send(());
                    std::io::Result::Ok(c)
                };
                let mut conn = tokio::select! {
                    _ = async { drop(shutdown.wait_for(|s| *s).await) } => return,
                    c = subscribed => match c {
                        Ok(c) => c,
                        Err(e) => {
                            tracing::warn!(error = %e, "Redis (stream wake-ups) unreachable; the log is still polled");
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                            continue;
                        }
                    },
                };
                backoff = Duration::from_millis(100);
                loop {
                    let reply = tokio::select! {
                        _ = async { drop(shutdown.wait_for(|s| *s).await) } => return,
                        r = read_reply(&mut conn) => r,
                    };
                    match reply {
                        Ok(Reply::Array(items)) if matches!(items.first(), Some(Reply::Bulk(Some(k))) if k == b"message") =>
                        {
                            // Full: a wake-up is already pending, which is enough.
                            let _ = woke.try_send(());
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "Redis subscription lost; reconnecting");
                            break;
                        }
                    }
                }
            }
        });
    }
    (publish, wakeups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            RedisTarget::parse("redis://127.0.0.1:6380/2").unwrap(),
            RedisTarget {
                host: "127.0.0.1".into(),
                port: 6380,
                username: None,
                password: None,
                db: 2
            }
        );
        let t = RedisTarget::parse("redis://:p%40ss@localhost").unwrap();
        assert_eq!(
            (t.password.as_deref(), t.port, t.db),
            (Some("p@ss"), 6379, 0)
        );
        assert!(RedisTarget::parse("rediss://x").is_err());
        assert!(RedisTarget::parse("redis://x/abc").is_err());
    }

    #[test]
    fn bad_percent_encoding_is_refused() {
        assert!(RedisTarget::parse("redis://:p%zz@localhost").is_err());
        assert!(RedisTarget::parse("redis://:p%4@localhost").is_err());
        assert!(RedisTarget::parse("redis://:%ff@localhost").is_err());
        let t = RedisTarget::parse("redis://us%65r:%70w@localhost").unwrap();
        assert_eq!(
            (t.username.as_deref(), t.password.as_deref()),
            (Some("user"), Some("pw"))
        );
    }

    #[test]
    fn commands_encode_as_resp_arrays() {
        assert_eq!(
            encode(&["PUBLISH", "c", "12"]),
            b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$2\r\n12\r\n".to_vec()
        );
    }
}
