//! Reads the export settings from the `OTEL_*` environment variables (endpoint, headers,
//! timeout, protocol, service name and resource attributes) into `Config`; knows nothing
//! about protobuf or sockets. The variables are listed in the module docs of `otlp`.

use std::time::Duration;

use super::{MAX_TIMEOUT, OtlpError};
use crate::redact::redact;

/// Headers the HTTP exporter writes itself; a configured header of the same name is ignored.
pub(super) const FRAMING_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "connection",
    "transfer-encoding",
];

const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub(super) const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The spec's default export timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);

/// The export settings read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Config {
    pub(super) endpoint: Endpoint,
    pub(super) headers: Vec<(String, String)>,
    pub(super) timeout: Duration,
    pub(super) service_name: Option<String>,
    pub(super) resource: Vec<(String, String)>,
}

/// Where the POST goes: `http://{authority}{target}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Endpoint {
    /// Host name or IP (IPv6 without brackets), for connecting.
    pub(super) host: String,
    pub(super) port: u16,
    /// `host[:port]` as written, for the `Host` header.
    pub(super) authority: String,
    /// Path and query.
    pub(super) target: String,
}

impl Endpoint {
    /// The URL as shown in messages, with anything secret-looking masked.
    pub(super) fn display(&self) -> String {
        redact(&format!("http://{}{}", self.authority, self.target)).into_owned()
    }
}

impl Config {
    /// `None` when no endpoint is set or export is switched off.
    pub(super) fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Config>, OtlpError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let disabled = get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        if disabled {
            return Ok(None);
        }
        let endpoint = if let Some(url) = get(TRACES_ENDPOINT) {
            parse_endpoint(TRACES_ENDPOINT, &url, false)?
        } else if let Some(url) = get(ENDPOINT) {
            parse_endpoint(ENDPOINT, &url, true)?
        } else {
            return Ok(None);
        };
        for var in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(protocol) = get(var) {
                if protocol != "http/protobuf" {
                    return Err(OtlpError::Config {
                        var,
                        message: format!("{protocol:?}: only http/protobuf is supported"),
                    });
                }
                break;
            }
        }
        // Generic headers first, then the traces-specific ones replace any of the same name.
        let mut headers: Vec<(String, String)> = Vec::new();
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ] {
            for (k, v) in get(var).map_or(Ok(Vec::new()), |s| parse_headers(var, &s))? {
                headers.retain(|(old, _)| !old.eq_ignore_ascii_case(&k));
                headers.push((k, v));
            }
        }
        let resource = match get("OTEL_RESOURCE_ATTRIBUTES").map(|s| parse_key_values(&s)) {
            Some(Ok(pairs)) => pairs,
            Some(Err(why)) => {
                // The spec says to discard the whole variable on an error, not fail the export.
                tracing::warn!("OTEL_RESOURCE_ATTRIBUTES: {why}; ignoring it");
                Vec::new()
            }
            None => Vec::new(),
        };
        Ok(Some(Config {
            endpoint,
            headers,
            timeout: timeout(&get),
            service_name: get("OTEL_SERVICE_NAME"),
            resource,
        }))
    }
}

/// The export timeout: the traces-specific or generic variable, capped at [`MAX_TIMEOUT`]. A
/// value that is not a number is ignored with a warning, as the spec asks; 0 ("no limit" in
/// some SDKs) gets the cap.
fn timeout(get: &dyn Fn(&str) -> Option<String>) -> Duration {
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ] {
        if let Some(value) = get(var) {
            return match value.parse::<u64>() {
                Ok(0) => MAX_TIMEOUT,
                Ok(ms) => Duration::from_millis(ms).min(MAX_TIMEOUT),
                Err(_) => {
                    tracing::warn!("{var}={value:?} is not a number of milliseconds; ignoring it");
                    DEFAULT_TIMEOUT.min(MAX_TIMEOUT)
                }
            };
        }
    }
    DEFAULT_TIMEOUT.min(MAX_TIMEOUT)
}

/// Parses an endpoint URL. With `append`, `/v1/traces` is added to its path (the generic
/// variable names a base URL); without, the URL is used as-is (an empty path is `/`).
fn parse_endpoint(var: &'static str, raw: &str, append: bool) -> Result<Endpoint, OtlpError> {
    let bad = |message: &str| OtlpError::Config {
        var,
        message: format!("{}: {message}", redact(raw)),
    };
    let scheme_end = raw.find("://").map_or(0, |i| i + 3);
    let rest = match raw[..scheme_end].to_ascii_lowercase().as_str() {
        "http://" => &raw[scheme_end..],
        "https://" => {
            return Err(OtlpError::Https {
                var,
                endpoint: redact(raw).into_owned(),
            });
        }
        _ => return Err(bad("expected an http:// URL such as http://127.0.0.1:4318")),
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(bad(
            "credentials in the URL are not supported; put them in OTEL_EXPORTER_OTLP_HEADERS",
        ));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| bad("expected host[:port]"))?;
    let tail = tail.split('#').next().unwrap_or_default();
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let mut target = if append {
        format!("{}/v1/traces", path.trim_end_matches('/'))
    } else if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    };
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    // It goes into the request line verbatim: a space or a line break would break framing.
    if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad("the path contains spaces or control characters"));
    }
    Ok(Endpoint {
        host,
        port,
        authority: authority.to_owned(),
        target,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 80.
fn split_host_port(authority: &str) -> Option<(String, u16)> {
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => 80,
            p => port(p.strip_prefix(':')?)?,
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return None;
        }
        (host, port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, port(p)?),
            None => (authority, 80),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !host_ok {
            return None;
        }
        (host, port)
    };
    Some((host.to_owned(), port))
}

