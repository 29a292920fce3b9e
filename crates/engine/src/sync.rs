//! One provider's sync context: its settings, compiled mappings, and the ports it works through.

use chrono::{DateTime, Utc};
use mapping::{
    Context, GroupInput, GroupMappings, Mapped, Mapper, ProviderContext, UserInput, UserMappings,
};
use model::{Group, Provider, User};
use serde_json::Value;

use crate::compare::Baseline;
use crate::outcome::SyncError;
use crate::ports::{Directory, Link, Links, LocalError, Properties, RemoteKind, Target};

/// A provider's mappings, compiled once per provider version.
pub struct ProviderMappings {
    pub users: UserMappings,
    pub groups: GroupMappings,
    /// What expressions see as `provider`.
    pub context: ProviderContext,
}

/// Everything reconciling needs for one provider. Cheap to build: it only borrows.
pub struct ProviderSync<'a, D, L, T> {
    pub provider: &'a Provider,
    pub mappings: &'a ProviderMappings,
    pub mapper: &'a Mapper,
    pub directory: &'a D,
    pub links: &'a L,
    pub target: &'a T,
    /// Accidental-delete protection is holding this provider's deletes and disables: they are
    /// reported as held, not done, until an administrator decides.
    pub hold_deletes: bool,
}

/// A document, or why there is none.
pub(crate) enum Documented {
    Document(Properties),
    Skipped(String),
}

/// What the engine knows of a linked remote object.
pub(crate) enum Known {
    /// Discovery read it after our last write: compare with what it read.
    Read(Properties),
    /// Only what we last wrote.
    Written,
    /// Discovery listed the tenant after our last write and did not see it: deleted in Entra.
    Gone,
}

impl Known {
    pub(crate) fn baseline<'b>(&'b self, link: &'b Link) -> Baseline<'b> {
        match self {
            Known::Read(remote) => Baseline::Read {
                remote,
                written: &link.written,
            },
            Known::Written | Known::Gone => Baseline::Written(&link.written),
        }
    }

    /// What a mapping sees as `link`: the remote attributes as best known.
    pub(crate) fn as_value(&self, link: &Link) -> Value {
        match self {
            Known::Read(remote) => Value::Object(crate::compare::merged(&link.written, remote)),
            Known::Written | Known::Gone => Value::Object(link.written.clone()),
        }
    }
}

impl<D: Directory, L: Links, T: Target> ProviderSync<'_, D, L, T> {
    pub(crate) fn dry_run(&self) -> bool {
        self.provider.settings.dry_run
    }

    pub(crate) fn now() -> DateTime<Utc> {
        Utc::now()
    }

    /// What the engine knows of the remote object behind `link`.
    pub(crate) async fn known(&self, link: &Link) -> Result<Known, LocalError> {
        let Some(taken_at) = self.links.snapshot_taken_at(self.provider.id).await? else {
            return Ok(Known::Written);
        };
        if link.synced_at > taken_at {
            return Ok(Known::Written);
        }
        Ok(
            match self
                .links
                .snapshot_object(self.provider.id, link.kind, &link.remote_id)
                .await?
            {
                Some(remote) => Known::Read(remote.properties),
                None => Known::Gone,
            },
        )
    }

    /// The user's document; `link` is what the expression sees (`None` when creating).
    pub(crate) async fn user_document(
        &self,
        user: &User,
        link: Option<&Value>,
    ) -> Result<Documented, SyncError> {
        let group_names = self.directory.user_group_names(user.id).await?;
        let input = UserInput {
            user,
            group_names: &group_names,
        };
        let context = Context {
            provider: &self.mappings.context,
            link,
        };
        let mapped = self
            .mapper
            .map_user(&self.mappings.users, &input, &context)?;
        Ok(documented(mapped, RemoteKind::User))
    }

    /// The group's document; `link` is what the expression sees (`None` when creating).
    pub(crate) async fn group_document(
        &self,
        group: &Group,
        link: Option<&Value>,
    ) -> Result<Documented, SyncError> {
        let member_count = self.directory.member_count(group.id).await?;
        let input = GroupInput {
            group,
            member_count,
        };
        let context = Context {
            provider: &self.mappings.context,
            link,
        };
        let mapped = self
            .mapper
            .map_group(&self.mappings.groups, &input, &context)?;
        Ok(documented(mapped, RemoteKind::Group))
    }
}

fn documented(mapped: Mapped, kind: RemoteKind) -> Documented {
    match mapped {
        Mapped::Document(document) => Documented::Document(document.into_map()),
        Mapped::Skip { mapping, reason } => Documented::Skipped(match reason {
            Some(reason) => format!("mapping {mapping:?} skipped it: {reason}"),
            None => format!("mapping {mapping:?} skipped it"),
        }),
        Mapped::NoMappings => {
            Documented::Skipped(format!("the provider's {kind} mappings produce nothing"))
        }
    }
}
