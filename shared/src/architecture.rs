//! The layers hold: reads the core's sources and fails when a module
//! imports a layer above its own, or when top-level modules import each
//! other in a cycle. A new top-level module must be given a layer here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `shared/src` and its layer, lowest first.
const LAYERS: &[(&str, &[&str])] = &[
    ("foundation", &["cache", "config", "crypto", "error", "host", "pagination", "secret", "types"]),
    (
        "domains",
        &["actions", "email", "keys", "logs", "mfa", "oauth", "platform", "scim", "session", "tenant", "users"],
    ),
    ("use cases", &["usecases"]),
    ("web", &["web"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source names through `crate::...`, including
/// grouped imports (`use crate::{a, b::c}`); comments are skipped.
fn crate_references(source: &str) -> BTreeSet<String> {
    let code: String = source.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect() };
    let mut found = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: split at commas outside braces.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(group[start..j].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(group[start..j].trim()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty() && m != "self");
    found
}

/// Top-level module -> the top-level modules its files reference.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component").as_os_str().to_string_lossy().to_string();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "architecture" {
            continue;
        }
        let refs = crate_references(&std::fs::read_to_string(&f).expect("readable source"));
        graph.entry(module.clone()).or_default().extend(refs.into_iter().filter(|r| *r != module));
    }
    graph
}

#[test]
fn every_module_has_a_layer_and_imports_only_below_or_beside_it() {
    let graph = module_graph();
    let mut wrong = Vec::new();
    for (module, refs) in &graph {
        let Some(own) = layer_of(module) else {
            wrong.push(format!("{module} has no layer: add it to LAYERS in architecture.rs"));
            continue;
        };
        for r in refs {
            match layer_of(r) {
                Some(l) if l > own => {
                    wrong.push(format!("{module} ({}) imports {r} ({}), a layer above", LAYERS[own].0, LAYERS[l].0))
                }
                Some(_) => {}
                None => wrong.push(format!("{module} imports {r}, which has no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = module_graph();
    // Depth-first search for a back edge; the path shows the cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle between top-level modules: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_reader_finds_grouped_and_plain_imports() {
    let refs = crate_references(
        "use crate::{host::{Db, Host}, types::TenantId};\nuse crate::web::router::Ctx; // crate::ignored\nlet x = crate::oauth::split_scopes(s);",
    );
    let want: BTreeSet<String> = ["host", "types", "web", "oauth"].iter().map(|s| s.to_string()).collect();
    assert_eq!(refs, want);
}
