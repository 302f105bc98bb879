//! `sluice-bench`: the benchmarks' tools, apart from the server binary. `admin seed`
//! fills a database with synthetic accounts, follows and posts; `loadtest` drives a
//! running server on loopback. The command lines are the ones `sluice` had before
//! they moved here (bench/*.sh, docs/benchmarks.md).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sluice::Config;
use sluice_bench::loadtest::LoadtestCommand;
use sluice_bench::seed::SeedPlan;

#[derive(Parser)]
#[command(
    name = "sluice-bench",
    version,
    about = "Sluice's benchmark tools: synthetic data and load generators"
)]
struct Cli {
    /// The server's TOML configuration file, for its database (default: $SLUICE_CONFIG,
    /// or ./sluice.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Commands on the server's database. Each says on standard error which database it
    /// opened, and refuses to run where there is none.
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
    /// Federation and streaming benchmarks against a running server on loopback
    /// (bench/federation.sh, bench/streaming.sh).
    Loadtest {
        #[command(subcommand)]
        command: LoadtestCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Fill the database with synthetic accounts, posts and follows (for benchmarks).
    Seed {
        /// Accounts to create, 1 to 10,000,000.
        #[arg(long, default_value_t = 5000)]
        accounts: usize,
        /// Posts to write, spread over the accounts (0 or more).
        #[arg(long, default_value_t = 100_000)]
        statuses: usize,
        /// Accounts each account follows (0 or more; at most the other accounts).
        #[arg(long, default_value_t = 100)]
        follows: usize,
        /// Password of every seeded account, 8 to 72 characters.
        #[arg(long, default_value = "password123")]
        password: String,
        /// Also write one conversation for the thread-context benchmark: a public root
        /// post with this many replies (0: none), from several accounts, in a mix of
        /// visibilities. Its id is printed in the summary (`thread root`).
        #[arg(long, default_value_t = 0)]
        thread_replies: usize,
    },
    /// The Web Push benchmark against a running server (bench/push.sh): `user1` posts a
    /// poll, `user2..user{N+1}` vote in it, each with a push subscription (written
    /// straight into the database) to a push service started here on loopback; prints
    /// the time from the poll's end to the last push message received.
    Push {
        /// Base URL of the running server (http, loopback).
        #[arg(long)]
        target: String,
        /// Subscribers (voters); `user1..user{N+1}` must be seeded.
        #[arg(long, default_value_t = 10_000)]
        subscribers: usize,
        /// Seconds until the poll ends (the server's SLUICE_POLL_MIN_EXPIRATION_SECS
        /// at most; enough for the votes to be written first).
        #[arg(long, default_value_t = 60)]
        expires_in: u64,
        /// Decrypt and check every n-th message (1: every one).
        #[arg(long, default_value_t = 10)]
        check_every: usize,
        /// Longest wait for the last message after the poll's end, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Milliseconds the push service takes to answer each message (a real one is
        /// across the internet: tens of milliseconds).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.clone())?;
    sluice::logging::init(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Admin {
            create_database,
            command:
                AdminCommand::Seed {
                    accounts,
                    statuses,
                    follows,
                    password,
                    thread_replies,
                },
        } => runtime.block_on(async {
            let missing = if create_database {
                sluice::MissingDatabase::Create
            } else {
                sluice::MissingDatabase::Refuse
            };
            let store = sluice::open_existing_store(&config, missing).await?;
            // Seeding creates accounts, so it mints ids: like the server's first start,
            // it records the public URL if nothing is recorded yet.
            let engine =
                match sluice::build_engine(&config, store.clone(), None, sluice::Identity::Record)
                    .await
                {
                    Ok(engine) => engine,
                    Err(e) => {
                        store.close().await;
                        return Err(e);
                    }
                };
            let plan = SeedPlan {
                accounts,
                statuses,
                follows,
                password,
                thread_replies,
            };
            let result = sluice_bench::seed::seed(&engine, &store, plan).await;
            store.close().await;
            result
        }),
        Command::Admin {
            command:
                AdminCommand::Push {
                    target,
                    subscribers,
                    expires_in,
                    check_every,
                    timeout,
                    delay_ms,
                },
            ..
        } => runtime.block_on(async {
            let store =
                sluice::open_existing_store(&config, sluice::MissingDatabase::Refuse).await?;
            let engine =
                match sluice::build_engine(&config, store.clone(), None, sluice::Identity::Borrow)
                    .await
                {
                    Ok(engine) => engine,
                    Err(e) => {
                        store.close().await;
                        return Err(e);
                    }
                };
            let plan = sluice_bench::push::PushPlan {
                target,
                subscribers,
                expires_in,
                check_every,
                timeout,
                delay_ms,
            };
            let result = sluice_bench::push::run(&engine, &store, plan).await;
            store.close().await;
            result
        }),
        Command::Loadtest { command } => {
            runtime.block_on(sluice_bench::loadtest::run(config, command))
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every command and every argument says what it is and what it takes.
    #[test]
    fn every_command_and_argument_is_documented() {
        let mut cli = Cli::command();
        cli.build();
        cli.clone().debug_assert();
        let missing = sluice::undocumented_arguments(&cli, "sluice-bench");
        assert!(missing.is_empty(), "undocumented: {missing:?}");
    }
}
