//! The core's layering, checked: no source file imports a file that imports it back
//! (issue 13, section 1: "no file imports a file that imports it back").
//!
//! A file imports another when it names a path into it: `use crate::a::B`, `use super::B`,
//! `use self::child::C`, `use child::C` for a child module, or a path such as
//! `crate::a::f(..)` or `super::B::X` in code. A path goes to the deepest module that
//! has a file: `crate::options::Context` is `options/mod.rs`, `crate::options::naws::State`
//! is `options/naws.rs`, `crate::Event` is `lib.rs` (so `lib.rs`'s re-exports count, and
//! no file below it may name an item through the root that the root re-exports from it).
//! A child module's `super::` is its parent's file. `mod` declarations are not imports.
//!
//! Left out: comments (intra-doc links are documentation, not dependencies) and
//! `#[cfg(test)]` code, inline or in its own file: the tests drive the whole session and
//! sit above every layer by design.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path below the crate root: `["options", "naws"]`.
type ModPath = Vec<String>;

#[test]
fn no_source_file_imports_a_file_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let cycles = two_cycles(&src);
    assert!(
        cycles.is_empty(),
        "files that import each other (A uses B and B uses A):\n{}",
        cycles
            .iter()
            .map(|(a, b)| format!("  {a} <-> {b}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The checker must see a cycle where there is one.
#[test]
fn the_check_finds_a_two_cycle() {
    let dir = std::env::temp_dir().join(format!("layers-check-{}", std::process::id()));
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    };
    write("lib.rs", "mod a;\nmod fam;\n#[cfg(test)]\nmod tests;\n");
    write(
        "a.rs",
        "use crate::fam::{x, State};\n// use crate::a::Nothing;\n",
    );
    write(
        "fam/mod.rs",
        "mod x;\npub(crate) struct State;\n#[cfg(test)]\nmod t { use crate::a::Z; }\n",
    );
    write(
        "fam/x.rs",
        "pub(crate) fn f() { super::super::a::g(\"crate::fam\"); }\n",
    );
    write("tests.rs", "use crate::a::A; use crate::fam::State;\n");
    let cycles = two_cycles(&dir);
    fs::remove_dir_all(&dir).unwrap();
    // a -> fam/mod.rs (State) and a -> fam/x.rs; fam/x.rs -> a. fam/mod.rs's test module,
    // the string and the comment do not count, nor does the test-only file.
    assert_eq!(cycles, [("a.rs".to_owned(), "fam/x.rs".to_owned())]);
}

/// Every pair of files that import each other, as paths relative to `src`.
fn two_cycles(src: &Path) -> Vec<(String, String)> {
    let files = module_files(src);
    let texts: BTreeMap<&ModPath, String> = files
        .iter()
        .map(|(module, path)| (module, code_only(&fs::read_to_string(path).unwrap())))
        .collect();
    // Files declared under `#[cfg(test)]`, and everything below them.
    let mut test_only: Vec<ModPath> = Vec::new();
    for (module, text) in &texts {
        for child in test_module_declarations(text) {
            let mut path = (*module).clone();
            path.push(child);
            test_only.push(path);
        }
    }
    let is_test = |module: &ModPath| test_only.iter().any(|t| module.starts_with(t));
    let mut edges: BTreeSet<(ModPath, ModPath)> = BTreeSet::new();
    for (module, text) in &texts {
        if is_test(module) {
            continue;
        }
        let text = strip_cfg_test(text);
        for path in referenced_paths(module, &text, &files) {
            if let Some(target) = file_of(&path, &files) {
                if target != **module && !is_test(&target) {
                    edges.insert(((*module).clone(), target));
                }
            }
        }
    }
    let name = |module: &ModPath| {
        let path = &files[module];
        path.strip_prefix(src).unwrap().display().to_string()
    };
    edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(b.clone(), a.clone())))
        .map(|(a, b)| (name(a), name(b)))
        .collect()
}

/// Every `.rs` file under `src` with its module path.
fn module_files(src: &Path) -> BTreeMap<ModPath, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(src, &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(src).unwrap();
            let mut module: ModPath = relative
                .iter()
                .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            (module, path)
        })
        .collect()
}

/// The module whose file holds `path`: its deepest prefix that is a file.
fn file_of(path: &[String], files: &BTreeMap<ModPath, PathBuf>) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| files.contains_key(prefix))
}

/// The source with comments, string and character literals blanked out.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            b'r' if matches!(b.get(i + 1), Some(b'#' | b'"'))
                && (i == 0
                    || !is_ident(b[i - 1])
                    || (b[i - 1] == b'b' && (i == 1 || !is_ident(b[i - 2])))) =>
            {
                // A raw string: r"..." or r#"..."#.
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                i += 2 + hashes;
                while i < b.len() && !b[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
                out.push_str("\"\"");
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            b'\'' => {
                // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                    out.push_str("' '");
                } else if let Some(len) = text[i + 1..].chars().next().map(char::len_utf8) {
                    if b.get(i + 1 + len) == Some(&b'\'') {
                        i += 2 + len;
                        out.push_str("' '");
                    } else {
                        out.push('\'');
                        i += 1;
                    }
                } else {
                    i += 1;
                }
            }
            _ => {
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + len]);
                i += len;
            }
        }
    }
    out
}

const fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The names `x` of `#[cfg(test)] mod x;` declarations (the modules in their own files).
fn test_module_declarations(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices("#[cfg(test)]") {
        let rest = skip_attributes(&text[at..]);
        let tokens = tokens(rest);
        let mut k = 0;
        if tokens.get(k).is_some_and(|t| t.starts_with("pub")) {
            k += 1;
            if tokens.get(k).map(String::as_str) == Some("(") {
                while tokens.get(k).is_some_and(|t| t != ")") {
                    k += 1;
                }
                k += 1;
            }
        }
        if tokens.get(k).map(String::as_str) == Some("mod")
            && tokens.get(k + 2).map(String::as_str) == Some(";")
        {
            names.push(tokens[k + 1].clone());
        }
    }
    names
}

/// `text` from the first character after its leading attributes.
fn skip_attributes(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if !text.starts_with("#[") {
            return text;
        }
        let mut depth = 0;
        for (at, c) in text.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        text = &text[at + 1..];
                        break;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The text without the items under `#[cfg(test)]` (each up to its `;` or its closing
/// brace at the item's level).
fn strip_cfg_test(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = skip_attributes(&rest[at..]);
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, c) in item.char_indices() {
            match c {
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && c == '}' {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if is_ident(b[i]) {
            let start = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            out.push(text[start..i].to_owned());
        } else if b[i..].starts_with(b"::") {
            out.push("::".to_owned());
            i += 2;
        } else {
            let len = text[i..].chars().next().map_or(1, char::len_utf8);
            out.push(text[i..i + len].to_owned());
            i += len;
        }
    }
    out
}

/// Every path the code of `module`'s file names, made absolute (from the crate root).
/// Paths into other crates (`std::`, `memchr::`) are left out.
fn referenced_paths(
    module: &ModPath,
    text: &str,
    files: &BTreeMap<ModPath, PathBuf>,
) -> Vec<ModPath> {
    let tokens = tokens(text);
    let mut paths = Vec::new();
    // Names brought in by `use` (`use crate::options;` then `options::naws::State`).
    let mut names: BTreeMap<String, ModPath> = BTreeMap::new();
    // The module each token is in: inline `mod x { .. }` blocks nest.
    let mut scopes: Vec<(ModPath, usize)> = vec![(module.clone(), 0)];
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let current = scopes.last().unwrap().0.clone();
        let token = tokens[i].as_str();
        let after_colons = i > 0 && tokens[i - 1] == "::";
        let path_start = !after_colons
            && is_ident(token.as_bytes()[0])
            && tokens.get(i + 1).map(String::as_str) == Some("::");
        match token {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if scopes.len() > 1 && scopes.last().unwrap().1 == depth {
                    scopes.pop();
                }
            }
            "mod" if tokens.get(i + 2).map(String::as_str) == Some("{") => {
                let mut inner = current.clone();
                inner.push(tokens[i + 1].clone());
                scopes.push((inner, depth));
                depth += 1;
                i += 3;
                continue;
            }
            "use" => {
                let end = (i..tokens.len())
                    .find(|&k| tokens[k] == ";")
                    .unwrap_or(tokens.len());
                let mut tree = Vec::new();
                expand_use(&tokens[i + 1..end], &[], &mut tree);
                for (path, name) in tree {
                    if let Some(absolute) = absolute(&current, &path, files, true) {
                        names.insert(name, absolute.clone());
                        paths.push(absolute);
                    }
                }
                i = end + 1;
                continue;
            }
            _ if path_start => {
                let mut path = vec![token.to_owned()];
                let mut k = i + 1;
                while tokens.get(k).map(String::as_str) == Some("::")
                    && tokens.get(k + 1).is_some_and(|t| is_ident(t.as_bytes()[0]))
                {
                    path.push(tokens[k + 1].clone());
                    k += 2;
                }
                let absolute = match names.get(token) {
                    Some(known) => {
                        let mut absolute = known.clone();
                        absolute.extend(path[1..].iter().cloned());
                        Some(absolute)
                    }
                    None => absolute(&current, &path, files, true),
                };
                if let Some(absolute) = absolute {
                    paths.push(absolute);
                }
                i = k;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    paths
}

/// The paths of a use tree with the name each brings in (`a::{b, c::d as e}` gives
/// `a::b` as `b` and `a::c::d` as `e`; `a::{self}` gives `a` as `a`).
fn expand_use(tokens: &[String], prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let mut path = prefix.to_vec();
    let mut alias = None;
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "::" => {}
            "{" => {
                let mut depth = 0;
                let mut start = i + 1;
                for k in i..tokens.len() {
                    match tokens[k].as_str() {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                expand_use(&tokens[start..k], &path, out);
                                return;
                            }
                        }
                        "," if depth == 1 => {
                            expand_use(&tokens[start..k], &path, out);
                            start = k + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            "as" => {
                alias = tokens.get(i + 1).cloned();
                break;
            }
            "self" if !path.is_empty() => {}
            other => path.push(other.to_owned()),
        }
        i += 1;
    }
    if let Some(last) = path.last() {
        let name = alias.unwrap_or_else(|| last.clone());
        out.push((path, name));
    }
}

/// `path` as seen from `current`, from the crate root; `None` for another crate's.
fn absolute(
    current: &ModPath,
    path: &[String],
    files: &BTreeMap<ModPath, PathBuf>,
    in_use: bool,
) -> Option<ModPath> {
    let (mut base, mut rest) = (current.clone(), path);
    match rest.first().map(String::as_str)? {
        "crate" => {
            base.clear();
            rest = &rest[1..];
        }
        "self" | "super" => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "self" => {}
                    "super" => {
                        base.pop()?;
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        // `use child::X` names a child module of the current one (Rust 2018 paths).
        first if in_use => {
            let mut child = current.clone();
            child.push(first.to_owned());
            if !files.contains_key(&child) {
                return None;
            }
        }
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}
