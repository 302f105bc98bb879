//! `sluice-bench admin seed`: synthetic accounts, follows and posts for benchmarks and demos.
//!
//! Seeding writes rows directly through the store in batched transactions (never one
//! pipeline call per row): it is a bulk loader of its own, given the `Store` the
//! program opened, and asks the engine only for URLs, password hashes and key pairs.
//! It then repairs the denormalized counters with one set-based
//! `UPDATE` per counter. It does not write activities, event-log rows or notifications:
//! seeded data looks like history, not like something that just happened.
//!
//! What it makes, deterministically (a fixed pseudo-random sequence):
//! - accounts `user1..userN`, each with a user (`userN@seed.invalid`, the given password,
//!   hashed once with Argon2id and reused for every user) and a signing key (one RSA
//!   key pair made per run and shared by the accounts it creates, under each account's
//!   own key id: synthetic accounts, and thousands of RSA generations would take
//!   minutes of CPU);
//! - for each account, `follows` follow rows to distinct other accounts;
//! - `statuses` posts spread over the accounts and over the past 30 days, with ids that
//!   sort by their creation time: mostly public, some unlisted and followers-only, some
//!   replies (same thread as their parent) and some with hashtags;
//! - with `thread_replies`, one conversation for the thread-context benchmark, newer
//!   than every other post: a public root by an account `user1` follows, with that many
//!   replies (to the root or to earlier replies) from a handful of accounts, some that
//!   `user1` follows, some it does not, and `user1` itself; mostly public, some unlisted
//!   and followers-only (so `user1` sees some of them and not others).
//!
//! Reruns continue rather than duplicate: existing `userN` accounts are kept, follow rows
//! that exist are skipped, posts are only added until the seeded accounts have
//! `statuses` of them in total (the conversation not counted), and an existing
//! conversation is kept as it is. See docs/benchmarks.md.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_engine::Engine;
use sluice_model::{Id, IdGenerator, content};
use sluice_store::{
    ACCOUNT_COLUMNS, AccountRow, EngineKind, NewAccount, NewRelation, NewUser, PairRow, Query,
    Scalar, StatusRow, Store, StoreError, WriteTx,
};

pub struct SeedPlan {
    pub accounts: usize,
    pub statuses: usize,
    pub follows: usize,
    pub password: String,
    /// Replies in the thread-context conversation; 0 for none.
    pub thread_replies: usize,
}

/// What a seed run wrote.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    /// Accounts created (existing ones are not counted).
    pub accounts: u64,
    /// Follow rows created.
    pub follows: u64,
    /// Posts created.
    pub statuses: u64,
    /// Hashtag links created.
    pub tags: u64,
    /// The thread-context conversation's root (when the plan asks for one), new or kept.
    pub thread_root: Option<Id>,
    /// Replies written in it by this run.
    pub thread_replies: u64,
    /// Wall time of each phase, in seconds: accounts, follows, statuses, counters.
    pub phases: [f64; 4],
    pub seconds: f64,
}

/// Rows per write transaction. Big enough that commit cost vanishes, small enough that
/// the SQLite write lock is released often (a server running beside the seeder stays
/// responsive) and a failure loses little.
const BATCH: usize = 1000;
/// Seed of the generator behind the thread-context conversation.
const THREAD_SEED: u64 = 0x7EAD_7EAD;
/// How the thread-context conversation's root begins: how a rerun finds it.
const THREAD_MARKER: &str = "Benchmark thread:";
/// Accounts taking part in it, besides `user1` and the root's author: half followed by
/// `user1`, half not.
const THREAD_VOICES: usize = 6;
/// Seed of the generator behind each account's choice of follows.
const FOLLOW_SEED: u64 = 0xF011_0375;
/// Follow rows per transaction (they are small: more per transaction than posts).
const FOLLOW_BATCH: usize = 2000;
/// The domain of seeded e-mail addresses (`.invalid` is reserved: never deliverable).
const EMAIL_DOMAIN: &str = "seed.invalid";
/// Posts are spread over this many days before the seed run.
const SPAN_DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The newest seeded post is this much older than the run, so posts made right after
/// seeding are always newer.
const NEWEST_AGE_MS: i64 = 60 * 1000;
/// A sanity bound on the plan (`user10000000` is still far below Mastodon's 30-character
/// usernames).
const MAX_ACCOUNTS: usize = 10_000_000;

