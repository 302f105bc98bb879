//! `sluice admin seed`: synthetic accounts, posts and follows for benchmarks.
//! Filled in by the benchmark work; see docs/benchmarks.md.

use sluice_engine::Engine;

pub struct SeedPlan {
    pub accounts: usize,
    pub statuses: usize,
    pub follows: usize,
    pub password: String,
}

pub async fn seed(_engine: &Engine, _plan: SeedPlan) -> anyhow::Result<()> {
    anyhow::bail!("seeding is not implemented yet")
}
