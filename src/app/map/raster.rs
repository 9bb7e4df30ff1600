//! The map's points drawn on the CPU: a parallel rasteriser into an image the window shows as
//! one texture, and a spatial grid that finds the point under the pointer and the points inside
//! a box or lasso without scanning every row.
//!
//! A million markers as separate shapes cost a software renderer well under one frame per
//! second; a million stamped discs in an image cost a few milliseconds per core, and the image
//! is redrawn only when the view, the size or the colours change.

use eframe::egui::Color32;
use rayon::prelude::*;

/// Where the map looks: the data point at the image centre and the zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// Data coordinates of the image centre.
    pub cx: f64,
    pub cy: f64,
    /// Pixels per data unit (the same on both axes).
    pub scale: f64,
}

/// The finite points' bounding box (x0, x1, y0, y1); `None` when there is none.
#[must_use]
pub fn bounds(xy: &[[f32; 2]]) -> Option<(f64, f64, f64, f64)> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for p in xy {
        let (x, y) = (f64::from(p[0]), f64::from(p[1]));
        if x.is_finite() && y.is_finite() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    (x0 <= x1).then_some((x0, x1, y0, y1))
}

/// The box the map fits its view to: the bounding box of the central 99% of the points on
/// each axis (0.5% and 99.5% quantiles, from up to 20,000 evenly spaced rows), widened by a
/// quarter of its span on each side and never past the full bounding box. UMAP places small
/// disconnected groups far from the rest; fitting to them would shrink everything else to a
/// dot. Small inputs (≤ 1,000 rows) fit every point.
#[must_use]
pub fn view_bounds(xy: &[[f32; 2]]) -> Option<(f64, f64, f64, f64)> {
    let full = bounds(xy)?;
    if xy.len() <= 1000 {
        return Some(full);
    }
    let step = xy.len().div_ceil(20_000);
    let (mut xs, mut ys): (Vec<f32>, Vec<f32>) =
        xy.iter().step_by(step).filter(|p| p[0].is_finite() && p[1].is_finite()).map(|p| (p[0], p[1])).unzip();
    if xs.len() < 100 {
        return Some(full);
    }
    xs.sort_unstable_by(f32::total_cmp);
    ys.sort_unstable_by(f32::total_cmp);
    let q = |v: &[f32], f: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
        )]
        let i = ((v.len() - 1) as f64 * f) as usize;
        f64::from(v[i])
    };
    let widen = |lo: f64, hi: f64, full_lo: f64, full_hi: f64| {
        let pad = (hi - lo) * 0.25;
        ((lo - pad).max(full_lo), (hi + pad).min(full_hi))
    };
    let (x0, x1) = widen(q(&xs, 0.005), q(&xs, 0.995), full.0, full.1);
    let (y0, y1) = widen(q(&ys, 0.005), q(&ys, 0.995), full.2, full.3);
    Some((x0, x1, y0, y1))
}

impl View {
    /// The view that shows every point of `xy` in a `w`×`h` image with a margin.
    pub fn fit(xy: &[[f32; 2]], w: f32, h: f32) -> Self {
        Self::fit_bounds(bounds(xy), w, h)
    }

    /// The view that shows the box (x0, x1, y0, y1) in a `w`×`h` image with a margin.
    pub fn fit_bounds(b: Option<(f64, f64, f64, f64)>, w: f32, h: f32) -> Self {
        let Some((x0, x1, y0, y1)) = b else { return Self { cx: 0.0, cy: 0.0, scale: 1.0 } };
        let span_x = (x1 - x0).max(1e-9);
        let span_y = (y1 - y0).max(1e-9);
        let scale = (f64::from(w) / span_x).min(f64::from(h) / span_y) * 0.92;
        Self { cx: (x0 + x1) / 2.0, cy: (y0 + y1) / 2.0, scale: if scale.is_finite() && scale > 0.0 { scale } else { 1.0 } }
    }