/// Seeds `store`, the database behind `engine`, and prints a summary to standard
/// output.
pub async fn seed(engine: &Engine, store: &Store, plan: SeedPlan) -> anyhow::Result<()> {
    let s = seed_quiet(engine, store, plan, true).await?;
    println!(
        "seed summary ({} database):",
        match store.kind() {
            sluice_store::EngineKind::Sqlite => "SQLite",
            sluice_store::EngineKind::Postgres => "PostgreSQL",
        }
    );
    println!("  accounts  {:>8} new   {:>7.1} s", s.accounts, s.phases[0]);
    println!("  follows   {:>8} new   {:>7.1} s", s.follows, s.phases[1]);
    println!(
        "  statuses  {:>8} new   {:>7.1} s  ({} hashtag links)",
        s.statuses, s.phases[2], s.tags
    );
    if let Some(root) = s.thread_root {
        println!("  thread root {root} ({} new replies)", s.thread_replies);
    }
    println!("  counters            -   {:>7.1} s", s.phases[3]);
    println!("  total                   {:>7.1} s", s.seconds);
    Ok(())
}

/// [`seed`] without the summary line; `progress` draws progress bars on standard error
/// (only when it is a terminal).
pub async fn seed_quiet(
    engine: &Engine,
    store: &Store,
    plan: SeedPlan,
    progress: bool,
) -> anyhow::Result<SeedSummary> {
    if plan.accounts == 0 {
        anyhow::bail!("--accounts must be at least 1");
    }
    if plan.accounts > MAX_ACCOUNTS {
        anyhow::bail!("--accounts must be at most {MAX_ACCOUNTS}");
    }
    let plen = plan.password.chars().count();
    if !(sluice_engine::accounts::MIN_PASSWORD_CHARS..=sluice_engine::accounts::MAX_PASSWORD_CHARS)
        .contains(&plen)
    {
        anyhow::bail!("--password must be between 8 and 72 characters");
    }
    let started = Instant::now();
    let now = sluice_model::id::now_millis();
    // Ids are minted for past times, in increasing time order. The engine's generator
    // never goes backwards, so once it has handed out an id for "now" it would turn every
    // past time into "now"; a generator of our own keeps seeded ids time-sortable.
    let ids = IdGenerator::new();
    let mut summary = SeedSummary::default();
    let mut seeder = Seeder {
        engine,
        store,
        ids: &ids,
        rng: Rng::new(0x5EED_5EED),
        progress,
    };

    let mut lap = Instant::now();
    let mut phase = |summary: &mut SeedSummary, n: usize| {
        summary.phases[n] = lap.elapsed().as_secs_f64();
        lap = Instant::now();
    };
    let accounts = seeder.accounts(&plan, now, &mut summary).await?;
    phase(&mut summary, 0);
    summary.follows = seeder.follows(&accounts, plan.follows, now).await?;
    phase(&mut summary, 1);
    seeder
        .statuses(&accounts, plan.statuses, now, &mut summary)
        .await?;
    seeder
        .thread(&accounts, plan.thread_replies, now, &mut summary)
        .await?;
    phase(&mut summary, 2);
    seeder.fix_counters().await?;
    phase(&mut summary, 3);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A seeded account: what posts and follows need to know about it.
#[derive(Debug, Clone)]
struct Seeded {
    id: Id,
    username: String,
    uri: String,
}

struct Seeder<'a> {
    engine: &'a Engine,
    store: &'a Store,
    ids: &'a IdGenerator,
    rng: Rng,
    progress: bool,
}

