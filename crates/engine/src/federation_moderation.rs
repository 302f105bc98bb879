//! Federation moderation (issue 17): the instance's domain blocks and their effects,
//! domain allows (allow-list federation), e-mail domain, canonical e-mail and IP
//! blocks, the instance's rules, and the purge of suspended remote accounts' content.
//!
//! Every write here is one transaction with its audit entry ([`Engine::audit`]).
//!
//! A `suspend` block marks the domain's accounts suspended (at the block's creation
//! time, so lifting the block lifts exactly those suspensions) in the block's
//! transaction; the purge task ([`Engine::spawn_purge`]) then removes the content of
//! every suspended remote account — the domain's, and accounts an admin suspended one
//! by one — in batches of [`PurgeSettings::batch`] posts, one transaction each, pausing
//! [`PurgeSettings::pause_ms`] between batches so other writers get the database. Its
//! work is found in the database (`accounts.suspended_at` newer than
//! `accounts.purged_at`), so it goes on after a restart.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};
use sluice_model::media::Attachment;
use sluice_model::{Id, Timestamp};
use sluice_store::{
    CanonicalEmailBlockRow, DomainBlockRow, DomainList, DomainRow, IpBlockRow, RuleRow, WriteTx,
    host_in_domain,
};

use crate::effects::Changes;
use crate::moderation::Audit;
use crate::{Engine, EngineError, Result};

/// Posts removed per purge transaction, by default.
pub const DEFAULT_PURGE_BATCH: usize = 200;
/// Pause between two purge transactions, by default, in milliseconds.
pub const DEFAULT_PURGE_PAUSE_MS: u64 = 50;
/// How often the purge task looks for work when nothing woke it.
const PURGE_RECHECK: Duration = Duration::from_secs(60);
/// Longest comment on a block, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;
/// Longest domain name.
const MAX_DOMAIN_CHARS: usize = 253;
/// Longest rule text, in characters (Mastodon's limit).
pub const MAX_RULE_CHARS: usize = 300;
/// Most rules an instance may have.
pub const MAX_RULES: usize = 100;

/// How the purge of suspended remote accounts goes.
#[derive(Debug, Clone, Copy)]
pub struct PurgeSettings {
    /// Posts removed per transaction (at least 1).
    pub batch: usize,
    /// Pause between two transactions, in milliseconds.
    pub pause_ms: u64,
}

impl Default for PurgeSettings {
    fn default() -> Self {
        PurgeSettings {
            batch: DEFAULT_PURGE_BATCH,
            pause_ms: DEFAULT_PURGE_PAUSE_MS,
        }
    }
}

/// Whom the server federates with (`SLUICE_FEDERATION_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FederationMode {
    /// Everyone but suspended domains.
    #[default]
    Blocklist,
    /// Only domains with a domain allow (and never a suspended one).
    Allowlist,
}

/// A domain block as an admin asks for it (create, or the fields an update changes).
#[derive(Debug, Clone, Default)]
pub struct DomainBlockChange {
    pub domain: Option<String>,
    pub severity: Option<String>,
    pub reject_media: Option<bool>,
    pub reject_reports: Option<bool>,
    pub private_comment: Option<String>,
    pub public_comment: Option<String>,
    pub obfuscate: Option<bool>,
}

/// An IP block as an admin asks for it.
#[derive(Debug, Clone, Default)]
pub struct IpBlockChange {
    pub ip: Option<String>,
    pub severity: Option<String>,
    pub comment: Option<String>,
    /// Seconds from now; `Some(None)`: no end.
    pub expires_in: Option<Option<i64>>,
}

/// What an IP block means for a sign-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUpGate {
    Open,
    NeedsApproval,
    Refused,
}

/// The purge's progress for one domain block (`sluice admin domain-blocks`).
#[derive(Debug, Clone)]
pub struct PurgeProgress {
    pub purged: i64,
    pub left: i64,
}

/// A domain as blocks and allows store it: lowercase, no scheme, path or port, no
/// trailing dot; None when it is not a host name.
pub fn normalize_domain(input: &str) -> Option<String> {
    let mut d = input.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = d.strip_prefix(scheme) {
            d = rest.to_string();
        }
    }
    let d = d.split('/').next().unwrap_or("").trim_end_matches('.');
    let d = match d.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => d,
    };
    let ok = !d.is_empty()
        && d.len() <= MAX_DOMAIN_CHARS
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !d.starts_with('.')
        && !d.contains("..");
    ok.then(|| d.to_string())
}