    /// Image position (pixels from the top-left corner) of data point (x, y) in a `w`×`h` image.
    #[expect(clippy::cast_possible_truncation, reason = "screen pixels, counts and colour channels: small values, clamped before the cast")]
    pub fn to_px(self, x: f64, y: f64, w: f32, h: f32) -> (f32, f32) {
        (((x - self.cx) * self.scale) as f32 + w / 2.0, (f64::from(h) / 2.0 - (y - self.cy) * self.scale) as f32)
    }

    /// Data point at image position (px, py).
    pub fn to_data(self, px: f32, py: f32, w: f32, h: f32) -> (f64, f64) {
        (self.cx + f64::from(px - w / 2.0) / self.scale, self.cy - f64::from(py - h / 2.0) / self.scale)
    }

    /// Zooms by `factor` keeping the data point under image position (px, py) in place.
    pub fn zoom_at(&mut self, factor: f64, px: f32, py: f32, w: f32, h: f32) {
        let (x, y) = self.to_data(px, py, w, h);
        self.scale = (self.scale * factor).clamp(1e-12, 1e12);
        let (nx, ny) = self.to_data(px, py, w, h);
        self.cx += x - nx;
        self.cy += y - ny;
    }

    /// Moves the view by a drag of (dx, dy) pixels.
    pub fn pan(&mut self, dx: f32, dy: f32) {
        self.cx -= f64::from(dx) / self.scale;
        self.cy += f64::from(dy) / self.scale;
    }
}

/// Anti-aliased disc coverage for a marker radius, as 0..=256 weights on a square of pixels.
struct Disc {
    half: i32,
    weights: Vec<u16>,
    /// Per row of the square, the columns with a non-zero weight (`lo..hi`, offsets from the left).
    spans: Vec<(i32, i32)>,
}

impl Disc {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
    )]
    #[expect(clippy::cast_possible_wrap, reason = "span ends are at most the disc's side, a few dozen pixels")]
    fn new(radius: f32, opacity: f32) -> Self {
        let r = radius.clamp(0.5, 20.0);
        let half = (r + 0.5).ceil() as i32;
        let side = (2 * half + 1) as usize;
        let mut weights = Vec::with_capacity(side * side);
        for dy in -half..=half {
            for dx in -half..=half {
                let dist = ((dx * dx + dy * dy) as f32).sqrt();
                let cover = (r + 0.5 - dist).clamp(0.0, 1.0) * opacity.clamp(0.0, 1.0);
                weights.push((cover * 256.0).round() as u16);
            }
        }
        let spans = weights
            .chunks_exact(side)
            .map(|row| {
                let lo = row.iter().position(|&v| v > 0).unwrap_or(side);
                let hi = row.iter().rposition(|&v| v > 0).map_or(lo, |p| p + 1);
                (lo as i32, hi as i32)
            })
            .collect();
        Self { half, weights, spans }
    }
}

/// Everything one image depends on.
pub struct Frame<'a> {
    /// Data coordinates of every row.
    pub xy: &'a [[f32; 2]],
    /// Colour of every row; fully transparent rows are not drawn.
    pub colors: &'a [Color32],
    /// Rows in drawing order (later rows drawn over earlier ones).
    pub order: &'a [u32],
    /// Draw only every `stride`-th row of `order` (a quick preview while the view moves).
    pub stride: usize,
    pub view: View,
    pub width: usize,
    pub height: usize,
    /// Marker radius in pixels.
    pub radius: f32,
    /// Marker opacity, 0–1.
    pub opacity: f32,
    /// Image background.
    pub background: Color32,
}

/// Image rows per band: a band's pixels (a few tens of KB) stay in cache while its points are stamped.
const BAND: usize = 16;

