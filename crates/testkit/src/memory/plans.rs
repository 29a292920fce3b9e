//! Plans kept with their run, and what a plan does to an object as later steps of it see it.

use super::*;

impl Plans for MemoryStore {
    async fn add_plan_items(&self, run: RunId, items: &[PlanItem]) -> Result<(), LocalError> {
        self.state()
            .plans
            .entry(run)
            .or_default()
            .extend_from_slice(items);
        Ok(())
    }

    async fn planned(
        &self,
        run: RunId,
        kind: RemoteKind,
        object: Uuid,
    ) -> Result<Option<Planned>, LocalError> {
        let subject = match kind {
            RemoteKind::User => PlanSubject::User,
            RemoteKind::Group => PlanSubject::Group,
        };
        // The last item that changes the object has the last word, as in the store.
        Ok(self.state().plans.get(&run).and_then(|items| {
            items
                .iter()
                .rev()
                .filter(|item| item.subject == subject && item.object_id == object)
                .find_map(|item| Planned::of(kind, object, &item.operations))
        }))
    }

    async fn planned_of(
        &self,
        run: RunId,
        kind: RemoteKind,
        objects: &[Uuid],
    ) -> Result<HashMap<Uuid, Planned>, LocalError> {
        let mut planned = HashMap::new();
        for object in objects {
            if let Some(step) = self.planned(run, kind, *object).await? {
                planned.insert(*object, step);
            }
        }
        Ok(planned)
    }
}
