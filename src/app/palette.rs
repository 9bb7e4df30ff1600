//! Every colour the window uses.

use eframe::egui::Color32;

/// Cluster colours: a colour-blind-safe set first (Okabe–Ito), then further distinct hues.
const CLUSTER: [Color32; 20] = [
    Color32::from_rgb(0, 114, 178),
    Color32::from_rgb(230, 159, 0),
    Color32::from_rgb(0, 158, 115),
    Color32::from_rgb(204, 121, 167),
    Color32::from_rgb(86, 180, 233),
    Color32::from_rgb(213, 94, 0),
    Color32::from_rgb(240, 228, 66),
    Color32::from_rgb(120, 120, 120),
    Color32::from_rgb(31, 119, 180),
    Color32::from_rgb(255, 127, 14),
    Color32::from_rgb(44, 160, 44),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(227, 119, 194),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(23, 190, 207),
    Color32::from_rgb(174, 199, 232),
    Color32::from_rgb(255, 187, 120),
    Color32::from_rgb(152, 223, 138),
];

/// Colour of cluster `c`; beyond the palette the colours repeat, darkened per round.
#[must_use]
pub fn cluster(c: usize) -> Color32 {
    let base = CLUSTER[c % CLUSTER.len()];
    let round = c / CLUSTER.len();
    if round == 0 {
        base
    } else {
        #[allow(clippy::cast_precision_loss)]
        let f = 0.75f32.powi(i32::try_from(round).unwrap_or(4));
        base.gamma_multiply(f).to_opaque()
    }
}

/// Text colour of an error.
pub const ERROR: Color32 = Color32::from_rgb(220, 70, 60);
/// Text colour of a warning.
pub const WARNING: Color32 = Color32::from_rgb(210, 150, 30);
/// An improvement.
pub const BETTER: Color32 = Color32::from_rgb(60, 170, 90);
/// A decline.
pub const WORSE: Color32 = Color32::from_rgb(220, 90, 70);