impl Seeder<'_> {
    fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let target = if self.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>9} [{bar:40}] {pos:>7}/{len:7} {per_sec:>10} eta {eta}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// Creates `user1..userN` where missing; returns all N, in order.
    async fn accounts(
        &mut self,
        plan: &SeedPlan,
        now: i64,
        summary: &mut SeedSummary,
    ) -> anyhow::Result<Vec<Seeded>> {
        let existing: Vec<AccountRow> = self
            .store
            .all(Query::new(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.domain = '' AND a.username LIKE 'user%'"
            )))
            .await?;
        let existing: HashMap<String, AccountRow> = existing
            .into_iter()
            .map(|a| (a.username.to_lowercase(), a))
            .collect();
        let missing = (1..=plan.accounts)
            .filter(|i| !existing.contains_key(&format!("user{i}")))
            .count();
        let (hash, key_pair) = if missing > 0 {
            (
                sluice_engine::accounts::hash_password(plan.password.clone()).await?,
                Some(self.engine.new_key_pair().await?),
            )
        } else {
            (String::new(), None)
        };
        let engine = self.engine;
        let urls = &engine.urls;
        // Accounts join a day before the first post, one millisecond apart.
        let joined = now - (SPAN_DAYS + 1) * DAY_MS;
        let bar = self.bar(plan.accounts as u64, "accounts");
        let mut out = Vec::with_capacity(plan.accounts);
        let mut tx: Option<WriteTx> = None;
        let mut in_tx = 0;
        for i in 1..=plan.accounts {
            let username = format!("user{i}");
            if let Some(a) = existing.get(&username) {
                out.push(Seeded {
                    id: a.id,
                    username: a.username.clone(),
                    uri: a.uri.clone(),
                });
                bar.inc(1);
                continue;
            }
            let created_at = joined + i as i64;
            let id = self.ids.next_at(created_at);
            let account = NewAccount {
                id,
                username: username.clone(),
                domain: String::new(),
                display_name: format!("User {i}"),
                uri: urls.actor(&username),
                url: urls.profile(&username),
                inbox_url: urls.inbox(&username),
                shared_inbox_url: urls.shared_inbox(),
                followers_url: urls.followers(&username),
                locked: false,
                bot: false,
                // Searchable, so that the search benchmark finds public posts.
                indexable: true,
                created_at,
            };
            let user = NewUser {
                email: format!("{username}@{EMAIL_DOMAIN}"),
                password_hash: hash.clone(),
                admin: false,
                approved: true,
                locale: "en".into(),
                registration_reason: String::new(),
                confirmed: true,
            };
            if tx.is_none() {
                tx = Some(self.store.begin().await?);
            }
            let t = tx.as_mut().expect("just begun");
            t.insert_account(&account)
                .await
                .with_context(|| format!("cannot create account {username}"))?;
            match t.insert_user(id, &user, created_at).await {
                Err(StoreError::Conflict(_)) => anyhow::bail!(
                    "cannot create user {username}: the e-mail {} is taken by another account",
                    user.email
                ),
                r => r?,
            }
            if let Some(pair) = &key_pair {
                t.upsert_key(&engine.local_key_row(id, &urls.key_id(&account.uri), pair))
                    .await?;
            }
            out.push(Seeded {
                id,
                uri: account.uri,
                username,
            });
            summary.accounts += 1;
            in_tx += 1;
            if in_tx >= BATCH {
                tx.take().expect("open").commit().await?;
                in_tx = 0;
            }
            bar.inc(1);
        }
        if let Some(t) = tx {
            t.commit().await?;
        }
        bar.finish();
        Ok(out)
    }

    /// Each account follows `per_account` distinct others. Accounts that follow that many
    /// already are left alone, so a rerun (even with more accounts) only fills gaps.
    /// Returns follow rows created.
    async fn follows(
        &mut self,
        accounts: &[Seeded],
        per_account: usize,
        now: i64,
    ) -> anyhow::Result<u64> {
        let n = accounts.len();
        let per = per_account.min(n.saturating_sub(1));
        if per == 0 {
            return Ok(0);
        }
        let index: HashMap<Id, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i))
            .collect();
        let mut have: HashMap<Id, usize> = HashMap::new();
        let counts: Vec<PairRow> = self
            .store
            .all(Query::new(
                "SELECT account_id AS a, count(*) AS b FROM follows GROUP BY account_id",
            ))
            .await?;
        for c in counts {
            if index.contains_key(&c.a) {
                have.insert(c.a, c.b.max(0) as usize);
            }
        }
        let todo: usize = accounts
            .iter()
            .map(|a| per.saturating_sub(have.get(&a.id).copied().unwrap_or(0)))
            .sum();
        let bar = self.bar(todo as u64, "follows");
        let at = now - SPAN_DAYS * DAY_MS - DAY_MS / 2;
        let mut created = 0;
        let mut rows: Vec<NewRelation> = Vec::with_capacity(FOLLOW_BATCH);
        let mut targets = Vec::with_capacity(per);
        let mut exclude = HashSet::new();
        for (i, a) in accounts.iter().enumerate() {
            let had = have.get(&a.id).copied().unwrap_or(0);
            if had >= per {
                continue;
            }
            exclude.clear();
            exclude.insert(i);
            if had > 0 {
                // Left half-done by an interrupted run: keep what is there.
                let existing: Vec<Scalar> = self
                    .store
                    .all(
                        Query::new(
                            "SELECT target_account_id AS v FROM follows WHERE account_id = $1",
                        )
                        .bind(a.id),
                    )
                    .await?;
                exclude.extend(existing.iter().filter_map(|t| index.get(&t.v).copied()));
            }
            // Each account's choice depends on its own number only, so it does not change
            // when the plan grows.
            let mut rng = Rng::new(FOLLOW_SEED ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            rng.distinct_excluding(n, &exclude, per - had, &mut targets);
            for &t in &targets {
                let id = self.ids.next_at(at);
                rows.push(NewRelation {
                    id,
                    account_id: a.id,
                    target_account_id: accounts[t].id,
                    uri: format!("{}#follows/{id}", a.uri),
                    flag_a: true,
                    flag_b: false,
                    expires_at: None,
                    created_at: sluice_model::id::millis_of(id),
                });
                if rows.len() >= FOLLOW_BATCH {
                    created += self.insert_follows(&rows).await?;
                    bar.inc(rows.len() as u64);
                    rows.clear();
                }
            }
        }
        if !rows.is_empty() {
            created += self.insert_follows(&rows).await?;
            bar.inc(rows.len() as u64);
        }
        bar.finish();
        Ok(created)
    }

    /// Inserts follow rows in one transaction, with multi-row statements (one statement
    /// per row is several times slower on PostgreSQL, where each is a round trip). Rows
    /// that exist are skipped; returns how many were new.
    async fn insert_follows(&self, rows: &[NewRelation]) -> anyhow::Result<u64> {
        // SQLite looks bound parameters up by name in a list, so binding is quadratic in
        // the parameters of one statement: small statements there, large ones on
        // PostgreSQL.
        let per_statement = match self.store.kind() {
            EngineKind::Sqlite => 100,
            EngineKind::Postgres => 1000,
        };
        let mut tx = self.store.begin().await?;
        let mut created = 0;
        for chunk in rows.chunks(per_statement) {
            let mut q = Query::new(
                "INSERT INTO follows (id, account_id, target_account_id, uri, show_reblogs, notify, created_at) VALUES ",
            );
            for (k, r) in chunk.iter().enumerate() {
                let values = [
                    q.arg(r.id),
                    q.arg(r.account_id),
                    q.arg(r.target_account_id),
                    q.arg(&r.uri),
                    q.arg(r.flag_a),
                    q.arg(r.flag_b),
                    q.arg(r.created_at),
                ];
                if k > 0 {
                    q.push(", ");
                }
                q.push(&format!("({})", values.join(", ")));
            }
            q.push(" ON CONFLICT (account_id, target_account_id) DO NOTHING");
            created += tx.exec(q).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Adds posts until the seeded accounts have `total` of them.
    async fn statuses(
        &mut self,
        accounts: &[Seeded],
        total: usize,
        now: i64,
        summary: &mut SeedSummary,
    ) -> anyhow::Result<()> {
        let have = self
            .store
            .one::<Scalar>(
                Query::new(
                    "SELECT count(*) AS v FROM statuses s JOIN users u ON u.account_id = s.account_id
                     WHERE u.email LIKE $1 AND s.thread_id NOT IN
                       (SELECT r.id FROM statuses r WHERE r.in_reply_to_id IS NULL AND r.source_text LIKE $2)",
                )
                .bind(format!("%@{EMAIL_DOMAIN}"))
                .bind(format!("{THREAD_MARKER}%")),
            )
            .await?
            .v
            .max(0) as usize;
        let todo = total.saturating_sub(have);
        if todo == 0 {
            return Ok(());
        }
        let first = now - SPAN_DAYS * DAY_MS;
        let span = SPAN_DAYS * DAY_MS - NEWEST_AGE_MS;
        let step = (span / todo as i64).max(1);
        // Recent posts that replies may answer: (id, author index, thread id).
        let mut recent: Vec<(Id, usize, Id)> = Vec::with_capacity(RECENT);
        let ids = self.ids;
        let new_tag_id = || ids.next_at(first);
        let bar = self.bar(todo as u64, "statuses");
        let mut tx = self.store.begin().await?;
        let mut in_tx = 0;
        for k in 0..todo {
            let millis = first + k as i64 * step + self.rng.below(step as u64) as i64;
            let id = self.ids.next_at(millis);
            let created_at = sluice_model::id::millis_of(id);
            let author = self.rng.below(accounts.len() as u64) as usize;
            let a = &accounts[author];
            let roll = self.rng.below(100);
            let visibility = match roll {
                0..80 => "public",
                80..92 => "unlisted",
                _ => "private",
            };
            // About one post in six answers a recent one (a third of those their own).
            let parent = if !recent.is_empty() && self.rng.below(6) == 0 {
                Some(recent[self.rng.below(recent.len() as u64) as usize])
            } else {
                None
            };
            let mut text = String::new();
            if let Some((_, pa, _)) = parent
                && pa != author
            {
                text.push('@');
                text.push_str(&accounts[pa].username);
                text.push(' ');
            }
            self.rng.sentence(&mut text);
            let mut tags: Vec<String> = Vec::new();
            if self.rng.below(5) == 0 {
                for _ in 0..1 + self.rng.below(2) {
                    let t = TAGS[self.rng.below(TAGS.len() as u64) as usize];
                    if !tags.iter().any(|x| x == t) {
                        tags.push(t.to_string());
                        text.push_str(" #");
                        text.push_str(t);
                    }
                }
            }
            let reply_to = parent.map(|(pid, pa, thread)| (pid, accounts[pa].id, thread));
            let status = self.note(a, id, reply_to, text, visibility);
            tx.insert_status(&status).await?;
            if !tags.is_empty() {
                tx.set_tags(id, &tags, &new_tag_id, created_at).await?;
                summary.tags += tags.len() as u64;
            }
            if visibility != "private" {
                let entry = (id, author, status.thread_id);
                if recent.len() < RECENT {
                    recent.push(entry);
                } else {
                    let slot = self.rng.below(RECENT as u64) as usize;
                    recent[slot] = entry;
                }
            }
            summary.statuses += 1;
            in_tx += 1;
            if in_tx >= BATCH {
                tx.commit().await?;
                tx = self.store.begin().await?;
                in_tx = 0;
            }
            bar.inc(1);
        }
        tx.commit().await?;
        bar.finish();
        Ok(())
    }

    /// A local post of `author`'s, as seeding writes them: `reply_to` is the parent's id,
    /// its author's account id and its thread.
    fn note(
        &self,
        author: &Seeded,
        id: Id,
        reply_to: Option<(Id, Id, Id)>,
        text: String,
        visibility: &str,
    ) -> StatusRow {
        let urls = &self.engine.urls;
        let html =
            content::sanitize_html(&content::plain_to_html(&text, &|t| urls.tag(t), &|_| None));
        let created_at = sluice_model::id::millis_of(id);
        StatusRow {
            id,
            uri: urls.status(&author.username, id),
            url: urls.status_page(&author.username, id),
            account_id: author.id,
            in_reply_to_id: reply_to.map(|r| r.0),
            in_reply_to_account_id: reply_to.map(|r| r.1),
            reblog_of_id: None,
            thread_id: reply_to.map(|r| r.2).unwrap_or(id),
            object_type: "Note".into(),
            content: html,
            source_text: text,
            spoiler_text: String::new(),
            sensitive: false,
            visibility: visibility.into(),
            language: Some("en".into()),
            local: true,
            application_id: None,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
            created_at,
            edited_at: None,
            updated_at: created_at,
            attachments: "[]".into(),
        }
    }

    /// The thread-context conversation (module docs): a root and `replies` replies, in
    /// one transaction, newer than every other seeded post. One that exists is kept.
    async fn thread(
        &mut self,
        accounts: &[Seeded],
        replies: usize,
        now: i64,
        summary: &mut SeedSummary,
    ) -> anyhow::Result<()> {
        if replies == 0 {
            return Ok(());
        }
        let existing: Option<Scalar> = self
            .store
            .opt(
                Query::new(
                    "SELECT s.id AS v FROM statuses s WHERE s.local = TRUE
                     AND s.in_reply_to_id IS NULL AND s.source_text LIKE $1
                     ORDER BY s.id LIMIT 1",
                )
                .bind(format!("{THREAD_MARKER}%")),
            )
            .await?;
        if let Some(root) = existing {
            summary.thread_root = Some(root.v);
            return Ok(());
        }
        let viewer = 0;
        let followed: Vec<Scalar> = self
            .store
            .all(
                Query::new("SELECT target_account_id AS v FROM follows WHERE account_id = $1")
                    .bind(accounts[viewer].id),
            )
            .await?;
        let index: HashMap<Id, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i))
            .collect();
        let mut followed: Vec<usize> = followed
            .iter()
            .filter_map(|f| index.get(&f.v).copied())
            .collect();
        followed.sort_unstable();
        let mut rng = Rng::new(THREAD_SEED);
        let n = accounts.len();
        // The root's author: someone `user1` follows (else the next account).
        let root_author = followed.first().copied().unwrap_or(1 % n);
        // Who replies: user1, the root's author and others user1 follows (user1 sees
        // all they write), and accounts user1 does not follow (their followers-only
        // replies are hidden from user1).
        let mut known = vec![viewer, root_author];
        known.dedup(); // a one-account plan: user1 is the root's author too
        let joining: Vec<usize> = followed
            .iter()
            .copied()
            .filter(|i| !known.contains(i))
            .take(THREAD_VOICES / 2)
            .collect();
        known.extend(joining);
        let strangers: Vec<usize> = (1..n)
            .filter(|i| !known.contains(i) && followed.binary_search(i).is_err())
            .take(THREAD_VOICES / 2)
            .collect();
        let everyone: Vec<usize> = known.iter().chain(&strangers).copied().collect();
        // Root and replies one second apart, the last of them older than the run.
        let first = now - NEWEST_AGE_MS / 2 - (replies as i64 + 1) * 1000;
        let mut tx = self.store.begin().await?;
        let mut text = format!("{THREAD_MARKER} ");
        rng.sentence(&mut text);
        let root_id = self.ids.next_at(first);
        let root = self.note(&accounts[root_author], root_id, None, text, "public");
        tx.insert_status(&root).await?;
        // (id, author index) of each post so far.
        let mut posts: Vec<(Id, usize)> = vec![(root_id, root_author)];
        for k in 1..=replies {
            // Three in five public, one unlisted, one followers-only; those alternate
            // between accounts user1 follows and accounts it does not.
            let (visibility, voices) = match k % 5 {
                3 => ("unlisted", &everyone),
                0 if k % 10 == 0 && !strangers.is_empty() => ("private", &strangers),
                0 => ("private", &known),
                _ => ("public", &everyone),
            };
            let author = voices[rng.below(voices.len() as u64) as usize];
            // Half answer the root, the others an earlier reply.
            let (parent, parent_author) = if rng.below(2) == 0 {
                posts[0]
            } else {
                posts[rng.below(posts.len() as u64) as usize]
            };
            let mut text = String::new();
            if parent_author != author {
                text.push('@');
                text.push_str(&accounts[parent_author].username);
                text.push(' ');
            }
            rng.sentence(&mut text);
            let id = self.ids.next_at(first + k as i64 * 1000);
            let reply_to = Some((parent, accounts[parent_author].id, root_id));
            let status = self.note(&accounts[author], id, reply_to, text, visibility);
            tx.insert_status(&status).await?;
            posts.push((id, author));
        }
        tx.commit().await?;
        summary.thread_root = Some(root_id);
        summary.thread_replies = replies as u64;
        Ok(())
    }

    /// Recomputes the counters seeding bypassed, one set-based statement each: followers,
    /// following, statuses and last post time of local accounts, replies of local posts.
    /// Then refreshes PostgreSQL's planner statistics.
    async fn fix_counters(&mut self) -> anyhow::Result<()> {
        let bar = self.bar(COUNTER_FIXES.len() as u64, "counters");
        for sql in COUNTER_FIXES {
            let mut tx = self.store.begin().await?;
            tx.exec(Query::new(*sql))
                .await
                .with_context(|| format!("counter fix-up failed: {sql}"))?;
            tx.commit().await?;
            bar.inc(1);
        }
        // PostgreSQL's autovacuum would gather planner statistics for the new rows within
        // a minute or so; doing it now makes the first queries after seeding (and
        // benchmarks) independent of that timing. SQLite is left as a server leaves it
        // (nothing runs ANALYZE there).
        if self.store.kind() == EngineKind::Postgres {
            self.store.exec(Query::new("ANALYZE")).await?;
        }
        bar.finish();
        Ok(())
    }
}

