//! The rules index (`tests/RULES.md`) against the code: every rule ID a reader meets in a
//! test name or a comment resolves in the index, the index's Tests column lists exactly the
//! test functions that carry each ID, and public docs cite specification sections, never
//! rule IDs or design notes. `UPDATE_RULES=1 cargo test rules_index` rewrites the Tests
//! column from the code.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const INDEX: &str = "tests/RULES.md";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under the directories that hold code, fuzz targets included.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if !matches!(
                    name.to_str(),
                    Some("target" | "corpus" | "work" | "artifacts")
                ) {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for dir in ["src", "tests", "examples", "benches", "fuzz"] {
        walk(&root().join(dir), &mut files);
    }
    files.sort();
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One row of the index: the line it sits on and the test names in its last column.
struct Row {
    line: usize,
    tests: BTreeSet<String>,
}

fn read_index() -> (Vec<String>, BTreeMap<String, Row>) {
    let text = fs::read_to_string(root().join(INDEX)).expect("tests/RULES.md is readable");
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut rows = BTreeMap::new();
    for (line, content) in lines.iter().enumerate() {
        let Some(rest) = content.strip_prefix("| ") else {
            continue;
        };
        let Some((id, _)) = rest.split_once(" | ") else {
            continue;
        };
        if !is_rule_id(id) {
            continue;
        }
        let cells: Vec<&str> = content.trim_end_matches('|').rsplit('|').collect();
        let tests = cells[0]
            .split(',')
            .map(|name| name.trim().trim_matches('`').to_owned())
            .filter(|name| !name.is_empty() && name != "—")
            .collect();
        let previous = rows.insert(id.to_owned(), Row { line, tests });
        assert!(previous.is_none(), "{INDEX}: {id} has two rows");
    }
    assert!(!rows.is_empty(), "{INDEX} has no rule rows");
    (lines, rows)
}

/// `TE-10`, `SEC-06`: two or three capitals, a hyphen, two digits.
fn is_rule_id(text: &str) -> bool {
    let Some((prefix, number)) = text.split_once('-') else {
        return false;
    };
    (2..=3).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && number.len() == 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The rule IDs cited in a line of text: `PREFIX-NN` with a known prefix, not part of a
/// longer word or number (`SHA-256` is not `SHA-25`).
fn cited_ids(line: &str, prefixes: &BTreeSet<String>) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    for (start, _) in line.match_indices('-') {
        let mut prefix_start = start;
        while prefix_start > 0 && bytes[prefix_start - 1].is_ascii_uppercase() {
            prefix_start -= 1;
        }
        let end = start + 3;
        if end > bytes.len() {
            continue;
        }
        let Ok(candidate) = std::str::from_utf8(&bytes[prefix_start..end]) else {
            continue;
        };
        let before_ok = prefix_start == 0 || !bytes[prefix_start - 1].is_ascii_alphanumeric();
        let after_ok = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before_ok
            && after_ok
            && is_rule_id(candidate)
            && prefixes.contains(&line[prefix_start..start])
        {
            found.push(candidate.to_owned());
        }
    }
    found
}

/// The rule IDs a function name starts with: `md_01_md_04_metadata` carries MD-01 and MD-04.
fn ids_in_name(name: &str, prefixes: &BTreeSet<String>) -> Vec<String> {
    let parts: Vec<&str> = name.split('_').collect();
    let mut ids = Vec::new();
    let mut at = 0;
    while at + 1 < parts.len() {
        let prefix = parts[at].to_ascii_uppercase();
        let number = parts[at + 1];
        let is_number = number.len() == 2 && number.bytes().all(|b| b.is_ascii_digit());
        if !is_number || !prefixes.contains(&prefix) {
            break;
        }
        ids.push(format!("{prefix}-{number}"));
        at += 2;
    }
    ids
}

/// The name of the function a line declares, if it declares one.
fn declared_fn(line: &str) -> Option<&str> {
    let at = line.find("fn ")?;
    if at > 0 && line.as_bytes()[at - 1].is_ascii_alphanumeric() {
        return None;
    }
    let rest = &line[at + 3..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    Some(&rest[..end]).filter(|name| !name.is_empty())
}

#[test]
fn rules_index_resolves_every_id_and_lists_the_tests_that_check_it() {
    let (mut lines, rows) = read_index();
    let prefixes: BTreeSet<String> = rows
        .keys()
        .filter_map(|id| id.split_once('-').map(|(prefix, _)| prefix.to_owned()))
        .collect();

    let mut carried: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut unresolved = Vec::new();
    for file in sources() {
        let text = fs::read_to_string(&file).expect("source files are readable");
        for (number, line) in text.lines().enumerate() {
            let place = format!("{}:{}", relative(&file), number + 1);
            if let Some(name) = declared_fn(line) {
                for id in ids_in_name(name, &prefixes) {
                    if !rows.contains_key(&id) {
                        unresolved.push(format!("{place}: fn {name} carries {id}"));
                    }
                    carried.entry(id).or_default().insert(name.to_owned());
                }
            }
            for id in cited_ids(line, &prefixes) {
                if !rows.contains_key(&id) {
                    unresolved.push(format!("{place}: {id}"));
                }
            }
        }
    }
    assert!(
        unresolved.is_empty(),
        "rule IDs that {INDEX} does not list (add a row: the rule, its source section):\n{}",
        unresolved.join("\n")
    );

    let mut stale = Vec::new();
    for (id, row) in &rows {
        let tests = carried.get(id).cloned().unwrap_or_default();
        if tests != row.tests {
            stale.push(format!(
                "{id}: index lists {:?}, the code has {:?}",
                row.tests, tests
            ));
            let cell = if tests.is_empty() {
                "—".to_owned()
            } else {
                tests
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let line = &lines[row.line];
            let body = line.trim_end().trim_end_matches('|').trim_end();
            let keep = body.rfind('|').map_or(body, |at| &body[..at]);
            lines[row.line] = format!("{keep}| {cell} |");
        }
    }
    if !stale.is_empty() {
        if std::env::var_os("UPDATE_RULES").is_some() {
            fs::write(root().join(INDEX), lines.join("\n") + "\n").expect("index is writable");
        } else {
            panic!(
                "the Tests column of {INDEX} is out of date; run \
                 `UPDATE_RULES=1 cargo test rules_index`:\n{}",
                stale.join("\n")
            );
        }
    }
}

#[test]
fn public_docs_cite_specification_sections_not_rule_ids() {
    let (_, rows) = read_index();
    let prefixes: BTreeSet<String> = rows
        .keys()
        .filter_map(|id| id.split_once('-').map(|(prefix, _)| prefix.to_owned()))
        .collect();
    let mut offending = Vec::new();
    let mut check = |place: String, line: &str| {
        let ids = cited_ids(line, &prefixes);
        if !ids.is_empty() || line.contains("DESIGN decision") || line.contains("DESIGN.md") {
            offending.push(format!("{place}: {}", line.trim()));
        }
    };
    for file in sources() {
        if !relative(&file).starts_with("src") {
            continue;
        }
        let text = fs::read_to_string(&file).expect("source files are readable");
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("///") || trimmed.starts_with("//!") {
                check(format!("{}:{}", relative(&file), number + 1), line);
            }
        }
    }
    for doc in ["README.md", "CHANGELOG.md"] {
        let text = fs::read_to_string(root().join(doc)).expect("docs are readable");
        for (number, line) in text.lines().enumerate() {
            check(format!("{doc}:{}", number + 1), line);
        }
    }
    assert!(
        offending.is_empty(),
        "public docs cite rule IDs or design notes; cite the specification section instead \
         (tests/RULES.md maps each ID to its section):\n{}",
        offending.join("\n")
    );
}

#[test]
fn rule_ids_are_found_in_names_and_text() {
    let prefixes: BTreeSet<String> = ["TE", "SEC", "MD", "SHA"].map(String::from).into();
    assert_eq!(
        ids_in_name("md_01_md_04_metadata_lists", &prefixes),
        ["MD-01", "MD-04"]
    );
    assert_eq!(ids_in_name("te_1_short", &prefixes), Vec::<String>::new());
    assert_eq!(ids_in_name("helper_te_01", &prefixes), Vec::<String>::new());
    assert_eq!(
        cited_ids(
            "(TE-10, SEC-06) but not SHA-256, XTE-01 or TE-011",
            &prefixes
        ),
        ["TE-10", "SEC-06"]
    );
    assert_eq!(
        declared_fn("    async fn te_01_post_only() {"),
        Some("te_01_post_only")
    );
    assert_eq!(declared_fn("let of_fn = 1;"), None);
}
