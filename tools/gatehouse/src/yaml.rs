//! The one YAML loader every tool uses (serde-saphyr): errors come back as
//! `file:line:column: what`, on one line, whatever went wrong.
//!
//! serde-saphyr's own rendering adds a caret snippet over several lines; reports and CI
//! logs want one line, so we take its location and its message without the snippet.

use serde::de::DeserializeOwned;

use crate::input::{Input, InputError};

pub use serde_saphyr::Spanned;

fn options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.with_snippet = false;
    o
}

/// Parses one YAML document into `T`. `label` names the input in errors.
pub fn from_str<T: DeserializeOwned>(label: &str, text: &str) -> Result<T, InputError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| error(label, &e))
}

/// Parses every document of a multi-document stream (`---` separated), as `kubectl` writes.
pub fn from_str_multiple<T: DeserializeOwned>(
    label: &str,
    text: &str,
) -> Result<Vec<T>, InputError> {
    serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| error(label, &e))
}

/// Parses an input read with [`crate::input::read`].
pub fn from_input<T: DeserializeOwned>(input: &Input) -> Result<T, InputError> {
    from_str(&input.label(), input.text()?)
}

/// Converts a serde-saphyr error into a one-line `InputError` naming `label`.
pub fn error(label: &str, e: &serde_saphyr::Error) -> InputError {
    let message = one_line(e);
    match e.location() {
        Some(loc) if loc.line() > 0 => InputError::Parse {
            path: label.to_owned(),
            line: loc.line(),
            column: loc.column().max(1),
            message,
        },
        _ => InputError::Invalid {
            path: label.to_owned(),
            message,
        },
    }
}

fn one_line(e: &serde_saphyr::Error) -> String {
    let rendered = e.without_snippet().to_string();
    // The plain rendering ends with " at line L, column C"; the position goes in front.
    let first = rendered.lines().next().unwrap_or("").trim();
    // Advice aimed at serde-saphyr's API users, not at the person editing the file.
    let first = first
        .split(", set DuplicateKeyPolicy")
        .next()
        .unwrap_or(first);
    let cut = [" at line ", ", line "]
        .iter()
        .filter_map(|p| first.rfind(p))
        .min();
    let msg = match cut {
        Some(p) => first[..p].trim_end_matches([',', ':']).to_owned(),
        None => first.to_owned(),
    };
    if msg.is_empty() {
        "invalid YAML".to_owned()
    } else {
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: String,
        #[serde(default)]
        items: Vec<u32>,
    }

    fn err(text: &str) -> String {
        from_str::<Doc>("cfg.yaml", text)
            .expect_err(text)
            .to_string()
    }

    #[test]
    fn loads_a_document() {
        assert_eq!(
            from_str::<Doc>("cfg.yaml", "name: x\nitems: [1, 2]\n").expect("valid"),
            Doc {
                name: "x".into(),
                items: vec![1, 2]
            }
        );
    }

    #[test]
    fn errors_are_one_line_with_file_line_and_column() {
        for (text, prefix) in [
            ("name: x\nitems: [1, two]\n", "cfg.yaml:2:"),
            ("name: x\nbogus: 1\n", "cfg.yaml:2:"),
            ("name: [x\n", "cfg.yaml:"),
            // A tab where indentation belongs: the scanner reports the scalar it was reading.
            (
                "name: x\n\titems: []\n",
                "cfg.yaml:1:7: while scanning a plain scalar, found a tab",
            ),
            ("name: x\nname: y\n", "cfg.yaml:2:"),
        ] {
            let msg = err(text);
            assert!(msg.starts_with(prefix), "{text:?} gave {msg:?}");
            assert!(!msg.contains('\n'), "{msg:?}");
        }
        let msg = err("");
        assert!(msg.starts_with("cfg.yaml"), "{msg}");
    }

    #[test]
    fn reads_several_documents() {
        let docs: Vec<Doc> = from_str_multiple("m.yaml", "name: a\n---\nname: b\n").expect("valid");
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn alias_bombs_are_refused_not_expanded() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(from_str::<serde_json::Value>("bomb.yaml", &bomb).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,120}") {
            let _ = from_str::<serde_json::Value>("x.yaml", &s);
            let _ = from_str_multiple::<serde_json::Value>("x.yaml", &s);
        }
    }
}
