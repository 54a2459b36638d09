//! Owns Go-template checking of alert annotations and labels, the way Prometheus parses them
//! at load time (text/template with Prometheus's functions and its `$labels`,
//! `$externalLabels`, `$externalURL`, `$value` prelude): delimiters, strings, control
//! structures and their `end`s, defined variables, known functions; and finds the
//! `$labels.x` / `.Labels.x` / `index $labels "x"` references and `$value` uses.

/// A template problem at a byte offset of the template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub offset: usize,
    pub message: String,
}

/// A label a template reads: `$labels.job` → ("job", offset of `$labels`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LabelRef {
    pub label: String,
    pub offset: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Analysis {
    pub error: Option<TemplateError>,
    pub label_refs: Vec<LabelRef>,
    /// Offsets of `$value` / `.Value` uses.
    pub value_refs: Vec<usize>,
}

const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
    "nil", "true", "false",
];

/// Go's text/template built-ins plus Prometheus's template functions (3.x).
const FUNCTIONS: &[&str] = &[
    "and",
    "call",
    "html",
    "index",
    "slice",
    "js",
    "len",
    "not",
    "or",
    "print",
    "printf",
    "println",
    "urlquery",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "ne",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "stripPort",
    "stripDomain",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "now",
    "urlQueryEscape",
];

const PRELUDE_VARS: &[&str] = &["$", "$labels", "$externalLabels", "$externalURL", "$value"];

#[derive(Debug, Clone, PartialEq)]
enum Tk {
    Var(String),
    Field(String),
    Ident(String),
    Str,
    Number,
    Pipe,
    Declare,
    Assign,
    LParen,
    RParen,
    Comma,
    Dot,
}

/// Checks `text` and collects its label and value references.
pub(crate) fn analyse(text: &str) -> Analysis {
    let mut a = Analysis::default();
    if !text.contains("{{") {
        return a;
    }
    if let Err(e) = check(text, &mut a) {
        a.error = Some(e);
    }
    a
}

struct Block {
    kind: &'static str,
    offset: usize,
    /// Variables declared inside, dropped at `end`.
    vars_before: usize,
}

fn check(text: &str, a: &mut Analysis) -> Result<(), TemplateError> {
    let err = |offset: usize, message: String| TemplateError { offset, message };
    let mut vars: Vec<String> = PRELUDE_VARS.iter().map(|s| (*s).to_owned()).collect();
    let mut stack: Vec<Block> = Vec::new();
    let mut i = 0;
    while let Some(open) = text[i..].find("{{") {
        let start = i + open;
        let (body_start, body_end, close) = action_bounds(text, start)?;
        i = close + 2;
        let body = &text[body_start..body_end];
        let trimmed = body.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(err(start, "unclosed comment".into()));
            }
            continue;
        }
        let toks = lex(body, body_start)?;
        let Some((first, first_off)) = toks.first().cloned() else {
            return Err(err(start, "missing value for command".into()));
        };
        if let Tk::Ident(word) = &first
            && control(word, &toks, first_off, &mut vars, &mut stack, a)?
        {
            continue;
        }
        check_pipeline(&toks, &mut vars, a, first_off, rebound(&stack))?;
    }
    if let Some(b) = stack.last() {
        return Err(err(
            b.offset,
            format!("unexpected EOF: {{{{{}}}}} has no {{{{end}}}}", b.kind),
        ));
    }
    Ok(())
}

/// Where the body of the action opened at `start` begins and ends (inside `{{- ` and
/// ` -}}` trim markers), and where its `}}` is.
fn action_bounds(text: &str, start: usize) -> Result<(usize, usize, usize), TemplateError> {
    let mut body_start = start + 2;
    if text[body_start..].starts_with("- ") {
        body_start += 2;
    }
    let Some(close) = find_close(text, body_start) else {
        return Err(TemplateError {
            offset: start,
            message: "unclosed action: {{ without }}".into(),
        });
    };
    let mut body_end = close;
    if text[..body_end].ends_with(" -") {
        body_end -= 2;
    }
    Ok((body_start, body_end, close))
}

