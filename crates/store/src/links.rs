//! The engine's [`Links`] ports: which remote object each directory object is, per provider.

use chrono::{DateTime, Utc};
use engine::{Link, Links, LinksRead, LocalError, NewLink, Properties, RemoteId, RemoteKind};
use model::ProviderId;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Page, Result, Store, StoreError};

impl From<StoreError> for LocalError {
    fn from(err: StoreError) -> Self {
        LocalError::new(err)
    }
}

pub(crate) fn remote_kind(kind: &str) -> Result<RemoteKind> {
    match kind {
        "user" => Ok(RemoteKind::User),
        "group" => Ok(RemoteKind::Group),
        other => Err(StoreError::Corrupt(format!(
            "unknown object kind {other:?}"
        ))),
    }
}

/// Ids bound per `IN (…)` list, well below both backends' limits on parameters.
const IDS_PER_STATEMENT: usize = 500;

macro_rules! select_links {
    ($tail:literal) => {
        concat!(
            "SELECT provider_id, kind, object_id, remote_id, written, synced_at FROM links ",
            $tail
        )
    };
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    provider_id: Uuid,
    kind: String,
    object_id: Uuid,
    remote_id: String,
    written: Json<Properties>,
    synced_at: DateTime<Utc>,
}

impl TryFrom<LinkRow> for Link {
    type Error = StoreError;
    fn try_from(row: LinkRow) -> Result<Self> {
        Ok(Link {
            provider: ProviderId::from_uuid(row.provider_id),
            kind: remote_kind(&row.kind)?,
            object: row.object_id,
            remote_id: RemoteId::new(row.remote_id),
            written: row.written.0,
            synced_at: row.synced_at,
        })
    }
}

impl Store {
    /// One keyset page of the provider's links of `kind`, in object id order.
    pub async fn list_links(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        page: Page,
    ) -> Result<Vec<Link>> {
        let rows: Vec<LinkRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_links!(
                "WHERE provider_id = $1 AND kind = $2 AND object_id > $3 ORDER BY object_id LIMIT $4"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(page.lower_bound())
            .bind(page.sql_limit())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Link::try_from).collect()
    }

    /// One keyset page of the provider's links of `kind` whose directory object is gone.
    pub async fn list_orphaned_links(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        page: Page,
    ) -> Result<Vec<Link>> {
        let rows: Vec<LinkRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_links!(
                "WHERE provider_id = $1 AND kind = $2 AND object_id > $3 AND ( \
                   (kind = 'user' AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = object_id)) \
                   OR (kind = 'group' \
                       AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = object_id))) \
                 ORDER BY object_id LIMIT $4"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(page.lower_bound())
            .bind(page.sql_limit())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Link::try_from).collect()
    }

    pub async fn count_links(&self, provider: ProviderId, kind: RemoteKind) -> Result<u64> {
        let count: i64 = read_pool!(self, pool, _d => {
            sqlx::query_scalar("SELECT COUNT(*) FROM links WHERE provider_id = $1 AND kind = $2")
                .bind(provider.as_uuid())
                .bind(kind.as_str())
                .fetch_one(pool)
                .await?
        });
        Ok(count.unsigned_abs())
    }
}

// The port's methods, in the store's error type; `impl Links` below adapts them.
impl Store {
    async fn find_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Link>> {
        let row: Option<LinkRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_links!(
                "WHERE provider_id = $1 AND kind = $2 AND object_id = $3"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(object)
            .fetch_optional(pool)
            .await?
        });
        row.map(Link::try_from).transpose()
    }

    async fn find_links_of(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<Vec<Link>> {
        let mut links = Vec::with_capacity(objects.len());
        for chunk in objects.chunks(IDS_PER_STATEMENT) {
            let rows: Vec<LinkRow> = read_pool!(self, pool, _d => {
                let mut query = sqlx::QueryBuilder::new(select_links!(
                    "WHERE provider_id = "
                ));
                query.push_bind(provider.as_uuid());
                query.push(" AND kind = ").push_bind(kind.as_str());
                query.push(" AND object_id IN (");
                let mut ids = query.separated(", ");
                for object in chunk {
                    ids.push_bind(*object);
                }
                ids.push_unseparated(")");
                query.build_query_as().fetch_all(pool).await?
            });
            for row in rows {
                links.push(Link::try_from(row)?);
            }
        }
        Ok(links)
    }

    async fn find_link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> Result<Option<Link>> {
        let row: Option<LinkRow> = read_pool!(self, pool, _d => {
            sqlx::query_as(select_links!(
                "WHERE provider_id = $1 AND kind = $2 AND remote_id = $3"
            ))
            .bind(provider.as_uuid())
            .bind(kind.as_str())
            .bind(remote.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(Link::try_from).transpose()
    }

    /// Fails when another object of the provider is linked to the same remote object.
    async fn upsert_link(&self, link: &NewLink) -> Result<()> {
        let synced_at = self.now().await?;
        write_pool!(self, pool, _d => {
            sqlx::query(
                "INSERT INTO links (provider_id, kind, object_id, remote_id, written, synced_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (provider_id, kind, object_id) DO UPDATE SET \
                 remote_id = excluded.remote_id, written = excluded.written, \
                 synced_at = excluded.synced_at",
            )
            .bind(link.provider.as_uuid())
            .bind(link.kind.as_str())
            .bind(link.object)
            .bind(link.remote_id.as_str())
            .bind(Json(&link.written))
            .bind(synced_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn delete_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<()> {
        write_pool!(self, pool, _d => {
            sqlx::query("DELETE FROM links WHERE provider_id = $1 AND kind = $2 AND object_id = $3")
                .bind(provider.as_uuid())
                .bind(kind.as_str())
                .bind(object)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

impl LinksRead for Store {
    async fn link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self.find_link(provider, kind, object).await?)
    }

    async fn links_of(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<Vec<Link>, LocalError> {
        Ok(self.find_links_of(provider, kind, objects).await?)
    }

    async fn link_to_remote(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        remote: &RemoteId,
    ) -> Result<Option<Link>, LocalError> {
        Ok(self.find_link_to_remote(provider, kind, remote).await?)
    }

    async fn links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Link>, LocalError> {
        Ok(self
            .list_links(provider, kind, Page { after, limit })
            .await?)
    }

    async fn orphaned_links_page(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Link>, LocalError> {
        Ok(self
            .list_orphaned_links(provider, kind, Page { after, limit })
            .await?)
    }
}

impl Links for Store {
    /// Fails when another object of the provider is linked to the same remote object.
    async fn save_link(&self, link: &NewLink) -> Result<(), LocalError> {
        Ok(self.upsert_link(link).await?)
    }

    async fn remove_link(
        &self,
        provider: ProviderId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<(), LocalError> {
        Ok(self.delete_link(provider, kind, object).await?)
    }
}
