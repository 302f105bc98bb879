//! `sluice serve`: a small supervisor that owns the listening sockets and runs the
//! serving processes (docs/operations.md, "Restarts and upgrades").
//!
//! - The supervisor binds the listener (or takes it from systemd, `LISTEN_FDS`) and
//!   never accepts on it. Each serving process is this binary again (`serve` with
//!   [`ENV_LISTEN_FD`] set) and inherits the socket: connections that arrive while no
//!   process accepts wait in the kernel's backlog, never refused.
//! - A serving process that dies is started again, with backoff; the reason is logged.
//! - `SIGUSR2` upgrades to the binary now on disk: its compatibility [`Stamp`] is
//!   checked first; the new process starts on the same sockets, migrates, and reports
//!   ready on a pipe ([`ENV_READY_FD`]); only then does the old one get `SIGTERM` (it
//!   stops accepting, finishes its requests, closes WebSockets with 1012, ends SSE
//!   streams; clients resume from their last event id), and `SIGKILL` after the drain
//!   deadline. A new process that dies or is not ready in time aborts the upgrade, the
//!   old one keeps serving, and upgrades are refused until `sluice admin upgrade
//!   --reset`.
//! - `SIGTERM`/`SIGINT` drain every process the same way, then the supervisor exits.
//!
//! Kept small on purpose: the supervisor itself is never replaced by an upgrade.

use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::Signal;
use nix::sys::socket::Backlog;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::Config;

/// The version of what the supervisor and its serving processes share: the
/// environment variables below, the ready pipe, the signals. A binary with another
/// cannot be upgraded to in place.
pub const PROTOCOL: u32 = 1;
/// The listening socket a serving process inherits (a descriptor number).
pub const ENV_LISTEN_FD: &str = "SLUICE_SUPERVISOR_LISTEN_FD";
/// The metrics listener it inherits, when `SLUICE_METRICS_LISTEN` is set.
pub const ENV_METRICS_FD: &str = "SLUICE_SUPERVISOR_METRICS_FD";
/// Where it writes `ready` once it serves.
pub const ENV_READY_FD: &str = "SLUICE_SUPERVISOR_READY_FD";
/// Its id slot (`sluice_model::id::set_process_slot`): no two live serving processes
/// share one, so they never mint the same id.
pub const ENV_ID_SLOT: &str = "SLUICE_SUPERVISOR_ID_SLOT";
/// The supervisor's process id, in the data directory.
pub const PID_FILE: &str = "sluice.pid";
/// The outcome of the last upgrade ([`UpgradeState`]), in the data directory.
pub const STATE_FILE: &str = "upgrade-state.json";
/// Present after a failed upgrade: further upgrades are refused until it is removed
/// (`sluice admin upgrade --reset`).
pub const FAILED_FILE: &str = "upgrade-failed";

/// Pending connections the kernel holds per listener while no process accepts.
const BACKLOG: i32 = 4096;
/// First wait before starting a crashed process again; doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A process that served this long resets the backoff.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);
/// Longest wait for a new binary's stamp.
const STAMP_TIMEOUT: Duration = Duration::from_secs(10);

/// What a binary can run side by side with (`sluice stamp` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub version: String,
    pub protocol: u32,
    /// The schema version it migrates to.
    pub schema: i64,
    /// The oldest schema version it runs against; migrations after it only add.
    pub schema_min: i64,
}

impl Stamp {
    pub fn ours() -> Stamp {
        Stamp {
            version: env!("CARGO_PKG_VERSION").to_string(),
            protocol: PROTOCOL,
            schema: sluice_store::SCHEMA_VERSION,
            schema_min: sluice_store::SCHEMA_VERSION_MIN,
        }
    }

    /// Whether a process of `self` and one of `new` can serve side by side on one
    /// database during an upgrade: the same protocol, and each runs against the
    /// schema of the other (the newer binary's migrations only add to what the older
    /// one knows).
    pub fn can_upgrade_to(&self, new: &Stamp) -> Result<(), String> {
        if new.protocol != self.protocol {
            return Err(format!(
                "the new binary speaks supervisor protocol {}, this supervisor {}: restart the service instead",
                new.protocol, self.protocol
            ));
        }
        if new.schema_min > self.schema {
            return Err(format!(
                "the new binary needs schema {} or newer with no older code running; the serving processes know schema {}: stop and start the service instead",
                new.schema_min, self.schema
            ));
        }
        if self.schema_min > new.schema {
            return Err(format!(
                "the new binary knows schema {}, but the database needs {} or newer",
                new.schema, self.schema_min
            ));
        }
        Ok(())
    }
}