/// An action that starts with a control word (`end`, `else`, `if`/`range`/`with`/`block`/
/// `define`, `template`, `break`/`continue`): opens or closes its block and checks its
/// pipeline. Returns whether the action was one; any other word is a plain pipeline.
fn control(
    word: &str,
    toks: &[(Tk, usize)],
    first_off: usize,
    vars: &mut Vec<String>,
    stack: &mut Vec<Block>,
    a: &mut Analysis,
) -> Result<bool, TemplateError> {
    let err = |offset: usize, message: String| TemplateError { offset, message };
    match word {
        "end" => match stack.pop() {
            Some(b) => vars.truncate(b.vars_before),
            None => return Err(err(first_off, "unexpected {{end}}".into())),
        },
        "else" => {
            match stack.last() {
                Some(b) if matches!(b.kind, "if" | "range" | "with") => {}
                _ => return Err(err(first_off, "unexpected {{else}}".into())),
            }
            if toks.len() > 1 {
                // else if / else with
                check_pipeline(
                    &toks[2.min(toks.len())..],
                    vars,
                    a,
                    first_off,
                    rebound(stack),
                )?;
            }
        }
        "if" | "range" | "with" | "block" | "define" => {
            let kind = match word {
                "if" => "if",
                "range" => "range",
                "with" => "with",
                "block" => "block",
                _ => "define",
            };
            stack.push(Block {
                kind,
                offset: first_off,
                vars_before: vars.len(),
            });
            if toks.len() == 1 && kind != "define" {
                return Err(err(first_off, format!("missing value for {kind}")));
            }
            if matches!(kind, "if" | "range" | "with") {
                // The pipeline itself is evaluated with the outer dot.
                let outer = stack.len() - 1;
                check_pipeline(&toks[1..], vars, a, first_off, rebound(&stack[..outer]))?;
            }
        }
        "template" => {}
        "break" | "continue" => {
            if !stack.iter().any(|b| b.kind == "range") {
                return Err(err(
                    first_off,
                    format!("{{{{{word}}}}} outside {{{{range}}}}"),
                ));
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Inside `range`/`with`, `.` is the element, not the alert: `.Labels.x` there is not an
/// alert label.
fn rebound(stack: &[Block]) -> bool {
    stack.iter().any(|b| matches!(b.kind, "range" | "with"))
}

/// `}}` closing the action that starts at `from`, skipping quoted strings.
fn find_close(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    while i + 1 < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b[i + 1] == b'}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn lex(body: &str, base: usize) -> Result<Vec<(Tk, usize)>, TemplateError> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tk = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'"' | b'`' => {
                let what = if b[i] == b'`' { "raw quoted" } else { "quoted" };
                i = crate::scan::skip_quoted(b, i).ok_or_else(|| TemplateError {
                    offset: base + start,
                    message: format!("unterminated {what} string"),
                })?;
                Tk::Str
            }
            // A character constant ('a') is a number in Go templates.
            b'\'' => {
                i = crate::scan::skip_quoted(b, i).unwrap_or(b.len());
                Tk::Number
            }
            b'$' => {
                i += 1;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                let name = body[start..i].to_owned();
                // Field chain on a variable: $labels.job
                let var = Tk::Var(name);
                out.push((var, base + start));
                while i < b.len() && b[i] == b'.' && b.get(i + 1).is_some_and(|c| ident(*c)) {
                    let fs = i;
                    i += 1;
                    while i < b.len() && ident(b[i]) {
                        i += 1;
                    }
                    out.push((Tk::Field(body[fs + 1..i].to_owned()), base + fs));
                }
                continue;
            }
            b'.' => {
                if b.get(i + 1)
                    .is_some_and(|c| ident(*c) && !c.is_ascii_digit())
                {
                    i += 1;
                    while i < b.len() && ident(b[i]) {
                        i += 1;
                    }
                    Tk::Field(body[start + 1..i].to_owned())
                } else {
                    i += 1;
                    Tk::Dot
                }
            }
            b'|' => {
                i += 1;
                Tk::Pipe
            }
            b'(' => {
                i += 1;
                Tk::LParen
            }
            b')' => {
                i += 1;
                Tk::RParen
            }
            b',' => {
                i += 1;
                Tk::Comma
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                Tk::Declare
            }
            b'=' => {
                i += 1;
                Tk::Assign
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    i += 1;
                }
                Tk::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                Tk::Ident(body[start..i].to_owned())
            }
            _ => {
                let ch = body[i..].chars().next().unwrap_or('?');
                return Err(TemplateError {
                    offset: base + start,
                    message: format!("unexpected {ch:?} in command"),
                });
            }
        };
        out.push((tk, base + start));
    }
    Ok(out)
}