/// Runs `f` (a map drawing) on the window's own two drawing threads. The engine's pool may be
/// busy with a job whose parallel tasks run for a long time without yielding (HDBSCAN's
/// distances), and a frame that queued its drawing behind them waited: on the Debian set each
/// min_cluster_size move held one frame for 0.4–0.65 s. These threads have normal priority, so
/// the scheduler shares the cores with the job at once.
pub fn on_window_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| rayon::ThreadPoolBuilder::new().thread_name(|i| format!("embedmap-draw-{i}")).build().ok());
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

/// Draws `f` into a `width`×`height` image (row-major, top row first). The points are first
/// placed on the image in parallel and sorted into horizontal bands by a counting sort that keeps
/// the drawing order; then every band stamps its discs in parallel, so the result does not depend
/// on the number of threads, and each band's pixels stay in cache however scattered the points are.
#[must_use]
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    reason = "pixel coordinates of an on-screen image: points far outside are dropped first, and negative ones are clamped before they index"
)]
pub fn rasterize(f: &Frame<'_>) -> Vec<Color32> {
    let (w, h) = (f.width, f.height);
    let mut pixels = vec![f.background; w * h];
    if w == 0 || h == 0 {
        return pixels;
    }
    let disc = Disc::new(f.radius, f.opacity);
    let half = disc.half;
    let (wf, hf) = (w as f32, h as f32);
    let stride = f.stride.max(1);
    let m = f.order.len().div_ceil(stride);
    // 1. Image positions of the points that can show, in drawing order.
    let placed: Vec<(i32, i32, Color32)> = (0..m)
        .into_par_iter()
        .with_min_len(4096)
        .filter_map(|i| {
            let row = f.order[i * stride] as usize;
            let (p, &c) = (f.xy.get(row)?, f.colors.get(row)?);
            if c.a() == 0 {
                return None;
            }
            let (px, py) = f.view.to_px(f64::from(p[0]), f64::from(p[1]), wf, hf);
            if !(px.is_finite() && py.is_finite()) {
                return None;
            }
            let reach = half as f32 + 1.0;
            if px < -reach || px >= wf + reach || py < -reach || py >= hf + reach {
                return None;
            }
            // Round to the nearest pixel; the offset keeps the truncating cast a floor.
            let round = |v: f32| (v + 0.5 + 4096.0) as i32 - 4096;
            Some((round(px), round(py), c))
        })
        .collect();
    // 2. Counting sort into bands (a disc crossing a band edge goes into each band it touches).
    let bands = h.div_ceil(BAND);
    let band_range = |y: i32| {
        let lo = ((y - half).max(0) as usize) / BAND;
        let hi = (((y + half).max(0) as usize) / BAND).min(bands - 1);
        lo..=hi
    };
    let mut starts = vec![0u32; bands + 1];
    for &(_, y, _) in &placed {
        for b in band_range(y) {
            starts[b + 1] += 1;
        }
    }
    for b in 0..bands {
        starts[b + 1] += starts[b];
    }
    let mut fill = starts.clone();
    let mut items = vec![(0i32, 0i32, Color32::TRANSPARENT); starts[bands] as usize];
    for &(x, y, c) in &placed {
        for b in band_range(y) {
            items[fill[b] as usize] = (x, y, c);
            fill[b] += 1;
        }
    }
    // 3. Every band stamps its discs, clipped to its rows; within a disc row only the columns
    //    with coverage are visited, so the inner loop has no data-dependent branch.
    let side = (2 * half + 1) as usize;
    pixels.par_chunks_mut(BAND * w).enumerate().for_each(|(b, out)| {
        let y_lo = (b * BAND) as i32;
        let y_hi = y_lo + (out.len() / w) as i32;
        for &(cx, cy, c) in &items[starts[b] as usize..starts[b + 1] as usize] {
            // Red and blue blend in one u32 multiply, green in another (no carry between bytes:
            // each channel's weighted sum stays below 2^16).
            let src = u32::from_le_bytes(c.to_array());
            let (s_rb, s_g) = (src & 0x00FF_00FF, src & 0x0000_FF00);
            for y in (cy - half).max(y_lo)..=(cy + half).min(y_hi - 1) {
                let dy = (y - cy + half) as usize;
                let (lo, hi) = disc.spans[dy];
                // Columns of the disc row inside the image.
                let x0 = (cx - half + lo).max(0);
                let x1 = (cx - half + hi).min(w as i32);
                if x0 >= x1 {
                    continue;
                }
                let line = &mut out[(y - y_lo) as usize * w + x0 as usize..(y - y_lo) as usize * w + x1 as usize];
                let off = (x0 - (cx - half)) as usize;
                let wrow = &disc.weights[dy * side + off..dy * side + off + line.len()];
                for (dst, &a) in line.iter_mut().zip(wrow) {
                    let (a, na) = (u32::from(a), 256 - u32::from(a));
                    let d = u32::from_le_bytes(dst.to_array());
                    let rb = ((s_rb * a + (d & 0x00FF_00FF) * na) >> 8) & 0x00FF_00FF;
                    let g = ((s_g * a + (d & 0x0000_FF00) * na) >> 8) & 0x0000_FF00;
                    let [r, gg, bb, aa] = (rb | g | (d & 0xFF00_0000)).to_le_bytes();
                    *dst = Color32::from_rgba_premultiplied(r, gg, bb, aa);
                }
            }
        }
    });
    pixels
}

