//! `sluice`: the command line. `serve` runs the server; `config show` prints the
//! effective configuration; `migrate` applies migrations; `admin` manages users and
//! seeds test data.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sluice::{Config, Listener};
use sluice_engine::accounts::Registration;

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
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, secrets masked.
    Show,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a local user. The password is read from a prompt, or from standard input
    /// when it is not a terminal.
    CreateUser {
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        admin: bool,
    },
    /// Approve a user who registered while registrations required approval.
    ApproveUser { name: String },
    /// Fill the database with synthetic accounts, posts and follows (for benchmarks).
    Seed {
        #[arg(long, default_value_t = 5000)]
        accounts: usize,
        #[arg(long, default_value_t = 100_000)]
        statuses: usize,
        /// Accounts each account follows.
        #[arg(long, default_value_t = 100)]
        follows: usize,
        /// Password of every seeded account.
        #[arg(long, default_value = "password123")]
        password: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = Config::load(cli.config.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            runtime.block_on(serve(config))
        }
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            print!("{}", config.show());
            Ok(())
        }
        Command::Migrate => runtime.block_on(async {
            let store = sluice::open_store(&config).await?;
            println!("schema version {}", store.schema_version().await?);
            store.close().await;
            Ok(())
        }),
        Command::Admin { command } => runtime.block_on(admin(config, command)),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let listener = Listener::bind(&config.listen).await?;
    let running = sluice::start(&config, listener).await?;
    tracing::info!(
        listen = %config.listen,
        url = %running.url,
        database = %sluice::config::mask_url_password(&config.database_url()),
        ready_ms = started.elapsed().as_millis() as u64,
        "sluice is ready"
    );
    let stop = running.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop.send(true);
    });
    running.wait().await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Reads a password from a prompt (echo off when possible) or from standard input.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("Password: ");
        std::io::stderr().flush().ok();
        let _ = std::process::Command::new("stty").arg("-echo").status();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if tty {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.context("cannot read the password")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        anyhow::bail!("no password given (type it at the prompt or pipe it on standard input)");
    }
    Ok(pw)
}

async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let store = sluice::open_store(&config).await?;
    let engine = sluice::build_engine(&config, store, None).await?;
    let result = match command {
        AdminCommand::CreateUser { name, email, admin } => {
            let password = read_password()?;
            let reg = Registration {
                username: name.clone(),
                email,
                password,
                agreement: true,
                locale: "en".into(),
                reason: String::new(),
                admin,
            };
            match engine.register(reg, true).await {
                Ok((account, _)) => {
                    println!("created user {} (id {})", account.username, account.id);
                    Ok(())
                }
                Err(sluice_engine::EngineError::Validation { message, details }) => {
                    Err(anyhow::anyhow!("{message}: {details}"))
                }
                Err(e) => Err(e.into()),
            }
        }
        AdminCommand::ApproveUser { name } => {
            let account = engine
                .store
                .account_by_acct(&name, engine.urls.domain())
                .await?
                .filter(|a| a.is_local())
                .with_context(|| format!("no local user {name}"))?;
            let mut tx = engine.store.begin().await?;
            tx.approve_user(account.id).await?;
            tx.commit().await?;
            println!("approved {name}");
            Ok(())
        }
        AdminCommand::Seed {
            accounts,
            statuses,
            follows,
            password,
        } => {
            sluice::seed::seed(
                &engine,
                sluice::seed::SeedPlan {
                    accounts,
                    statuses,
                    follows,
                    password,
                },
            )
            .await
        }
    };
    engine.store.close().await;
    result
}