/// Mastodon's canonical form of an e-mail address: lowercase, dots and anything from
/// `+` on removed from the local part.
pub fn canonical_email(email: &str) -> String {
    let lower = email.trim().to_lowercase();
    let (user, domain) = lower.split_once('@').unwrap_or((lower.as_str(), ""));
    let user: String = user.chars().filter(|c| *c != '.').collect();
    let user = user.split('+').next().unwrap_or("");
    format!("{user}@{domain}")
}

/// The SHA-256 (hex) of [`canonical_email`], as canonical e-mail blocks keep it.
pub fn canonical_email_hash(email: &str) -> String {
    hex(&Sha256::digest(canonical_email(email).as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|x| format!("{x:02x}")).collect()
}

/// The SHA-256 (hex) of a domain, as `/api/v1/instance/domain_blocks` shows it.
pub fn domain_digest(domain: &str) -> String {
    hex(&Sha256::digest(domain.as_bytes()))
}

/// A domain partly hidden, as Mastodon's public list shows an obfuscated block:
/// every other character of the middle replaced by `*`.
pub fn obfuscated(domain: &str) -> String {
    let chars: Vec<char> = domain.chars().collect();
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i > 0 && i + 1 < n && *c != '.' && i % 2 == 1 {
                '*'
            } else {
                *c
            }
        })
        .collect()
}

/// Parses an address or a CIDR network; the network's canonical text (`192.0.2.0/24`,
/// a single address with its full prefix).
pub fn parse_ip_block(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Some(net.trunc());
    }
    s.parse::<IpAddr>().ok().map(ipnet::IpNet::from)
}

const SEVERITIES: &[&str] = &["silence", "suspend", "noop"];
const IP_SEVERITIES: &[&str] = &["sign_up_requires_approval", "sign_up_block", "no_access"];

fn comment(field: &str, s: Option<String>) -> Result<Option<String>> {
    match s {
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(EngineError::invalid(format!(
            "Validation failed: {field} is too long (at most {MAX_COMMENT_CHARS} characters)"
        ))),
        other => Ok(other),
    }
}

impl Engine {
    // ---- domain blocks ----

