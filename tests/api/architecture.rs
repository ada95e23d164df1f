//! The layer order of ARCHITECTURE.md, checked against the code: every reference from one
//! top-level module of the library to another (`crate::x`, `use crate::{x, y}`, `super::` paths
//! that leave the module) must point to a module listed before it in the `layers` table. Since
//! the table is one order, no cycle between top-level modules can pass either; a failure names
//! the file and line of each reference against the order, and any cycle they make.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The modules in layer order, as the ARCHITECTURE.md block fenced as `layers` lists them:
/// one line per layer, its name first, then its modules in order.
fn layer_order() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let block = doc
        .split("```layers\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("ARCHITECTURE.md has a ```layers block");
    let mut order = Vec::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let layer = words.next().unwrap().trim_end_matches(':').to_string();
        order.extend(words.map(|m| (m.to_string(), layer.clone())));
    }
    order
}

/// `mod x;` / `pub mod x;` declarations of a file.
fn declared_modules(file: &Path) -> Vec<String> {
    let text = strip(&std::fs::read_to_string(file).unwrap());
    text.lines()
        .filter_map(|l| {
            let l = l.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
            l.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')).map(|m| m.trim().to_string())
        })
        .collect()
}

/// The source without comments, string and character literals (kept as blanks, so that line
/// numbers stay right).
fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !ident_char(b.get(i.wrapping_sub(1)))
        {
            // a raw string: r"..." or r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let rest: String = b[j + 1..].iter().collect();
            let end =
                rest.find(&close).map(|e| j + 1 + rest[..e].chars().count() + close.len()).unwrap_or(b.len());
            for &ch in &b[i..end] {
                out.push(blank(ch));
            }
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || b.get(i + 2) == Some(&'\'')) {
            // a character literal ('x', '\n', '\u{..}'); a lifetime has no closing quote
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '\'' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// The first identifier of each path a file names from the crate root, with its line: the
/// `x` of `crate::x`, of each item of `use crate::{x, y::z}`, and of `super::...::x` when the
/// `super`s climb out of the top-level module.
fn root_references(text: &str, module_path: &[String]) -> Vec<(String, usize)> {
    let b: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let line_of = |pos: usize| b[..pos].iter().filter(|c| **c == '\n').count() + 1;
    let word_at = |pos: usize| -> (String, usize) {
        let mut j = pos;
        while j < b.len() && b[j].is_whitespace() {
            j += 1;
        }
        let start = j;
        while j < b.len() && (b[j].is_alphanumeric() || b[j] == '_') {
            j += 1;
        }
        (b[start..j].iter().collect(), j)
    };
    let sep_at = |pos: usize| -> Option<usize> {
        let mut j = pos;
        while j < b.len() && b[j].is_whitespace() {
            j += 1;
        }
        (b.get(j) == Some(&':') && b.get(j + 1) == Some(&':')).then_some(j + 2)
    };
    let mut i = 0;
    while i < b.len() {
        if ident_char(b.get(i.wrapping_sub(1))) || !(b[i].is_alphabetic() || b[i] == '_') {
            i += 1;
            continue;
        }
        let (word, end) = word_at(i);
        // how many module levels the path climbs before naming its first item
        let (mut climbed, mut at) = match word.as_str() {
            "crate" => (usize::MAX, end),
            "super" => (1, end),
            _ => {
                i = end;
                continue;
            }
        };
        let Some(mut next) = sep_at(at) else {
            i = end;
            continue;
        };
        while climbed != usize::MAX {
            let (w, e) = word_at(next);
            if w != "super" {
                break;
            }
            climbed += 1;
            at = e;
            match sep_at(at) {
                Some(n) => next = n,
                None => break,
            }
        }
        // `super` from the file's module: the top-level module is left when the climb reaches
        // the crate root
        let at_root = climbed == usize::MAX || climbed >= module_path.len();
        if at_root {
            let mut j = next;
            while j < b.len() && b[j].is_whitespace() {
                j += 1;
            }
            if b.get(j) == Some(&'{') {
                // a group: the first word of each item at depth one
                let mut depth = 0;
                let mut item_start = true;
                while j < b.len() {
                    match b[j] {
                        '{' => {
                            depth += 1;
                            item_start = depth == 1;
                        }
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ',' if depth == 1 => item_start = true,
                        c if item_start && depth == 1 && (c.is_alphabetic() || c == '_') => {
                            let (w, _) = word_at(j);
                            found.push((w, line_of(j)));
                            item_start = false;
                        }
                        _ => {}
                    }
                    j += 1;
                }
            } else {
                let (w, _) = word_at(next);
                found.push((w, line_of(next)));
            }
        }
        i = end;
    }
    found
}

/// The module path of a library file: `src/a/b.rs` is `[a, b]`, `src/a/mod.rs` is `[a]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" {
        parts.push(stem.to_string());
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every reference from one top-level module to another: (from, to) -> [file:line].
fn module_graph(src: &Path, modules: &BTreeSet<String>) -> BTreeMap<(String, String), Vec<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap().to_path_buf();
        let path = module_path(&rel);
        let Some(top) = path.first().filter(|t| modules.contains(*t)) else {
            continue; // lib.rs, and the binary's own files (main.rs and what it declares)
        };
        let text = strip(&std::fs::read_to_string(&file).unwrap());
        for (target, line) in root_references(&text, &path) {
            // the crate-root macros (`crate::on_backend!`) are defined in `db`
            let target = if target == "on_backend" { "db".to_string() } else { target };
            if modules.contains(&target) && &target != top {
                edges.entry((top.clone(), target)).or_default().push(format!("src/{}:{line}", rel.display()));
            }
        }
    }
    edges
}