/// Counter repairs. Each is correct for any local account or post, seeded or not: the
/// counters of local rows are by definition these counts.
const COUNTER_FIXES: &[&str] = &[
    "UPDATE accounts SET followers_count =
       (SELECT count(*) FROM follows f WHERE f.target_account_id = accounts.id)
     WHERE domain = ''",
    "UPDATE accounts SET following_count =
       (SELECT count(*) FROM follows f WHERE f.account_id = accounts.id)
     WHERE domain = ''",
    "UPDATE accounts SET statuses_count =
       (SELECT count(*) FROM statuses s WHERE s.account_id = accounts.id)
     WHERE domain = ''",
    "UPDATE accounts SET last_status_at =
       (SELECT max(s.created_at) FROM statuses s WHERE s.account_id = accounts.id AND s.reblog_of_id IS NULL)
     WHERE domain = ''",
    "UPDATE statuses SET replies_count =
       (SELECT count(*) FROM statuses r WHERE r.in_reply_to_id = statuses.id)
     WHERE local = TRUE AND id IN (SELECT in_reply_to_id FROM statuses WHERE in_reply_to_id IS NOT NULL)",
];

/// How many recent posts replies choose their parent from.
const RECENT: usize = 2000;

const TAGS: &[&str] = &[
    "fediverse",
    "rust",
    "sqlite",
    "postgres",
    "photography",
    "cats",
    "dogs",
    "music",
    "books",
    "coffee",
    "gardening",
    "cycling",
    "hiking",
    "cooking",
    "linux",
    "opensource",
    "art",
    "science",
    "space",
    "weather",
    "travel",
    "running",
    "chess",
    "movies",
    "gaming",
];

