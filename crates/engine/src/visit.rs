//! What a full sync visits, in order, a page at a time (memory stays flat however large the
//! directory): first the links whose directory object is gone (so that an account's remote
//! name is freed before a newcomer asks for it), then every user, then every group; after
//! those, the members of every group in scope. A plan and a run walk the same pages.

use model::{GroupId, Provider, UserId};
use uuid::Uuid;

use crate::local::{Item, LocalError};
use crate::ports::{Directory, LinksRead};
use crate::remote::RemoteKind;
use crate::scope::group_in_scope;

/// Items per page.
pub const PAGE: u32 = 500;

/// The two steps of a full sync: objects, then members (which need the objects linked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Objects,
    Members,
}

#[derive(Debug, Clone, Copy)]
enum Cursor {
    Orphans(RemoteKind, Option<Uuid>),
    Users(Option<UserId>),
    Groups(Option<GroupId>),
    Members(Option<GroupId>),
    Done,
}

/// A walk over one step's items.
pub struct Visit {
    cursor: Cursor,
}

impl Visit {
    pub fn new(step: Step) -> Self {
        Self {
            cursor: match step {
                Step::Objects => Cursor::Orphans(RemoteKind::User, None),
                Step::Members => Cursor::Members(None),
            },
        }
    }

    /// The next page of items (`None` when the step is walked).
    pub async fn next_page<S: Directory + LinksRead>(
        &mut self,
        provider: &Provider,
        store: &S,
    ) -> Result<Option<Vec<Item>>, LocalError> {
        loop {
            match self.cursor {
                Cursor::Orphans(kind, after) => {
                    let links = store
                        .orphaned_links_page(provider.id, kind, after, PAGE)
                        .await?;
                    match links.last() {
                        Some(last) => {
                            self.cursor = Cursor::Orphans(kind, Some(last.object));
                            let items = links
                                .iter()
                                .map(|link| Item::of(kind, link.object))
                                .collect();
                            return Ok(Some(items));
                        }
                        None if kind == RemoteKind::User => {
                            self.cursor = Cursor::Orphans(RemoteKind::Group, None);
                        }
                        None => self.cursor = Cursor::Users(None),
                    }
                }
                Cursor::Users(after) => {
                    let users = store.users_page(after, PAGE).await?;
                    match users.last() {
                        Some(last) => {
                            self.cursor = Cursor::Users(Some(last.id));
                            return Ok(Some(users.iter().map(|u| Item::User(u.id)).collect()));
                        }
                        None => self.cursor = Cursor::Groups(None),
                    }
                }
                Cursor::Groups(after) => {
                    let groups = store.groups_page(after, PAGE).await?;
                    match groups.last() {
                        Some(last) => {
                            self.cursor = Cursor::Groups(Some(last.id));
                            return Ok(Some(groups.iter().map(|g| Item::Group(g.id)).collect()));
                        }
                        None => self.cursor = Cursor::Done,
                    }
                }
                Cursor::Members(after) => {
                    let groups = store.groups_page(after, PAGE).await?;
                    let Some(last) = groups.last() else {
                        self.cursor = Cursor::Done;
                        continue;
                    };
                    self.cursor = Cursor::Members(Some(last.id));
                    let items: Vec<Item> = groups
                        .iter()
                        .filter(|group| group_in_scope(&provider.settings, group))
                        .map(|group| Item::Members(group.id))
                        .collect();
                    if !items.is_empty() {
                        return Ok(Some(items));
                    }
                }
                Cursor::Done => return Ok(None),
            }
        }
    }
}
