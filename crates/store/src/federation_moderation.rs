//! Federation moderation (migration 31): the instance's domain blocks as the admin API
//! has them, domain allows (allow-list federation), e-mail domain and canonical e-mail
//! blocks, IP blocks, the instance's rules, and the rows the purge of suspended remote
//! accounts reads and writes.

use crate::query::{Scalar, TextScalar};
use crate::{
    ACCOUNT_COLUMNS, AccountRow, DomainBlockRow, Id, Query, Result, STATUS_COLUMNS, StatusCounter,
    StatusRow, Store, WriteTx,
};

/// The columns of a domain block; rows written by an older process have no id and
/// read as one made of their creation time.
pub(crate) const DOMAIN_BLOCK_COLUMNS: &str = "COALESCE(id, created_at * 65536) AS id, domain, \
     severity, reject_media, reason, created_at, private_comment, reject_reports, obfuscate, \
     purged_statuses";

/// A domain allowed in allow-list mode, or a blocked e-mail domain.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DomainRow {
    pub id: Id,
    pub domain: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CanonicalEmailBlockRow {
    pub id: Id,
    pub canonical_email_hash: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IpBlockRow {
    pub id: Id,
    /// An address or a CIDR network, as text (`192.0.2.0/24`, `2001:db8::1/128`).
    pub ip: String,
    /// `sign_up_requires_approval`, `sign_up_block` or `no_access`.
    pub severity: String,
    pub comment: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub id: Id,
    pub text: String,
    pub hint: String,
    pub position: i64,
    pub created_at: i64,
}

/// Which table of domains: [`DomainRow`] lists.
#[derive(Debug, Clone, Copy)]
pub enum DomainList {
    Allows,
    EmailBlocks,
}

impl DomainList {
    fn table(self) -> &'static str {
        match self {
            DomainList::Allows => "domain_allows",
            DomainList::EmailBlocks => "email_domain_blocks",
        }
    }
}