/// The outcome of the last upgrade, as `sluice admin upgrade` reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpgradeState {
    /// Counts upgrade requests since the supervisor started.
    pub serial: u64,
    /// `in_progress`, `done`, `refused` or `failed`.
    pub state: String,
    pub message: String,
    /// Milliseconds since the epoch.
    pub at: i64,
}

impl UpgradeState {
    pub fn read(data_dir: &Path) -> Option<UpgradeState> {
        let text = std::fs::read_to_string(data_dir.join(STATE_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the outcome of upgrade request `serial` now.
    fn record(data_dir: &Path, serial: u64, state: &str, message: String) {
        UpgradeState {
            serial,
            state: state.into(),
            message,
            at: sluice_model::id::now_millis(),
        }
        .write(data_dir);
    }

    fn write(&self, data_dir: &Path) {
        let tmp = data_dir.join(format!("{STATE_FILE}.tmp"));
        let ok = serde_json::to_vec_pretty(self)
            .ok()
            .and_then(|b| std::fs::write(&tmp, b).ok())
            .and_then(|()| std::fs::rename(&tmp, data_dir.join(STATE_FILE)).ok());
        if ok.is_none() {
            tracing::warn!("cannot write {STATE_FILE} in {}", data_dir.display());
        }
    }
}

/// The sockets the serving processes inherit.
struct Sockets {
    listen: OwnedFd,
    metrics: Option<OwnedFd>,
}

/// A serving process.
struct Proc {
    id: u64,
    pid: i32,
    started: Instant,
}

/// What the waiters of serving processes report.
struct Exited {
    id: u64,
    status: String,
}

/// Runs the supervisor until `SIGTERM`/`SIGINT`. `config_file` is read again on
/// `SIGHUP`.
pub async fn run(
    config: &Config,
    config_file: Option<PathBuf>,
    workers: usize,
) -> anyhow::Result<()> {
    let workers = workers.max(1);
    // The binary an upgrade starts: the file at this path, whatever it is by then.
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let exe = PathBuf::from(
        exe.to_string_lossy()
            .trim_end_matches(" (deleted)")
            .to_string(),
    );
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let sockets = Sockets {
        listen: listener(&config.listen)?,
        metrics: match config.metrics_listen.as_deref().filter(|l| !l.is_empty()) {
            Some(l) => Some(bind(l).with_context(|| format!("SLUICE_METRICS_LISTEN {l}"))?),
            None => None,
        },
    };
    let pid_file = config.data_dir.join(PID_FILE);
    std::fs::write(&pid_file, format!("{}\n", std::process::id()))
        .with_context(|| format!("cannot write {}", pid_file.display()))?;
    let result = Supervisor {
        exe,
        sockets,
        config: config.clone(),
        config_file,
        exits: mpsc::unbounded_channel(),
        id_slots: Default::default(),
        workers,
        drain: Duration::from_secs(config.drain_secs.max(1)),
        ready_timeout: Duration::from_secs(config.upgrade_ready_secs.max(1)),
    }
    .supervise()
    .await;
    let _ = std::fs::remove_file(&pid_file);
    result
}

struct Supervisor {
    exe: PathBuf,
    sockets: Sockets,
    config: Config,
    config_file: Option<PathBuf>,
    exits: (
        mpsc::UnboundedSender<Exited>,
        mpsc::UnboundedReceiver<Exited>,
    ),
    /// Id slots held by live serving processes, a bit each (1 to 15; 0 is for
    /// processes without a supervisor).
    id_slots: std::sync::Arc<std::sync::Mutex<u16>>,
    /// Serving processes, and new ones per upgrade.
    workers: usize,
    /// How long a process told to stop may drain before it is killed.
    drain: Duration,
    /// How long a new process may take to report ready.
    ready_timeout: Duration,
}

/// The serving processes and what the supervisor is doing with them: what the event
/// handlers of [`Supervisor::supervise`] share.
struct Serving {
    /// One per worker: the process serving there, or None while it is started again.
    slots: Vec<Option<Proc>>,
    /// Each slot's wait before its next restart.
    backoff: Vec<Duration>,
    /// Slots to fill again, and when.
    restarts: Vec<(usize, Instant)>,
    /// Old processes told to stop, and when they are killed if still there.
    draining: Vec<(Proc, Instant)>,
    /// Upgrade requests since the supervisor started.
    serial: u64,
    upgrade: Option<UpgradeTask>,
    /// New processes of the upgrade in progress that have exited (one may die after it
    /// was ready, while the next starts).
    upgrade_deaths: Vec<Exited>,
}

/// The signals the supervisor acts on.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            usr2: signal(SignalKind::user_defined2())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

/// An upgrade under way: its new processes, as they become ready.
type UpgradeTask = tokio::task::JoinHandle<Result<Vec<Proc>, UpgradeError>>;

enum UpgradeError {
    /// Nothing was started: the binary cannot be run side by side.
    Refused(String),
    /// A new process failed; the old ones keep serving.
    Failed(String),
}

impl Supervisor {
    /// Starts the serving processes, then handles each event (a signal, a child's exit,
    /// an upgrade's end, the timer) until `SIGTERM`/`SIGINT`, and drains.
    async fn supervise(mut self) -> anyhow::Result<()> {
        let mut signals = Signals::listen()?;
        let mut s = Serving {
            slots: self.start_first().await?,
            backoff: vec![FIRST_BACKOFF; self.workers],
            restarts: Vec::new(),
            draining: Vec::new(),
            serial: 0,
            upgrade: None,
            upgrade_deaths: Vec::new(),
        };
        tracing::info!(
            listen = %self.config.listen,
            workers = self.workers,
            pid = std::process::id(),
            "supervisor: serving"
        );
        sd_notify(&format!("READY=1\nMAINPID={}", std::process::id()));
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let stopping = loop {
            tokio::select! {
                _ = signals.term.recv() => break "SIGTERM",
                _ = signals.int.recv() => break "SIGINT",
                _ = signals.hup.recv() => self.on_hangup(&s),
                _ = signals.usr2.recv() => self.on_upgrade_request(&mut s)?,
                done = async { s.upgrade.as_mut().expect("guarded").await }, if s.upgrade.is_some() => {
                    s.upgrade = None;
                    self.on_upgrade_end(&mut s, done);
                }
                Some(exited) = self.exits.1.recv() => on_exit(&mut s, exited),
                _ = tick.tick() => self.on_tick(&mut s),
            }
        };
        self.stop(stopping, s).await;
        Ok(())
    }

    /// The first processes, each ready before the next starts: a failure here is a
    /// failure to start (every process started is killed).
    async fn start_first(&self) -> anyhow::Result<Vec<Option<Proc>>> {
        let mut slots: Vec<Option<Proc>> = Vec::new();
        for _ in 0..self.workers {
            let (p, ready) = self.spawn()?;
            match wait_ready(ready, self.ready_timeout).await {
                Ok(()) => slots.push(Some(p)),
                Err(e) => {
                    kill(p.pid, Signal::SIGKILL);
                    for p in slots.iter().flatten() {
                        kill(p.pid, Signal::SIGKILL);
                    }
                    bail!("the serving process did not start: {e}");
                }
            }
        }
        Ok(slots)
    }

    /// `SIGHUP`: reloads the supervisor's settings and passes the signal on to the
    /// serving processes, which reload theirs.
    fn on_hangup(&self, s: &Serving) {
        sd_notify("RELOADING=1");
        self.reload();
        for p in s.slots.iter().flatten() {
            kill(p.pid, Signal::SIGHUP);
        }
        sd_notify("READY=1");
    }

    /// `SIGUSR2`: starts an upgrade to the binary on disk, unless one is under way or
    /// an earlier one failed (recorded as refused). An error ends the supervisor.
    fn on_upgrade_request(&self, s: &mut Serving) -> anyhow::Result<()> {
        if s.upgrade.is_some() {
            tracing::warn!("SIGUSR2 ignored: an upgrade is in progress");
            return Ok(());
        }
        s.serial += 1;
        let data_dir = &self.config.data_dir;
        let state =
            |state: &str, message: String| UpgradeState::record(data_dir, s.serial, state, message);
        if let Ok(why) = std::fs::read_to_string(data_dir.join(FAILED_FILE)) {
            let message = format!(
                "upgrade refused: an earlier upgrade failed ({}); run `sluice admin upgrade --reset` once it is understood",
                why.trim()
            );
            tracing::error!("{message}");
            state("refused", message);
            return Ok(());
        }
        tracing::info!(binary = %self.exe.display(), "upgrade: starting");
        s.upgrade_deaths.clear();
        sd_notify("RELOADING=1");
        state("in_progress", String::new());
        s.upgrade = Some(self.start_upgrade()?);
        Ok(())
    }

    /// The upgrade task ended: with every new process ready (and still alive), they
    /// take the slots and the old ones drain; otherwise the old ones keep serving and
    /// the outcome is recorded (a failure blocks further upgrades).
    fn on_upgrade_end(
        &self,
        s: &mut Serving,
        done: Result<Result<Vec<Proc>, UpgradeError>, tokio::task::JoinError>,
    ) {
        let data_dir = &self.config.data_dir;
        let serial = s.serial;
        let record =
            |state: &str, message: String| UpgradeState::record(data_dir, serial, state, message);
        let failed = |message: String| {
            tracing::error!("upgrade failed, the old processes keep serving: {message}");
            let _ = std::fs::write(data_dir.join(FAILED_FILE), format!("{message}\n"));
            record("failed", message);
        };
        match done {
            Ok(Ok(new)) => match died_after_ready(&new, &s.upgrade_deaths) {
                Some((pid, status)) => {
                    for p in &new {
                        kill(p.pid, Signal::SIGKILL);
                    }
                    failed(format!(
                        "new process {pid} died after it was ready ({status})"
                    ));
                }
                None => {
                    for (slot, p) in s.slots.iter_mut().zip(new) {
                        if let Some(old) = slot.replace(p) {
                            kill(old.pid, Signal::SIGTERM);
                            s.draining.push((old, Instant::now() + self.drain));
                        }
                    }
                    s.restarts.clear();
                    tracing::info!("upgrade: done; the old processes are draining");
                    record("done", "the new processes serve".into());
                }
            },
            Ok(Err(UpgradeError::Refused(message))) => {
                tracing::error!("upgrade refused: {message}");
                record("refused", message);
            }
            Ok(Err(UpgradeError::Failed(message))) => failed(message),
            Err(e) => failed(format!("the upgrade task ended abnormally: {e}")),
        }
        sd_notify("READY=1");
    }

    /// Every 250 ms: kills old processes still draining at their deadline, and starts
    /// the processes whose restart is due (a failure to start is retried after the
    /// slot's backoff).
    fn on_tick(&self, s: &mut Serving) {
        let now = Instant::now();
        for (p, deadline) in &s.draining {
            if now >= *deadline {
                tracing::warn!(
                    pid = p.pid,
                    "an old serving process is still draining at the deadline: killed"
                );
                kill(p.pid, Signal::SIGKILL);
            }
        }
        let due: Vec<usize> = s
            .restarts
            .iter()
            .filter(|(_, at)| now >= *at)
            .map(|(i, _)| *i)
            .collect();
        s.restarts.retain(|(_, at)| now < *at);
        for i in due {
            match self.spawn() {
                Ok((p, _ready)) => s.slots[i] = Some(p),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a serving process");
                    s.restarts.push((i, now + s.backoff[i]));
                }
            }
        }
    }

    /// `SIGTERM`/`SIGINT`: an upgrade under way is abandoned, every process is told to
    /// drain, and those still there at the drain deadline are killed.
    async fn stop(&mut self, signal: &str, s: Serving) {
        tracing::info!(signal, "supervisor: stopping; the serving processes drain");
        sd_notify("STOPPING=1");
        if let Some(u) = s.upgrade {
            u.abort();
        }
        let mut left: Vec<Proc> = s.slots.into_iter().flatten().collect();
        left.extend(s.draining.into_iter().map(|(p, _)| p));
        for p in &left {
            kill(p.pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + self.drain;
        while !left.is_empty() {
            let wait = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(wait, self.exits.1.recv()).await {
                Ok(Some(e)) => left.retain(|p| p.id != e.id),
                Ok(None) => break,
                Err(_) => {
                    for p in &left {
                        tracing::warn!(pid = p.pid, "still draining at the deadline: killed");
                        kill(p.pid, Signal::SIGKILL);
                    }
                    break;
                }
            }
        }
    }

    /// Checks the new binary's stamp, then starts the new processes one by one and
    /// waits for each to be ready.
    fn start_upgrade(&self) -> anyhow::Result<UpgradeTask> {
        let (workers, ready_timeout) = (self.workers, self.ready_timeout);
        let exe = self.exe.clone();
        // The new processes are spawned here (they need the sockets); the task checks
        // the stamp first, so spawning waits for it.
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<Result<(), String>>();
        let stamp_exe = exe.clone();
        tokio::spawn(async move {
            let _ = go_tx.send(
                read_stamp(&stamp_exe)
                    .await
                    .and_then(|new| Stamp::ours().can_upgrade_to(&new)),
            );
        });
        let mut spawner = self.spawner();
        Ok(tokio::spawn(async move {
            match go_rx.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(UpgradeError::Refused(e)),
                Err(_) => return Err(UpgradeError::Refused("the stamp check ended".into())),
            }
            let mut started: Vec<Proc> = Vec::new();
            for _ in 0..workers {
                let (p, ready) = match spawner() {
                    Ok(x) => x,
                    Err(e) => {
                        for p in &started {
                            kill(p.pid, Signal::SIGKILL);
                        }
                        return Err(UpgradeError::Failed(format!(
                            "cannot start {}: {e}",
                            exe.display()
                        )));
                    }
                };
                let pid = p.pid;
                started.push(p);
                if let Err(e) = wait_ready(ready, ready_timeout).await {
                    for p in &started {
                        kill(p.pid, Signal::SIGKILL);
                    }
                    return Err(UpgradeError::Failed(format!("new process {pid}: {e}")));
                }
            }
            Ok(started)
        }))
    }

    fn spawn(&self) -> anyhow::Result<(Proc, OwnedFd)> {
        (self.spawner())()
    }

    /// `SIGHUP`: the supervisor's own log filter; the serving processes read the
    /// configuration themselves. Settings that only a restart applies are named.
    fn reload(&self) {
        let new = match Config::load(self.config_file.clone()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "SIGHUP: the configuration does not load; nothing changes");
                return;
            }
        };
        if let Err(e) = crate::logging::set_filter(&new.log) {
            tracing::error!(error = %e, "SIGHUP: the log filter is unchanged");
        }
        let restart_only = changed_settings(&self.config, &new)
            .into_iter()
            .filter(|k| !crate::RELOADABLE.contains(&k.as_str()))
            .collect::<Vec<_>>();
        if !restart_only.is_empty() {
            tracing::warn!(
                settings = %restart_only.join(", "),
                "SIGHUP: these changed settings take effect at the next restart or `sluice admin upgrade`"
            );
        }
        tracing::info!("SIGHUP: settings reloaded; the serving processes reload theirs");
    }

    /// A function that starts one serving process of the binary at `self.exe`.
    fn spawner(&self) -> impl FnMut() -> anyhow::Result<(Proc, OwnedFd)> + Send + 'static {
        let exe = self.exe.clone();
        let listen = self.sockets.listen.as_raw_fd();
        let metrics = self.sockets.metrics.as_ref().map(|m| m.as_raw_fd());
        let exits = self.exits.0.clone();
        let id_slots = self.id_slots.clone();
        move || {
            static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
            let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let id_slot = take_slot(&id_slots);
            let (ready_read, ready_write) = pipe()?;
            let write_fd = ready_write.as_raw_fd();
            let mut cmd = tokio::process::Command::new(&exe);
            cmd.args(std::env::args_os().skip(1))
                .env(ENV_LISTEN_FD, listen.to_string())
                .env(ENV_READY_FD, write_fd.to_string())
                .env(ENV_ID_SLOT, id_slot.to_string())
                .env_remove("LISTEN_FDS")
                .env_remove("LISTEN_PID")
                .env_remove("NOTIFY_SOCKET");
            if let Some(m) = metrics {
                cmd.env(ENV_METRICS_FD, m.to_string());
            }
            let keep = [Some(listen), metrics, Some(write_fd)];
            // SAFETY: between fork and exec only async-signal-safe calls (fcntl, prctl).
            unsafe {
                cmd.pre_exec(move || {
                    for fd in keep.into_iter().flatten() {
                        let flags = libc::fcntl(fd, libc::F_GETFD);
                        if flags < 0
                            || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0
                        {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    // A serving process left without its supervisor drains and ends.
                    #[cfg(target_os = "linux")]
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            let release = move |slots: &std::sync::Mutex<u16>| {
                *slots.lock().unwrap_or_else(|e| e.into_inner()) &= !(1u16 << id_slot);
            };
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    release(&id_slots);
                    return Err(e).with_context(|| format!("cannot run {}", exe.display()));
                }
            };
            drop(ready_write);
            let pid = child.id().context("the new process has no id")? as i32;
            let exits = exits.clone();
            let id_slots = id_slots.clone();
            tokio::spawn(async move {
                let status = match child.wait().await {
                    Ok(s) => describe(s),
                    Err(e) => format!("unknown ({e})"),
                };
                if id_slot != 0 {
                    release(&id_slots);
                }
                let _ = exits.send(Exited { id, status });
            });
            Ok((
                Proc {
                    id,
                    pid,
                    started: Instant::now(),
                },
                ready_read,
            ))
        }
    }
}

/// A serving process exited: an old one has finished draining; a serving one is
/// started again after its slot's backoff (reset by a process that served
/// [`HEALTHY_AFTER`]); a new one of the upgrade under way is noted for its end.
fn on_exit(s: &mut Serving, exited: Exited) {
    if let Some(i) = s.draining.iter().position(|(p, _)| p.id == exited.id) {
        let (p, _) = s.draining.swap_remove(i);
        tracing::info!(pid = p.pid, status = %exited.status, "an old serving process has finished");
        return;
    }
    let Some(i) = s
        .slots
        .iter()
        .position(|slot| slot.as_ref().is_some_and(|p| p.id == exited.id))
    else {
        // A new process of the upgrade in progress: one that dies before it is ready
        // fails the upgrade there; one that dies after, when the upgrade ends.
        if s.upgrade.is_some() {
            s.upgrade_deaths.push(exited);
        }
        return;
    };
    let p = s.slots[i].take().expect("found");
    if p.started.elapsed() >= HEALTHY_AFTER {
        s.backoff[i] = FIRST_BACKOFF;
    }
    tracing::error!(
        pid = p.pid,
        status = %exited.status,
        restart_in_ms = s.backoff[i].as_millis() as u64,
        "a serving process died; starting another"
    );
    s.restarts.push((i, Instant::now() + s.backoff[i]));
    s.backoff[i] = (s.backoff[i] * 2).min(MAX_BACKOFF);
}

/// The first of an upgrade's new processes that died after it was ready (its pid and
/// exit status), if one did.
fn died_after_ready(new: &[Proc], deaths: &[Exited]) -> Option<(i32, String)> {
    deaths.iter().find_map(|d| {
        new.iter()
            .find(|p| p.id == d.id)
            .map(|p| (p.pid, d.status.clone()))
    })
}

/// `sluice admin upgrade`: signals the supervisor serving `config`'s data directory
/// and waits for the outcome; `--reset` clears a failed upgrade's state instead.
pub async fn request_upgrade(config: &Config, reset: bool) -> anyhow::Result<()> {
    let dir = &config.data_dir;
    if reset {
        match std::fs::remove_file(dir.join(FAILED_FILE)) {
            Ok(()) => println!("the failed upgrade's state is cleared; upgrades are allowed again"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("no failed upgrade recorded")
            }
            Err(e) => return Err(e).context("cannot clear the failed upgrade's state"),
        }
        return Ok(());
    }
    let pid_file = dir.join(PID_FILE);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .with_context(|| {
            format!(
                "no supervisor runs on {} ({})",
                dir.display(),
                pid_file.display()
            )
        })?
        .trim()
        .parse()
        .context("the pid file holds no process id")?;
    if nix::sys::signal::kill(Pid::from_raw(pid), None).is_err() {
        bail!("the supervisor ({pid}) is not running");
    }
    let before = UpgradeState::read(dir).map(|s| s.serial).unwrap_or(0);
    kill(pid, Signal::SIGUSR2);
    let wait = STAMP_TIMEOUT
        + Duration::from_secs(config.upgrade_ready_secs.max(1)) * config.workers.max(1) as u32
        + Duration::from_secs(5);
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(s) = UpgradeState::read(dir).filter(|s| s.serial > before) {
            match s.state.as_str() {
                "in_progress" => continue,
                "done" => {
                    println!("upgraded: {}", s.message);
                    return Ok(());
                }
                other => bail!("upgrade {other}: {}", s.message),
            }
        }
    }
    bail!(
        "no outcome after {} s; see the server's log",
        wait.as_secs()
    )
}

/// The lowest id slot no live serving process holds, marked as held; 0 (shared, ids
/// only salted) when all 15 are taken.
fn take_slot(slots: &std::sync::Mutex<u16>) -> u16 {
    let mut held = slots.lock().unwrap_or_else(|e| e.into_inner());
    match (1..sluice_model::id::SLOTS).find(|s| *held & (1 << s) == 0) {
        Some(s) => {
            *held |= 1 << s;
            s
        }
        None => {
            tracing::warn!("every id slot is held; this serving process shares slot 0");
            0
        }
    }
}

/// In a serving process: takes the id slot the supervisor gave it, if any.
pub fn take_id_slot() {
    if let Some(slot) = std::env::var(ENV_ID_SLOT)
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
    {
        sluice_model::id::set_process_slot(slot);
    }
}

/// The top-level settings (and `federation.*`) whose values differ.
fn changed_settings(old: &Config, new: &Config) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(old), serde_json::to_value(new))
    else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Waits for `ready` on a serving process's pipe.
async fn wait_ready(pipe: OwnedFd, timeout: Duration) -> Result<(), String> {
    let mut rx = tokio::net::unix::pipe::Receiver::from_owned_fd(pipe)
        .map_err(|e| format!("cannot read the ready pipe: {e}"))?;
    let read = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => return Err("it exited before it was ready".to_string()),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    if got.starts_with(b"ready") {
                        return Ok(());
                    }
                }
            }
        }
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) => Err(format!("not ready after {} s", timeout.as_secs())),
    }
}

