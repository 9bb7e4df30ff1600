//! The dendrogram of a hierarchical clustering: the top of the merge tree (its last merges, so
//! that thousands of leaves stay readable), with the cut that gives the current k drawn across
//! it. Dragging or clicking the cut to another height sets k to the number of clusters there —
//! instantly, because the tree is kept and every k is just a cut.

use eframe::egui;
use egui_plot::{HLine, Line, Plot, PlotPoints};

use crate::app::{EmbedmapApp, palette, sweep};
use crate::engine::hierarchical::Dendrogram;

/// Clusters shown at the bottom of the drawing at least (the tree above them is drawn in full).
const MIN_SHOWN: usize = 30;

/// Line segments of the truncated tree, in plot coordinates, with the cluster each belongs to
/// (`None`: above the cut).
pub(crate) struct Drawing {
    links: Vec<(Vec<[f64; 2]>, Option<usize>)>,
    /// The lowest height drawn (the plot starts a little below it).
    floor: f64,
}

/// Builds the drawing of `tree` showing its top `shown − 1` merges, coloured by `labels`.
pub(crate) fn drawing(tree: &Dendrogram, labels: &[i32], k: usize) -> Drawing {
    let n = tree.n;
    let merges = &tree.merges;
    if n < 2 || merges.len() + 1 != n {
        return Drawing { links: Vec::new(), floor: 0.0 };
    }
    let shown = (2 * k).max(MIN_SHOWN).min(n);
    // Merges with index ≥ first are drawn; nodes made before are leaves of the drawing.
    let first = n - shown;
    // A representative point of every node, to colour subtrees by the cluster they fall in.
    let mut rep: Vec<usize> = (0..n).collect();
    if let Some(leaf_of) = &tree.leaf_of {
        let mut seen = vec![false; n];
        for (p, &l) in leaf_of.iter().enumerate() {
            let l = l as usize;
            if l < n && !seen[l] {
                seen[l] = true;
                rep[l] = p;
            }
        }
    }
    rep.extend(merges.iter().map(|_| 0));
    for (i, m) in merges.iter().enumerate() {
        rep[n + i] = rep[m.left as usize];
    }
    let cluster = |node: usize| labels.get(rep[node]).and_then(|&l| usize::try_from(l).ok());
    let cut = tree.cut_height(k).map_or(f64::INFINITY, |(lo, hi)| (lo + hi) / 2.0);
    // x of every drawn node: leaves in tree order (depth-first from the root), parents centred.
    let is_leaf = |node: usize| node < n || node - n < first;
    // A subtree below the truncation hangs from its own top merge.
    let height = |node: usize| if node < n { 0.0 } else { merges[node - n].height };
    let root = n + merges.len() - 1;
    let mut x = std::collections::HashMap::new();
    let mut next = 0.0f64;
    let mut stack = vec![(root, false)];
    while let Some((node, done)) = stack.pop() {
        if is_leaf(node) {
            x.insert(node, next);
            next += 1.0;
        } else if done {
            let m = &merges[node - n];
            let xm = (x[&(m.left as usize)] + x[&(m.right as usize)]) / 2.0;
            x.insert(node, xm);
        } else {
            let m = &merges[node - n];
            stack.push((node, true));
            stack.push((m.right as usize, false));
            stack.push((m.left as usize, false));
        }
    }
    let mut links = Vec::with_capacity(shown);
    for (i, m) in merges.iter().enumerate().skip(first) {
        let (l, r) = (m.left as usize, m.right as usize);
        let h = m.height;
        let color = if h < cut { cluster(n + i) } else { None };
        links.push((vec![[x[&l], height(l)], [x[&l], h], [x[&r], h], [x[&r], height(r)]], color));
    }
    let floor = links.iter().flat_map(|(p, _)| p.iter().map(|q| q[1])).fold(f64::INFINITY, f64::min);
    Drawing { links, floor: if floor.is_finite() { floor } else { 0.0 } }
}

/// Draws the dendrogram section for the outcome on screen, if it came from a tree.
pub(crate) fn dendrogram_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    let Some(o) = app.outcome.clone() else { return };
    let Some(tree) = o.dendrogram.clone() else { return };
    let Some(k) = o.request.algorithm.k() else { return };
    ui.heading("Dendrogram");
    let leaves = if tree.leaf_of.is_some() { format!("{} micro-clusters", tree.n) } else { format!("{} rows", tree.n) };
    ui.label(
        egui::RichText::new(format!(
            "{} linkage over {leaves}; the top of the tree. Drag the cut (or click at a height) to change k.",
            tree.linkage.name()
        ))
        .small(),
    );
    if app.dendrogram.as_ref().is_none_or(|((held, kk), _)| !std::sync::Arc::ptr_eq(held, &o) || *kk != k) {
        app.dendrogram = Some(((std::sync::Arc::clone(&o), k), drawing(&tree, &o.labels, k)));
    }
    let Some((_, d)) = &app.dendrogram else { return };
    let (below, above) = tree.cut_height(k).unwrap_or((0.0, 0.0));
    let cut = if above.is_finite() { (below + above) / 2.0 } else { below * 1.05 };
    ui.label(format!("cut at {} distance {cut:.4}: k = {k}", tree.metric.name()));
    let grey = ui.visuals().weak_text_color();
    let resp = Plot::new("dendrogram")
        .height(ui.available_height().max(160.0))
        .show_axes([false, true])
        .y_axis_label(format!("{} distance", tree.metric.name()))
        .include_y(d.floor - 0.05 * (tree.merges.last().map_or(d.floor, |m| m.height) - d.floor))
        .allow_drag(false)
        .allow_scroll(false)
        .allow_zoom(false)
        .allow_boxed_zoom(false)
        .show_x(false)
        .show(ui, |plot_ui| {
            for (i, (pts, c)) in d.links.iter().enumerate() {
                plot_ui.line(
                    Line::new("", PlotPoints::new(pts.clone()))
                        .id(egui_plot::ItemId::new(("link", i)))
                        .color(c.map_or(grey, palette::cluster))
                        .allow_band(false)
                        .width(1.2),
                );
            }
            plot_ui.hline(HLine::new(format!("cut: k = {k}"), cut).color(palette::WARNING).width(2.0));
            plot_ui.pointer_coordinate()
        });
    app.dendrogram_transform = Some(resp.transform);
    if (resp.response.dragged() || resp.response.clicked())
        && let Some(p) = resp.inner
    {
        // Clusters at height y: one plus the merges above it.
        let above_y = tree.merges.iter().filter(|m| m.height > p.y).count();
        let n = app.dataset.as_ref().map_or(2, |d| d.n());
        let new_k = (above_y + 1).clamp(2, 50.min(n.saturating_sub(1)).min(tree.n).max(2));
        if new_k != k && app.settings.k != new_k {
            sweep::apply_k(app, new_k);
        }
    }
}
