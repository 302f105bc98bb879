//! `sluice`: the command line. `serve` runs the server; `config show` prints the
//! effective configuration; `migrate` applies migrations; `admin` manages users, domain
//! blocks, backups and upgrades. The benchmarks' tools (seeding, load generators) are
//! another binary, `sluice-bench` (crates/bench).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sluice::{Config, Listener};
use sluice_engine::Engine;
use sluice_engine::accounts::Registration;
use sluice_engine::admin_accounts::{AccountAction, ActionRequest, Undo};

#[derive(Parser)]
#[command(name = "sluice", version, about = "A federated social server")]
struct Cli {
    /// A TOML configuration file (default: $SLUICE_CONFIG, or ./sluice.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on: HOST:PORT or unix:/path (overrides SLUICE_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Serving processes under the supervisor, 1 or more (overrides SLUICE_WORKERS).
        #[arg(long)]
        workers: Option<usize>,
        /// Serve in this process, without a supervisor (no restarts, no upgrades).
        #[arg(long)]
        no_supervisor: bool,
    },
    /// Print this binary's compatibility stamp (JSON: protocol, schema versions,
    /// build), which a supervisor reads before upgrading to it.
    Stamp,
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        /// Create the database if it does not exist yet (refused otherwise).
        #[arg(long)]
        create_database: bool,
    },
    /// Administration. Each command says on standard error which database it opened,
    /// and refuses to run where there is none.
    Admin {
        /// Create the database if it does not exist yet, for a new instance. Without
        /// it, a command run without the server's settings (another directory, no
        /// SLUICE_DATA_DIR or SLUICE_DATABASE_URL) stops instead of creating an empty
        /// instance of its own.
        #[arg(long, global = true)]
        create_database: bool,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, every section, secrets masked.
    Show,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a local user. The password (8 to 72 characters) is asked for twice at a
    /// prompt, or read from one line of standard input when it is not a terminal. The
    /// first account created records the instance's public URL, as the server's first
    /// start does.
    CreateUser {
        /// The user name: ASCII letters, digits and _, at most 30 characters.
        name: String,
        /// The user's e-mail address (they sign in with it).
        #[arg(long)]
        email: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Local accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// The instance's rules (`/api/v1/instance/rules`, shown at sign-up and on the
    /// about page). Recorded in the audit log.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Show the instance: its public URL (recorded at the first start; every id is
    /// under it) and its database's schema version.
    Instance,
    /// Upgrade a running server to the binary now on disk (SIGUSR2 to its supervisor)
    /// and wait for the outcome.
    Upgrade {
        /// Clear the state left by a failed upgrade, which refuses further upgrades.
        #[arg(long)]
        reset: bool,
    },
    /// Copy the SQLite database, consistent, while the server runs (SQLite's online
    /// backup, in small steps; the copy passes an integrity check). Media files and
    /// settings are not in it. PostgreSQL: use pg_dump (the command says how).
    Backup {
        /// The new file to write (must not exist).
        file: PathBuf,
    },
    /// Approve a user who registered while registrations required approval.
    ApproveUser {
        /// The local user's name.
        name: String,
    },
    /// Show the delivery queue per remote host: pending, failing, expired, next attempt,
    /// last error, and whether the host's breaker is open.
    Deliveries,
    /// Block a remote domain (and its subdomains), or change its block. A suspension
    /// marks the domain's accounts suspended and their content is purged in the
    /// background (progress: domain-blocks). Recorded in the audit log.
    DomainBlock {
        /// A domain name, like example.com (no scheme, no path).
        domain: String,
        /// What the block does.
        #[arg(long, value_enum, default_value_t = Severity::Suspend)]
        severity: Severity,
        /// Also refuse the domain's media.
        #[arg(long)]
        reject_media: bool,
        /// Also ignore the domain's reports.
        #[arg(long)]
        reject_reports: bool,
        /// The public comment (shown by /api/v1/instance/domain_blocks when configured).
        #[arg(long, default_value = "")]
        reason: String,
        /// A comment only staff read.
        #[arg(long, default_value = "")]
        private_comment: String,
    },
    /// Lift a domain block.
    DomainUnblock {
        /// The blocked domain, as domain-blocks lists it.
        domain: String,
    },
    /// List domain blocks.
    DomainBlocks,
    /// Announce something to every local user: apps show it above the home timeline
    /// until the user dismisses it, or until --ends-at.
    Announce {
        /// The text (plain text; links and hashtags become links).
        text: String,
        /// When the announced event starts (RFC 3339, like 2026-12-24T18:00:00Z).
        #[arg(long)]
        starts_at: Option<String>,
        /// When it ends; the announcement is no longer shown after it.
        #[arg(long)]
        ends_at: Option<String>,
        /// The times are whole days (apps show dates only).
        #[arg(long)]
        all_day: bool,
    },
    /// List announcements, newest first, with their ids.
    Announcements,
    /// Remove an announcement (with its reactions and dismissals).
    Unannounce {
        /// The announcement's id, as announcements lists it.
        id: i64,
    },
    /// The audit log: what moderators did, newest first (who, what, on what, when,
    /// why).
    Audit {
        /// How many entries to show.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Reports: list them, resolve one.
    Reports {
        #[command(subcommand)]
        command: ReportsCommand,
    },
    /// CSV imports (`/settings/import`), newest first, with their progress
    /// (rows done of all, a bar, rows not imported).
    Imports {
        /// How many imports to show.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Custom emoji: images shown for `:shortcode:` in posts, names and bios.
    Emoji {
        #[command(subcommand)]
        command: EmojiCommand,
    },
}

#[derive(Subcommand)]
enum ReportsCommand {
    /// The open reports, newest first (id, reporter, reported account, category, age,
    /// state).
    List {
        /// Resolved reports too.
        #[arg(long)]
        all: bool,
        /// How many reports to show.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Resolve a report (recorded in the audit log, as done by the command line).
    Resolve {
        /// The report's id, as `list` shows it.
        id: i64,
        /// Why, or how it was handled (kept in the audit log).
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand)]
enum EmojiCommand {
    /// Add a custom emoji from an image file (PNG, GIF or WebP, at most 256 KiB).
    Add {
        /// The shortcode, without colons: 2 or more letters, digits or underscores.
        shortcode: String,
        /// The image file.
        file: PathBuf,
        /// The category apps group it under in their pickers.
        #[arg(long, default_value = "")]
        category: String,
    },
    /// Remove a custom emoji (and its image file).
    Remove {
        /// The shortcode, without colons.
        shortcode: String,
    },
    /// List the custom emojis.
    List,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List the rules, in their order, with their ids.
    List,
    /// Add a rule at the end.
    Add {
        /// The rule (at most 300 characters).
        text: String,
        /// A longer explanation.
        #[arg(long, default_value = "")]
        hint: String,
    },
    /// Remove a rule.
    Remove {
        /// The rule's id, as `list` shows it.
        id: i64,
    },
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Set a local user's password (8 to 72 characters), asked for twice at a prompt,
    /// or read from one line of standard input when it is not a terminal. The user is
    /// signed out everywhere (every app's token is revoked), and the account's failed
    /// sign-ins are forgotten, so nobody is kept waiting.
    ResetPassword {
        /// The local user's name.
        name: String,
    },
    /// Turn two-factor sign-in off for a local user who lost both their authenticator
    /// app and their recovery codes: the password alone signs in again. The user's web
    /// sessions are ended; they can turn two-factor sign-in on again in the settings.
    DisableTwoFactor {
        /// The local user's name.
        name: String,
    },
    /// Give a local user a role: `user`, `moderator` (handles reports and users) or
    /// `admin` (everything, roles included). Recorded in the audit log.
    Role {
        /// The local user's name.
        name: String,
        /// The new role.
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// List accounts, newest first, with their state (every account, or only those
    /// asked for).
    List {
        /// Only local users waiting for approval.
        #[arg(long)]
        pending: bool,
        /// Only suspended accounts.
        #[arg(long)]
        suspended: bool,
        /// Only silenced (limited) accounts.
        #[arg(long)]
        silenced: bool,
        /// Only moderators and admins.
        #[arg(long)]
        staff: bool,
        /// How many to show.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Suspend an account (`name`, or `name@domain` for a remote one): its profile and
    /// posts are hidden, a local user is signed out and cannot sign in, and its
    /// followers' servers are told. Its data is kept 30 days, then deleted.
    Suspend {
        /// `name` or `name@domain`.
        name: String,
        /// Why (recorded in the audit log and the account's warnings).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lift a suspension within the 30 days its data is kept.
    Unsuspend {
        /// `name` or `name@domain`.
        name: String,
    },
    /// Silence (limit) an account: its posts are kept out of public timelines, trends
    /// and search, and its notifications reach only its followers.
    Silence {
        /// `name` or `name@domain`.
        name: String,
        /// Why (recorded in the audit log and the account's warnings).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lift a silence.
    Unsilence {
        /// `name` or `name@domain`.
        name: String,
    },
    /// Delete a suspended account's data now (refused unless it is suspended).
    Delete {
        /// `name` or `name@domain`.
        name: String,
    },
}

/// `admin accounts role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum RoleArg {
    /// No moderation rights.
    User,
    /// Handles reports and users (Mastodon's default moderator permissions).
    Moderator,
    /// Every permission, roles included.
    Admin,
}

/// `admin domain-block --severity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Severity {
    /// Nothing is fetched from or delivered to the domain; its activities are dropped.
    Suspend,
    /// Its posts are kept out of public timelines, and its notifications away from
    /// those who do not follow its accounts.
    Silence,
    /// Nothing but what --reject-media adds.
    Noop,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Severity::Suspend => "suspend",
            Severity::Silence => "silence",
            Severity::Noop => "noop",
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.clone())?;
    sluice::logging::init(&config.log)?;
    #[cfg(unix)]
    sluice::supervisor::take_id_slot();
    limit_malloc_arenas();
    #[cfg(unix)]
    if let Command::Serve {
        listen,
        workers,
        no_supervisor: false,
    } = &cli.command
        && std::env::var_os(sluice::supervisor::ENV_LISTEN_FD).is_none()
    {
        if let Some(l) = listen {
            config.listen = l.clone();
        }
        if let Some(w) = workers {
            config.workers = *w;
        }
        // The supervisor waits on signals, timers and its children, nothing else: one
        // thread is enough, and it keeps the supervisor's share of the server's memory
        // small (docs/benchmarks.md, "Memory of the whole server").
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(sluice::supervisor::run(
                &config,
                cli.config.clone(),
                config.workers,
            ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve {
            listen,
            workers,
            no_supervisor,
        } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if let Some(w) = workers {
                config.workers = w;
            }
            // Under a supervisor (handled above), or without one (`--no-supervisor`).
            let _ = no_supervisor;
            runtime.block_on(serve(config, cli.config.clone()))
        }
        Command::Stamp => {
            #[cfg(unix)]
            println!(
                "{}",
                serde_json::to_string(&sluice::supervisor::Stamp::ours())?
            );
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            print!("{}", config.show());
            Ok(())
        }
        Command::Migrate { create_database } => runtime.block_on(async {
            let store = sluice::open_existing_store(&config, missing(create_database)).await?;
            println!("schema version {}", store.schema_version().await?);
            store.close().await;
            Ok(())
        }),
        Command::Admin {
            create_database,
            command,
        } => runtime.block_on(admin(config, command, missing(create_database))),
    }
}

fn missing(create_database: bool) -> sluice::MissingDatabase {
    if create_database {
        sluice::MissingDatabase::Create
    } else {
        sluice::MissingDatabase::Refuse
    }
}

/// glibc gives every thread that allocates its own arena (up to 8 per core). Memory
/// freed by one thread stays in the arena of another, and a server that sets up
/// thousands of streaming connections at once on several threads ends up with half of
/// its heap in free fragments: measured here, 8 KiB of RSS per SSE connection with the
/// default, under 4 KiB with two arenas (docs/benchmarks.md, "Streaming"). Two keep
/// lock contention low on this many threads. `MALLOC_ARENA_MAX` in the environment
/// still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any other
        // thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

async fn serve(config: Config, config_file: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if let Some((soft, hard)) = sluice::raise_open_files_limit() {
        tracing::info!(soft, hard, "open files limit (one per connection)");
    }
    #[cfg(unix)]
    let running = match sluice::supervisor::inherited()? {
        Some((listener, metrics)) => sluice::start_inherited(&config, listener, metrics).await?,
        None => sluice::start(&config, Listener::bind(&config.listen).await?).await?,
    };
    #[cfg(not(unix))]
    let running = sluice::start(&config, Listener::bind(&config.listen).await?).await?;
    tracing::info!(
        listen = %config.listen,
        url = %running.url,
        database = %sluice::config::mask_url_password(&config.database_url()),
        ready_ms = started.elapsed().as_millis() as u64,
        "sluice is ready"
    );
    #[cfg(unix)]
    sluice::supervisor::report_ready();
    #[cfg(unix)]
    tokio::spawn(reload_on_hangup(running.reloader(), config_file));
    #[cfg(not(unix))]
    let _ = config_file;
    let stop = running.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop.send(true);
    });
    running.wait().await
}

/// `SIGHUP`: reads the configuration again (file and environment) and applies what can
/// change while serving ([`sluice::RELOADABLE`]); a configuration that does not load
/// changes nothing.
#[cfg(unix)]
async fn reload_on_hangup(running: sluice::Reloader, config_file: Option<std::path::PathBuf>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        match Config::load(config_file.clone()).and_then(|c| running.reload(&c).map(|()| c)) {
            Ok(c) => tracing::info!(
                "SIGHUP: settings reloaded {}",
                sluice::reloadable_settings(&c)
            ),
            Err(e) => tracing::error!(error = %e, "SIGHUP: the settings were not reloaded"),
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            // A test-only switch, in debug builds only: a serving process that ignores
            // the drain, which the supervisor must kill at its deadline.
            if cfg!(debug_assertions) && std::env::var_os("SLUICE_TEST_IGNORE_SIGTERM").is_some() {
                tracing::warn!("SIGTERM ignored (SLUICE_TEST_IGNORE_SIGTERM)");
                continue;
            }
            break;
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Reads a new password: at a terminal, twice (echo off, when `stty` can turn it off),
/// so a typo does not go unseen; otherwise one line of standard input.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return non_empty_password(line);
    }
    let first = non_empty_password(prompt("Password: ")?)?;
    let again = prompt("Password again: ")?;
    if first != again.trim_end_matches(['\n', '\r']) {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

/// One line typed at the terminal, not echoed.
fn prompt(question: &str) -> anyhow::Result<String> {
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let _ = std::process::Command::new("stty").arg("-echo").status();
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    let _ = std::process::Command::new("stty").arg("echo").status();
    eprintln!();
    read.context("cannot read the password")?;
    Ok(line)
}

fn non_empty_password(line: String) -> anyhow::Result<String> {
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        anyhow::bail!("no password given (type it at the prompt or pipe it on standard input)");
    }
    Ok(pw)
}

/// A registration's field errors as sentences: `The password must be between 8 and 72
/// characters.`
fn validation_sentences(details: &serde_json::Value) -> String {
    let mut sentences = Vec::new();
    for (field, errors) in details.as_object().into_iter().flatten() {
        let name = match field.as_str() {
            "username" => "user name",
            "email" => "e-mail address",
            other => other,
        };
        for e in errors.as_array().into_iter().flatten() {
            let description = e["description"].as_str().unwrap_or("is not valid");
            sentences.push(format!("The {name} {description}."));
        }
    }
    sentences.join(" ")
}

async fn admin(
    config: Config,
    command: AdminCommand,
    missing: sluice::MissingDatabase,
) -> anyhow::Result<()> {
    if let AdminCommand::Upgrade { reset } = command {
        #[cfg(unix)]
        return sluice::supervisor::request_upgrade(&config, reset).await;
        #[cfg(not(unix))]
        anyhow::bail!("upgrades need a unix supervisor ({reset})");
    }
    if let AdminCommand::Backup { file } = &command {
        return sluice::backup::run(&config, file).await;
    }
    let store = sluice::open_existing_store(&config, missing).await?;
    // Commands that create accounts mint ids: like the server's first start, they
    // record the public URL if nothing is recorded yet.
    let identity = match command {
        AdminCommand::CreateUser { .. } => sluice::Identity::Record,
        _ => sluice::Identity::Borrow,
    };
    let engine = match sluice::build_engine(&config, store.clone(), None, identity).await {
        Ok(engine) => engine,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let result = match command {
        AdminCommand::CreateUser { name, email, admin } => {
            create_user(&engine, name, email, admin).await
        }
        AdminCommand::Deliveries => deliveries(&engine).await,
        AdminCommand::DomainBlock {
            domain,
            severity,
            reject_media,
            reject_reports,
            reason,
            private_comment,
        } => {
            let block = sluice_store::DomainBlockRow {
                severity: severity.as_str().into(),
                reject_media,
                reject_reports,
                reason,
                private_comment,
                ..Default::default()
            };
            domain_block(&engine, &domain, block).await
        }
        AdminCommand::Rules { command } => rules(&engine, command).await,
        AdminCommand::DomainUnblock { domain } => domain_unblock(&engine, &domain).await,
        AdminCommand::DomainBlocks => domain_blocks(&engine).await,
        AdminCommand::Upgrade { .. } | AdminCommand::Backup { .. } => {
            unreachable!("handled before the database opens")
        }
        AdminCommand::Instance => instance(&engine).await,
        AdminCommand::Accounts {
            command: AccountsCommand::ResetPassword { name },
        } => reset_password(&engine, &name).await,
        AdminCommand::Accounts {
            command: AccountsCommand::DisableTwoFactor { name },
        } => disable_two_factor(&engine, &name).await,
        AdminCommand::Accounts {
            command: AccountsCommand::Role { name, role },
        } => set_role(&engine, &name, role).await,
        AdminCommand::Accounts {
            command:
                AccountsCommand::List {
                    pending,
                    suspended,
                    silenced,
                    staff,
                    limit,
                },
        } => list_accounts(&engine, pending, suspended, silenced, staff, limit).await,
        AdminCommand::Accounts {
            command: AccountsCommand::Suspend { name, reason },
        } => moderate(&engine, &name, AccountAction::Suspend, &reason).await,
        AdminCommand::Accounts {
            command: AccountsCommand::Silence { name, reason },
        } => moderate(&engine, &name, AccountAction::Silence, &reason).await,
        AdminCommand::Accounts {
            command: AccountsCommand::Unsuspend { name },
        } => lift(&engine, &name, Undo::Unsuspend).await,
        AdminCommand::Accounts {
            command: AccountsCommand::Unsilence { name },
        } => lift(&engine, &name, Undo::Unsilence).await,
        AdminCommand::Accounts {
            command: AccountsCommand::Delete { name },
        } => delete_account_data(&engine, &name).await,
        AdminCommand::Audit { limit } => audit(&engine, limit).await,
        AdminCommand::Reports {
            command: ReportsCommand::List { all, limit },
        } => reports_list(&engine, all, limit).await,
        AdminCommand::Reports {
            command: ReportsCommand::Resolve { id, note },
        } => report_resolve(&engine, id, &note).await,
        AdminCommand::Imports { limit } => imports(&engine, limit).await,
        AdminCommand::ApproveUser { name } => approve_user(&engine, &name).await,
        AdminCommand::Announce {
            text,
            starts_at,
            ends_at,
            all_day,
        } => announce(&engine, text, starts_at, ends_at, all_day).await,
        AdminCommand::Announcements => announcements(&engine).await,
        AdminCommand::Emoji { command } => emoji(&engine, command).await,
        AdminCommand::Unannounce { id } => {
            if engine.remove_announcement(id).await? {
                println!("removed announcement {id}");
                Ok(())
            } else {
                Err(anyhow::anyhow!("there is no announcement {id}"))
            }
        }
    };
    engine.close().await;
    result
}

/// `admin create-user`.
async fn create_user(
    engine: &Engine,
    name: String,
    email: String,
    admin: bool,
) -> anyhow::Result<()> {
    let password = read_password()?;
    let reg = Registration {
        username: name,
        email,
        password,
        agreement: true,
        locale: "en".into(),
        reason: String::new(),
        admin,
        ip: None,
    };
    match engine.register(reg, true).await {
        Ok((account, _)) => {
            println!("created user {} (id {})", account.username, account.id);
            Ok(())
        }
        Err(sluice_engine::EngineError::Validation { details, .. }) => {
            Err(anyhow::anyhow!("{}", validation_sentences(&details)))
        }
        Err(e) => Err(e.into()),
    }
}

/// `admin announce`.
async fn announce(
    engine: &Engine,
    text: String,
    starts_at: Option<String>,
    ends_at: Option<String>,
    all_day: bool,
) -> anyhow::Result<()> {
    let time = |v: Option<String>, flag: &str| -> anyhow::Result<Option<i64>> {
        v.map(|s| {
            sluice_model::Timestamp::parse_rfc3339(s.trim())
                .map(|t| t.0)
                .ok_or_else(|| anyhow::anyhow!("{flag} is not an RFC 3339 time: {s}"))
        })
        .transpose()
    };
    let a = sluice_engine::announcements::NewAnnouncement {
        text,
        starts_at: time(starts_at, "--starts-at")?,
        ends_at: time(ends_at, "--ends-at")?,
        all_day,
    };
    let row = engine.publish_announcement(a).await?;
    println!("announced (id {})", row.id);
    Ok(())
}

/// `admin emoji`.
async fn emoji(engine: &Engine, command: EmojiCommand) -> anyhow::Result<()> {
    match command {
        EmojiCommand::Add {
            shortcode,
            file,
            category,
        } => {
            let shortcode = shortcode.trim_matches(':');
            let meta = std::fs::metadata(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            // Not read at all when far too large.
            if meta.len() > sluice_engine::emojis::EMOJI_MAX_BYTES as u64 {
                anyhow::bail!(
                    "{} is larger than {} bytes",
                    file.display(),
                    sluice_engine::emojis::EMOJI_MAX_BYTES
                );
            }
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let row = engine
                .add_custom_emoji(shortcode, bytes.into(), &category)
                .await?;
            println!("added :{}: ({})", row.shortcode, engine.emoji_url(&row));
            Ok(())
        }
        EmojiCommand::Remove { shortcode } => {
            let shortcode = shortcode.trim_matches(':');
            if engine.remove_custom_emoji(shortcode).await? {
                println!("removed :{shortcode}:");
                Ok(())
            } else {
                Err(anyhow::anyhow!("there is no emoji :{shortcode}:"))
            }
        }
        EmojiCommand::List => {
            let rows = engine.local_custom_emojis().await?;
            if rows.is_empty() {
                println!("no custom emojis");
            }
            for r in rows {
                let category = if r.category.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", r.category)
                };
                println!(":{}:  {}{category}", r.shortcode, engine.emoji_url(&r));
            }
            Ok(())
        }
    }
}

/// `admin announcements`.
async fn announcements(engine: &Engine) -> anyhow::Result<()> {
    let rows = engine.all_announcements().await?;
    if rows.is_empty() {
        println!("no announcements");
    }
    let at = |t: Option<i64>| {
        t.map(|t| sluice_model::Timestamp(t).to_rfc3339())
            .unwrap_or_else(|| "-".into())
    };
    for r in rows {
        println!(
            "{}  published {}  from {}  until {}\n    {}",
            r.id,
            sluice_model::Timestamp(r.published_at).to_rfc3339(),
            at(r.starts_at),
            at(r.ends_at),
            r.text.replace('\n', "\n    ")
        );
    }
    Ok(())
}

/// `admin deliveries`: the delivery queue per remote host.
async fn deliveries(engine: &Engine) -> anyhow::Result<()> {
    let rows = engine.delivery_stats().await?;
    if rows.is_empty() {
        println!("the delivery queue is empty");
        return Ok(());
    }
    println!(
        "{:<40} {:>8} {:>8} {:>8}  {:<24} {:<5}  last error",
        "host", "pending", "failing", "expired", "next attempt", "state"
    );
    for r in rows {
        let next = r
            .next_attempt_at
            .map(|t| sluice_model::Timestamp(t).to_rfc3339())
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<40} {:>8} {:>8} {:>8}  {:<24} {:<5}  {}",
            r.host,
            r.pending,
            r.failing,
            r.expired,
            next,
            r.host_state.as_deref().unwrap_or("up"),
            r.last_error
        );
    }
    Ok(())
}

/// `admin domain-block`.
async fn domain_block(
    engine: &Engine,
    domain: &str,
    mut block: sluice_store::DomainBlockRow,
) -> anyhow::Result<()> {
    if domain.contains('/') {
        anyhow::bail!("give a domain name, like example.com");
    }
    let Some(domain) = sluice_engine::federation_moderation::normalize_domain(domain) else {
        anyhow::bail!("give a domain name, like example.com");
    };
    block.domain = domain.clone();
    engine.set_domain_block(&block).await?;
    println!("{domain}: {}", block.severity);
    Ok(())
}

/// `admin rules`.
async fn rules(engine: &Engine, command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::List => {
            for r in engine.instance_rules().await? {
                if r.hint.is_empty() {
                    println!("{}\t{}", r.id, r.text);
                } else {
                    println!("{}\t{}\t({})", r.id, r.text, r.hint);
                }
            }
        }
        RulesCommand::Add { text, hint } => {
            let r = engine.add_rule(None, &text, &hint).await?;
            println!("{}\t{}", r.id, r.text);
        }
        RulesCommand::Remove { id } => {
            match engine.remove_rule(None, id).await {
                Err(sluice_engine::EngineError::NotFound) => anyhow::bail!("no rule {id}"),
                r => r?,
            }
            println!("{id}: removed");
        }
    }
    Ok(())
}

/// `admin domain-unblock`.
async fn domain_unblock(engine: &Engine, domain: &str) -> anyhow::Result<()> {
    if !engine.remove_domain_block(domain.trim()).await? {
        anyhow::bail!("{domain} is not blocked");
    }
    println!("{domain}: unblocked");
    Ok(())
}

/// `admin domain-blocks`: each block, and for a suspension the purge's progress.
async fn domain_blocks(engine: &Engine) -> anyhow::Result<()> {
    for b in engine.domain_blocks().await? {
        let progress = if b.severity == "suspend" {
            let p = engine.purge_progress(&b).await?;
            format!("\tpurged {} posts, {} left", p.purged, p.left)
        } else {
            String::new()
        };
        println!(
            "{}\t{}{}{}\t{}{}",
            b.domain,
            b.severity,
            if b.reject_media { "+reject_media" } else { "" },
            if b.reject_reports {
                "+reject_reports"
            } else {
                ""
            },
            b.reason,
            progress
        );
    }
    Ok(())
}

/// `admin instance`: the public URL and the schema version.
async fn instance(engine: &Engine) -> anyhow::Result<()> {
    match engine.recorded_public_url().await? {
        Some(r) => println!(
            "public URL      {} (recorded {})",
            r.value,
            sluice_model::Timestamp(r.recorded_at).to_rfc3339()
        ),
        None => println!(
            "public URL      {} (not recorded yet: the server records it at its first start)",
            engine.urls.base()
        ),
    }
    println!("schema version  {}", engine.schema_version().await?);
    Ok(())
}

/// `admin accounts reset-password`.
async fn reset_password(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let account = local_user(engine, name).await?;
    let password = read_password()?;
    match engine.reset_password(account.id, &password).await {
        Ok(revoked) => {
            println!(
                "{name}'s password was changed; {} signed out.",
                match revoked {
                    1 => "1 session was".to_string(),
                    n => format!("{n} sessions were"),
                }
            );
            Ok(())
        }
        Err(sluice_engine::EngineError::Invalid(message)) => Err(anyhow::anyhow!("{message}.")),
        Err(e) => Err(e.into()),
    }
}

/// `admin accounts disable-two-factor`.
async fn disable_two_factor(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let account = local_user(engine, name).await?;
    let (was_on, ended) = engine.reset_two_factor(account.id).await?;
    let sessions = match ended {
        1 => "1 web session was".to_string(),
        n => format!("{n} web sessions were"),
    };
    if was_on {
        println!("{name}'s two-factor sign-in is off; {sessions} ended.");
    } else {
        println!("{name} had no two-factor sign-in; {sessions} ended.");
    }
    Ok(())
}

/// `admin accounts role`.
async fn set_role(engine: &Engine, name: &str, role: RoleArg) -> anyhow::Result<()> {
    use sluice_engine::moderation::Role;
    let account = local_user(engine, name).await?;
    let role = match role {
        RoleArg::User => Role::User,
        RoleArg::Moderator => Role::Moderator,
        RoleArg::Admin => Role::Admin,
    };
    engine.set_role(None, account.id, role).await?;
    println!("{name} is now {}", role.as_str());
    Ok(())
}

/// `admin accounts list`.
async fn list_accounts(
    engine: &Engine,
    pending: bool,
    suspended: bool,
    silenced: bool,
    staff: bool,
    limit: i64,
) -> anyhow::Result<()> {
    use sluice_store::{AccountStatus, AdminAccountFilter};
    if !(1..=1000).contains(&limit) {
        anyhow::bail!("--limit must be between 1 and 1000");
    }
    let mut filter = AdminAccountFilter {
        staff,
        ..Default::default()
    };
    for (on, s) in [
        (pending, AccountStatus::Pending),
        (suspended, AccountStatus::Suspended),
        (silenced, AccountStatus::Silenced),
    ] {
        if on {
            filter.status.push(s);
        }
    }
    let page = sluice_store::Page {
        max_id: None,
        since_id: None,
        min_id: None,
        limit,
    };
    let rows = engine.admin_accounts(&filter, page).await?;
    if rows.is_empty() {
        println!("no accounts");
        return Ok(());
    }
    for r in rows {
        let a = &r.account;
        let mut state = Vec::new();
        if let Some(role) = r.user_role.as_deref().filter(|r| *r != "user") {
            state.push(role.to_string());
        }
        if r.user_approved == Some(false) {
            state.push("pending".into());
        }
        if r.user_disabled == Some(true) {
            state.push("disabled".into());
        }
        if a.suspended_at.is_some() {
            state.push("suspended".into());
        }
        if a.silenced_at.is_some() {
            state.push("silenced".into());
        }
        if a.sensitized_at.is_some() {
            state.push("sensitized".into());
        }
        let state = if state.is_empty() {
            "active".to_string()
        } else {
            state.join(",")
        };
        let email = r.user_email.as_deref().unwrap_or("");
        let reason = r
            .user_reason
            .as_deref()
            .filter(|s| !s.is_empty() && r.user_approved == Some(false))
            .map(|s| format!("  \"{s}\""))
            .unwrap_or_default();
        println!("{}  {}  {state}  {email}{reason}", a.id, a.acct());
    }
    Ok(())
}

/// `admin imports`.
async fn imports(engine: &Engine, limit: i64) -> anyhow::Result<()> {
    if !(1..=1000).contains(&limit) {
        anyhow::bail!("--limit must be between 1 and 1000");
    }
    let rows = engine.all_imports(limit).await?;
    if rows.is_empty() {
        println!("no imports");
        return Ok(());
    }
    for i in &rows {
        let who = engine
            .account(i.account_id)
            .await?
            .map_or_else(|| format!("#{}", i.account_id), |a| a.acct());
        let done = i.processed + i.failed;
        let when = sluice_model::Timestamp(i.created_at).to_rfc3339();
        println!(
            "{}  {when}  {who}  {} ({})  {} {done}/{}  {} not imported  {}",
            i.id,
            i.kind,
            i.mode,
            progress_bar(done, i.total, 20),
            i.total,
            i.failed,
            i.state
        );
    }
    Ok(())
}

/// `admin accounts suspend|silence`.
async fn moderate(
    engine: &Engine,
    name: &str,
    action: AccountAction,
    reason: &str,
) -> anyhow::Result<()> {
    let row = moderated_account(engine, name).await?;
    engine
        .moderate_account(
            None,
            row.account.id,
            &ActionRequest {
                action,
                text: reason.to_string(),
                report_id: None,
                notify: false,
            },
        )
        .await?;
    let done = match action {
        AccountAction::Suspend => "suspended",
        AccountAction::Silence => "silenced",
        _ => "done",
    };
    println!("{name} is {done}");
    Ok(())
}

/// `admin accounts unsuspend|unsilence`.
async fn lift(engine: &Engine, name: &str, undo: Undo) -> anyhow::Result<()> {
    let row = moderated_account(engine, name).await?;
    engine
        .lift_account_action(None, row.account.id, undo)
        .await?;
    let done = match undo {
        Undo::Unsuspend => "no longer suspended",
        Undo::Unsilence => "no longer silenced",
        _ => "done",
    };
    println!("{name} is {done}");
    Ok(())
}

/// `admin accounts delete`.
async fn delete_account_data(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let row = moderated_account(engine, name).await?;
    if row.account.suspended_at.is_none() {
        anyhow::bail!("{name} is not suspended: suspend it first");
    }
    engine.delete_account_data(None, row.account.id).await?;
    println!("{name}'s data is deleted");
    Ok(())
}

/// An account by `name` or `name@domain`, suspended ones included.
async fn moderated_account(
    engine: &Engine,
    name: &str,
) -> anyhow::Result<sluice_store::AdminAccountRow> {
    match engine.admin_account_by_acct(name).await {
        Ok(r) => Ok(r),
        Err(sluice_engine::EngineError::NotFound) => anyhow::bail!("no account {name}"),
        Err(e) => Err(e.into()),
    }
}

/// `[#####.....]`: `done` of `total` in `width` cells.
fn progress_bar(done: i64, total: i64, width: usize) -> String {
    let filled = if total <= 0 {
        width
    } else {
        (usize::try_from(done.clamp(0, total)).unwrap_or(0) * width)
            / usize::try_from(total).unwrap_or(1)
    };
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

/// `admin audit`.
async fn audit(engine: &Engine, limit: i64) -> anyhow::Result<()> {
    if !(1..=1000).contains(&limit) {
        anyhow::bail!("--limit must be between 1 and 1000");
    }
    let rows = engine.audit_log(None, None, limit).await?;
    if rows.is_empty() {
        println!("the audit log is empty");
        return Ok(());
    }
    let mut names = std::collections::HashMap::new();
    for r in &rows {
        if let Some(id) = r.account_id
            && !names.contains_key(&id)
        {
            let name = engine
                .account(id)
                .await?
                .map_or_else(|| format!("#{id}"), |a| a.acct());
            names.insert(id, name);
        }
    }
    for r in &rows {
        let who = r
            .account_id
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_else(|| "(command line)".into());
        let when = sluice_model::Timestamp(r.created_at).to_rfc3339();
        let target = if r.target_label.is_empty() {
            format!("{} {}", r.target_type, r.target_id)
        } else {
            format!("{} {}", r.target_type, r.target_label)
        };
        if r.text.is_empty() {
            println!("{when}  {who}  {}  {target}", r.action);
        } else {
            println!("{when}  {who}  {}  {target}  \"{}\"", r.action, r.text);
        }
    }
    Ok(())
}

/// `admin reports list`.
async fn reports_list(engine: &Engine, all: bool, limit: i64) -> anyhow::Result<()> {
    if !(1..=1000).contains(&limit) {
        anyhow::bail!("--limit must be between 1 and 1000");
    }
    let filter = sluice_engine::rows::ReportFilter {
        resolved: if all { None } else { Some(false) },
        ..Default::default()
    };
    let page = sluice_engine::rows::Page {
        limit,
        ..Default::default()
    };
    let rows = engine.report_rows(filter, page).await?;
    if rows.is_empty() {
        println!("{}", if all { "no reports" } else { "no open reports" });
        return Ok(());
    }
    let mut names = std::collections::HashMap::new();
    for r in &rows {
        for id in [r.account_id, r.target_account_id] {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id) {
                let name = engine
                    .account(id)
                    .await?
                    .map_or_else(|| format!("#{id}"), |a| a.acct());
                slot.insert(name);
            }
        }
    }
    let now = sluice_model::id::now_millis();
    for r in &rows {
        let state = if r.action_taken_at.is_some() {
            "resolved"
        } else {
            "open"
        };
        println!(
            "{}  {}  {}  {}  {}  {state}",
            r.id,
            names[&r.account_id],
            names[&r.target_account_id],
            r.category,
            age(now - r.created_at),
        );
    }
    Ok(())
}

/// A duration (ms) as `list` shows ages: `5m`, `3h`, `2d`.
fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// `admin reports resolve`.
async fn report_resolve(engine: &Engine, id: i64, note: &str) -> anyhow::Result<()> {
    if note.chars().count() > sluice_engine::reports::MAX_COMMENT_CHARS {
        anyhow::bail!(
            "--note is too long (at most {} characters)",
            sluice_engine::reports::MAX_COMMENT_CHARS
        );
    }
    match engine.resolve_report(None, id, note.trim()).await {
        Ok(_) => {
            println!("report {id} is resolved");
            Ok(())
        }
        Err(sluice_engine::EngineError::NotFound) => Err(anyhow::anyhow!("no report {id}")),
        Err(e) => Err(e.into()),
    }
}

/// `admin approve-user`.
async fn approve_user(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let account = local_user(engine, name).await?;
    // As the admin API and pages do it: audited (by the command line).
    match engine.approve_account(None, account.id).await {
        Ok(()) => println!("approved {name}"),
        Err(sluice_engine::EngineError::Forbidden(_)) => {
            println!("{name} was not waiting for approval")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The local user called `name`, or an error saying there is none.
async fn local_user(engine: &Engine, name: &str) -> anyhow::Result<sluice_store::AccountRow> {
    engine
        .local_account(name)
        .await?
        .with_context(|| format!("no local user {name}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_bars() {
        assert_eq!(super::progress_bar(0, 10, 10), "[..........]");
        assert_eq!(super::progress_bar(5, 10, 10), "[#####.....]");
        assert_eq!(super::progress_bar(10, 10, 4), "[####]");
        assert_eq!(super::progress_bar(0, 0, 4), "[####]");
    }

    use clap::CommandFactory as _;

    use super::Cli;

    /// Every command and every argument says what it is and what it takes: `--help`
    /// is where an admin learns the allowed values.
    #[test]
    fn every_command_and_argument_is_documented() {
        let mut cli = Cli::command();
        cli.build();
        cli.clone().debug_assert();
        let missing = sluice::undocumented_arguments(&cli, "sluice");
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }
}
