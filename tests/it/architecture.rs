//! The layering of ARCHITECTURE.md, checked on the source: stages never import each other,
//! shared layers never import a stage or the wiring, `model` imports nothing of the crate,
//! `store` does not import `api`. A `use crate::…` (or `crate::…` path) that breaks a rule
//! fails here with the file and line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages: each reads its inputs through the shared layers, never from another stage.
const STAGES: &[&str] = &["extract", "normalize", "reconcile", "invoice", "export", "report"];
/// Only these wire stages together.
const WIRING: &[&str] = &["pipeline", "cli", "main"];

/// The crate's top-level module a source file belongs to (`src/store/raw.rs` → `store`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every `crate::<module>` a file names (outside comments), with its line number.
fn crate_references(text: &str) -> Vec<(usize, String)> {
    let mut refs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            // `$crate::` in macros and `vobiz_billing::` in the binary name the same crate.
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `use crate::{a, b::c};`: every name at the group's top level.
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    let name = item.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        refs.push((n + 1, name.to_string()));
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    refs.push((n + 1, name));
                }
            }
            rest = after;
        }
    }
    refs
}

/// module → the crate modules it names, with one place each.
fn import_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let from = module_of(&src, &file);
        let text = std::fs::read_to_string(&file).unwrap();
        for (line, to) in crate_references(&text) {
            if to != from {
                let place = format!("{}:{line}", file.strip_prefix(&src).unwrap().display());
                graph.entry(from.clone()).or_default().entry(to).or_insert(place);
            }
        }
    }
    graph
}

#[test]
fn stages_import_only_shared_layers_and_shared_layers_import_no_stage() {
    let graph = import_graph();
    let mut broken = Vec::new();
    for (from, targets) in &graph {
        for (to, place) in targets {
            let (from_stage, to_stage) = (STAGES.contains(&from.as_str()), STAGES.contains(&to.as_str()));
            let to_wiring = WIRING.contains(&to.as_str());
            let rule = if from_stage && (to_stage || to_wiring) {
                Some("a stage imports another stage or the wiring")
            } else if !from_stage && !WIRING.contains(&from.as_str()) && (to_stage || to_wiring) {
                Some("a shared layer imports a stage or the wiring")
            } else if from == "model" {
                Some("model imports nothing of the crate (the fuzz crate compiles it alone)")
            } else if from == "store" && to == "api" {
                Some("store sits below api")
            } else if from == "simulator" && to != "model" {
                Some("the simulator shares only the model with the pipeline")
            } else {
                None
            };
            if let Some(rule) = rule {
                broken.push(format!("{place}: {from} → {to}: {rule}"));
            }
        }
    }
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
    // The rules must see the crate: every stage and layer is in the graph.
    let seen: BTreeSet<&str> = graph.keys().map(String::as_str).collect();
    for m in STAGES.iter().chain(&["store", "api", "pipeline"]) {
        assert!(seen.contains(m), "{m} not found under src/");
    }
}

#[test]
fn the_reference_scanner_sees_uses_and_paths_but_not_comments() {
    let refs = crate_references(
        "use crate::store::read;\nlet x = crate::api::wire::parse(b); // crate::report\n$crate::store::schema::Kind\nuse crate::{extract, model::Period};",
    );
    let names: Vec<&str> = refs.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["store", "api", "store", "extract", "model"]);
}
