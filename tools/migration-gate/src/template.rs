//! Go template placeholders in migration files (supabase/auth's
//! `{{ index .Options "Namespace" }}`): rendered with `--template-var`, or else replaced by an
//! identifier of exactly the same width so the parser sees SQL and every line:column stays
//! the file's own. Keeps a map from rendered offsets back to the file's offsets.

use crate::error::{Error, Result};

/// `--template-var NAME=VALUE` pairs.
pub type Vars = Vec<(String, String)>;

pub fn parse_vars(raw: &[String]) -> Result<Vars> {
    raw.iter()
        .map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| Error::Usage {
                    flag: "--template-var",
                    message: format!("{kv:?}: expected NAME=VALUE"),
                })
        })
        .collect()
}

/// One placeholder as found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Byte offset in the original file.
    pub offset: usize,
    pub text: String,
    /// Whether a `--template-var` rendered it (else it became a same-width identifier).
    pub rendered: bool,
}

/// A file's text as parsed, and how to map offsets in it back to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub original: String,
    pub text: String,
    pub placeholders: Vec<Placeholder>,
    /// (offset in `text`, offset in `original`) at the start of each substituted span and
    /// right after it; offsets between two marks move together.
    marks: Vec<(usize, usize)>,
    /// Offsets of the `\n`s in `original`: `line_col` runs for every statement and finding,
    /// and counting lines from the top of the file each time was quadratic in its size.
    newlines: Vec<usize>,
}

impl Rendered {
    pub fn plain(text: &str) -> Self {
        Rendered {
            original: text.to_owned(),
            text: text.to_owned(),
            placeholders: Vec::new(),
            marks: Vec::new(),
            newlines: newlines(text),
        }
    }

    pub fn is_templated(&self) -> bool {
        !self.placeholders.is_empty()
    }

    /// Placeholders no `--template-var` rendered.
    pub fn unrendered(&self) -> impl Iterator<Item = &Placeholder> {
        self.placeholders.iter().filter(|p| !p.rendered)
    }

    /// Maps a byte offset in `text` to the file's own offset.
    pub fn original_offset(&self, offset: usize) -> usize {
        // The last mark at or before `offset` (marks are in order; bisection keeps a file
        // with many placeholders linear overall).
        let at = self
            .marks
            .partition_point(|&(r, _)| r <= offset)
            .checked_sub(1)
            .and_then(|i| self.marks.get(i))
            .copied()
            .unwrap_or((0, 0));
        let mapped = at.1 + (offset - at.0);
        mapped.min(self.original.len())
    }

    /// 1-based (line, column) in the original file of an offset in `text`; the same as
    /// `gatehouse::input::line_col` on the original (columns count characters).
    pub fn line_col(&self, offset: usize) -> (u64, u64) {
        let o = self.original_offset(offset);
        let o = floor_char_boundary(&self.original, o);
        let before = self.newlines.partition_point(|&n| n < o);
        let line_start = before
            .checked_sub(1)
            .and_then(|i| self.newlines.get(i))
            .map_or(0, |n| n + 1);
        let column = self
            .original
            .get(line_start..o)
            .map_or(0, |s| s.chars().count());
        (before as u64 + 1, column as u64 + 1)
    }
}