/// Checks a pipeline: declarations, variables, functions, parentheses; records references.
fn check_pipeline(
    toks: &[(Tk, usize)],
    vars: &mut Vec<String>,
    a: &mut Analysis,
    at: usize,
    dot_rebound: bool,
) -> Result<(), TemplateError> {
    let (declared, value) = split_declaration(toks, vars, at)?;
    let toks = &toks[value..];
    let mut depth = 0i32;
    for (idx, (t, off)) in toks.iter().enumerate() {
        match t {
            Tk::Var(v) => {
                if !vars.contains(v) {
                    return Err(TemplateError {
                        offset: *off,
                        message: format!("undefined variable {v:?}"),
                    });
                }
                record_var_refs(v, &toks[idx + 1..], *off, a);
            }
            Tk::Field(f) => {
                let after_var = idx > 0 && matches!(toks[idx - 1].0, Tk::Var(_) | Tk::Field(_));
                if !after_var && !dot_rebound {
                    if f == "Labels" {
                        if let Some((Tk::Field(l), _)) = toks.get(idx + 1) {
                            a.label_refs.push(LabelRef {
                                label: l.clone(),
                                offset: *off,
                            });
                        }
                    } else if f == "Value" {
                        a.value_refs.push(*off);
                    }
                }
            }
            Tk::Ident(name) => {
                if KEYWORDS.contains(&name.as_str()) {
                    if !matches!(name.as_str(), "nil" | "true" | "false") {
                        return Err(TemplateError {
                            offset: *off,
                            message: format!("unexpected {name:?} in command"),
                        });
                    }
                } else if !FUNCTIONS.contains(&name.as_str()) {
                    return Err(TemplateError {
                        offset: *off,
                        message: format!("function {name:?} not defined"),
                    });
                }
            }
            Tk::LParen => depth += 1,
            Tk::RParen => {
                depth -= 1;
                if depth < 0 {
                    return Err(TemplateError {
                        offset: *off,
                        message: "unexpected right paren".into(),
                    });
                }
            }
            Tk::Pipe => {
                if idx == 0 || idx + 1 == toks.len() {
                    return Err(TemplateError {
                        offset: *off,
                        message: "missing command around |".into(),
                    });
                }
            }
            Tk::Declare | Tk::Assign => {
                return Err(TemplateError {
                    offset: *off,
                    message: "unexpected := in operand".into(),
                });
            }
            Tk::Str | Tk::Number | Tk::Comma | Tk::Dot => {}
        }
    }
    if depth > 0 {
        return Err(TemplateError {
            offset: at,
            message: "unclosed left paren".into(),
        });
    }
    for (v, _) in declared {
        if !vars.contains(&v) {
            vars.push(v);
        }
    }
    Ok(())
}

/// The variables a declaration names, each with its offset.
type Declared = Vec<(String, usize)>;

/// Splits a declaration (`$x := …`, `$i, $e := …`, or `$x = …` of a declared variable) off
/// the front of a pipeline: the variables it declares, and where the value's tokens start.
fn split_declaration(
    toks: &[(Tk, usize)],
    vars: &[String],
    at: usize,
) -> Result<(Declared, usize), TemplateError> {
    let Some(end) = toks
        .iter()
        .position(|(t, _)| matches!(t, Tk::Declare | Tk::Assign))
    else {
        return Ok((Vec::new(), 0));
    };
    let mut declared = Vec::new();
    for (t, off) in &toks[..end] {
        match t {
            Tk::Var(v) => declared.push((v.clone(), *off)),
            Tk::Comma => {}
            _ => {
                return Err(TemplateError {
                    offset: *off,
                    message: "unexpected token before :=".into(),
                });
            }
        }
    }
    if matches!(toks[end].0, Tk::Assign) {
        for (v, off) in &declared {
            if !vars.contains(v) {
                return Err(TemplateError {
                    offset: *off,
                    message: format!("undefined variable {v:?}"),
                });
            }
        }
    }
    if end + 1 == toks.len() {
        return Err(TemplateError {
            offset: at,
            message: "missing value for command".into(),
        });
    }
    Ok((declared, end + 1))
}

