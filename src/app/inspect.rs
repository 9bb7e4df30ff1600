//! What the window shows, read by the tests and by scripted use.

use super::*;

impl EmbedmapApp {
    /// The algorithm the controls are set to.
    #[must_use]
    pub fn algorithm(&self) -> AlgorithmKind {
        self.settings.algorithm
    }

    /// The note in the status bar, if any.
    #[must_use]
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Whether a load or a clustering is still running (for tests and scripted use).
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.loading.is_some()
            || self.clustering.is_some()
            || tasks::waited_for(&self.tasks)
            || self.kdist_pending.is_some()
            || !self.external_pending.is_empty()
    }

    /// The loaded dataset.
    #[must_use]
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.dataset.as_ref()
    }

    /// The clustering on screen.
    #[must_use]
    pub fn outcome(&self) -> Option<&Arc<ClusterOutcome>> {
        self.outcome.as_ref()
    }

    /// The error shown in the window, if any.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref().or(self.load_failure.as_ref().map(|f| f.message.as_str()))
    }

    /// Rows selected on the map, ascending.
    #[must_use]
    pub fn selection(&self) -> &[usize] {
        &self.map.selection
    }

    /// The pinned row, and its nearest neighbours (row, distance) once they are found.
    #[must_use]
    pub fn pinned(&self) -> Option<(usize, Option<&[(usize, f32)]>)> {
        self.map.pinned.as_ref().map(|p| (p.row, p.neighbours.as_deref()))
    }

    /// Where `row` was drawn on screen in the last frame (points).
    #[must_use]
    pub fn map_position(&self, row: usize) -> Option<egui::Pos2> {
        self.map.position(&self.xy()?, row)
    }

    /// Rows the map draws (those not in a hidden cluster).
    #[must_use]
    pub fn drawn_rows(&self) -> usize {
        self.map.colors.iter().filter(|c| c.a() > 0).count()
    }

    /// Milliseconds the last full drawing of the map's image took.
    #[must_use]
    pub fn map_draw_ms(&self) -> f64 {
        self.map.raster_ms
    }

    /// The name the cluster table shows for cluster `c` (the user's, else the automatic one).
    #[must_use]
    pub fn cluster_name(&self, c: usize) -> String {
        cluster_table::display_name(self, c)
    }

    /// Whether the cluster descriptions of the outcome on screen are still being computed.
    #[must_use]
    pub fn describing(&self) -> bool {
        self.table.is_pending()
    }

    /// The k-sweep's rows so far, and whether it is still running.
    #[must_use]
    pub fn sweep_rows(&self) -> (Vec<crate::session::SweepRow>, bool) {
        (self.sweep.sweep.as_ref().map(|s| s.rows.clone()).unwrap_or_default(), self.sweep.running())
    }

    /// Where the k-sweep chart drew k in the last frame (on its x axis, at half height).
    #[must_use]
    pub fn sweep_position(&self, k: usize) -> Option<egui::Pos2> {
        self.sweep.transform.as_ref().map(|t| t.position_from_point(&egui_plot::PlotPoint::new(k as f64, 0.5)))
    }

    /// Where the dendrogram drew height `y` in the last frame (in the middle of its width).
    #[must_use]
    pub fn dendrogram_position(&self, y: f64) -> Option<egui::Pos2> {
        let t = self.dendrogram_transform.as_ref()?;
        let b = t.bounds();
        Some(t.position_from_point(&egui_plot::PlotPoint::new((b.min()[0] + b.max()[0]) / 2.0, y)))
    }

    /// Whether a benchmark the window runs on itself is still running.
    #[must_use]
    pub fn benchmarking(&self) -> bool {
        self.bench.is_some() || self.tuning.is_some()
    }
}
