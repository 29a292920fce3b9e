use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Result, Store, rows::now};

/// The stored form of an API token: its SHA-256, hex. Tokens are long random strings, so a
/// fast hash is enough; the token itself is never stored.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Store {
    /// Records a token (by its hash). Adding a hash that is already there changes nothing.
    pub async fn add_api_token(&self, name: &str, token: &str) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO api_tokens (id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (token_hash) DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(name)
            .bind(token_hash(token))
            .bind(now())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether `token` is a known API token.
    pub async fn api_token_is_valid(&self, token: &str) -> Result<bool> {
        let found: Option<Uuid> = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT id FROM api_tokens WHERE token_hash = $1")
                .bind(token_hash(token))
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    pub async fn count_api_tokens(&self) -> Result<i64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens").fetch_one(pool).await?
        });
        Ok(count)
    }
}