fn newlines(text: &str) -> Vec<usize> {
    text.match_indices('\n').map(|(i, _)| i).collect()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Renders `{{ ... }}` placeholders.
pub fn render(text: &str, vars: &Vars) -> Rendered {
    if !text.contains("{{") {
        return Rendered::plain(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut placeholders = Vec::new();
    let mut marks = Vec::new();
    let mut rest = 0usize;
    while let Some(start) = text[rest..].find("{{").map(|p| p + rest) {
        let Some(end) = text[start..].find("}}").map(|p| p + start + 2) else {
            break;
        };
        let inner = &text[start + 2..end - 2];
        if inner.contains('\n') || !looks_like_go_template(inner) {
            // Not a placeholder (a `{{` in a string or a JSON default): leave it.
            out.push_str(&text[rest..start + 2]);
            rest = start + 2;
            continue;
        }
        out.push_str(&text[rest..start]);
        let value = lookup(inner, vars);
        marks.push((out.len(), start));
        let rendered = value.is_some();
        match value {
            Some(v) => out.push_str(v),
            None => out.push_str(&same_width_ident(end - start)),
        }
        marks.push((out.len(), end));
        placeholders.push(Placeholder {
            offset: start,
            text: text[start..end].to_owned(),
            rendered,
        });
        rest = end;
    }
    out.push_str(&text[rest..]);
    Rendered {
        original: text.to_owned(),
        text: out,
        placeholders,
        marks,
        newlines: newlines(text),
    }
}

/// A Go template action starts with a field (`.Options`), a variable (`$x`), or a word
/// (`index`, `printf`, `if`, ...), possibly after a `-` trim marker. PostgreSQL array literals
/// such as `'{{1,2},{3,4}}'` start with a digit, a quote or a brace, and are left alone.
fn looks_like_go_template(inner: &str) -> bool {
    let t = inner.trim().trim_start_matches('-').trim_start();
    t.starts_with(['.', '$']) || t.starts_with(|c: char| c.is_ascii_alphabetic())
}

/// `index .Options "NAME"` or `.NAME` → the value given for NAME.
fn lookup<'a>(inner: &str, vars: &'a Vars) -> Option<&'a str> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    let name = match words.as_slice() {
        ["index", _, name] => name.trim_matches('"'),
        [field] => field
            .trim_start_matches('.')
            .rsplit('.')
            .next()
            .unwrap_or(""),
        _ => return None,
    };
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An unquoted identifier exactly `width` bytes wide: `_tmpl____…` (truncated by the
/// server past 63 bytes, which is harmless for linting).
fn same_width_ident(width: usize) -> String {
    let mut s = String::from("_tmpl");
    s.truncate(width);
    while s.len() < width {
        s.push('_');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUPABASE: &str =
        "CREATE INDEX i ON {{ index .Options \"Namespace\" }}.users (id);\nSELECT 1;";

    #[test]
    fn unrendered_placeholders_keep_their_width() {
        let r = render(SUPABASE, &Vec::new());
        assert_eq!(r.text.len(), SUPABASE.len());
        assert!(r.text.contains("_tmpl"));
        assert!(!r.text.contains("{{"));
        assert_eq!(r.unrendered().count(), 1);
        assert_eq!(r.original_offset(40), 40);
    }

    #[test]
    fn rendered_placeholders_map_offsets_back() {
        let vars = vec![("Namespace".to_owned(), "auth".to_owned())];
        let r = render(SUPABASE, &vars);
        assert!(r.text.starts_with("CREATE INDEX i ON auth.users (id);"));
        let select = r.text.find("SELECT").expect("select");
        assert_eq!(r.line_col(select), (2, 1));
        let users = r.text.find("users").expect("users");
        assert_eq!(&SUPABASE[r.original_offset(users)..][..5], "users");
        assert_eq!(render("x {{ .Namespace }} y", &vars).text, "x auth y");
    }

    #[test]
    fn array_literals_are_not_placeholders() {
        let sql = "INSERT INTO m VALUES ('{{1,2},{3,4}}', '{{}}');";
        let r = render(sql, &Vec::new());
        assert!(!r.is_templated());
        assert_eq!(r.text, sql);
    }

    #[test]
    fn bad_vars_are_usage_errors() {
        assert!(parse_vars(&["novalue".to_owned()]).is_err());
        assert!(parse_vars(&["=x".to_owned()]).is_err());
        assert_eq!(
            parse_vars(&["A=b=c".to_owned()]).expect("ok"),
            vec![("A".to_owned(), "b=c".to_owned())]
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_offsets_stay_in_range(s in "[a-z{} .\"\\n]{0,60}") {
            let r = render(&s, &vec![("x".to_owned(), "longer_value".to_owned())]);
            for i in 0..=r.text.len() {
                prop_assert!(r.original_offset(i) <= s.len());
                let _ = r.line_col(i);
            }
        }

        #[test]
        fn line_col_counts_like_gatehouse(s in "[a-zé{} .\"\n]{0,60}") {
            let r = render(&s, &vec![("x".to_owned(), "longer_value".to_owned())]);
            for i in 0..=r.text.len() + 1 {
                let o = floor_char_boundary(&s, r.original_offset(i));
                prop_assert_eq!(r.line_col(i), gatehouse::input::line_col(s.as_bytes(), o));
            }
        }
    }
}