/// A uniform grid over the points' bounding box, each cell listing its rows.
#[derive(Debug, Default)]
pub struct Grid {
    x0: f64,
    y0: f64,
    cell: f64,
    nx: usize,
    ny: usize,
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl Grid {
    /// Builds the grid with about four points per cell (counting sort, O(n)).
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
    )]
    pub fn build(xy: &[[f32; 2]]) -> Self {
        let Some((x0, x1, y0, y1)) = bounds(xy).filter(|_| xy.len() <= u32::MAX as usize) else { return Self::default() };
        let (sx, sy) = ((x1 - x0).max(1e-12), (y1 - y0).max(1e-12));
        let cells = (xy.len() / 4).clamp(1, 1 << 22) as f64;
        let cell = (sx * sy / cells).sqrt().max(sx.max(sy) / 4096.0);
        let nx = ((sx / cell).floor() as usize + 1).min(8192);
        let ny = ((sy / cell).floor() as usize + 1).min(8192);
        let mut g = Self { x0, y0, cell, nx, ny, starts: vec![0; nx * ny + 1], items: Vec::new() };
        let ids: Vec<Option<usize>> = xy.iter().map(|p| g.cell_of(f64::from(p[0]), f64::from(p[1]))).collect();
        for &c in ids.iter().flatten() {
            g.starts[c + 1] += 1;
        }
        for i in 0..nx * ny {
            g.starts[i + 1] += g.starts[i];
        }
        let mut fill = g.starts.clone();
        g.items = vec![0; g.starts[nx * ny] as usize];
        for (row, c) in ids.iter().enumerate() {
            if let Some(c) = *c {
                g.items[fill[c] as usize] = row as u32;
                fill[c] += 1;
            }
        }
        g
    }

    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
    )]
    fn cell_of(&self, x: f64, y: f64) -> Option<usize> {
        if !(x.is_finite() && y.is_finite()) || self.nx == 0 {
            return None;
        }
        let cx = ((x - self.x0) / self.cell).floor().clamp(0.0, (self.nx - 1) as f64) as usize;
        let cy = ((y - self.y0) / self.cell).floor().clamp(0.0, (self.ny - 1) as f64) as usize;
        Some(cy * self.nx + cx)
    }

    /// Cell index ranges covering the data rectangle [x0, x1] × [y0, y1].
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
    )]
    fn cells_in(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> Option<(std::ops::RangeInclusive<usize>, std::ops::RangeInclusive<usize>)> {
        if self.nx == 0 || !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
            return None;
        }
        let fx = |x: f64| ((x - self.x0) / self.cell).floor();
        let fy = |y: f64| ((y - self.y0) / self.cell).floor();
        let (a, b) = (fx(x0.min(x1)), fx(x0.max(x1)));
        let (c, d) = (fy(y0.min(y1)), fy(y0.max(y1)));
        if b < 0.0 || d < 0.0 || a > (self.nx - 1) as f64 || c > (self.ny - 1) as f64 {
            return None;
        }
        let clamp_x = |v: f64| v.clamp(0.0, (self.nx - 1) as f64) as usize;
        let clamp_y = |v: f64| v.clamp(0.0, (self.ny - 1) as f64) as usize;
        Some((clamp_x(a)..=clamp_x(b), clamp_y(c)..=clamp_y(d)))
    }

    /// Rows in the cells that overlap the rectangle (a superset of the rows inside it).
    fn candidates(&self, x0: f64, y0: f64, x1: f64, y1: f64, mut visit: impl FnMut(usize)) {
        let Some((xs, ys)) = self.cells_in(x0, y0, x1, y1) else { return };
        for cy in ys {
            for cx in xs.clone() {
                let c = cy * self.nx + cx;
                for &r in &self.items[self.starts[c] as usize..self.starts[c + 1] as usize] {
                    visit(r as usize);
                }
            }
        }
    }

    /// The accepted row nearest (x, y) within data distance `r` (ties: the higher row, the one
    /// drawn on top). Cells are visited in rings around the pointer's cell, and the search stops
    /// once no cell of the next ring can hold anything closer, so a dense spot costs one or two
    /// cells, not every point within reach.
    #[expect(clippy::cast_possible_truncation, reason = "screen pixels, counts and colour channels: small values, clamped before the cast")]
    #[expect(clippy::cast_sign_loss, reason = "cell coordinates are clamped to 0 and to the grid's size first")]
    pub fn nearest(&self, xy: &[[f32; 2]], x: f64, y: f64, r: f64, accept: impl Fn(usize) -> bool) -> Option<usize> {
        if self.nx == 0 || !(x.is_finite() && y.is_finite() && r.is_finite()) {
            return None;
        }
        let (gx, gy) = (((x - self.x0) / self.cell).floor(), ((y - self.y0) / self.cell).floor());
        let (nx, ny) = (self.nx as f64, self.ny as f64);
        let max_ring = (r / self.cell).ceil() + 1.0;
        // Rings that cannot reach the grid at all are skipped.
        let first_ring = (0.0f64).max(-gx - 1.0).max(gx - nx).max(-gy - 1.0).max(gy - ny).max(0.0);
        let mut best: Option<(f64, usize)> = None;
        let mut ring = first_ring;
        while ring <= max_ring {
            // Every point of ring ρ is at least (ρ − 1)·cell away.
            let near = ((ring - 1.0) * self.cell).max(0.0);
            if near > r || best.is_some_and(|(bd, _)| bd < near * near) {
                break;
            }
            let (lo_x, hi_x, lo_y, hi_y) = (gx - ring, gx + ring, gy - ring, gy + ring);
            for cy in (lo_y.max(0.0) as i64)..=(hi_y.min(ny - 1.0) as i64) {
                let edge_row = cy as f64 == lo_y || cy as f64 == hi_y;
                let mut cx = lo_x.max(0.0) as i64;
                let end = hi_x.min(nx - 1.0) as i64;
                while cx <= end {
                    let c = cy as usize * self.nx + cx as usize;
                    for &row in &self.items[self.starts[c] as usize..self.starts[c + 1] as usize] {
                        let row = row as usize;
                        let p = xy[row];
                        let d2 = (f64::from(p[0]) - x).powi(2) + (f64::from(p[1]) - y).powi(2);
                        if d2 <= r * r && best.is_none_or(|(bd, br)| d2 < bd || (d2 == bd && row > br)) && accept(row) {
                            best = Some((d2, row));
                        }
                    }
                    // Inside the ring only its two edge columns belong to it.
                    cx = if edge_row || cx as f64 == hi_x || ring == 0.0 { cx + 1 } else { (hi_x as i64).max(cx + 1) };
                }
            }
            ring += 1.0;
        }
        best.map(|(_, row)| row)
    }

    /// Accepted rows inside the polygon `poly` (data coordinates; a box is a 4-point polygon), ascending.
    pub fn inside(&self, xy: &[[f32; 2]], poly: &[[f64; 2]], accept: impl Fn(usize) -> bool) -> Vec<usize> {
        if poly.len() < 3 {
            return Vec::new();
        }
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for p in poly {
            x0 = x0.min(p[0]);
            x1 = x1.max(p[0]);
            y0 = y0.min(p[1]);
            y1 = y1.max(p[1]);
        }
        let mut out = Vec::new();
        self.candidates(x0, y0, x1, y1, |row| {
            let p = xy[row];
            if point_in_polygon(f64::from(p[0]), f64::from(p[1]), poly) && accept(row) {
                out.push(row);
            }
        });
        out.sort_unstable();
        out
    }
}