impl Store {
    /// One domain block by its id.
    pub async fn domain_block_by_id(&self, id: Id) -> Result<Option<DomainBlockRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {DOMAIN_BLOCK_COLUMNS} FROM domain_blocks
                 WHERE COALESCE(id, created_at * 65536) = $1"
            ))
            .bind(id),
        )
        .await
    }

    /// One domain block by its domain (lowercase).
    pub async fn domain_block(&self, domain: &str) -> Result<Option<DomainBlockRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {DOMAIN_BLOCK_COLUMNS} FROM domain_blocks WHERE domain = $1"
            ))
            .bind(domain),
        )
        .await
    }

    /// Every row of a domain list, oldest first.
    pub async fn domain_list(&self, list: DomainList) -> Result<Vec<DomainRow>> {
        self.all(Query::new(format!(
            "SELECT id, domain, created_at FROM {} ORDER BY id",
            list.table()
        )))
        .await
    }

    pub async fn domain_list_row(&self, list: DomainList, id: Id) -> Result<Option<DomainRow>> {
        self.opt(
            Query::new(format!(
                "SELECT id, domain, created_at FROM {} WHERE id = $1",
                list.table()
            ))
            .bind(id),
        )
        .await
    }

    pub async fn canonical_email_blocks(&self) -> Result<Vec<CanonicalEmailBlockRow>> {
        self.all(Query::new(
            "SELECT id, canonical_email_hash, created_at FROM canonical_email_blocks ORDER BY id",
        ))
        .await
    }

    pub async fn canonical_email_block(&self, id: Id) -> Result<Option<CanonicalEmailBlockRow>> {
        self.opt(
            Query::new(
                "SELECT id, canonical_email_hash, created_at FROM canonical_email_blocks
                 WHERE id = $1",
            )
            .bind(id),
        )
        .await
    }

    /// The canonical e-mail blocks with this hash (at most one).
    pub async fn canonical_email_blocks_matching(
        &self,
        hash: &str,
    ) -> Result<Vec<CanonicalEmailBlockRow>> {
        self.all(
            Query::new(
                "SELECT id, canonical_email_hash, created_at FROM canonical_email_blocks
                 WHERE canonical_email_hash = $1",
            )
            .bind(hash),
        )
        .await
    }

    /// IP blocks, oldest first; with `now`, only those not expired then.
    pub async fn ip_blocks(&self, now: Option<i64>) -> Result<Vec<IpBlockRow>> {
        let mut q =
            String::from("SELECT id, ip, severity, comment, created_at, expires_at FROM ip_blocks");
        if now.is_some() {
            q.push_str(" WHERE expires_at IS NULL OR expires_at > $1");
        }
        q.push_str(" ORDER BY id");
        let mut query = Query::new(q);
        if let Some(now) = now {
            query = query.bind(now);
        }
        self.all(query).await
    }

    pub async fn ip_block(&self, id: Id) -> Result<Option<IpBlockRow>> {
        self.opt(
            Query::new(
                "SELECT id, ip, severity, comment, created_at, expires_at FROM ip_blocks
                 WHERE id = $1",
            )
            .bind(id),
        )
        .await
    }

    /// The instance's rules, in their order.
    pub async fn instance_rules(&self) -> Result<Vec<RuleRow>> {
        self.all(Query::new(
            "SELECT id, text, hint, position, created_at FROM instance_rules ORDER BY position, id",
        ))
        .await
    }

    /// Every distinct domain of the remote accounts we know.
    pub async fn remote_account_domains(&self) -> Result<Vec<String>> {
        Ok(self
            .all::<TextScalar>(Query::new(
                "SELECT DISTINCT domain AS v FROM accounts WHERE domain <> ''",
            ))
            .await?
            .into_iter()
            .filter_map(|r| r.v)
            .collect())
    }

    /// Remote accounts suspended whose content may be left (the purge's work), lowest
    /// id first.
    pub async fn suspended_remote_to_purge(&self, limit: i64) -> Result<Vec<Id>> {
        Ok(self
            .all::<Scalar>(
                Query::new(
                    "SELECT id AS v FROM accounts
                     WHERE suspended_at IS NOT NULL AND domain <> ''
                       AND (purged_at IS NULL OR purged_at < suspended_at)
                     ORDER BY id LIMIT $1",
                )
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| r.v)
            .collect())
    }

    /// An account, suspended or not.
    pub async fn account_even_suspended(&self, id: Id) -> Result<Option<AccountRow>> {
        self.opt(
            Query::new(format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1"
            ))
            .bind(id),
        )
        .await
    }

    /// The oldest `limit` statuses of an account.
    pub async fn statuses_of_account(&self, account_id: Id, limit: i64) -> Result<Vec<StatusRow>> {
        self.all(
            Query::new(format!(
                "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.account_id = $1
                 ORDER BY s.id LIMIT $2"
            ))
            .bind(account_id)
            .bind(limit),
        )
        .await
    }

    /// Up to `limit` posts of the accounts of `domain` (an exact account domain) that
    /// still carry media shown as media: `(id, attachments)`.
    pub async fn statuses_with_media_of_domain(
        &self,
        domain: &str,
        limit: i64,
    ) -> Result<Vec<(Id, String)>> {
        #[derive(sqlx::FromRow)]
        struct IdAttachments {
            id: Id,
            attachments: String,
        }
        Ok(self
            .all::<IdAttachments>(
                Query::new(
                    "SELECT s.id, s.attachments FROM statuses s JOIN accounts a ON a.id = s.account_id
                     WHERE a.domain = $1 AND s.attachments <> '[]'
                       AND (s.attachments LIKE '%\"kind\":\"image\"%'
                            OR s.attachments LIKE '%\"kind\":\"video\"%'
                            OR s.attachments LIKE '%\"kind\":\"gifv\"%'
                            OR s.attachments LIKE '%\"kind\":\"audio\"%')
                     ORDER BY s.id LIMIT $2",
                )
                .bind(domain)
                .bind(limit),
            )
            .await?
            .into_iter()
            .map(|r| (r.id, r.attachments))
            .collect())
    }

    /// Statuses still stored of the accounts of `domains` (exact account domains).
    pub async fn statuses_of_domains(&self, domains: &[String]) -> Result<i64> {
        let mut total = 0;
        for d in domains {
            total += self
                .one::<Scalar>(
                    Query::new(
                        "SELECT count(*) AS v FROM statuses s JOIN accounts a ON a.id = s.account_id
                         WHERE a.domain = $1",
                    )
                    .bind(d.as_str()),
                )
                .await?
                .v;
        }
        Ok(total)
    }
}