/// Parses a headers variable: [`parse_key_values`], then each name must be an HTTP token
/// and each value free of line breaks (they go into the request verbatim).
fn parse_headers(var: &'static str, list: &str) -> Result<Vec<(String, String)>, OtlpError> {
    let bad = |message: String| OtlpError::Config { var, message };
    let mut out = Vec::new();
    for (key, value) in parse_key_values(list).map_err(bad)? {
        if !key.bytes().all(is_token_byte) {
            return Err(bad(format!("header name {key:?} is not a valid HTTP name")));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad(format!(
                "the value of {key} contains control characters"
            )));
        }
        if FRAMING_HEADERS.iter().any(|h| key.eq_ignore_ascii_case(h)) {
            tracing::debug!("{var}: ignoring {key}, which the exporter sets itself");
            continue;
        }
        out.push((key, value));
    }
    Ok(out)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `key=value,key2=value2` (the W3C-baggage-like lists of `OTEL_EXPORTER_OTLP_HEADERS`
/// and `OTEL_RESOURCE_ATTRIBUTES`): entries trimmed, empty entries skipped, values
/// percent-decoded. `+` is kept as is, not read as a space: base64 tokens contain it.
/// Errors name the entry's position and key, never its value.
fn parse_key_values(list: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, entry) in list.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let n = i + 1;
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!("entry {n} is not key=value"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("entry {n} has an empty key"));
        }
        let value = crate::percent::decode(value.trim()).ok_or_else(|| {
            format!("the value of {key} (entry {n}) has a bad %-escape or is not UTF-8")
        })?;
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