const WORDS: &[&str] = &[
    "the",
    "a",
    "morning",
    "river",
    "sluice",
    "gate",
    "water",
    "flows",
    "quietly",
    "past",
    "old",
    "mill",
    "today",
    "I",
    "we",
    "saw",
    "heard",
    "made",
    "bread",
    "coffee",
    "again",
    "and",
    "but",
    "then",
    "later",
    "small",
    "bright",
    "green",
    "field",
    "train",
    "late",
    "station",
    "friends",
    "post",
    "timeline",
    "server",
    "federated",
    "garden",
    "tomatoes",
    "rain",
    "sun",
    "finally",
    "weekend",
    "book",
    "chapter",
    "reading",
    "walk",
    "long",
    "dog",
    "cat",
    "window",
    "light",
    "evening",
    "quiet",
    "music",
    "new",
    "record",
    "town",
    "market",
    "bike",
    "hill",
    "tea",
    "kitchen",
    "soup",
    "recipe",
    "notes",
    "idea",
    "code",
    "compiles",
    "tests",
    "pass",
    "really",
    "nice",
    "view",
    "from",
    "here",
    "over",
    "bridge",
];

/// SplitMix64: small, fast and the same on every platform and release, so a plan always
/// seeds the same data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0); the modulo bias is irrelevant at these sizes.
    fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        self.next_u64() % n
    }

    /// `count` distinct indexes in `0..n` that are not in `exclude`, into `out` (fewer
    /// when not enough are left).
    fn distinct_excluding(
        &mut self,
        n: usize,
        exclude: &HashSet<usize>,
        count: usize,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let free = n - exclude.iter().filter(|&&x| x < n).count();
        let count = count.min(free);
        if count * 2 >= free {
            // Dense: a partial shuffle of every candidate.
            let mut all: Vec<usize> = (0..n).filter(|x| !exclude.contains(x)).collect();
            for k in 0..count {
                let j = k + self.below((all.len() - k) as u64) as usize;
                all.swap(k, j);
            }
            out.extend_from_slice(&all[..count]);
            return;
        }
        let mut seen = HashSet::with_capacity(count);
        while out.len() < count {
            let t = self.below(n as u64) as usize;
            if !exclude.contains(&t) && seen.insert(t) {
                out.push(t);
            }
        }
    }

    /// Appends a sentence of 4 to 30 words.
    fn sentence(&mut self, out: &mut String) {
        let words = 4 + self.below(27);
        for w in 0..words {
            if w > 0 {
                out.push(' ');
            }
            let word = WORDS[self.below(WORDS.len() as u64) as usize];
            if w == 0 {
                let mut c = word.chars();
                if let Some(f) = c.next() {
                    out.extend(f.to_uppercase());
                    out.push_str(c.as_str());
                }
            } else {
                out.push_str(word);
            }
        }
        out.push('.');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_never_picks_excluded_or_twice() {
        let mut rng = Rng::new(1);
        let mut out = Vec::new();
        for (n, me, count) in [(10, 3, 9), (10, 0, 4), (1000, 999, 100), (2, 1, 5)] {
            let exclude = HashSet::from([me]);
            rng.distinct_excluding(n, &exclude, count, &mut out);
            assert_eq!(out.len(), count.min(n - 1));
            assert!(!out.contains(&me));
            let set: HashSet<_> = out.iter().collect();
            assert_eq!(set.len(), out.len());
            assert!(out.iter().all(|&t| t < n));
        }
    }

    #[test]
    fn rng_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let (mut sa, mut sb) = (String::new(), String::new());
        a.sentence(&mut sa);
        b.sentence(&mut sb);
        assert_eq!(sa, sb);
        assert!(sa.ends_with('.'));
    }
}
