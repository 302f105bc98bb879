//! E-mail links (migration 13): the one-use tokens of confirmation and password-reset
//! links, and a user's confirmed flag (`sluice_engine::email`).

use sluice_model::Id;

use crate::{Query, Result, WriteTx};

/// What a mailed link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPurpose {
    Confirm,
    Reset,
}

impl EmailPurpose {
    fn as_str(self) -> &'static str {
        match self {
            EmailPurpose::Confirm => "confirm",
            EmailPurpose::Reset => "reset",
        }
    }
}

impl WriteTx {
    /// Stores a link's token; earlier links of the same purpose stop working.
    pub async fn insert_email_token(
        &mut self,
        token_hash: &str,
        account_id: Id,
        purpose: EmailPurpose,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        self.exec(
            Query::new("DELETE FROM email_tokens WHERE account_id = $1 AND purpose = $2")
                .bind(account_id)
                .bind(purpose.as_str()),
        )
        .await?;
        self.exec(
            Query::new(
                "INSERT INTO email_tokens (token_hash, account_id, purpose, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(purpose.as_str())
            .bind(expires_at)
            .bind(now),
        )
        .await?;
        Ok(())
    }

    /// Uses a link's token: the account it was made for, when it exists, is for
    /// `purpose` and has not expired. A token is used once.
    pub async fn take_email_token(
        &mut self,
        token_hash: &str,
        purpose: EmailPurpose,
        now: i64,
    ) -> Result<Option<Id>> {
        #[derive(sqlx::FromRow)]
        struct Taken {
            account_id: Id,
            expires_at: i64,
        }
        let row = self
            .opt::<Taken>(
                Query::new(
                    "DELETE FROM email_tokens WHERE token_hash = $1 AND purpose = $2
                     RETURNING account_id, expires_at",
                )
                .bind(token_hash)
                .bind(purpose.as_str()),
            )
            .await?;
        Ok(row.filter(|r| r.expires_at > now).map(|r| r.account_id))
    }

    pub async fn set_confirmed(&mut self, account_id: Id) -> Result<()> {
        self.exec(
            Query::new("UPDATE users SET confirmed = TRUE WHERE account_id = $1").bind(account_id),
        )
        .await?;
        Ok(())
    }
}
