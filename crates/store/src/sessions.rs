//! Web console sessions. The cookie is a random secret the store never sees: it keeps its
//! SHA-256, the admin token the session was opened with (revoking that token ends the
//! session), the session's CSRF token and its expiry.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Result, Store, token_hash};

/// A console session that is still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub token_id: Uuid,
    /// What every form of this session must send back.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Opens a session for the holder of `cookie`, signed in with the token `token_id`.
    pub async fn open_console_session(
        &self,
        cookie: &str,
        token_id: Uuid,
        csrf: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = self.now().await?;
        write_pool!(self, pool, _d => {
            let mut tx = pool.begin_write().await?;
            // Sessions that ran out go as new ones come: the table stays small.
            sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO console_sessions (id_hash, token_id, csrf, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token_hash(cookie))
            .bind(token_id)
            .bind(csrf)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The open session `cookie` names: not expired, and its token neither revoked nor
    /// expired.
    pub async fn console_session(&self, cookie: &str) -> Result<Option<ConsoleSession>> {
        let now = self.now().await?;
        let row: Option<(Uuid, String, DateTime<Utc>)> = read_pool!(self, pool, _d => {
            sqlx::query_as(
                "SELECT s.token_id, s.csrf, s.expires_at FROM console_sessions s \
                 JOIN api_tokens t ON t.id = s.token_id \
                 WHERE s.id_hash = $1 AND s.expires_at > $2 \
                 AND (t.expires_at IS NULL OR t.expires_at > $2) AND t.kind = 'admin'",
            )
            .bind(token_hash(cookie))
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(token_id, csrf, expires_at)| ConsoleSession {
            token_id,
            csrf,
            expires_at,
        }))
    }

    /// Ends the session `cookie` names (signing out).
    pub async fn close_console_session(&self, cookie: &str) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1")
                .bind(token_hash(cookie))
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
