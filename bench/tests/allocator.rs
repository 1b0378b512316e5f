//! Timed benchmarks run on the system allocator.
//!
//! A counting global allocator adds atomic operations to every allocation,
//! which taxes the contestants that allocate more (the peers allocate about
//! ten times per event, our parser almost never): a comparison timed under
//! one is biased. Heap figures therefore come from one binary of their own,
//! `src/bin/heap.rs`, and this test fails if any other program a benchmark
//! times — every bench target and example in the workspace, and the bench
//! library they link — installs a `#[global_allocator]`.

use std::path::{Path, PathBuf};

/// The only files allowed to install a global allocator: binaries that
/// count heap use and time nothing.
const HEAP_COUNTERS: &[&str] = &["bench/src/bin/heap.rs"];

/// Whether Rust source `text` declares a global allocator: the attribute,
/// with any spacing, outside `//` comments.
fn installs_global_allocator(text: &str) -> bool {
    let code: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    code.contains("#[global_allocator]")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench crate lives in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, recursively (none if it does not exist).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The sources of timed programs: every crate's `benches/` and
/// `examples/`, and the bench crate's library and binaries.
fn timed_sources(root: &Path) -> Vec<PathBuf> {
    let mut crates = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() && name != "target" && name != ".git" && name != "node_modules" {
                stack.push(path);
            } else if name == "Cargo.toml" {
                crates.push(dir.clone());
            }
        }
    }
    let mut files = Vec::new();
    for krate in crates {
        rust_files(&krate.join("benches"), &mut files);
        rust_files(&krate.join("examples"), &mut files);
    }
    rust_files(&root.join("bench/src"), &mut files);
    files.sort();
    files
}

#[test]
fn no_timed_benchmark_installs_a_global_allocator() {
    let root = workspace();
    let files = timed_sources(&root);
    for expected in ["bench/benches/parse.rs", "bench/benches/loopback.rs"] {
        assert!(
            files.contains(&root.join(expected)),
            "{expected} not scanned"
        );
    }
    let mut offenders = Vec::new();
    let mut counters = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read a source file");
        let rel = file.strip_prefix(&root).unwrap_or(file);
        let rel = rel.to_string_lossy().replace('\\', "/");
        if installs_global_allocator(&text) {
            if HEAP_COUNTERS.contains(&rel.as_str()) {
                counters.push(rel);
            } else {
                offenders.push(rel);
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "timed benchmark sources install a global allocator (it biases the timings; \
         count heap use in {HEAP_COUNTERS:?} instead): {offenders:?}"
    );
    // The scan does see the one allocator that is allowed.
    assert_eq!(counters, HEAP_COUNTERS);
}

#[test]
fn the_scan_finds_the_attribute_however_it_is_spaced() {
    assert!(installs_global_allocator(
        "#[global_allocator]\nstatic A: C = C;"
    ));
    assert!(installs_global_allocator(
        "# [ global_allocator ]\nstatic A: C = C;"
    ));
    assert!(installs_global_allocator(
        "#[\n    global_allocator\n]\nstatic A: C = C;"
    ));
    assert!(!installs_global_allocator(
        "// #[global_allocator] in a comment\nfn main() {}"
    ));
    assert!(!installs_global_allocator("use std::alloc::System;"));
}
