//! A connection kept alive after one request, as an HTTP client's pool keeps it (a
//! client library hides which connection it reuses; the drain tests need to know).

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Connects to `host` (`127.0.0.1:PORT`), asks for `/api/v1/streaming/health` and
/// reads the answer (its head and `OK`): the connection is then idle and kept alive.
pub async fn kept_alive(host: &str) -> tokio::net::TcpStream {
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(
        format!("GET /api/v1/streaming/health HTTP/1.1\r\nhost: {host}\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\r\n\r\nOK") {
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
            .await
            .expect("an answer within 30 s")
            .unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    s
}