/// Asks a binary for its [`Stamp`] (`sluice stamp`).
async fn read_stamp(exe: &Path) -> Result<Stamp, String> {
    let out = tokio::time::timeout(
        STAMP_TIMEOUT,
        tokio::process::Command::new(exe)
            .arg("stamp")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| {
        format!(
            "{} stamp: no answer in {} s",
            exe.display(),
            STAMP_TIMEOUT.as_secs()
        )
    })?
    .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!("{} stamp: {}", exe.display(), describe(out.status)));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{} stamp printed no stamp ({e}): {}",
            exe.display(),
            String::from_utf8_lossy(&out.stdout).trim()
        )
    })
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(libc::SIGKILL)) => "killed (SIGKILL: the OOM killer, or an operator)".into(),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".into(),
    }
}

/// Sends `signal` to `pid`; a process already gone is not an error here.
fn kill(pid: i32, signal: Signal) {
    let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
}

/// A pipe whose two ends close on exec (the write end is kept open in the child
/// explicitly).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

/// The main listener: systemd's (`LISTEN_FDS`, the first socket) or one bound here.
fn listener(listen: &str) -> anyhow::Result<OwnedFd> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or(0);
    if ours && count >= 1 {
        const SD_LISTEN_FDS_START: RawFd = 3;
        tracing::info!(fds = count, "listening on the socket systemd passed");
        // SAFETY: systemd passes descriptors from 3 on to this process only
        // (LISTEN_PID), and nothing else here has taken them.
        let fd = unsafe { OwnedFd::from_raw_fd(SD_LISTEN_FDS_START) };
        set_cloexec(&fd);
        return Ok(fd);
    }
    bind(listen)
}

