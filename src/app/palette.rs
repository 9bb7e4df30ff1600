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

/// A sequential, colour-blind-safe ramp (viridis stops) at `t` in [0, 1].
#[must_use]
pub fn ramp(t: f32) -> Color32 {
    const STOPS: [[f32; 3]; 5] = [[68.0, 1.0, 84.0], [59.0, 82.0, 139.0], [33.0, 145.0, 140.0], [94.0, 201.0, 98.0], [253.0, 231.0, 37.0]];
    lerp_stops(&STOPS, t)
}

/// A diverging ramp for values in [−1, 1] (vermillion through grey to blue, colour-blind-safe).
#[must_use]
pub fn diverging(v: f32) -> Color32 {
    const STOPS: [[f32; 3]; 3] = [[213.0, 94.0, 0.0], [190.0, 190.0, 190.0], [0.0, 114.0, 178.0]];
    lerp_stops(&STOPS, (v.clamp(-1.0, 1.0) + 1.0) / 2.0)
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
)]
fn lerp_stops(stops: &[[f32; 3]], t: f32) -> Color32 {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let x = t * (stops.len() - 1) as f32;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f32;
    let c = |k: usize| (stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f).round().clamp(0.0, 255.0) as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

/// Colour of metadata category `i` (by frequency rank); beyond [`CATEGORIES`] values share [`OTHER`].
#[must_use]
pub fn category(i: usize) -> Color32 {
    if i < CATEGORIES { CLUSTER[i] } else { OTHER }
}

/// Distinct metadata values that get their own colour.
pub const CATEGORIES: usize = 19;
/// The values beyond the first [`CATEGORIES`]: a muted grey-brown, apart from noise's grey.
pub const OTHER: Color32 = Color32::from_rgb(150, 140, 120);

/// `c` faded toward `bg`, leaving `keep` (0–1) of the colour.
#[must_use]
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
)]
pub fn fade(c: Color32, bg: Color32, keep: f32) -> Color32 {
    let m = |a: u8, b: u8| (f32::from(a) * keep + f32::from(b) * (1.0 - keep)).round().clamp(0.0, 255.0) as u8;
    Color32::from_rgb(m(c.r(), bg.r()), m(c.g(), bg.g()), m(c.b(), bg.b()))
}
