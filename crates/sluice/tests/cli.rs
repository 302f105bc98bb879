//! The `sluice` command line, run as a real process: configuration sources and masking,
//! `admin create-user` with the password on standard input, and `serve` on a unix socket.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sluice");

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sluice-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sluice(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir).env("RUST_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("SLUICE_") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn config_sources_and_masking() {
    let dir = temp_dir("config");
    std::fs::write(dir.join(".env"), "SLUICE_INSTANCE_TITLE=FromDotenv\n").unwrap();
    std::fs::write(
        dir.join("custom.toml"),
        "max_status_chars = 777\nregistrations = \"approval\"\n",
    )
    .unwrap();
    let out = sluice(&dir)
        .args(["--config", "custom.toml", "config", "show"])
        .env(
            "SLUICE_DATABASE_URL",
            "postgres://user:hunter2@db.example/sluice",
        )
        .env("SLUICE_LISTEN", "127.0.0.1:9999")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("instance_title = \"FromDotenv\""), "{text}");
    assert!(text.contains("max_status_chars = 777"), "{text}");
    assert!(text.contains("registrations = \"approval\""), "{text}");
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("user:****@db.example"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    // Environment beats the file; a bad value is a clear error.
    let out = sluice(&dir)
        .args(["--config", "custom.toml", "config", "show"])
        .env("SLUICE_MAX_STATUS_CHARS", "900")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("max_status_chars = 900")
    );
    let out = sluice(&dir)
        .args(["config", "show"])
        .env("SLUICE_REGISTRATIONS", "sometimes")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid configuration"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn create_user_then_serve_on_a_unix_socket() {
    let dir = temp_dir("serve");
    let mut child = sluice(&dir)
        .args([
            "admin",
            "create-user",
            "alice",
            "--email",
            "alice@example.test",
            "--admin",
        ])
        .env("SLUICE_PUBLIC_URL", "https://social.example")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user alice"));
    // The same name again fails with a clear message.
    let mut child = sluice(&dir)
        .args([
            "admin",
            "create-user",
            "alice",
            "--email",
            "other@example.test",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ERR_TAKEN"));

    let sock = dir.join("sluice.sock");
    let mut server = sluice(&dir)
        .args(["serve", "--listen", &format!("unix:{}", sock.display())])
        .env("SLUICE_PUBLIC_URL", "https://social.example")
        .spawn()
        .unwrap();
    let started = Instant::now();
    let body = loop {
        if let Ok(mut s) = std::os::unix::net::UnixStream::connect(&sock) {
            s.write_all(b"GET /api/v1/accounts/lookup?acct=alice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
            let mut resp = String::new();
            s.read_to_string(&mut resp).unwrap();
            break resp;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    terminate(server.id());
    let status = server.wait().unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("\"url\":\"https://social.example/@alice\""),
        "{body}"
    );
    assert!(status.success(), "SIGTERM is a clean shutdown");
    assert!(dir.join("data/sluice.db").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends SIGTERM without a libc dependency.
#[cfg(unix)]
fn terminate(pid: u32) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}

#[test]
fn admin_domain_blocks_and_delivery_queue() {
    let dir = temp_dir("admin-federation");
    let run = |args: &[&str]| {
        let out = sluice(&dir).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, _) = run(&["admin", "deliveries"]);
    assert!(ok);
    assert!(stdout.contains("the delivery queue is empty"), "{stdout}");
    let (ok, stdout, _) = run(&["admin", "domain-block", "Spam.Example", "--reason", "spam"]);
    assert!(ok);
    assert_eq!(stdout.trim(), "spam.example: suspend");
    let (ok, _, stderr) = run(&["admin", "domain-block", "x.example", "--severity", "nuke"]);
    assert!(!ok);
    assert!(stderr.contains("suspend, silence or noop"), "{stderr}");
    let (ok, stdout, _) = run(&["admin", "domain-blocks"]);
    assert!(ok);
    assert_eq!(stdout.trim(), "spam.example\tsuspend\tspam");
    assert!(run(&["admin", "domain-unblock", "spam.example"]).0);
    let (ok, _, stderr) = run(&["admin", "domain-unblock", "spam.example"]);
    assert!(!ok);
    assert!(stderr.contains("not blocked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
