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
    // Errors as an admin sees them: no backtrace.
    c.current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
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
    let out = create_user(
        &dir,
        "alice",
        &["--create-database", "--admin"],
        &[("SLUICE_PUBLIC_URL", "https://social.example")],
        "a-long-password\n",
    );
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.contains("created user alice"), "{out:?}");
    // The same name again fails with a clear message.
    let out = create_user(&dir, "alice", &[], &[], "a-long-password\n");
    assert!(!out.ok);
    assert!(
        out.stderr.contains("The user name is already taken."),
        "{}",
        out.stderr
    );

    let (mut server, sock) = serve(&dir, &[("SLUICE_PUBLIC_URL", "https://social.example")]);
    let body = http_get(
        &sock,
        "/api/v1/accounts/lookup?acct=alice",
        "application/json",
    )
    .unwrap();
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
    let admin = |args: &[&str]| run(&dir, &[&["admin"][..], args].concat(), &[], "");
    let out = admin(&["--create-database", "deliveries"]);
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout.contains("the delivery queue is empty"),
        "{out:?}"
    );
    let out = admin(&["domain-block", "Spam.Example", "--reason", "spam"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "spam.example: suspend");
    let out = admin(&["domain-block", "x.example", "--severity", "nuke"]);
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("possible values: suspend, silence, noop"),
        "{}",
        out.stderr
    );
    let out = admin(&["domain-blocks"]);
    assert!(out.ok, "{out:?}");
    // A suspension shows the purge's progress.
    assert_eq!(
        out.stdout.trim(),
        "spam.example\tsuspend\tspam\tpurged 0 posts, 0 left"
    );
    let out = admin(&[
        "domain-block",
        "loud.example",
        "--severity",
        "silence",
        "--reject-reports",
        "--private-comment",
        "staff only",
    ]);
    assert!(out.ok, "{out:?}");
    let out = admin(&["domain-blocks"]);
    assert!(
        out.stdout
            .contains("loud.example\tsilence+reject_reports\t\n"),
        "{out:?}"
    );
    let out = admin(&["domain-block", "not a domain"]);
    assert!(!out.ok);
    // Every change is in the audit log.
    let out = admin(&["audit"]);
    assert!(out.stdout.contains("create_domain_block"), "{out:?}");
    assert!(admin(&["domain-unblock", "spam.example"]).ok);
    let out = admin(&["domain-unblock", "spam.example"]);
    assert!(!out.ok);
    assert!(out.stderr.contains("not blocked"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_rules() {
    let dir = temp_dir("admin-rules");
    let admin = |args: &[&str]| run(&dir, &[&["admin"][..], args].concat(), &[], "");
    let out = admin(&["--create-database", "rules", "list"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "");
    let out = admin(&["rules", "add", "Be kind", "--hint", "No harassment"]);
    assert!(out.ok, "{out:?}");
    let id = out.stdout.split('\t').next().unwrap().trim().to_string();
    assert!(admin(&["rules", "add", "No spam"]).ok);
    let out = admin(&["rules", "list"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [format!("{id}\tBe kind\t(No harassment)").as_str(), lines[1]]
    );
    assert!(lines[1].ends_with("\tNo spam"), "{lines:?}");
    let out = admin(&["rules", "add", ""]);
    assert!(!out.ok);
    assert!(admin(&["rules", "remove", &id]).ok);
    let out = admin(&["rules", "remove", &id]);
    assert!(!out.ok);
    assert!(out.stderr.contains("no rule"), "{}", out.stderr);
    let out = admin(&["rules", "list"]);
    assert_eq!(out.stdout.lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_announcements() {
    let dir = temp_dir("admin-announce");
    let admin = |args: &[&str]| run(&dir, &[&["admin"][..], args].concat(), &[], "");
    let out = admin(&["--create-database", "announcements"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "no announcements");
    let out = admin(&[
        "announce",
        "Maintenance at 18:00\nsee https://status.example",
        "--ends-at",
        "2099-01-01T00:00:00Z",
    ]);
    assert!(out.ok, "{out:?}");
    let id = out
        .stdout
        .trim()
        .strip_prefix("announced (id ")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{out:?}"))
        .to_string();
    let out = admin(&["announcements"]);
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.starts_with(&id), "{}", out.stdout);
    assert!(
        out.stdout.contains("until 2099-01-01T00:00:00.000Z"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("    see https://status.example"),
        "{}",
        out.stdout
    );
    // Bad input says why and writes nothing.
    let out = admin(&["announce", "x", "--starts-at", "soon"]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("--starts-at is not an RFC 3339 time"),
        "{}",
        out.stderr
    );
    let out = admin(&["announce", "   "]);
    assert!(!out.ok);
    assert!(out.stderr.contains("needs a text"), "{}", out.stderr);
    assert!(admin(&["unannounce", &id]).ok);
    let out = admin(&["unannounce", &id]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("there is no announcement"),
        "{}",
        out.stderr
    );
    assert_eq!(admin(&["announcements"]).stdout.trim(), "no announcements");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sluice admin emoji add|list|remove`: images checked like uploads (PNG, GIF,
/// WebP), written under the media directory, removed with their file.
#[test]
fn admin_roles_and_the_audit_log() {
    let dir = temp_dir("admin-roles");
    let admin = |args: &[&str]| run(&dir, &[&["admin"][..], args].concat(), &[], "");
    let out = create_user(&dir, "mo", &["--create-database"], &[], "a-long-password\n");
    assert!(out.ok, "{out:?}");
    let out = admin(&["audit"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "the audit log is empty");
    let out = admin(&["imports"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "no imports");
    let out = admin(&["imports", "--limit", "0"]);
    assert!(!out.ok);
    let out = admin(&["accounts", "role", "mo", "moderator"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "mo is now moderator");
    let out = admin(&["accounts", "role", "mo", "owner"]);
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("possible values: user, moderator, admin"),
        "{}",
        out.stderr
    );
    let out = admin(&["accounts", "role", "nobody", "admin"]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("no local user nobody"),
        "{}",
        out.stderr
    );
    let out = admin(&["audit"]);
    assert!(out.ok, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    assert!(
        lines[0].ends_with("(command line)  set_role  account mo  \"moderator\""),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sluice admin accounts list|suspend|unsuspend|silence|unsilence|delete`: each
/// action audited with the command line as its actor; delete refused unless suspended.
#[test]
fn admin_account_moderation() {
    let dir = temp_dir("admin-moderation");
    let admin = |args: &[&str]| run(&dir, &[&["admin"][..], args].concat(), &[], "");
    let out = create_user(&dir, "mo", &["--create-database"], &[], "a-long-password\n");
    assert!(out.ok, "{out:?}");
    let out = create_user(&dir, "spammer", &[], &[], "a-long-password\n");
    assert!(out.ok, "{out:?}");
    let out = admin(&["accounts", "role", "mo", "moderator"]);
    assert!(out.ok, "{out:?}");

    let out = admin(&["accounts", "list"]);
    assert!(out.ok, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(lines[0].contains(" spammer  active  spammer@"), "{out:?}");
    assert!(lines[1].contains(" mo  moderator  mo@"), "{out:?}");
    let out = admin(&["accounts", "list", "--staff"]);
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");

    let out = admin(&["accounts", "delete", "spammer"]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("spammer is not suspended"),
        "{}",
        out.stderr
    );
    let out = admin(&["accounts", "silence", "spammer", "--reason", "too loud"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "spammer is silenced");
    let out = admin(&["accounts", "list", "--silenced"]);
    assert!(out.stdout.contains("spammer  silenced"), "{out:?}");
    let out = admin(&["accounts", "unsilence", "spammer"]);
    assert_eq!(out.stdout.trim(), "spammer is no longer silenced");
    let out = admin(&["accounts", "suspend", "spammer", "--reason", "spam"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "spammer is suspended");
    let out = admin(&["accounts", "list", "--suspended"]);
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    assert!(out.stdout.contains("spammer  suspended"), "{out:?}");
    let out = admin(&["accounts", "unsuspend", "spammer"]);
    assert_eq!(out.stdout.trim(), "spammer is no longer suspended");
    let out = admin(&["accounts", "suspend", "spammer"]);
    assert!(out.ok, "{out:?}");
    let out = admin(&["accounts", "delete", "spammer"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "spammer's data is deleted");
    let out = admin(&["accounts", "suspend", "nobody"]);
    assert!(!out.ok);
    assert!(out.stderr.contains("no account nobody"), "{}", out.stderr);

    let out = admin(&["audit"]);
    let actions: Vec<&str> = out
        .stdout
        .lines()
        .map(|l| l.split("  ").nth(2).unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        vec![
            "delete",
            "suspend",
            "unsuspend",
            "suspend",
            "unsilence",
            "silence",
            "set_role"
        ],
        "{out:?}"
    );
    assert!(
        out.stdout.lines().all(|l| l.contains("  (command line)  ")),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("silence  account spammer  \"too loud\""),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_emoji() {
    let dir = temp_dir("admin-emoji");
    let admin = |args: &[&str]| run(&dir, &[&["admin"][..], args].concat(), &[], "");
    let out = admin(&["--create-database", "emoji", "list"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "no custom emojis");
    let gif = dir.join("blob.gif");
    std::fs::write(&gif, b"GIF89a\x10\x00\x10\x00\x80\x00\x00;").unwrap();
    let out = admin(&[
        "emoji",
        "add",
        "blob_cat",
        gif.to_str().unwrap(),
        "--category",
        "Cats",
    ]);
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout.starts_with("added :blob_cat: ("),
        "{}",
        out.stdout
    );
    let out = admin(&["emoji", "list"]);
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.starts_with(":blob_cat:  "), "{}", out.stdout);
    assert!(out.stdout.contains("/media/"), "{}", out.stdout);
    assert!(out.stdout.contains("[Cats]"), "{}", out.stdout);
    let files = || {
        std::fs::read_dir(dir.join("data/media"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.path().extension().is_some_and(|x| x == "gif"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(files(), 1);
    // Bad input says why and writes nothing.
    let out = admin(&["emoji", "add", "blob_cat", gif.to_str().unwrap()]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("already an emoji :blob_cat:"),
        "{}",
        out.stderr
    );
    let out = admin(&["emoji", "add", "x", gif.to_str().unwrap()]);
    assert!(!out.ok);
    assert!(out.stderr.contains("shortcode"), "{}", out.stderr);
    let text = dir.join("not-an-image.png");
    std::fs::write(&text, b"<svg xmlns='http://www.w3.org/2000/svg'/>").unwrap();
    let out = admin(&["emoji", "add", "svg", text.to_str().unwrap()]);
    assert!(!out.ok);
    assert!(out.stderr.contains("PNG, GIF or WebP"), "{}", out.stderr);
    let big = dir.join("big.gif");
    let mut bytes = b"GIF89a\x10\x00\x10\x00\x80\x00\x00".to_vec();
    bytes.resize(256 * 1024 + 1, 0);
    std::fs::write(&big, bytes).unwrap();
    let out = admin(&["emoji", "add", "big", big.to_str().unwrap()]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("larger than 262144 bytes"),
        "{}",
        out.stderr
    );
    assert_eq!(files(), 1);
    assert!(admin(&["emoji", "remove", ":blob_cat:"]).ok);
    assert_eq!(files(), 0);
    let out = admin(&["emoji", "remove", "blob_cat"]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("there is no emoji :blob_cat:"),
        "{}",
        out.stderr
    );
    assert_eq!(admin(&["emoji", "list"]).stdout.trim(), "no custom emojis");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `sluice ARGS` in `dir` with `env` added (after the test's own `SLUICE_*`
/// variables are removed) and `stdin` written to standard input: (success, stdout,
/// stderr).
fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Out {
    let mut child = sluice(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Out::from(out)
}

/// `sluice admin create-user NAME --email NAME@example.test FLAGS…`, the password on
/// standard input.
fn create_user(
    dir: &std::path::Path,
    name: &str,
    flags: &[&str],
    env: &[(&str, &str)],
    password: &str,
) -> Out {
    let email = format!("{name}@example.test");
    let args = [
        &["admin", "create-user", name, "--email", &email][..],
        flags,
    ]
    .concat();
    run(dir, &args, env, password)
}

#[derive(Debug)]
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl From<std::process::Output> for Out {
    fn from(out: std::process::Output) -> Out {
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

#[test]
fn unknown_settings_are_refused_with_the_closest_name() {
    let dir = temp_dir("unknown-settings");
    let refused = |what: &str, out: Out, name: &str, closest: &str| {
        assert!(!out.ok, "{what}: {out:?}");
        assert!(out.stderr.contains(name), "{what}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("did you mean {closest}?")),
            "{what}: {}",
            out.stderr
        );
    };
    // A typo in the file: `registration = "open"` used to leave registrations closed.
    std::fs::write(dir.join("sluice.toml"), "registration = \"open\"\n").unwrap();
    for args in [&["config", "show"][..], &["serve", "--no-supervisor"][..]] {
        let out = run(&dir, args, &[], "");
        refused("registration", out, "`registration`", "registrations");
    }
    assert!(!dir.join("data").exists(), "nothing started");
    // In a section, and a section's setting at the top level.
    std::fs::write(dir.join("sluice.toml"), "[federation]\nsend_block = true\n").unwrap();
    let out = run(&dir, &["config", "show"], &[], "");
    refused("send_block", out, "`send_block`", "federation.send_blocks");
    std::fs::write(dir.join("sluice.toml"), "send_blocks = true\n").unwrap();
    let out = run(&dir, &["config", "show"], &[], "");
    refused(
        "send_blocks",
        out,
        "`send_blocks`",
        "federation.send_blocks",
    );
    std::fs::write(
        dir.join("sluice.toml"),
        "[federations]\nsend_blocks = true\n",
    )
    .unwrap();
    let out = run(&dir, &["config", "show"], &[], "");
    refused("federations", out, "`federations`", "federation");
    std::fs::remove_file(dir.join("sluice.toml")).unwrap();

    // The same in the environment.
    let out = run(
        &dir,
        &["config", "show"],
        &[("SLUICE_REGISTRATION", "open")],
        "",
    );
    refused("env", out, "SLUICE_REGISTRATION ", "SLUICE_REGISTRATIONS");
    let out = run(
        &dir,
        &["config", "show"],
        &[("SLUICE_FEDERATION_SEND_BLOCK", "true")],
        "",
    );
    refused(
        "env section",
        out,
        "SLUICE_FEDERATION_SEND_BLOCK ",
        "SLUICE_FEDERATION_SEND_BLOCKS",
    );
    // Variables that are not settings but belong to Sluice's tests, scripts and
    // supervisor pass.
    let out = run(
        &dir,
        &["config", "show"],
        &[
            ("SLUICE_TEST_DATABASE_URL", "postgres://x@127.0.0.1/y"),
            ("SLUICE_TEST_LOG", "warn"),
            ("SLUICE_BIN", "/bin/true"),
            ("SLUICE_BASE_URL", "http://127.0.0.1:1"),
            ("SLUICE_LOADTEST_TOKEN", "t"),
            ("SLUICE_BENCH_TOKEN", "t"),
            ("SLUICE_CONFIG", ""),
            ("SLUICE_REGISTRATIONS", "open"),
        ],
        "",
    );
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.contains("registrations = \"open\""), "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_show_prints_every_section() {
    let dir = temp_dir("config-sections");
    std::fs::write(
        dir.join("sluice.toml"),
        "[federation]\ndelivery_concurrency = 7\n",
    )
    .unwrap();
    let out = run(
        &dir,
        &["config", "show"],
        &[("SLUICE_FEDERATION_SEND_BLOCKS", "true")],
        "",
    );
    assert!(out.ok, "{out:?}");
    let federation = out
        .stdout
        .split_once("\n[federation]\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no [federation] section: {}", out.stdout));
    assert!(federation.contains("send_blocks = true\n"), "{federation}");
    assert!(
        federation.contains("delivery_concurrency = 7\n"),
        "{federation}"
    );
    assert!(
        federation.contains("breaker_threshold = 10\n"),
        "{federation}"
    );
    // What it prints is a configuration file Sluice reads back.
    std::fs::write(dir.join("shown.toml"), &out.stdout).unwrap();
    let again = run(&dir, &["--config", "shown.toml", "config", "show"], &[], "");
    assert!(again.ok, "{again:?}");
    assert!(again.stdout.contains("send_blocks = true\n"), "{again:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_commands_need_an_existing_database() {
    let dir = temp_dir("admin-database");
    let out = run(&dir, &["admin", "domain-blocks"], &[], "");
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr
            .contains("no Sluice database at sqlite://./data/sluice.db"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--create-database"), "{}", out.stderr);
    let out = create_user(&dir, "alice", &[], &[], "a-long-password\n");
    assert!(!out.ok, "{out:?}");
    let out = run(&dir, &["migrate"], &[], "");
    assert!(!out.ok, "{out:?}");
    assert!(!dir.join("data").exists(), "nothing was created");

    // Asked to, a command creates it, and says so; afterwards it names the one it opened.
    let out = run(
        &dir,
        &["admin", "domain-blocks", "--create-database"],
        &[],
        "",
    );
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr
            .contains("database: sqlite://./data/sluice.db (created)"),
        "{}",
        out.stderr
    );
    let out = run(&dir, &["admin", "domain-blocks"], &[], "");
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr.contains("database: sqlite://./data/sluice.db\n"),
        "{}",
        out.stderr
    );
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let data = dir.join("data");
    let out = run(
        &elsewhere,
        &["admin", "domain-blocks"],
        &[("SLUICE_DATA_DIR", data.to_str().unwrap())],
        "",
    );
    assert!(out.ok, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "database: sqlite://{}",
            data.join("sluice.db").display()
        )),
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `sluice serve` on a unix socket in `dir` and waits until it answers.
#[cfg(unix)]
fn serve(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, std::path::PathBuf) {
    let sock = dir.join("sluice.sock");
    let _ = std::fs::remove_file(&sock);
    let mut server = sluice(dir)
        .args(["serve", "--listen", &format!("unix:{}", sock.display())])
        .envs(env.iter().copied())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while http_get(&sock, "/api/v1/instance", "application/json").is_none() {
        if let Some(status) = server.try_wait().unwrap() {
            panic!("the server exited: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, sock)
}

/// One GET over a unix socket: the whole response, or None when nothing listens.
#[cfg(unix)]
fn http_get(sock: &std::path::Path, path: &str, accept: &str) -> Option<String> {
    let mut s = std::os::unix::net::UnixStream::connect(sock).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nAccept: {accept}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    Some(resp)
}

#[cfg(unix)]
#[test]
fn the_public_url_is_recorded_at_first_start_and_kept() {
    let dir = temp_dir("public-url");
    // The server's settings live elsewhere (a systemd unit, say); its first start
    // records its public URL.
    let server_env = [("SLUICE_PUBLIC_URL", "https://social.example")];
    let (mut server, _) = serve(&dir, &server_env);
    terminate(server.id());
    assert!(server.wait().unwrap().success());

    // An admin in a shell, without the server's SLUICE_PUBLIC_URL.
    let out = create_user(&dir, "alice", &[], &[], "a-long-password\n");
    assert!(out.ok, "{out:?}");
    let out = run(&dir, &["admin", "instance"], &[], "");
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout
            .contains("public URL      https://social.example (recorded "),
        "{}",
        out.stdout
    );

    // Another public URL is refused, with the reason, by the server and by commands.
    let mut refused = sluice(&dir)
        .args([
            "serve",
            "--listen",
            &format!("unix:{}", dir.join("other.sock").display()),
        ])
        .env("SLUICE_PUBLIC_URL", "https://other.example")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while refused.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = refused.kill();
            panic!("a server with another public URL started");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Out::from(refused.wait_with_output().unwrap());
    assert!(!out.ok, "{out:?}");
    for needle in [
        "https://social.example",
        "https://other.example",
        "cannot be changed",
        "every account, post and follow",
    ] {
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    let out = run(
        &dir,
        &["admin", "domain-blocks"],
        &[("SLUICE_PUBLIC_URL", "https://other.example/")],
        "",
    );
    assert!(!out.ok, "{out:?}");
    assert!(out.stderr.contains("cannot be changed"), "{}", out.stderr);
    // The same URL written differently is the same URL.
    let out = run(
        &dir,
        &["admin", "domain-blocks"],
        &[("SLUICE_PUBLIC_URL", "https://Social.Example/")],
        "",
    );
    assert!(out.ok, "{out:?}");

    // Alice's id is under the instance's URL; a server started without it serves
    // under the recorded one.
    let (mut server, sock) = serve(&dir, &[]);
    let actor = http_get(&sock, "/users/alice", "application/activity+json").unwrap();
    terminate(server.id());
    assert!(server.wait().unwrap().success());
    assert!(actor.starts_with("HTTP/1.1 200"), "{actor}");
    assert!(
        actor.contains("\"id\":\"https://social.example/users/alice\""),
        "{actor}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn password_errors_are_sentences() {
    let dir = temp_dir("password-errors");
    let out = create_user(&dir, "alice", &["--create-database"], &[], "short\n");
    refused_as_too_short(&out);
    assert!(
        !out.stderr.contains('{') && !out.stderr.contains("ERR_"),
        "{}",
        out.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The command failed, saying in a sentence that the password is too short.
#[track_caller]
fn refused_as_too_short(out: &Out) {
    assert!(!out.ok, "{out:?}");
    assert!(
        out.stderr
            .contains("The password must be between 8 and 72 characters."),
        "{}",
        out.stderr
    );
}

/// A pseudo-terminal: (the controlling side, the terminal a child gets as stdin).
#[cfg(target_os = "linux")]
fn pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    // SAFETY: plain libc calls on a descriptor this function owns; the name buffer is
    // large enough and NUL-terminated by ptsname_r.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_str()
            .unwrap()
            .to_owned();
        let terminal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)
            .unwrap();
        (std::fs::File::from_raw_fd(master), terminal)
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_password_typed_at_a_terminal_is_asked_twice() {
    let dir = temp_dir("password-twice");
    let at_terminal = |name: &str, typed: &str| {
        let (mut master, terminal) = pty();
        let child = sluice(&dir)
            .args([
                "admin",
                "--create-database",
                "create-user",
                name,
                "--email",
                &format!("{name}@example.test"),
            ])
            .stdin(Stdio::from(terminal))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        master.write_all(typed.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        Out::from(out)
    };
    let out = at_terminal("alice", "a-long-password\na-long-passwort\n");
    assert!(!out.ok, "{out:?}");
    assert!(out.stderr.contains("Password again: "), "{}", out.stderr);
    assert!(
        out.stderr.contains("the two passwords differ"),
        "{}",
        out.stderr
    );
    let out = at_terminal("bob", "a-long-password\na-long-password\n");
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.contains("created user bob"), "{}", out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_every_command_and_the_allowed_values() {
    let dir = temp_dir("help");
    let out = run(&dir, &["--help"], &[], "");
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.contains("\n  stamp "), "{}", out.stdout);
    let out = run(&dir, &["admin", "domain-block", "--help"], &[], "");
    assert!(out.ok, "{out:?}");
    assert!(out.stdout.contains("Possible values:"), "{}", out.stdout);
    for value in ["suspend", "silence", "noop"] {
        assert!(
            out.stdout.contains(&format!("- {value}: ")),
            "{}",
            out.stdout
        );
    }
    let out = run(&dir, &["admin", "create-user", "--help"], &[], "");
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout.contains("letters, digits and _"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("8 to 72 characters"), "{}", out.stdout);
    assert!(!dir.join("data").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// One request over a unix socket, with `headers` (`Name: value` lines) and a form
/// body: the status and the whole response (None when nothing listens).
#[cfg(unix)]
fn http_form(
    sock: &std::path::Path,
    method: &str,
    path: &str,
    headers: &[String],
    form: &[(&str, &str)],
) -> Option<(u16, String)> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    let mut s = std::os::unix::net::UnixStream::connect(sock).ok()?;
    s.write_all(format!("{head}\r\n{body}").as_bytes()).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.get(9..12)?.parse().ok()?;
    Some((status, resp))
}

/// The string value of `"key":"…"` in a JSON answer.
fn json_string(text: &str, key: &str) -> String {
    let start = text
        .find(&format!("\"{key}\":\""))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        + key.len()
        + 4;
    let len = text[start..].find('"').unwrap();
    text[start..start + len].to_string()
}

/// `sluice admin accounts reset-password`: the new password (read as create-user reads
/// it) works and the old one does not, the account's tokens are revoked (it is signed
/// out everywhere, as Mastodon's reset does), and the account's sign-in failures are
/// forgotten, so an address that was being slowed signs in at once.
#[cfg(unix)]
fn reset_password_scenario(dir: &std::path::Path, env: &[(&str, &str)]) {
    let out = create_user(
        dir,
        "alice",
        &["--create-database"],
        env,
        "first-password\n",
    );
    assert!(out.ok, "{out:?}");
    let (server, sock) = serve(dir, env);
    let mut server = Stopped(server);
    let request = |method: &str, path: &str, headers: &[String], form: &[(&str, &str)]| {
        http_form(&sock, method, path, headers, form).expect("the server answers")
    };
    let (status, app) = request(
        "POST",
        "/api/v1/apps",
        &[],
        &[
            ("client_name", "cli test"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read"),
        ],
    );
    assert_eq!(status, 200, "{app}");
    let (client_id, client_secret) = (
        json_string(&app, "client_id"),
        json_string(&app, "client_secret"),
    );
    // A password grant from `ip` (the server trusts its unix socket's forwarding).
    let sign_in = |ip: &str, password: &str| {
        request(
            "POST",
            "/oauth/token",
            &[format!("X-Forwarded-For: {ip}")],
            &[
                ("grant_type", "password"),
                ("username", "alice@example.test"),
                ("password", password),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("scope", "read"),
            ],
        )
    };
    let verify = |token: &str| {
        request(
            "GET",
            "/api/v1/accounts/verify_credentials",
            &[format!("Authorization: Bearer {token}")],
            &[],
        )
        .0
    };
    let (status, answer) = sign_in("192.0.2.1", "first-password");
    assert_eq!(status, 200, "{answer}");
    let token = json_string(&answer, "access_token");
    assert_eq!(verify(&token), 200);
    // Someone guesses from another address until it is slowed.
    for _ in 0..5 {
        assert_eq!(sign_in("198.51.100.7", "a-wrong-guess").0, 400);
    }
    assert_eq!(sign_in("198.51.100.7", "first-password").0, 429);

    // Refusals first: no such user, a password too short; nothing changes.
    let reset = |name: &str, password: &str| {
        run(
            dir,
            &["admin", "accounts", "reset-password", name],
            env,
            password,
        )
    };
    let out = reset("bob", "second-password\n");
    assert!(!out.ok, "{out:?}");
    assert!(out.stderr.contains("no local user bob"), "{}", out.stderr);
    refused_as_too_short(&reset("alice", "short\n"));
    assert_eq!(verify(&token), 200);

    let out = reset("alice", "second-password\n");
    assert!(out.ok, "{out:?}");
    assert!(
        out.stdout.contains("alice's password was changed"),
        "{}",
        out.stdout
    );
    // Signed out everywhere (the server may go on trusting a session it checked in
    // the last seconds: sessions are cached for 10 s).
    let started = Instant::now();
    while verify(&token) != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the old token still works"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The address that was slowed is not any more; the old password is refused.
    assert_eq!(sign_in("198.51.100.7", "first-password").0, 400);
    let (status, answer) = sign_in("198.51.100.7", "second-password");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(verify(&json_string(&answer, "access_token")), 200);
    terminate(server.0.id());
    assert!(server.0.wait().unwrap().success());
}

/// `sluice admin reports list|resolve`: a report filed through the API is listed
/// (id, reporter, reported account, category, age, state), resolved from the command
/// line with a note (recorded in the audit log as the command line's), and then listed
/// only with `--all`.
#[cfg(unix)]
fn admin_reports_scenario(dir: &std::path::Path, env: &[(&str, &str)]) {
    let admin = |args: &[&str]| run(dir, &[&["admin"][..], args].concat(), env, "");
    for (name, flags) in [("alice", &["--create-database"][..]), ("bob", &[][..])] {
        let out = create_user(dir, name, flags, env, "a-long-password\n");
        assert!(out.ok, "{out:?}");
    }
    let out = admin(&["reports", "list"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), "no open reports");

    let (server, sock) = serve(dir, env);
    let mut server = Stopped(server);
    let request = |method: &str, path: &str, headers: &[String], form: &[(&str, &str)]| {
        http_form(&sock, method, path, headers, form).expect("the server answers")
    };
    let (status, app) = request(
        "POST",
        "/api/v1/apps",
        &[],
        &[
            ("client_name", "cli test"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "write:reports"),
        ],
    );
    assert_eq!(status, 200, "{app}");
    let (status, answer) = request(
        "POST",
        "/oauth/token",
        &[],
        &[
            ("grant_type", "password"),
            ("username", "bob@example.test"),
            ("password", "a-long-password"),
            ("client_id", &json_string(&app, "client_id")),
            ("client_secret", &json_string(&app, "client_secret")),
            ("scope", "write:reports"),
        ],
    );
    assert_eq!(status, 200, "{answer}");
    let token = json_string(&answer, "access_token");
    let alice = http_get(
        &sock,
        "/api/v1/accounts/lookup?acct=alice",
        "application/json",
    )
    .expect("the server answers");
    let alice_id = json_string(&alice, "id");
    let (status, filed) = request(
        "POST",
        "/api/v1/reports",
        &[format!("Authorization: Bearer {token}")],
        &[
            ("account_id", &alice_id),
            ("category", "spam"),
            ("comment", "buy now"),
        ],
    );
    assert_eq!(status, 200, "{filed}");
    let id = json_string(&filed, "id");
    terminate(server.0.id());
    assert!(server.0.wait().unwrap().success());

    let out = admin(&["reports", "list"]);
    assert!(out.ok, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    let fields: Vec<&str> = lines[0].split("  ").collect();
    assert_eq!(fields[0], id);
    assert_eq!(&fields[1..4], ["bob", "alice", "spam"], "{out:?}");
    assert!(
        fields[4].ends_with('s') || fields[4].ends_with('m'),
        "{out:?}"
    );
    assert_eq!(fields[5], "open");

    let out = admin(&["reports", "resolve", "4242"]);
    assert!(!out.ok);
    assert!(out.stderr.contains("no report 4242"), "{}", out.stderr);
    let out = admin(&["reports", "resolve", &id, "--note", "spam removed"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(out.stdout.trim(), format!("report {id} is resolved"));
    let out = admin(&["reports", "list"]);
    assert_eq!(out.stdout.trim(), "no open reports", "{out:?}");
    let out = admin(&["reports", "list", "--all"]);
    assert!(out.stdout.trim().ends_with("resolved"), "{out:?}");
    let out = admin(&["audit"]);
    assert!(
        out.stdout.lines().next().unwrap().ends_with(&format!(
            "(command line)  resolve_report  report #{id} about alice  \"spam removed\""
        )),
        "{out:?}"
    );
}

#[cfg(unix)]
#[test]
fn admin_reports_list_and_resolve_on_sqlite() {
    let dir = temp_dir("admin-reports");
    admin_reports_scenario(&dir, &[]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn admin_reports_list_and_resolve_on_postgres() {
    let Ok(base) = std::env::var("SLUICE_TEST_DATABASE_URL") else {
        eprintln!("skipped: SLUICE_TEST_DATABASE_URL is not set");
        return;
    };
    on_postgres_schema(
        &base,
        "cli_reports",
        "admin-reports-pg",
        admin_reports_scenario,
    );
}

/// Runs `scenario` against PostgreSQL (`base`) in a schema of its own, made for it
/// and dropped after it, whatever the outcome, with a fresh data directory.
#[cfg(unix)]
fn on_postgres_schema(
    base: &str,
    name: &str,
    label: &str,
    scenario: fn(&std::path::Path, &[(&str, &str)]),
) {
    let dir = temp_dir(label);
    let schema = format!("{name}_{}", std::process::id());
    let pg = |sql: String| {
        let base = base.to_string();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            })
    };
    pg(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ));
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let outcome =
        std::panic::catch_unwind(|| scenario(&dir, &[("SLUICE_DATABASE_URL", url.as_str())]));
    pg(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A server process killed when the test ends, however it ends.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[test]
fn reset_password_on_sqlite() {
    let dir = temp_dir("reset-password");
    reset_password_scenario(&dir, &[]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn reset_password_on_postgres() {
    let Ok(base) = std::env::var("SLUICE_TEST_DATABASE_URL") else {
        eprintln!("skipped: SLUICE_TEST_DATABASE_URL is not set");
        return;
    };
    on_postgres_schema(
        &base,
        "cli_reset",
        "reset-password-pg",
        reset_password_scenario,
    );
}
