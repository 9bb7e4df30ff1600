//! What the worker reports (loads, clusterings, curves, layouts), applied to the state.

use super::*;

impl EmbedmapApp {
    pub(super) fn handle(&mut self, e: Event) {
        match e {
            Event::Progress { generation, stage, fraction } => {
                if let Some((r, _)) = &mut self.loading
                    && r.generation == generation
                {
                    r.stage = stage.clone();
                    r.fraction = fraction;
                }
                if self.projection.running.as_ref().is_some_and(|r| r.0 == generation) {
                    self.projection.stage = Some((stage.clone(), fraction));
                }
                if let Some(r) = &mut self.clustering
                    && r.generation == generation
                {
                    r.stage = stage;
                    r.fraction = fraction;
                }
            }
            Event::Loaded { generation, dataset, pca, load_ms, project_ms } => {
                if self.loading.as_ref().is_some_and(|(r, _)| r.generation == generation) {
                    self.loading = None;
                    if let Some(dir) = dataset.path.as_ref().and_then(|p| p.parent()) {
                        self.settings.last_dir = Some(dir.to_path_buf());
                    }
                    self.spec_edit = self.load_options.embedding_columns.clone().unwrap_or_default();
                    self.dataset = Some(dataset);
                    self.projection.reset(Arc::new(pca.projection.clone()));
                    self.pca = Some(pca);
                    self.timings = Timings { load_ms, project_ms };
                    self.outcome = None;
                    self.previous = None;
                    self.cache.clear();
                    self.dataset_id += 1;
                    self.map.reset();
                    self.table = cluster_table::TableState::default();
                    self.external_cache.clear();
                    self.external_pending.clear();
                    self.tasks.cancel(Task::Agreement);
                    self.tasks.cancel(Task::Describe);
                    self.tasks.cancel(Task::Neighbours);
                    self.eps = None;
                    self.kdist = None;
                    self.kdist_pending = None;
                    self.error = None;
                    if let Some(p) = self.dataset.as_ref().and_then(|d| d.path.clone()) {
                        files::remember(self, &p);
                    }
                    self.session_check = None;
                    if let Some(s) = self.pending_session.take() {
                        files::apply_request(self, &s.request);
                        files::apply_projection(self, s.projection.as_ref());
                        self.table.pending_names = Some((s.request.algorithm.clone(), s.cluster_names.clone()));
                        self.session_check = s.sizes.clone().map(|z| (s.request.algorithm.clone(), z));
                    } else {
                        self.size_default_algorithm();
                    }
                    self.recluster();
                }
            }
            Event::LoadFailed { generation, error, source } => {
                if self.loading.as_ref().is_some_and(|(r, _)| r.generation == generation) {
                    self.loading = None;
                    let can_drop_nonfinite = matches!(error, crate::data::LoadError::NonFinite { .. }) && !self.load_options.drop_nonfinite;
                    self.load_failure = Some(LoadFailure { message: error.to_string(), source, can_drop_nonfinite });
                }
            }
            Event::Clustered { generation, outcome } => {
                if self.clustering.as_ref().is_some_and(|r| r.generation == generation) {
                    self.clustering = None;
                    if self.dataset.is_some() {
                        let key = CacheKey { dataset: self.dataset_id, request: outcome.request.clone() };
                        if self.cache.len() > 64 {
                            self.cache.clear();
                        }
                        self.cache.insert(key, Arc::clone(&outcome));
                    }
                    self.set_outcome(outcome);
                }
            }
            Event::KDistance { generation, embeddings, metric, min_samples, curve } => {
                let current = self.dataset.as_ref().is_some_and(|d| Arc::ptr_eq(&d.embeddings, &embeddings));
                if current && self.kdist_pending == Some(generation) {
                    self.kdist_pending = None;
                    let fresh = self.eps.is_none();
                    if fresh {
                        self.eps_metric = metric;
                        self.eps = crate::engine::neighbors::suggested_eps(&curve)
                            .filter(|&e| e > 0.0)
                            .or(curve.last().copied().filter(|&e| e > 0.0));
                    }
                    self.kdist = Some(KDist { metric, min_samples, curve });
                    if fresh && self.eps.is_some() {
                        self.recluster();
                    }
                }
            }
            Event::ClusterPreview { generation, outcome } => {
                if let Some(r) = &mut self.clustering
                    && r.generation == generation
                {
                    r.undrawn = true;
                    self.set_outcome(outcome);
                }
            }
            Event::ClusterStep { generation, labels } => {
                // A preview on screen stays until the seeded result replaces it.
                let previewed = self.outcome.as_ref().is_some_and(|o| o.preview.is_some());
                if let Some(r) = &mut self.clustering
                    && r.generation == generation
                    && !previewed
                {
                    r.interim = Some(labels);
                }
            }
            Event::ClusterFailed { generation, error } => {
                if self.clustering.as_ref().is_some_and(|r| r.generation == generation) {
                    self.clustering = None;
                    self.error = Some(error);
                }
            }
            Event::ProjectionStep { generation, coords, epoch, n_epochs } => {
                if self.projection.running.as_ref().is_some_and(|r| r.0 == generation) {
                    self.projection.live = Some((coords, epoch, n_epochs));
                }
            }
            Event::Projected { generation, embeddings, projected, trust, recall } => {
                if self.dataset.as_ref().is_some_and(|d| Arc::ptr_eq(&d.embeddings, &embeddings)) {
                    self.on_projected(generation, projected, trust, recall);
                    self.map.dirty = true;
                }
            }
            Event::ProjectionFailed { generation, error } => {
                if let Some((g, k, _)) = self.projection.running.clone()
                    && g == generation
                {
                    self.projection.running = None;
                    self.projection.live = None;
                    self.projection.failed = Some((k, error));
                }
            }
        }
    }

    pub(super) fn set_outcome(&mut self, o: Arc<ClusterOutcome>) {
        if let Some((algo, sizes)) = &self.session_check
            && *algo == o.request.algorithm
        {
            if *sizes != o.sizes {
                self.notice =
                    Some("the reopened session gave different clusters than when it was saved: has the data file changed?".into());
            }
            self.session_check = None;
        }
        // "Previous" is the last seeded result: a preview only stands in for the next one.
        if self.outcome.as_ref().is_some_and(|cur| !Arc::ptr_eq(cur, &o) && cur.is_final()) {
            self.previous = self.outcome.take();
        }
        self.outcome = Some(o);
        self.rebuild_map();
    }

    pub(super) fn rebuild_map(&mut self) {
        self.map.dirty = true;
        self.map.silhouette = self.outcome.as_deref().map(silhouette_plot::shapes).unwrap_or_default();
        // A selection or pin stays (rows are the same); a highlight names a cluster of the old labels.
        self.map.highlight = None;
    }
}
