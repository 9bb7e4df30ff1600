//! Every colour the window uses.

use eframe::egui::Color32;

/// Cluster colours: the colour-blind-safe Okabe–Ito set first (without its black and grey; grey
/// is kept for noise), then further hues chosen to stay apart from those and from each other.
const CLUSTER: [Color32; 20] = [
    Color32::from_rgb(0, 114, 178),
    Color32::from_rgb(230, 159, 0),
    Color32::from_rgb(0, 158, 115),
    Color32::from_rgb(204, 121, 167),
    Color32::from_rgb(86, 180, 233),
    Color32::from_rgb(213, 94, 0),
    Color32::from_rgb(240, 228, 66),
    Color32::from_rgb(148, 103, 189),
    Color32::from_rgb(140, 86, 75),
    Color32::from_rgb(23, 190, 207),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(214, 39, 40),
    Color32::from_rgb(255, 152, 150),
    Color32::from_rgb(152, 223, 138),
    Color32::from_rgb(197, 176, 213),
    Color32::from_rgb(196, 156, 148),
    Color32::from_rgb(219, 219, 141),
    Color32::from_rgb(158, 218, 229),
    Color32::from_rgb(247, 182, 210),
    Color32::from_rgb(174, 199, 232),
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

/// Points a density method calls noise: a neutral grey between the light and dark themes.
pub const NOISE: Color32 = Color32::from_rgb(128, 128, 128);