impl WriteTx {
    /// The domains allowed in allow-list mode.
    pub async fn allowed_domains(&mut self) -> Result<Vec<String>> {
        Ok(self
            .all::<TextScalar>(Query::new("SELECT domain AS v FROM domain_allows"))
            .await?
            .into_iter()
            .filter_map(|r| r.v)
            .collect())
    }

    /// Replaces the stored attachments of a post (media stripped).
    pub async fn set_status_attachments(&mut self, id: Id, attachments: &str) -> Result<()> {
        self.exec(
            Query::new("UPDATE statuses SET attachments = $2 WHERE id = $1")
                .bind(id)
                .bind(attachments),
        )
        .await?;
        Ok(())
    }

    /// Adds a row to a domain list; false when the domain is in it already.
    pub async fn insert_domain_list(&mut self, list: DomainList, row: &DomainRow) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(format!(
                    "INSERT INTO {} (id, domain, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (domain) DO NOTHING",
                    list.table()
                ))
                .bind(row.id)
                .bind(row.domain.as_str())
                .bind(row.created_at),
            )
            .await?
            == 1)
    }

    pub async fn delete_domain_list(&mut self, list: DomainList, id: Id) -> Result<bool> {
        Ok(self
            .exec(Query::new(format!("DELETE FROM {} WHERE id = $1", list.table())).bind(id))
            .await?
            == 1)
    }

    /// Adds a canonical e-mail block; false when the hash is blocked already.
    pub async fn insert_canonical_email_block(
        &mut self,
        row: &CanonicalEmailBlockRow,
    ) -> Result<bool> {
        Ok(self
            .exec(
                Query::new(
                    "INSERT INTO canonical_email_blocks (id, canonical_email_hash, created_at)
                     VALUES ($1, $2, $3) ON CONFLICT (canonical_email_hash) DO NOTHING",
                )
                .bind(row.id)
                .bind(row.canonical_email_hash.as_str())
                .bind(row.created_at),
            )
            .await?
            == 1)
    }

    pub async fn delete_canonical_email_block(&mut self, id: Id) -> Result<bool> {
        Ok(self
            .exec(Query::new("DELETE FROM canonical_email_blocks WHERE id = $1").bind(id))
            .await?
            == 1)
    }

    /// Adds or (same id) changes an IP block; false when another block has this `ip`.
    pub async fn upsert_ip_block(&mut self, row: &IpBlockRow) -> Result<bool> {
        let taken = self
            .one::<Scalar>(
                Query::new("SELECT count(*) AS v FROM ip_blocks WHERE ip = $1 AND id <> $2")
                    .bind(row.ip.as_str())
                    .bind(row.id),
            )
            .await?
            .v;
        if taken > 0 {
            return Ok(false);
        }
        self.exec(
            Query::new(
                "INSERT INTO ip_blocks (id, ip, severity, comment, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE SET ip = excluded.ip, severity = excluded.severity,
                   comment = excluded.comment, expires_at = excluded.expires_at",
            )
            .bind(row.id)
            .bind(row.ip.as_str())
            .bind(row.severity.as_str())
            .bind(row.comment.as_str())
            .bind(row.created_at)
            .bind(row.expires_at),
        )
        .await?;
        Ok(true)
    }

    pub async fn delete_ip_block(&mut self, id: Id) -> Result<bool> {
        Ok(self
            .exec(Query::new("DELETE FROM ip_blocks WHERE id = $1").bind(id))
            .await?
            == 1)
    }

    /// Adds a rule at the end of the list.
    pub async fn insert_rule(&mut self, row: &RuleRow) -> Result<()> {
        self.exec(
            Query::new(
                "INSERT INTO instance_rules (id, text, hint, position, created_at)
                 VALUES ($1, $2, $3,
                         (SELECT COALESCE(MAX(position), 0) + 1 FROM instance_rules), $4)",
            )
            .bind(row.id)
            .bind(row.text.as_str())
            .bind(row.hint.as_str())
            .bind(row.created_at),
        )
        .await?;
        Ok(())
    }

    pub async fn delete_rule(&mut self, id: Id) -> Result<bool> {
        Ok(self
            .exec(Query::new("DELETE FROM instance_rules WHERE id = $1").bind(id))
            .await?
            == 1)
    }

    /// Marks the accounts of `domain` (an exact account domain) suspended at `at`,
    /// those not suspended already; how many.
    pub async fn suspend_domain_accounts(&mut self, domain: &str, at: i64) -> Result<u64> {
        self.exec(
            Query::new(
                "UPDATE accounts SET suspended_at = $2 WHERE domain = $1 AND suspended_at IS NULL",
            )
            .bind(domain)
            .bind(at),
        )
        .await
    }

    /// Lifts the suspension of the accounts of `domain` that the block made at `at`.
    pub async fn unsuspend_domain_accounts(&mut self, domain: &str, at: i64) -> Result<u64> {
        self.exec(
            Query::new(
                "UPDATE accounts SET suspended_at = NULL WHERE domain = $1 AND suspended_at = $2",
            )
            .bind(domain)
            .bind(at),
        )
        .await
    }

    /// What remains of suspended remote accounts once their statuses are gone: their
    /// favourites (uncounted on the posts), reactions, notifications they caused and
    /// bookmarks; then the accounts are marked purged at `now`. A statement per table
    /// (and per distinct change of a post's favourites count).
    pub async fn purge_accounts_rest(&mut self, ids: &[Id], now: i64) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut q = Query::new("SELECT status_id AS v FROM favourites WHERE account_id IN ");
        let list = q.in_list(ids);
        q.push(&list);
        let favourited = self.all::<Scalar>(q).await?.into_iter().map(|r| r.v);
        let deltas = crate::count_each(favourited, -1);
        self.bump_status_counters(StatusCounter::Favourites, &deltas)
            .await?;
        for (table, col) in [
            ("favourites", "account_id"),
            ("status_reactions", "account_id"),
            ("notifications", "from_account_id"),
            ("bookmarks", "account_id"),
        ] {
            let mut q = Query::new(format!("DELETE FROM {table} WHERE {col} IN "));
            let list = q.in_list(ids);
            q.push(&list);
            self.exec(q).await?;
        }
        let mut q = Query::new("UPDATE accounts SET purged_at = ");
        let p = q.arg(now);
        q.push(&p);
        q.push(" WHERE id IN ");
        let list = q.in_list(ids);
        q.push(&list);
        self.exec(q).await?;
        Ok(())
    }

    /// Counts `n` more posts purged for the block of `domain`.
    pub async fn add_purged(&mut self, domain: &str, n: i64) -> Result<()> {
        self.exec(
            Query::new(
                "UPDATE domain_blocks SET purged_statuses = purged_statuses + $2 WHERE domain = $1",
            )
            .bind(domain)
            .bind(n),
        )
        .await?;
        Ok(())
    }
}
