//! The map's CPU drawing at 100k and 1M points into a 600×800 image, and hover look-ups.
//!
//! `cargo bench --bench map`; the window's own figures come from `embedmap --benchmark-frames N FILE`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eframe::egui::Color32;
use embedmap::app::raster::{Frame, Grid, View, rasterize};

/// n points in 20 gaussian-ish blobs, coloured by blob.
#[expect(clippy::cast_possible_truncation, reason = "below 255 by the modulo")]
fn points(n: usize) -> (Vec<[f32; 2]>, Vec<Color32>) {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut xy = Vec::with_capacity(n);
    let mut colors = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 20;
        let (cx, cy) = ((c as f32 * 2.4).cos() * 10.0, (c as f32 * 2.4).sin() * 10.0);
        let (u, v) = (next().max(1e-9), next());
        let r = (-2.0 * u.ln()).sqrt() * 2.0;
        xy.push([cx + r * (std::f32::consts::TAU * v).cos(), cy + r * (std::f32::consts::TAU * v).sin()]);
        colors.push(Color32::from_rgb((c * 37 % 255) as u8, (c * 91 % 255) as u8, (c * 53 % 255) as u8));
    }
    (xy, colors)
}

#[expect(clippy::cast_possible_truncation, reason = "bench sizes are far below u32::MAX")]
fn bench_rasterize(c: &mut Criterion) {
    let mut g = c.benchmark_group("map_rasterize_600x800");
    g.sample_size(10);
    for n in [100_000usize, 1_000_000] {
        let (xy, colors) = points(n);
        let order: Vec<u32> = (0..n as u32).collect();
        let view = View::fit(&xy, 600.0, 800.0);
        g.throughput(Throughput::Elements(n as u64));
        for radius in [1.0f32, 2.0] {
            g.bench_function(format!("{n}_points_radius_{radius}"), |b| {
                b.iter(|| {
                    black_box(rasterize(&Frame {
                        xy: &xy,
                        colors: &colors,
                        order: &order,
                        stride: 1,
                        view,
                        width: 600,
                        height: 800,
                        radius,
                        opacity: 0.85,
                        background: Color32::BLACK,
                    }))
                });
            });
        }
    }
    g.finish();
}

fn bench_hover(c: &mut Criterion) {
    let (xy, _) = points(1_000_000);
    let grid = Grid::build(&xy);
    let mut g = c.benchmark_group("map_hover_1m");
    g.bench_function("nearest_within_5px", |b| {
        let mut i = 0u32;
        b.iter(|| {
            i = i.wrapping_add(1);
            let (x, y) = ((f64::from(i) * 0.618).fract() * 40.0 - 20.0, (f64::from(i) * 0.414).fract() * 40.0 - 20.0);
            black_box(grid.nearest(&xy, x, y, 0.1, |_| true))
        });
    });
    g.bench_function("grid_build", |b| b.iter(|| black_box(Grid::build(&xy))));
    g.finish();
}

criterion_group!(benches, bench_rasterize, bench_hover);
criterion_main!(benches);
