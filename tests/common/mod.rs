//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use embedmap::engine::{Embeddings, Matrix};

/// Path of a fixture file.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Reads a fixture `.npy` as embeddings.
pub fn npy(rel: &str) -> Embeddings {
    let bytes = std::fs::read(fixture(rel)).unwrap();
    let a = embedmap::data::npy::read(&bytes).unwrap();
    Embeddings::new(Matrix::new(a.data, a.rows, a.cols).unwrap())
}

/// Reads a fixture JSON file.
pub fn json(rel: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(rel)).unwrap()).unwrap()
}

/// A JSON array of integers as labels.
pub fn labels(v: &serde_json::Value) -> Vec<i32> {
    v.as_array().unwrap().iter().map(|x| i32::try_from(x.as_i64().unwrap()).unwrap()).collect()
}

/// A JSON array of floats.
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// A fixture set `dir/name.json` with the vectors it names and its metric.
pub fn fixture_set(dir: &str, name: &str) -> (Embeddings, serde_json::Value, embedmap::engine::Metric) {
    let j = json(&format!("{dir}/{name}.json"));
    let emb = npy(j["vectors_file"].as_str().unwrap());
    let metric = j["metric"].as_str().unwrap().parse().unwrap();
    (emb, j, metric)
}

/// Embeddings from literal rows.
pub fn matrix(rows: &[Vec<f32>]) -> Embeddings {
    let d = rows[0].len();
    Embeddings::new(Matrix::new(rows.concat(), rows.len(), d).unwrap())
}

/// A seeded xorshift generator of uniform values in [−0.5, 0.5), for test data.
pub fn uniform(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let u = (state >> 40) as f32 / (1u64 << 24) as f32;
        u - 0.5
    }
}
