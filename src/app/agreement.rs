//! Agreement of the clusters with a label column (ARI, NMI, V-measure), computed once per
//! outcome and column: at once for small data, as side work above.

use super::*;

/// Up to this many rows the agreement figures are computed at once (a few milliseconds);
/// above, on a helper thread while the readout says so.
pub(super) const EXTERNAL_INLINE_MAX: usize = 50_000;

/// ARI, NMI and V-measure of `o`'s labels against the values of the column `col` of `ds`.
fn compute_external(ds: &Dataset, o: &ClusterOutcome, col: &str) -> crate::engine::quality::External {
    let truth: Vec<String> = ds.column_texts(col).into_iter().map(Option::unwrap_or_default).collect();
    crate::session::external_indices(&truth, &o.labels)
}

/// Agreement figures of one outcome with one label column.
pub(super) type ExternalEntry = ((Arc<ClusterOutcome>, String), Arc<crate::engine::quality::External>);

impl EmbedmapApp {
    /// ARI, NMI and V-measure of `o` against the metadata column `col`, once they are computed
    /// (see [`Self::ensure_agreement`]).
    pub(crate) fn external_for(&self, o: &Arc<ClusterOutcome>, col: &str) -> Option<Arc<crate::engine::quality::External>> {
        self.external_cache.iter().find(|((held, c), _)| Arc::ptr_eq(held, o) && c == col).map(|(_, e)| Arc::clone(e))
    }

    /// Computes the agreement figures the readout shows (the outcome on screen and the previous
    /// one against the chosen label column) unless they are known: at once for small data, as
    /// side work above [`EXTERNAL_INLINE_MAX`] rows.
    pub(super) fn ensure_agreement(&mut self) {
        let (Some(ds), Some(col)) = (self.dataset.clone(), self.reference.clone()) else { return };
        for o in [self.outcome.clone(), self.previous.clone()].into_iter().flatten() {
            if self.external_for(&o, &col).is_some() || self.external_pending.iter().any(|(held, c)| Arc::ptr_eq(held, &o) && *c == col) {
                continue;
            }
            if ds.n() <= EXTERNAL_INLINE_MAX {
                let e = Arc::new(compute_external(&ds, &o, &col));
                self.remember_external(&o, &col, e);
                continue;
            }
            let (ds, outcome, column) = (Arc::clone(&ds), Arc::clone(&o), col.clone());
            let started = self.tasks.start(Task::Agreement, Policy::Alongside, Priority::Background, "the agreement figures", move |_| {
                let e = compute_external(&ds, &outcome, &column);
                tasks::Output::Agreement(outcome, column, e)
            });
            match started {
                Ok(_) => self.external_pending.push((o, col.clone())),
                Err(e) => {
                    self.error = Some(e.to_string());
                    return;
                }
            }
        }
    }

    pub(super) fn remember_external(&mut self, o: &Arc<ClusterOutcome>, col: &str, e: Arc<crate::engine::quality::External>) {
        if self.external_cache.len() >= 8 {
            self.external_cache.remove(0);
        }
        self.external_cache.push(((Arc::clone(o), col.to_string()), e));
    }
}