/// Records what the variable `v` at `off` refers to, given the tokens after it:
/// `$value`, `$labels.x`, `$.Labels.x`, `$.Value`.
fn record_var_refs(v: &str, next: &[(Tk, usize)], off: usize, a: &mut Analysis) {
    if v == "$value" {
        a.value_refs.push(off);
    }
    if v == "$labels"
        && let Some((Tk::Field(f), _)) = next.first()
    {
        a.label_refs.push(LabelRef {
            label: f.clone(),
            offset: off,
        })
    }
    if v == "$" {
        if let (Some((Tk::Field(f), _)), Some((Tk::Field(l), _))) = (next.first(), next.get(1))
            && f == "Labels"
        {
            a.label_refs.push(LabelRef {
                label: l.clone(),
                offset: off,
            });
        }
        if let Some((Tk::Field(f), _)) = next.first()
            && f == "Value"
        {
            a.value_refs.push(off);
        }
    }
}

/// `index $labels "x"` references, found textually (the lexer drops string contents).
pub(crate) fn index_labels(text: &str) -> Vec<LabelRef> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = text[from..].find("index $labels") {
        let at = from + p;
        let rest = text[at + "index $labels".len()..].trim_start();
        if let Some(r) = rest.strip_prefix('"')
            && let Some(end) = r.find('"')
        {
            out.push(LabelRef {
                label: r[..end].to_owned(),
                offset: at,
            });
        }
        from = at + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn error(t: &str) -> Option<(usize, String)> {
        analyse(t).error.map(|e| (e.offset, e.message))
    }

    #[test]
    fn valid_prometheus_templates_pass() {
        for t in [
            "Instance {{ $labels.instance }} down",
            "{{ $value | humanizePercentage }} of {{ .Labels.job }}",
            "{{ if gt $value 0.5 }}high{{ else }}low{{ end }}",
            "{{- range $i, $e := query \"up\" }}{{ $e.Labels.job }}{{ end -}}",
            "{{ with $x := 1 }}{{ $x }}{{ end }}",
            "{{/* a comment */}}plain",
            "{{ printf \"%.2f\" $value }} {{ $externalLabels.cluster }} {{ $externalURL }}",
            "{{ index $labels \"job\" }}",
        ] {
            assert_eq!(error(t), None, "{t}");
        }
    }

    #[test]
    fn template_errors_are_located() {
        assert_eq!(
            error("Instance {{ $label.foo }} down"),
            Some((12, "undefined variable \"$label\"".into()))
        );
        assert_eq!(
            error("x {{ $labels.a "),
            Some((2, "unclosed action: {{ without }}".into()))
        );
        assert_eq!(
            error("{{ if $value }}x"),
            Some((3, "unexpected EOF: {{if}} has no {{end}}".into()))
        );
        assert_eq!(error("{{ end }}"), Some((3, "unexpected {{end}}".into())));
        assert_eq!(
            error("{{ humanise $value }}"),
            Some((3, "function \"humanise\" not defined".into()))
        );
        assert_eq!(
            error("{{ \"abc }}"),
            Some((0, "unclosed action: {{ without }}".into()))
        );
        assert!(error("{{}}").is_some());
    }

    #[test]
    fn dot_inside_range_is_not_the_alert() {
        let a = analyse("{{ range query \"up\" }}{{ .Labels.pod }}{{ $labels.job }}{{ end }}");
        let labels: Vec<_> = a.label_refs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, vec!["job"]);
    }

    #[test]
    fn label_and_value_references_are_collected() {
        let a = analyse("{{ $labels.job }} {{ .Labels.pod }} {{ $value }} {{ .Value }}");
        let labels: Vec<_> = a
            .label_refs
            .iter()
            .map(|r| (r.label.as_str(), r.offset))
            .collect();
        assert_eq!(labels, vec![("job", 3), ("pod", 21)]);
        assert_eq!(a.value_refs, vec![39, 52]);
        assert_eq!(index_labels("{{ index $labels \"a\" }}")[0].label, "a");
    }

    proptest! {
        #[test]
        fn arbitrary_templates_never_panic(s in "(\\{\\{|\\}\\}|\\$labels|\\.|x|\"|`| |if|end|\\||\\(|\\)|:=|\\$v|-){0,30}") {
            let _ = analyse(&s);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
            let _ = analyse(&s);
        }
    }
}
