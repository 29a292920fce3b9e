//! What the fake answers to reads: listings a page at a time (with read lag and unlisted objects), a GET by id, a find by property, a group's members.

use super::*;

impl TargetRead for FakeTarget {
    async fn list(
        &self,
        kind: RemoteKind,
        select: &[&str],
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let objects = {
            let mut state = self.state();
            Self::before(&mut state)?;
            let objects = state
                .objects
                .iter()
                .filter(|(_, stored)| {
                    stored.kind == kind && stored.hidden_for == 0 && !stored.unlisted
                })
                .map(|(id, stored)| RemoteObject {
                    id: id.clone(),
                    properties: Self::select(&stored.properties, select),
                })
                .collect();
            Self::read(&mut state);
            objects
        };
        self.page(objects, next)
    }

    async fn get(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        select: &[&str],
    ) -> Result<RemoteObject, TargetError> {
        let mut state = self.state();
        Self::before(&mut state)?;
        let answer = Self::visible(&state, kind, id).map(|stored| RemoteObject {
            id: id.clone(),
            properties: Self::select(&stored.properties, select),
        });
        Self::read(&mut state);
        answer
    }

    async fn find(
        &self,
        kind: RemoteKind,
        anchor: &Anchor,
        select: &[&str],
    ) -> Result<Vec<RemoteObject>, TargetError> {
        let mut state = self.state();
        Self::before(&mut state)?;
        let (name, wanted) = match anchor {
            Anchor::UserPrincipalName(value) => ("userPrincipalName", value),
            Anchor::Mail(value) => ("mail", value),
            Anchor::MailNickname(value) => ("mailNickname", value),
            Anchor::DisplayName(value) => ("displayName", value),
        };
        let found = state
            .objects
            .iter()
            .filter(|(_, stored)| {
                stored.kind == kind
                    && stored.hidden_for == 0
                    && same_text(&stored.properties, name, wanted)
            })
            .map(|(id, stored)| RemoteObject {
                id: id.clone(),
                properties: Self::select(&stored.properties, select),
            })
            .collect();
        Self::read(&mut state);
        Ok(found)
    }

    async fn list_members(
        &self,
        group: &RemoteId,
        next: Option<&str>,
    ) -> Result<RemotePage, TargetError> {
        let members = {
            let mut state = self.state();
            Self::before(&mut state)?;
            let visible = Self::visible(&state, RemoteKind::Group, group).map(|_| ());
            let members = state
                .members
                .get(group)
                .map(|members| {
                    members
                        .iter()
                        .map(|id| RemoteObject {
                            id: id.clone(),
                            properties: Properties::new(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Self::read(&mut state);
            visible?;
            members
        };
        self.page(members, next)
    }
}
