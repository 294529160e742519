//! An outside tester's attack on issue H: regressions for what it found.

use std::collections::BTreeSet;

/// The README's "The emulator in your own tests" section gives a
/// `[dev-dependencies]` block and a test to paste. The README doctest
/// compiles the test inside this crate, where `futures` is a
/// dev-dependency anyway, so a crate the block forgets goes unseen: a
/// consumer who copies both got `unresolved import futures` (checked in a
/// scratch crate outside the repository). Every crate the example `use`s
/// must be in the block.
#[test]
fn readme_emulator_example_lists_every_crate_it_uses() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("### The emulator in your own tests")
        .nth(1)
        .expect("the section");
    let toml = section
        .split("```toml")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the toml block");
    let rust = section
        .split("```rust")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the rust block");
    let listed: BTreeSet<String> = toml
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().replace('-', "_")))
        .collect();
    let used: BTreeSet<String> = rust
        .lines()
        .filter_map(|l| l.trim().strip_prefix("use "))
        .filter_map(|l| l.split("::").next())
        .map(|c| c.trim().to_string())
        .filter(|c| !["std", "core", "alloc", "crate", "self", "super"].contains(&c.as_str()))
        .collect();
    let missing: Vec<_> = used.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "README example uses {missing:?}, not in its [dev-dependencies] {listed:?}"
    );
}