    pub async fn admin_domain_block(&self, id: Id) -> Result<DomainBlockRow> {
        self.store
            .domain_block_by_id(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Blocks a domain (`POST /api/v1/admin/domain_blocks`); 422 when it is blocked
    /// already (change that block instead).
    pub async fn create_domain_block(
        &self,
        by: Option<Id>,
        change: DomainBlockChange,
    ) -> Result<DomainBlockRow> {
        let domain = change
            .domain
            .as_deref()
            .and_then(normalize_domain)
            .ok_or_else(|| EngineError::invalid("Validation failed: Domain is invalid"))?;
        if domain == self.urls.domain().split(':').next().unwrap_or("") {
            return Err(EngineError::invalid(
                "Validation failed: this server's own domain cannot be blocked",
            ));
        }
        if self.store.domain_block(&domain).await?.is_some() {
            return Err(EngineError::invalid(
                "Validation failed: Domain is already blocked (change that block instead)",
            ));
        }
        let now = sluice_model::id::now_millis();
        let block = DomainBlockRow {
            id: self.new_id(),
            domain,
            created_at: now,
            ..Default::default()
        };
        let block = Self::changed_block(block, change)?;
        self.write_domain_block(by, None, Some(&block), "create_domain_block")
            .await?;
        self.admin_domain_block(block.id).await
    }

    /// Changes a domain block (`PUT /api/v1/admin/domain_blocks/:id`).
    pub async fn update_domain_block(
        &self,
        by: Option<Id>,
        id: Id,
        mut change: DomainBlockChange,
    ) -> Result<DomainBlockRow> {
        let old = self.admin_domain_block(id).await?;
        change.domain = None;
        let new = Self::changed_block(old.clone(), change)?;
        self.write_domain_block(by, Some(&old), Some(&new), "update_domain_block")
            .await?;
        self.admin_domain_block(id).await
    }

    /// Lifts a domain block (`DELETE /api/v1/admin/domain_blocks/:id`).
    pub async fn delete_domain_block(&self, by: Option<Id>, id: Id) -> Result<()> {
        let old = self.admin_domain_block(id).await?;
        self.write_domain_block(by, Some(&old), None, "destroy_domain_block")
            .await
    }

    /// Blocks a domain or changes its block, for the command line (no id needed).
    pub async fn set_domain_block(&self, block: &DomainBlockRow) -> Result<()> {
        let old = self.store.domain_block(&block.domain).await?;
        let mut new = block.clone();
        if let Some(old) = &old {
            new.id = old.id;
            new.created_at = old.created_at;
            new.purged_statuses = old.purged_statuses;
        } else if new.id == 0 {
            new.id = self.new_id();
        }
        if new.created_at == 0 {
            new.created_at = sluice_model::id::now_millis();
        }
        let action = if old.is_some() {
            "update_domain_block"
        } else {
            "create_domain_block"
        };
        self.write_domain_block(None, old.as_ref(), Some(&new), action)
            .await
    }

    /// Lifts the instance's block of `domain` (the command line); false when it was not
    /// blocked.
    pub async fn remove_domain_block(&self, domain: &str) -> Result<bool> {
        let Some(old) = self
            .store
            .domain_block(&domain.to_ascii_lowercase())
            .await?
        else {
            return Ok(false);
        };
        self.write_domain_block(None, Some(&old), None, "destroy_domain_block")
            .await?;
        Ok(true)
    }

    /// The instance's domain blocks.
    pub async fn domain_blocks(&self) -> Result<Vec<DomainBlockRow>> {
        Ok(self.store.domain_blocks().await?)
    }

    fn changed_block(mut b: DomainBlockRow, c: DomainBlockChange) -> Result<DomainBlockRow> {
        if let Some(s) = c.severity {
            if !SEVERITIES.contains(&s.as_str()) {
                return Err(EngineError::invalid(
                    "Validation failed: Severity must be one of silence, suspend, noop",
                ));
            }
            b.severity = s;
        }
        if b.severity.is_empty() {
            b.severity = "silence".into();
        }
        if let Some(v) = c.reject_media {
            b.reject_media = v;
        }
        if let Some(v) = c.reject_reports {
            b.reject_reports = v;
        }
        if let Some(v) = c.obfuscate {
            b.obfuscate = v;
        }
        if let Some(v) = comment("Private comment", c.private_comment)? {
            b.private_comment = v;
        }
        if let Some(v) = comment("Public comment", c.public_comment)? {
            b.reason = v;
        }
        Ok(b)
    }

    /// One transaction: the block's row, the suspension of its accounts (or its end),
    /// the audit entry. Then the purge is woken.
    async fn write_domain_block(
        &self,
        by: Option<Id>,
        old: Option<&DomainBlockRow>,
        new: Option<&DomainBlockRow>,
        action: &str,
    ) -> Result<()> {
        let was_suspend = old.is_some_and(|b| b.severity == "suspend");
        let is_suspend = new.is_some_and(|b| b.severity == "suspend");
        let domain = new.or(old).map(|b| b.domain.clone()).unwrap_or_default();
        let account_domains: Vec<String> = if was_suspend != is_suspend {
            self.store
                .remote_account_domains()
                .await?
                .into_iter()
                .filter(|d| host_in_domain(d, &domain))
                .collect()
        } else {
            Vec::new()
        };
        let mut tx = self.store.begin().await?;
        match new {
            Some(b) => tx.set_domain_block(b).await?,
            None => {
                tx.remove_domain_block(&domain).await?;
            }
        }
        let mut touched = 0;
        if is_suspend && !was_suspend {
            let at = new.map_or(0, |b| b.created_at);
            for d in &account_domains {
                touched += tx.suspend_domain_accounts(d, at).await?;
            }
        } else if was_suspend && !is_suspend {
            let at = old.map_or(0, |b| b.created_at);
            for d in &account_domains {
                touched += tx.unsuspend_domain_accounts(d, at).await?;
            }
        }
        let text = match new {
            Some(b) => format!(
                "{}{}{}",
                b.severity,
                if b.reject_media { ", reject_media" } else { "" },
                if b.reject_reports {
                    ", reject_reports"
                } else {
                    ""
                }
            ),
            None => String::new(),
        };
        self.audit(
            &mut tx,
            Audit {
                by,
                action,
                target_type: "domain_block",
                target_id: new.or(old).map_or(0, |b| b.id).to_string(),
                target_label: domain.clone(),
                text: &text,
            },
        )
        .await?;
        tx.commit().await?;
        if touched > 0 {
            self.cache.accounts.clear();
        }
        self.cache.domain_blocks.clear();
        self.purge_wake.notify_one();
        Ok(())
    }

    /// The purge's progress for a block: posts removed so far, posts of the domain's
    /// accounts still stored (while the block is a suspension, the purge's work left).
    pub async fn purge_progress(&self, block: &DomainBlockRow) -> Result<PurgeProgress> {
        let left = if block.severity == "suspend" {
            let domains: Vec<String> = self
                .store
                .remote_account_domains()
                .await?
                .into_iter()
                .filter(|d| host_in_domain(d, &block.domain))
                .collect();
            self.store.statuses_of_domains(&domains).await?
        } else {
            0
        };
        Ok(PurgeProgress {
            purged: block.purged_statuses,
            left,
        })
    }

    /// The block covering `host`, if any (the most specific one).
    async fn block_of(&self, host: &str) -> Result<Option<DomainBlockRow>> {
        Ok(self
            .store
            .domain_blocks()
            .await?
            .into_iter()
            .filter(|b| host_in_domain(host, &b.domain))
            .max_by_key(|b| b.domain.len()))
    }

    /// The domain blocks, from a short-lived cache ([`crate::cache::DOMAIN_BLOCKS_TTL`]):
    /// asked for every remote post and every streamed one.
    async fn cached_domain_blocks(&self) -> Result<std::sync::Arc<Vec<DomainBlockRow>>> {
        if let Some(b) = self.cache.domain_blocks.get(&()) {
            return Ok(b);
        }
        let b = std::sync::Arc::new(self.store.domain_blocks().await?);
        self.cache.domain_blocks.put((), b.clone());
        Ok(b)
    }

    /// Whether the domain of `host` is blocked with `reject_media` (or suspended).
    pub async fn media_rejected(&self, host: &str) -> Result<bool> {
        if host.is_empty() {
            return Ok(false);
        }
        Ok(self.cached_domain_blocks().await?.iter().any(|b| {
            (b.reject_media || b.severity == "suspend") && host_in_domain(host, &b.domain)
        }))
    }

    /// Whether the domain of `host` is silenced ("limited"): its accounts' public posts
    /// reach public timelines, search and streams only of their followers.
    pub async fn domain_silenced(&self, host: &str) -> Result<bool> {
        if host.is_empty() {
            return Ok(false);
        }
        Ok(self
            .cached_domain_blocks()
            .await?
            .iter()
            .any(|b| b.severity == "silence" && host_in_domain(host, &b.domain)))
    }

    /// Whether reports (`Flag`s) from `host` are ignored.
    pub async fn reports_rejected(&self, host: &str) -> Result<bool> {
        Ok(self
            .block_of(host)
            .await?
            .is_some_and(|b| b.reject_reports || b.severity == "suspend"))
    }

    // ---- domain allows and the federation mode ----

    /// Whether nothing is taken from `host` nor sent to it: a suspended domain, or in
    /// allow-list mode a domain without an allow.
    pub async fn host_refused(&self, host: &str) -> Result<bool> {
        if self.store.host_suspended(host).await? {
            return Ok(true);
        }
        if self.config.federation_mode == FederationMode::Allowlist {
            let allowed = self.store.domain_list(DomainList::Allows).await?;
            return Ok(!allowed.iter().any(|a| host_in_domain(host, &a.domain)));
        }
        Ok(false)
    }

    /// In allow-list mode, the allowed domains; None in block-list mode.
    pub(crate) async fn allowed_domains_in(&self, tx: &mut WriteTx) -> Result<Option<Vec<String>>> {
        if self.config.federation_mode != FederationMode::Allowlist {
            return Ok(None);
        }
        Ok(Some(tx.allowed_domains().await?))
    }

    pub async fn domain_list(&self, list: DomainList) -> Result<Vec<DomainRow>> {
        Ok(self.store.domain_list(list).await?)
    }

    pub async fn domain_list_row(&self, list: DomainList, id: Id) -> Result<DomainRow> {
        self.store
            .domain_list_row(list, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Adds a domain allow or an e-mail domain block; the existing row when the domain
    /// is listed already (as Mastodon answers a repeated allow).
    pub async fn add_domain_list(
        &self,
        by: Option<Id>,
        list: DomainList,
        domain: &str,
    ) -> Result<DomainRow> {
        let domain = normalize_domain(domain)
            .ok_or_else(|| EngineError::invalid("Validation failed: Domain is invalid"))?;
        if let Some(existing) = self
            .store
            .domain_list(list)
            .await?
            .into_iter()
            .find(|r| r.domain == domain)
        {
            return match list {
                DomainList::Allows => Ok(existing),
                DomainList::EmailBlocks => Err(EngineError::invalid(
                    "Validation failed: Domain has already been taken",
                )),
            };
        }
        let row = DomainRow {
            id: self.new_id(),
            domain: domain.clone(),
            created_at: sluice_model::id::now_millis(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_domain_list(list, &row).await?;
        let (action, kind) = match list {
            DomainList::Allows => ("create_domain_allow", "domain_allow"),
            DomainList::EmailBlocks => ("create_email_domain_block", "email_domain_block"),
        };
        self.audit(
            &mut tx,
            Audit {
                by,
                action,
                target_type: kind,
                target_id: row.id.to_string(),
                target_label: domain,
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn remove_domain_list(&self, by: Option<Id>, list: DomainList, id: Id) -> Result<()> {
        let row = self.domain_list_row(list, id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_domain_list(list, id).await? {
            return Err(EngineError::NotFound);
        }
        let (action, kind) = match list {
            DomainList::Allows => ("destroy_domain_allow", "domain_allow"),
            DomainList::EmailBlocks => ("destroy_email_domain_block", "email_domain_block"),
        };
        self.audit(
            &mut tx,
            Audit {
                by,
                action,
                target_type: kind,
                target_id: id.to_string(),
                target_label: row.domain,
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- e-mail blocks ----

    pub async fn canonical_email_blocks(&self) -> Result<Vec<CanonicalEmailBlockRow>> {
        Ok(self.store.canonical_email_blocks().await?)
    }

    pub async fn canonical_email_block(&self, id: Id) -> Result<CanonicalEmailBlockRow> {
        self.store
            .canonical_email_block(id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// The canonical e-mail blocks an address matches (`…/canonical_email_blocks/test`).
    pub async fn canonical_email_blocks_matching(
        &self,
        email: &str,
    ) -> Result<Vec<CanonicalEmailBlockRow>> {
        Ok(self
            .store
            .canonical_email_blocks_matching(&canonical_email_hash(email))
            .await?)
    }

    /// Blocks an address (given as `email`, or as its `canonical_email_hash`).
    pub async fn add_canonical_email_block(
        &self,
        by: Option<Id>,
        email: Option<&str>,
        hash: Option<&str>,
    ) -> Result<CanonicalEmailBlockRow> {
        let hash = match (email, hash) {
            (Some(e), _) if e.contains('@') => canonical_email_hash(e),
            (_, Some(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                h.to_ascii_lowercase()
            }
            _ => {
                return Err(EngineError::invalid(
                    "Validation failed: Canonical email hash can't be blank",
                ));
            }
        };
        let row = CanonicalEmailBlockRow {
            id: self.new_id(),
            canonical_email_hash: hash.clone(),
            created_at: sluice_model::id::now_millis(),
        };
        let mut tx = self.store.begin().await?;
        if !tx.insert_canonical_email_block(&row).await? {
            return Err(EngineError::invalid(
                "Validation failed: Canonical email hash has already been taken",
            ));
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "create_canonical_email_block",
                target_type: "canonical_email_block",
                target_id: row.id.to_string(),
                target_label: hash,
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn remove_canonical_email_block(&self, by: Option<Id>, id: Id) -> Result<()> {
        let row = self.canonical_email_block(id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_canonical_email_block(id).await? {
            return Err(EngineError::NotFound);
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "destroy_canonical_email_block",
                target_type: "canonical_email_block",
                target_id: id.to_string(),
                target_label: row.canonical_email_hash,
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether sign-ups with `email` are refused: its domain (or a parent domain) has
    /// an e-mail domain block, or its canonical form a canonical e-mail block.
    pub async fn email_blocked(&self, email: &str) -> Result<bool> {
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let blocked = self.store.domain_list(DomainList::EmailBlocks).await?;
        if blocked.iter().any(|b| host_in_domain(&domain, &b.domain)) {
            return Ok(true);
        }
        Ok(!self
            .canonical_email_blocks_matching(email)
            .await?
            .is_empty())
    }

    // ---- IP blocks ----

    pub async fn ip_blocks(&self) -> Result<Vec<IpBlockRow>> {
        Ok(self.store.ip_blocks(None).await?)
    }

    pub async fn ip_block(&self, id: Id) -> Result<IpBlockRow> {
        self.store.ip_block(id).await?.ok_or(EngineError::NotFound)
    }

    /// Adds (`id` None) or changes an IP block.
    pub async fn write_ip_block(
        &self,
        by: Option<Id>,
        id: Option<Id>,
        change: IpBlockChange,
    ) -> Result<IpBlockRow> {
        let now = sluice_model::id::now_millis();
        let mut row = match id {
            Some(id) => self.ip_block(id).await?,
            None => IpBlockRow {
                id: self.new_id(),
                ip: String::new(),
                severity: String::new(),
                comment: String::new(),
                created_at: now,
                expires_at: None,
            },
        };
        if let Some(ip) = change.ip {
            let net = parse_ip_block(&ip)
                .ok_or_else(|| EngineError::invalid("Validation failed: Ip is invalid"))?;
            row.ip = net.to_string();
        }
        if row.ip.is_empty() {
            return Err(EngineError::invalid("Validation failed: Ip can't be blank"));
        }
        if let Some(s) = change.severity {
            if !IP_SEVERITIES.contains(&s.as_str()) {
                return Err(EngineError::invalid(
                    "Validation failed: Severity must be one of sign_up_requires_approval, \
                     sign_up_block, no_access",
                ));
            }
            row.severity = s;
        }
        if row.severity.is_empty() {
            return Err(EngineError::invalid(
                "Validation failed: Severity can't be blank",
            ));
        }
        if let Some(c) = comment("Comment", change.comment)? {
            row.comment = c;
        }
        if let Some(expires_in) = change.expires_in {
            row.expires_at = match expires_in {
                None => None,
                Some(secs) if secs > 0 && secs <= 100 * 366 * 86_400 => Some(now + secs * 1000),
                Some(_) => {
                    return Err(EngineError::invalid(
                        "Validation failed: Expires in must be a positive number of seconds",
                    ));
                }
            };
        }
        let mut tx = self.store.begin().await?;
        if !tx.upsert_ip_block(&row).await? {
            return Err(EngineError::invalid(
                "Validation failed: Ip has already been taken",
            ));
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: if id.is_some() {
                    "update_ip_block"
                } else {
                    "create_ip_block"
                },
                target_type: "ip_block",
                target_id: row.id.to_string(),
                target_label: row.ip.clone(),
                text: &row.severity,
            },
        )
        .await?;
        tx.commit().await?;
        self.cache.no_access.clear();
        Ok(row)
    }

    pub async fn remove_ip_block(&self, by: Option<Id>, id: Id) -> Result<()> {
        let row = self.ip_block(id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_ip_block(id).await? {
            return Err(EngineError::NotFound);
        }
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "destroy_ip_block",
                target_type: "ip_block",
                target_id: id.to_string(),
                target_label: row.ip,
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        self.cache.no_access.clear();
        Ok(())
    }

    /// The strictest unexpired IP block covering `ip` (a client address as text).
    pub async fn ip_block_for(&self, ip: &str) -> Result<Option<IpBlockRow>> {
        let Ok(addr) = ip.parse::<IpAddr>() else {
            return Ok(None);
        };
        let rank = |s: &str| match s {
            "no_access" => 3,
            "sign_up_block" => 2,
            _ => 1,
        };
        Ok(self
            .store
            .ip_blocks(Some(sluice_model::id::now_millis()))
            .await?
            .into_iter()
            .filter(|b| parse_ip_block(&b.ip).is_some_and(|n| n.contains(&addr)))
            .max_by_key(|b| rank(&b.severity)))
    }

    /// Whether a `no_access` IP block covers `ip`: every request from it is refused
    /// (Mastodon answers such addresses 403 before routing). Read from a short-lived
    /// cache ([`crate::cache::NO_ACCESS_TTL`]), since every request asks.
    pub async fn ip_has_no_access(&self, ip: IpAddr) -> Result<bool> {
        let now = sluice_model::id::now_millis();
        let nets = match self.cache.no_access.get(&()) {
            Some(nets) => nets,
            None => {
                let nets: Vec<(ipnet::IpNet, Option<i64>)> = self
                    .store
                    .ip_blocks(Some(now))
                    .await?
                    .into_iter()
                    .filter(|b| b.severity == "no_access")
                    .filter_map(|b| parse_ip_block(&b.ip).map(|n| (n, b.expires_at)))
                    .collect();
                let nets = std::sync::Arc::new(nets);
                self.cache.no_access.put((), nets.clone());
                nets
            }
        };
        Ok(nets
            .iter()
            .any(|(net, expires)| expires.is_none_or(|e| e > now) && net.contains(&ip)))
    }

    /// What the IP blocks say about a sign-up from `ip`.
    pub async fn sign_up_gate(&self, ip: Option<&str>) -> Result<SignUpGate> {
        let Some(ip) = ip else {
            return Ok(SignUpGate::Open);
        };
        Ok(match self.ip_block_for(ip).await?.map(|b| b.severity) {
            Some(s) if s == "sign_up_requires_approval" => SignUpGate::NeedsApproval,
            Some(_) => SignUpGate::Refused,
            None => SignUpGate::Open,
        })
    }

    // ---- rules ----

    pub async fn instance_rules(&self) -> Result<Vec<RuleRow>> {
        Ok(self.store.instance_rules().await?)
    }

    pub async fn add_rule(&self, by: Option<Id>, text: &str, hint: &str) -> Result<RuleRow> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_RULE_CHARS {
            return Err(EngineError::invalid(format!(
                "Validation failed: Text must be 1 to {MAX_RULE_CHARS} characters"
            )));
        }
        if hint.chars().count() > MAX_COMMENT_CHARS {
            return Err(EngineError::invalid("Validation failed: Hint is too long"));
        }
        if self.store.instance_rules().await?.len() >= MAX_RULES {
            return Err(EngineError::invalid(format!(
                "Validation failed: at most {MAX_RULES} rules"
            )));
        }
        let row = RuleRow {
            id: self.new_id(),
            text: text.to_string(),
            hint: hint.trim().to_string(),
            position: 0,
            created_at: sluice_model::id::now_millis(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_rule(&row).await?;
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "create_rule",
                target_type: "rule",
                target_id: row.id.to_string(),
                target_label: row.text.clone(),
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn remove_rule(&self, by: Option<Id>, id: Id) -> Result<()> {
        let rules = self.store.instance_rules().await?;
        let rule = rules
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(EngineError::NotFound)?;
        let mut tx = self.store.begin().await?;
        tx.delete_rule(id).await?;
        self.audit(
            &mut tx,
            Audit {
                by,
                action: "destroy_rule",
                target_type: "rule",
                target_id: id.to_string(),
                target_label: rule.text,
                text: "",
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- media of domains with reject_media ----

    /// A remote post's attachments as stored when its domain's media are rejected:
    /// links only, of unknown kind (nothing of them is shown as media).
    pub(crate) fn without_media(attachments: &str) -> String {
        let list: Vec<Attachment> = Attachment::read_list(attachments)
            .into_iter()
            .map(|a| Attachment {
                kind: "unknown".into(),
                width: None,
                height: None,
                focus: None,
                blurhash: None,
                ..a
            })
            .collect();
        Attachment::write_list(&list)
    }

    // ---- the purge ----

    /// Starts the purge of suspended remote accounts' content (see the module).
    pub fn spawn_purge(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        crate::tasks::spawn_guarded("purge", shutdown.clone(), move || {
            let (engine, mut shutdown) = (engine.clone(), shutdown.clone());
            async move {
                loop {
                    let wait = match engine.purge_step().await {
                        Ok(true) => Duration::from_millis(engine.config.purge.pause_ms),
                        Ok(false) => PURGE_RECHECK,
                        Err(e) => {
                            tracing::warn!(error = %e, "purging suspended content failed");
                            Duration::from_secs(5)
                        }
                    };
                    if *shutdown.borrow() {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = engine.purge_wake.notified(), if wait == PURGE_RECHECK => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        })
    }

    /// One step of the purge, in one transaction: up to [`PurgeSettings::batch`] posts
    /// of the suspended remote accounts still to purge (lowest account id first, across
    /// as many accounts as the batch reaches) removed with a statement per table
    /// ([`Engine::delete_statuses_rows`]), and the rest of the content of the accounts
    /// whose last posts these were (or that had none left); or, when no account is left
    /// to purge, a batch of posts of a media-rejecting domain stripped of their media.
    /// An account with no post counts as one post of the batch. False when there was
    /// nothing to do.
    pub async fn purge_step(&self) -> Result<bool> {
        let batch = self.config.purge.batch.max(1);
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        let to_purge = self.store.suspended_remote_to_purge(limit).await?;
        if to_purge.is_empty() {
            return self.strip_rejected_media_step(batch).await;
        }
        let blocks = self.store.domain_blocks().await?;
        let mut picked: Vec<sluice_store::StatusRow> = Vec::new();
        // Accounts done in this step, and the block each one's posts count for.
        let mut done: Vec<Id> = Vec::new();
        let mut block_of: std::collections::HashMap<Id, Option<String>> = Default::default();
        for account_id in to_purge {
            let room = batch.saturating_sub(picked.len() + done.len());
            if room == 0 {
                break;
            }
            let Some(account) = self.store.account_even_suspended(account_id).await? else {
                continue;
            };
            let block = blocks
                .iter()
                .filter(|b| host_in_domain(&account.domain, &b.domain))
                .max_by_key(|b| b.domain.len())
                .map(|b| b.domain.clone());
            block_of.insert(account_id, block);
            // One more than there is room for: whether these are its last posts.
            let rows = self
                .store
                .statuses_of_account(account_id, i64::try_from(room + 1).unwrap_or(i64::MAX))
                .await?;
            if rows.len() < room {
                done.push(account_id);
                picked.extend(rows);
            } else {
                picked.extend(rows.into_iter().take(room));
            }
        }
        let now = sluice_model::id::now_millis();
        let mut tx = self.store.begin().await?;
        let mut changes = Changes::at(now);
        // Another process may have removed some since they were read.
        let ids: Vec<Id> = picked.iter().map(|s| s.id).collect();
        let statuses = tx.statuses_in_tx(&ids).await?;
        let deleted = self.delete_statuses_rows(&mut tx, &statuses, now).await?;
        changes.events(deleted.events);
        changes.accounts(&deleted.accounts);
        let mut purged: std::collections::BTreeMap<&str, i64> = Default::default();
        for s in &statuses {
            if let Some(Some(domain)) = block_of.get(&s.account_id) {
                *purged.entry(domain.as_str()).or_default() += 1;
            }
        }
        for (domain, n) in purged {
            tx.add_purged(domain, n).await?;
        }
        if !done.is_empty() {
            // `remove_remote_accounts` sets `suspended_at` to now when it is unset; it
            // is set here: the suspension's time is kept.
            changes.accounts(&tx.remove_remote_accounts(&done, now).await?);
            tx.purge_accounts_rest(&done, now).await?;
        }
        self.commit(tx, changes).await?;
        Ok(true)
    }

    /// Strips the media of one batch of posts of a domain blocked with `reject_media`;
    /// false when no such post is left.
    async fn strip_rejected_media_step(&self, batch: usize) -> Result<bool> {
        let blocks: Vec<DomainBlockRow> = self
            .store
            .domain_blocks()
            .await?
            .into_iter()
            .filter(|b| b.reject_media)
            .collect();
        if blocks.is_empty() {
            return Ok(false);
        }
        let domains: Vec<String> = self
            .store
            .remote_account_domains()
            .await?
            .into_iter()
            .filter(|d| blocks.iter().any(|b| host_in_domain(d, &b.domain)))
            .collect();
        for d in domains {
            let rows = self
                .store
                .statuses_with_media_of_domain(&d, i64::try_from(batch).unwrap_or(i64::MAX))
                .await?;
            if rows.is_empty() {
                continue;
            }
            let mut tx = self.store.begin().await?;
            for (id, attachments) in &rows {
                tx.set_status_attachments(*id, &Self::without_media(attachments))
                    .await?;
            }
            tx.commit().await?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// A domain block as Mastodon's admin API shows it (`Admin::DomainBlock`).
pub fn admin_domain_block_entity(b: &DomainBlockRow) -> serde_json::Value {
    json!({
        "id": b.id.to_string(),
        "domain": b.domain,
        "digest": domain_digest(&b.domain),
        "created_at": Timestamp(b.created_at).to_rfc3339(),
        "severity": b.severity,
        "reject_media": b.reject_media,
        "reject_reports": b.reject_reports,
        "private_comment": Some(&b.private_comment).filter(|c| !c.is_empty()),
        "public_comment": Some(&b.reason).filter(|c| !c.is_empty()),
        "obfuscate": b.obfuscate,
    })
}