/// Test support: the settings from a fixed list of variables instead of the process
/// environment.
#[cfg(test)]
impl Config {
    pub(super) fn from_pairs(pairs: &[(&str, &str)]) -> Result<Option<Config>, OtlpError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env(&|name| map.get(name).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(pairs: &[(&str, &str)]) -> Result<Option<Config>, OtlpError> {
        Config::from_pairs(pairs)
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        env(pairs).expect("valid").expect("configured")
    }

    #[test]
    fn parses_headers_with_percent_decoding_and_keeps_plus_signs() {
        assert_eq!(
            parse_key_values(" api-key = a%20b%2Cc , authorization=Basic dXNlcjpw+YXNz==,,")
                .expect("valid"),
            vec![
                ("api-key".to_owned(), "a b,c".to_owned()),
                (
                    "authorization".to_owned(),
                    "Basic dXNlcjpw+YXNz==".to_owned()
                ),
            ]
        );
        assert_eq!(parse_key_values("").expect("empty is fine"), vec![]);
    }

    #[test]
    fn header_errors_name_the_entry_but_never_the_value() {
        for (list, expected) in [
            ("a=1,secretvalue", "entry 2 is not key=value"),
            ("=secretvalue", "entry 1 has an empty key"),
            ("k=secret%zz", "the value of k (entry 1) has a bad %-escape"),
            ("k=secret%ff", "is not UTF-8"),
        ] {
            let err = parse_key_values(list).expect_err(list);
            assert!(err.contains(expected), "{list}: {err}");
            assert!(!err.contains("secret"), "{list}: {err}");
        }
    }

    #[test]
    fn refuses_header_injection_and_bad_names() {
        let var = "OTEL_EXPORTER_OTLP_HEADERS";
        let err = parse_headers(var, "x-a=ok%0D%0AEvil: 1").expect_err("CRLF");
        assert_eq!(
            err.to_string(),
            "OTEL_EXPORTER_OTLP_HEADERS: the value of x-a contains control characters"
        );
        assert!(parse_headers(var, "bad name=1").is_err());
        assert_eq!(
            parse_headers(var, "Content-Length=1,x-b=2").expect("valid"),
            vec![("x-b".to_owned(), "2".to_owned())]
        );
    }

    #[test]
    fn nothing_is_configured_without_an_endpoint_or_when_disabled() {
        assert_eq!(env(&[]).expect("ok"), None);
        assert_eq!(env(&[(ENDPOINT, "  ")]).expect("ok"), None);
        let on = (ENDPOINT, "http://127.0.0.1:4318");
        assert_eq!(env(&[on, ("OTEL_SDK_DISABLED", "TRUE")]).expect("ok"), None);
        assert_eq!(
            env(&[on, ("OTEL_TRACES_EXPORTER", "none")]).expect("ok"),
            None
        );
        assert!(
            env(&[on, ("OTEL_SDK_DISABLED", "false")])
                .expect("ok")
                .is_some()
        );
    }

    #[test]
    fn the_generic_endpoint_gets_v1_traces_and_the_traces_endpoint_is_used_as_is() {
        let c = config(&[(ENDPOINT, "http://collector:4318")]);
        assert_eq!(c.endpoint.target, "/v1/traces");
        assert_eq!(
            (c.endpoint.host.as_str(), c.endpoint.port),
            ("collector", 4318)
        );
        let c = config(&[(ENDPOINT, "http://collector:4318/otel/")]);
        assert_eq!(c.endpoint.display(), "http://collector:4318/otel/v1/traces");
        let c = config(&[
            (ENDPOINT, "http://ignored:1"),
            (TRACES_ENDPOINT, "http://[::1]:9999/custom?tenant=a"),
        ]);
        assert_eq!((c.endpoint.host.as_str(), c.endpoint.port), ("::1", 9999));
        assert_eq!(c.endpoint.authority, "[::1]:9999");
        assert_eq!(c.endpoint.target, "/custom?tenant=a");
        let c = config(&[(TRACES_ENDPOINT, "HTTP://localhost")]);
        assert_eq!((c.endpoint.port, c.endpoint.target.as_str()), (80, "/"));
    }

    #[test]
    fn refuses_https_and_malformed_endpoints_with_one_line() {
        let err = env(&[(ENDPOINT, "https://otlp.example.com")]).expect_err("https");
        assert_eq!(
            err.to_string(),
            "OTLP endpoint https://otlp.example.com: https is not supported; point \
             OTEL_EXPORTER_OTLP_ENDPOINT at a local collector over http (for example \
             http://127.0.0.1:4318) and let it forward over TLS"
        );
        for bad in [
            "127.0.0.1:4318",
            "http://",
            "http://host:0",
            "http://host:99999",
            "http://host:",
            "http://::1:4318",
            "http://h/a b",
            "grpc://h",
        ] {
            let err = env(&[(ENDPOINT, bad)]).expect_err(bad).to_string();
            assert!(err.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT: "), "{err}");
            assert!(!err.contains('\n'));
        }
        let err = env(&[(ENDPOINT, "http://user:hunter2@h:4318")])
            .expect_err("userinfo")
            .to_string();
        assert!(err.contains("credentials in the URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn only_http_protobuf_is_accepted() {
        let on = (ENDPOINT, "http://h:4318");
        assert!(env(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).is_ok());
        let err = env(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).expect_err("grpc");
        assert_eq!(
            err.to_string(),
            "OTEL_EXPORTER_OTLP_PROTOCOL: \"grpc\": only http/protobuf is supported"
        );
        // The traces-specific variable wins.
        assert!(
            env(&[
                on,
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ])
            .is_ok()
        );
    }

    #[test]
    fn traces_headers_override_generic_ones_case_insensitively() {
        let c = config(&[
            (ENDPOINT, "http://h:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=a,x-tenant=t"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "authorization=b"),
        ]);
        assert_eq!(
            c.headers,
            vec![
                ("x-tenant".to_owned(), "t".to_owned()),
                ("authorization".to_owned(), "b".to_owned()),
            ]
        );
    }

    #[test]
    fn the_timeout_is_capped_so_a_dead_collector_never_stalls_a_job() {
        let on = (ENDPOINT, "http://h:4318");
        assert_eq!(config(&[on]).timeout, MAX_TIMEOUT);
        let t = |v| config(&[on, ("OTEL_EXPORTER_OTLP_TIMEOUT", v)]).timeout;
        assert_eq!(t("250"), Duration::from_millis(250));
        assert_eq!(t("60000"), MAX_TIMEOUT);
        assert_eq!(t("0"), MAX_TIMEOUT);
        assert_eq!(t("soon"), MAX_TIMEOUT);
        let c = config(&[
            on,
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "100"),
        ]);
        assert_eq!(c.timeout, Duration::from_millis(100));
    }

    proptest! {
        #[test]
        fn arbitrary_endpoints_and_lists_never_panic(s in "\\PC{0,60}") {
            let _ = parse_endpoint(ENDPOINT, &s, true);
            let _ = parse_endpoint(ENDPOINT, &format!("http://{s}"), false);
            let _ = parse_headers("OTEL_EXPORTER_OTLP_HEADERS", &s);
        }

        #[test]
        fn encoded_values_decode_back(v in "\\PC{0,30}") {
            let encoded: String = v.bytes().map(|b| format!("%{b:02X}")).collect();
            let parsed = parse_key_values(&format!("k={encoded}")).expect("valid");
            prop_assert_eq!(&parsed[0].1, &v);
        }
    }
}