/// Even-odd rule.
fn point_in_polygon(x: f64, y: f64, poly: &[[f64; 2]]) -> bool {
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (xi, yi) = (poly[i][0], poly[i][1]);
        let (xj, yj) = (poly[j][0], poly[j][1]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fitted_view_ignores_a_few_far_outliers_but_keeps_small_inputs_whole() {
        let mut xy: Vec<[f32; 2]> = (0..5000).map(|i| [(i % 100) as f32 / 10.0, (i / 100) as f32 / 5.0]).collect();
        xy.push([1000.0, -500.0]);
        xy.push([f32::NAN, 3.0]);
        let (x0, x1, y0, y1) = view_bounds(&xy).unwrap();
        assert!(x0 <= 0.1 && (9.8..20.0).contains(&x1), "{x0} {x1}");
        assert!(y0 <= 0.1 && y0 > -10.0 && y1 >= 9.7, "{y0} {y1}");
        let small = &xy[4900..];
        assert_eq!(view_bounds(small), bounds(small));
    }

    fn frame<'a>(xy: &'a [[f32; 2]], colors: &'a [Color32], order: &'a [u32], view: View) -> Frame<'a> {
        Frame { xy, colors, order, stride: 1, view, width: 40, height: 30, radius: 2.0, opacity: 1.0, background: Color32::BLACK }
    }

    #[test]
    fn a_point_lands_where_the_view_puts_it_and_later_points_cover_earlier_ones() {
        let xy = [[0.0, 0.0], [0.0, 0.0], [5.0, 5.0]];
        let colors = [Color32::RED, Color32::GREEN, Color32::TRANSPARENT];
        let view = View { cx: 0.0, cy: 0.0, scale: 2.0 };
        let img = rasterize(&frame(&xy, &colors, &[0, 1, 2], view));
        // Data (0, 0) is the image centre (20, 15); green was drawn last.
        assert_eq!(img[15 * 40 + 20], Color32::GREEN);
        // The transparent point at (5, 5) → pixel (30, 5) is not drawn.
        assert_eq!(img[5 * 40 + 30], Color32::BLACK);
        // Far corners stay background.
        assert_eq!(img[0], Color32::BLACK);
        let img = rasterize(&frame(&xy, &colors, &[1, 0], view));
        assert_eq!(img[15 * 40 + 20], Color32::RED);
    }

    #[test]
    fn the_image_does_not_depend_on_the_band_split() {
        let xy: Vec<[f32; 2]> = (0..500).map(|i| [(i as f32 * 0.37).sin() * 9.0, (i as f32 * 0.11).cos() * 7.0]).collect();
        let colors: Vec<Color32> = (0..500).map(|i| if i % 2 == 0 { Color32::RED } else { Color32::BLUE }).collect();
        let order: Vec<u32> = (0..500).collect();
        let view = View::fit(&xy, 40.0, 30.0);
        let a = rasterize(&frame(&xy, &colors, &order, view));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| rasterize(&frame(&xy, &colors, &order, view)));
        assert_eq!(a, b);
        assert!(a.contains(&Color32::RED) && a.contains(&Color32::BLUE));
    }

    #[test]
    fn view_round_trips_and_zoom_keeps_the_point_under_the_pointer() {
        let mut v = View { cx: 1.0, cy: -2.0, scale: 3.0 };
        let (px, py) = v.to_px(4.0, 5.0, 100.0, 80.0);
        let (x, y) = v.to_data(px, py, 100.0, 80.0);
        assert!((x - 4.0).abs() < 1e-4 && (y - 5.0).abs() < 1e-4);
        v.zoom_at(2.5, px, py, 100.0, 80.0);
        let (x2, y2) = v.to_data(px, py, 100.0, 80.0);
        assert!((x2 - 4.0).abs() < 1e-4 && (y2 - 5.0).abs() < 1e-4);
        let fit = View::fit(&[[0.0, 0.0], [10.0, 2.0]], 100.0, 100.0);
        let (ax, _) = fit.to_px(0.0, 0.0, 100.0, 100.0);
        let (bx, _) = fit.to_px(10.0, 2.0, 100.0, 100.0);
        assert!(ax > 0.0 && bx < 100.0 && bx - ax > 80.0);
    }

    #[test]
    fn the_grid_finds_the_same_nearest_point_as_a_scan() {
        let xy: Vec<[f32; 2]> = (0..3000).map(|i| [(i as f32 * 0.713).sin() * 50.0, (i as f32 * 0.291).cos() * 20.0]).collect();
        let g = Grid::build(&xy);
        for q in 0..200 {
            let (x, y) = (f64::from((q as f32 * 1.3).sin() * 55.0), f64::from((q as f32 * 0.7).cos() * 22.0));
            let r = 3.0;
            let accept = |row: usize| !row.is_multiple_of(3);
            let scan = (0..xy.len())
                .filter(|&i| accept(i))
                .map(|i| ((f64::from(xy[i][0]) - x).powi(2) + (f64::from(xy[i][1]) - y).powi(2), i))
                .filter(|&(d, _)| d <= r * r)
                .min_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
                .map(|(_, i)| i);
            assert_eq!(g.nearest(&xy, x, y, r, accept), scan, "query {q}");
        }
    }

    #[test]
    fn box_and_lasso_selection_match_a_scan() {
        let xy: Vec<[f32; 2]> = (0..2000).map(|i| [(i as f32 * 0.513).sin() * 10.0, (i as f32 * 0.377).cos() * 10.0]).collect();
        let g = Grid::build(&xy);
        let boxed = [[-2.0, -3.0], [4.0, -3.0], [4.0, 5.0], [-2.0, 5.0]];
        let got = g.inside(&xy, &boxed, |_| true);
        let want: Vec<usize> = (0..xy.len())
            .filter(|&i| {
                let (x, y) = (f64::from(xy[i][0]), f64::from(xy[i][1]));
                x > -2.0 && x < 4.0 && y > -3.0 && y < 5.0
            })
            .collect();
        assert_eq!(got, want);
        assert!(!got.is_empty());
        // A triangle: only points below the diagonal y < x within the box [0, 10]².
        let tri = [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]];
        let got = g.inside(&xy, &tri, |_| true);
        assert!(got.iter().all(|&i| xy[i][1] < xy[i][0] && xy[i][1] > 0.0));
        assert!(g.inside(&xy, &tri[..2], |_| true).is_empty());
    }
}
