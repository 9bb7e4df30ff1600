//! Threads are started in one place: the job registry (`src/jobs.rs`). Elsewhere only scoped
//! threads (which end before the function that starts them returns) and rayon's pools run.

use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_thread_is_spawned_outside_the_job_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "python/src"] {
        sources(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "the sources were not found: {}", files.len());
    let registry = root.join("src/jobs.rs");
    let mut found = Vec::new();
    for f in files.iter().filter(|f| **f != registry) {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let unscoped_builder = line.contains("thread::Builder") && !line.contains("spawn_scoped");
            if line.contains("thread::spawn(") || unscoped_builder {
                found.push(format!("{}:{}: {}", f.strip_prefix(root).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "start threads through embedmap::jobs (or use a scoped thread):\n{}", found.join("\n"));
}
