//! What the fake does on writes: creates (unique UPN, idempotent by create key, nicknames shared among security groups), updates, deletes and member changes, each maybe failing before or after it is applied.

use super::*;

impl Target for FakeTarget {
    async fn create(
        &self,
        kind: RemoteKind,
        properties: &Properties,
        key: &CreateKey,
    ) -> Result<RemoteObject, TargetError> {
        let mut state = self.state();
        Self::before(&mut state)?;
        state.writes.push(Write::Create {
            kind,
            id: RemoteId::new(""),
            properties: properties.clone(),
        });
        // A group is upserted by its uniqueName: the same key answers the same group.
        if kind == RemoteKind::Group
            && let Some((id, stored)) = state.objects.iter().find(|(_, stored)| {
                stored.kind == kind && same_text(&stored.properties, "uniqueName", key.as_str())
            })
        {
            let existing = RemoteObject {
                id: id.clone(),
                properties: stored.properties.clone(),
            };
            return Ok(existing);
        }
        let mut stored = properties.clone();
        if kind == RemoteKind::Group {
            stored.insert("uniqueName".into(), Value::from(key.as_str()));
        }
        if let Some(conflict) = Self::conflict(&state, kind, &stored, None) {
            return Err(conflict);
        }
        state.counts.creates += 1;
        let id = RemoteId::new(uuid::Uuid::new_v4().to_string());
        // Write-only properties are not read back, as in Graph.
        stored.remove("passwordProfile");
        stored.insert("id".into(), Value::from(id.as_str()));
        let hidden_for = state.lag;
        state.objects.insert(
            id.clone(),
            Stored {
                kind,
                properties: stored.clone(),
                hidden_for,
                unlisted: false,
            },
        );
        Self::answer(
            &mut state,
            RemoteObject {
                id,
                properties: stored,
            },
        )
    }

    async fn update(
        &self,
        kind: RemoteKind,
        id: &RemoteId,
        properties: &Properties,
    ) -> Result<(), TargetError> {
        let mut state = self.state();
        Self::before(&mut state)?;
        state.writes.push(Write::Update {
            kind,
            id: id.clone(),
            properties: properties.clone(),
        });
        let mut after = Self::visible(&state, kind, id)?.properties.clone();
        after.extend(properties.clone());
        if let Some(conflict) = Self::conflict(&state, kind, &after, Some(id)) {
            return Err(conflict);
        }
        state.counts.updates += 1;
        if let Some(stored) = state.objects.get_mut(id) {
            for (name, value) in properties {
                if name != "passwordProfile" {
                    stored.properties.insert(name.clone(), value.clone());
                }
            }
        }
        Self::answer(&mut state, ())
    }

    async fn delete(&self, kind: RemoteKind, id: &RemoteId) -> Result<(), TargetError> {
        let mut state = self.state();
        Self::before(&mut state)?;
        state.writes.push(Write::Delete {
            kind,
            id: id.clone(),
        });
        Self::visible(&state, kind, id)?;
        state.counts.deletes += 1;
        state.objects.remove(id);
        state.members.remove(id);
        for members in state.members.values_mut() {
            members.remove(id);
        }
        Self::answer(&mut state, ())
    }

    async fn add_members(
        &self,
        group: &RemoteId,
        members: &[RemoteId],
    ) -> Result<MemberChange, TargetError> {
        let mut state = self.state();
        Self::before(&mut state)?;
        state.writes.push(Write::AddMembers {
            group: group.clone(),
            members: members.to_vec(),
        });
        let referenced = std::iter::once(group).chain(members);
        for id in referenced {
            match state.objects.get(id) {
                None => return Err(not_found(id)),
                // As Graph answers right after a create: retry shortly.
                Some(stored) if stored.hidden_for > 0 => {
                    return Err(TargetError::Transient {
                        retry_after: None,
                        failure: failure(
                            "Request_BadRequest",
                            format!(
                                "The source resource object or one of the objects being referenced don't exist: '{id}'."
                            ),
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        state.counts.member_changes += 1;
        let mut change = MemberChange::default();
        let set = state.members.entry(group.clone()).or_default();
        for member in members {
            if set.insert(member.clone()) {
                change.changed.push(member.clone());
            } else {
                change.unchanged.push(member.clone());
            }
        }
        Self::answer(&mut state, change)
    }

    async fn remove_member(
        &self,
        group: &RemoteId,
        member: &RemoteId,
    ) -> Result<MemberChange, TargetError> {
        let mut state = self.state();
        Self::before(&mut state)?;
        state.writes.push(Write::RemoveMember {
            group: group.clone(),
            member: member.clone(),
        });
        Self::visible(&state, RemoteKind::Group, group)?;
        state.counts.member_changes += 1;
        let removed = state
            .members
            .get_mut(group)
            .is_some_and(|members| members.remove(member));
        let change = if removed {
            MemberChange {
                changed: vec![member.clone()],
                unchanged: Vec::new(),
            }
        } else {
            MemberChange {
                changed: Vec::new(),
                unchanged: vec![member.clone()],
            }
        };
        Self::answer(&mut state, change)
    }
}