/// Binds `HOST:PORT` or `unix:/path` with a deep backlog.
fn bind(listen: &str) -> anyhow::Result<OwnedFd> {
    let fd: OwnedFd = if let Some(path) = listen.strip_prefix("unix:") {
        let _ = std::fs::remove_file(path);
        std::os::unix::net::UnixListener::bind(path)
            .with_context(|| format!("cannot listen on {listen}"))?
            .into()
    } else {
        std::net::TcpListener::bind(listen)
            .with_context(|| format!("cannot listen on {listen}"))?
            .into()
    };
    // Listening again on a listening socket only sets its backlog.
    let backlog = Backlog::new(BACKLOG).context("listen backlog")?;
    nix::sys::socket::listen(&fd, backlog).context("listen")?;
    Ok(fd)
}

/// Closes `fd` on exec: the serving processes are given their descriptors explicitly.
fn set_cloexec(fd: &OwnedFd) {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    if let Ok(flags) = fcntl(fd, FcntlArg::F_GETFD) {
        let flags = FdFlag::from_bits_retain(flags) | FdFlag::FD_CLOEXEC;
        let _ = fcntl(fd, FcntlArg::F_SETFD(flags));
    }
}

/// Tells systemd (`Type=notify`) about a state change, when it is listening.
fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let path = path.to_string_lossy().to_string();
    let sent = if let Some(name) = path.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt as _;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = name;
            Ok(0)
        }
    } else {
        socket.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = sent {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// In a serving process: the inherited listeners, when started by a supervisor.
pub fn inherited() -> anyhow::Result<Option<(crate::Listener, Option<std::net::TcpListener>)>> {
    let fd = |name: &str| -> anyhow::Result<Option<OwnedFd>> {
        let Some(v) = std::env::var_os(name) else {
            return Ok(None);
        };
        let n: RawFd = v
            .to_string_lossy()
            .parse()
            .with_context(|| format!("{name} is not a descriptor number"))?;
        // SAFETY: the supervisor passed this descriptor to this process for this use.
        let fd = unsafe { OwnedFd::from_raw_fd(n) };
        set_cloexec(&fd);
        Ok(Some(fd))
    };
    let Some(listen) = fd(ENV_LISTEN_FD)? else {
        return Ok(None);
    };
    let metrics = fd(ENV_METRICS_FD)?.map(std::net::TcpListener::from);
    Ok(Some((crate::Listener::from_fd(listen)?, metrics)))
}

/// In a serving process: tells the supervisor it serves (once).
pub fn report_ready() {
    let Some(v) = std::env::var_os(ENV_READY_FD) else {
        return;
    };
    let Ok(n) = v.to_string_lossy().parse::<RawFd>() else {
        return;
    };
    // SAFETY: the supervisor passed this pipe's write end to this process.
    let fd = unsafe { OwnedFd::from_raw_fd(n) };
    let mut file = std::fs::File::from(fd);
    let _ = std::io::Write::write_all(&mut file, b"ready\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(protocol: u32, schema: i64, schema_min: i64) -> Stamp {
        Stamp {
            version: "x".into(),
            protocol,
            schema,
            schema_min,
        }
    }

    #[test]
    fn stamps_decide_side_by_side_upgrades() {
        // (running, new, allowed, why)
        let cases = [
            ((1, 5, 5), (1, 5, 5), true, "the same build"),
            ((1, 5, 5), (1, 7, 4), true, "only additions since 4"),
            ((1, 5, 5), (2, 5, 5), false, "another protocol"),
            ((1, 5, 5), (1, 7, 6), false, "drops what 5 needs"),
            ((1, 7, 6), (1, 5, 5), false, "too old for the schema"),
            ((1, 7, 5), (1, 5, 5), true, "a rollback within range"),
        ];
        for ((p, s, m), (np, ns, nm), allowed, why) in cases {
            let r = stamp(p, s, m).can_upgrade_to(&stamp(np, ns, nm));
            assert_eq!(r.is_ok(), allowed, "{why}: {r:?}");
        }
    }
}
