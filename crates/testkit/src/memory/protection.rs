//! Accidental-delete protection: the deletes per object over the window, reservations against the threshold, the approval run and its allowance.

use super::*;

impl Protection for MemoryStore {
    async fn reserve_delete(&self, request: &DeleteRequest<'_>) -> Result<Reservation, LocalError> {
        let settings = &request.provider.settings;
        let now = Utc::now();
        let window =
            chrono::Duration::from_std(settings.delete_window()).unwrap_or(chrono::Duration::MAX);
        let kind = match request.item.subject {
            PlanSubject::Group => RemoteKind::Group,
            _ => RemoteKind::User,
        };
        let mut state = self.state();
        let protection = state.protection.entry(request.provider.id).or_default();
        let held_run = if let Some(run) = protection.approval_run {
            Some(run)
        } else if protection.allowance > 0 {
            protection.allowance -= 1;
            None
        } else {
            let recent = protection
                .done
                .iter()
                .filter(|(object, at)| {
                    **object != (kind, request.item.object_id)
                        && now.signed_duration_since(**at) < window
                })
                .count() as u64;
            let threshold = u64::from(settings.delete_threshold);
            (threshold > 0 && recent >= threshold).then(|| {
                let run = RunId::new();
                protection.approval_run = Some(run);
                run
            })
        };
        match held_run {
            Some(run) => {
                let items = state.plans.entry(run).or_default();
                if items.iter().any(|listed| {
                    listed.object_id == request.item.object_id
                        && listed.subject == request.item.subject
                }) {
                    return Ok(Reservation::Held { run });
                }
                let mut item = request.item.clone();
                item.seq = items.len() as i64 + 1;
                items.push(item);
                Ok(Reservation::Held { run })
            }
            None => {
                protection.done.insert((kind, request.item.object_id), now);
                Ok(Reservation::Allowed)
            }
        }
    }

    async fn hold_deletes(
        &self,
        provider: ProviderId,
        run: RunId,
        items: &[PlanItem],
    ) -> Result<RunId, LocalError> {
        let mut state = self.state();
        let protection = state.protection.entry(provider).or_default();
        let run = *protection.approval_run.get_or_insert(run);
        state.plans.entry(run).or_default().extend_from_slice(items);
        Ok(run)
    }

    async fn approval_run(&self, provider: ProviderId) -> Result<Option<RunId>, LocalError> {
        Ok(self
            .state()
            .protection
            .get(&provider)
            .and_then(|p| p.approval_run))
    }

    async fn end_approval(&self, provider: ProviderId, allow: u64) -> Result<(), LocalError> {
        let mut state = self.state();
        let protection = state.protection.entry(provider).or_default();
        protection.approval_run = None;
        protection.allowance = allow;
        Ok(())
    }
}
