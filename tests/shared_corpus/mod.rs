//! Where the shared corpus is: `../shared/bench-awfy` beside the repository (the same
//! place `bench/compare.py` looks; `RUFF_SHARED_DIR` overrides the shared folder), one
//! folder `NAME/` per program with `NAME.ruff` and its expected output `NAME.out`.
//! Shared by `tests/corpus.rs` and `tests/bench_coverage.rs`. A missing corpus fails the
//! test that asks for it, with the path it looked at: it never passes vacuously.

use std::path::PathBuf;

/// The corpus folder; panics with where it looked when it is not there.
pub fn corpus_dir() -> PathBuf {
    let shared = match std::env::var_os("RUFF_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"),
    };
    let corpus = shared.join("bench-awfy");
    assert!(
        corpus.is_dir(),
        "the shared corpus is not at {}: it is expected in `shared/bench-awfy` beside the repository \
         (set RUFF_SHARED_DIR to the shared folder if it is elsewhere)",
        corpus.display()
    );
    corpus
}

/// The names of the corpus programs (every `NAME/` holding `NAME.ruff`), in name order.
pub fn corpus_programs() -> Vec<String> {
    let corpus = corpus_dir();
    let mut names: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {}", corpus.display(), e))
        .filter_map(|entry| {
            let path = entry.expect("readable directory entry").path();
            let name = path.file_name()?.to_str()?.to_string();
            path.join(format!("{}.ruff", name)).is_file().then_some(name)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no NAME/NAME.ruff programs in {}", corpus.display());
    names
}
