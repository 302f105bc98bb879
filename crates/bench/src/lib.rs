//! Sluice's benchmark tools, kept out of the server binary: the synthetic data set
//! (`seed`: `sluice-bench admin seed`) and the load generators (`loadtest`:
//! `sluice-bench loadtest inbox|delivery|stream`) that the scripts in bench/ run
//! (docs/benchmarks.md). They read the server's configuration (`sluice::Config`: the
//! same file, `SLUICE_*` variables and `.env`) to find its database.

pub mod loadtest;
pub mod push;
pub mod seed;