/// The cycles among the edges, each as a path of modules (one per strongly connected group).
fn cycles(edges: &BTreeMap<(String, String), Vec<String>>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let reaches = |a: &str, b: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![a];
        while let Some(x) = stack.pop() {
            for &y in next.get(x).into_iter().flatten() {
                if y == b {
                    return true;
                }
                if seen.insert(y) {
                    stack.push(y);
                }
            }
        }
        false
    };
    let mut groups: Vec<Vec<String>> = Vec::new();
    for &m in next.keys() {
        if reaches(m, m) && !groups.iter().any(|g| g.iter().any(|x| x == m)) {
            let group =
                next.keys().filter(|&&o| o == m || (reaches(m, o) && reaches(o, m))).map(|o| o.to_string());
            groups.push(group.collect());
        }
    }
    groups
}

#[test]
fn every_module_uses_only_the_layers_before_it() {
    let src = Path::new(ROOT).join("src");
    let order = layer_order();
    let rank: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, (m, _))| (m.as_str(), i)).collect();
    let layer: BTreeMap<&str, &str> = order.iter().map(|(m, l)| (m.as_str(), l.as_str())).collect();
    assert_eq!(rank.len(), order.len(), "a module is listed twice in ARCHITECTURE.md's layers");

    // the table and the library name the same modules
    let in_lib: BTreeSet<String> = declared_modules(&src.join("lib.rs")).into_iter().collect();
    let listed: BTreeSet<String> = rank.keys().map(|m| m.to_string()).collect();
    let unlisted: Vec<_> = in_lib.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&in_lib).collect();
    assert!(unlisted.is_empty(), "modules of src/lib.rs missing from ARCHITECTURE.md's layers: {unlisted:?}");
    assert!(gone.is_empty(), "ARCHITECTURE.md's layers list modules src/lib.rs does not have: {gone:?}");

    let edges = module_graph(&src, &in_lib);
    assert!(
        edges.contains_key(&("requests".to_string(), "ledger".to_string())),
        "the scan finds the references it should (requests uses the ledger)"
    );
    let mut upward = Vec::new();
    for ((from, to), places) in &edges {
        if rank[to.as_str()] > rank[from.as_str()] {
            upward.push(format!(
                "{from} ({}) uses {to} ({}), which comes after it in the layer order: {}",
                layer[from.as_str()],
                layer[to.as_str()],
                places.join(", ")
            ));
        }
    }
    let cycles = cycles(&edges);
    assert!(
        upward.is_empty() && cycles.is_empty(),
        "the module graph breaks ARCHITECTURE.md's layer order:\n{}\ncycles between top-level modules: {cycles:?}",
        upward.join("\n")
    );
}

#[test]
fn the_scan_reads_paths_and_skips_comments_and_strings() {
    let text = strip(
        "use crate::{db::DbConn, error::AppError};\n\
         // crate::requests in a comment\n\
         let s = \"crate::planning in a string\";\n\
         let r = r#\"crate::shipping\"#; let c = '\"'; fn f<'a>(x: &'a str) {}\n\
         crate::rollup::moved(conn)?; crate::on_backend!(conn, |c| x);\n\
         use super::super::network::store;\n",
    );
    let found = root_references(&text, &["tickets".into(), "service".into()]);
    let names: Vec<(&str, usize)> = found.iter().map(|(n, l)| (n.as_str(), *l)).collect();
    assert_eq!(names, [("db", 1), ("error", 1), ("rollup", 5), ("on_backend", 5), ("network", 6)], "{text}");
    // one `super` from a file of a folder stays inside its top-level module
    assert!(root_references("use super::rules;", &["tickets".into(), "service".into()]).is_empty());
    // from a top-level file, `super` is the crate root
    assert_eq!(root_references("use super::db;", &["ops".into()]), [("db".to_string(), 1)]);
}
