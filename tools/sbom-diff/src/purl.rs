//! Package URLs: parsing and normalisation per the purl specification
//! (<https://github.com/package-url/purl-spec>), and the identity key components are matched
//! by. Knows nothing about SBOM formats.
//!
//! Normalisation follows the spec's parse algorithm and its per-type rules: the scheme and
//! type are case-insensitive; namespace and name are lowercased for the types whose
//! definitions say they are case-insensitive (deb, rpm namespaces, github, pypi, composer, …);
//! PyPI names also turn `_` into `-`; every component is percent-decoded; qualifier keys are
//! lowercased, empty values dropped and the list sorted; `.`/`..`/empty subpath segments go.

use std::fmt::{self, Write as _};

/// A parsed, normalised package URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Purl {
    pub ty: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    /// Sorted by key; keys lowercase, values percent-decoded and non-empty.
    pub qualifiers: Vec<(String, String)>,
    pub subpath: Option<String>,
}

/// Why a string is not a package URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a package URL: {reason}")]
pub struct PurlError {
    pub input: String,
    pub reason: &'static str,
}

/// Types whose namespace is case-insensitive and therefore lowercased (purl-spec
/// `types/*-definition.json`, `namespace_definition.case_sensitive: false`).
const LOWER_NAMESPACE: &[&str] = &[
    "alpm",
    "apk",
    "bitbucket",
    "brew",
    "composer",
    "deb",
    "github",
    "gitlab",
    "hex",
    "luarocks",
    "qpkg",
    "rpm",
    "vscode-extension",
    "yocto",
];

/// Types whose name is case-insensitive and therefore lowercased.
const LOWER_NAME: &[&str] = &[
    "alpm",
    "apk",
    "bitbucket",
    "bitnami",
    "brew",
    "chrome-extension",
    "composer",
    "deb",
    "github",
    "gitlab",
    "hex",
    "luarocks",
    "oci",
    "otp",
    "pub",
    "pypi",
    "vscode-extension",
];

/// Qualifiers that tell apart two artifacts which can be installed side by side (so they are
/// different components, not two versions of one): a Debian/RPM/Alpine multi-arch package,
/// a Maven classifier (`-sources`, `-linux-x86_64`) or packaging type. Every other qualifier
/// (`distro`, `epoch`, `repository_url`, `download_url`, `checksum`, `vcs_url`, `file_name`,
/// syft's `package-id`, …) says where a package came from, not which package it is.
const IDENTITY_QUALIFIERS: &[&str] = &["arch", "classifier", "type"];

impl Purl {
    /// Parses and normalises a package URL.
    pub fn parse(input: &str) -> Result<Purl, PurlError> {
        let err = |reason| PurlError {
            input: input.to_owned(),
            reason,
        };
        let s = input.trim();
        // 1. subpath, from the right.
        let (s, subpath) = match s.rsplit_once('#') {
            Some((rest, sub)) => (rest, normalise_subpath(sub)),
            None => (s, None),
        };
        // 2. qualifiers, from the right.
        let (s, qualifiers) = match s.rsplit_once('?') {
            Some((rest, q)) => (rest, parse_qualifiers(q).map_err(err)?),
            None => (s, Vec::new()),
        };
        // 3. scheme, from the left; `pkg:/` and `pkg://` are tolerated by the spec.
        let (scheme, s) = s.split_once(':').ok_or_else(|| err("no `pkg:` scheme"))?;
        if !scheme.eq_ignore_ascii_case("pkg") {
            return Err(err("the scheme is not `pkg`"));
        }
        let s = s.trim_start_matches('/');
        // 4. type.
        let (ty, s) = s.split_once('/').ok_or_else(|| err("no type"))?;
        let ty = ty.to_ascii_lowercase();
        if ty.is_empty()
            || ty.starts_with(|c: char| c.is_ascii_digit())
            || !ty
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
        {
            return Err(err(
                "the type is empty or holds characters other than a-z 0-9 + . -",
            ));
        }
        let s = s.trim_matches('/');
        // 5. version: an `@` in the last path segment (an `@` before it is an npm scope).
        let last_slash = s.rfind('/').map_or(0, |p| p + 1);
        let (s, version) = match s[last_slash..].rfind('@') {
            Some(at) => {
                let at = last_slash + at;
                let v = gatehouse::percent::decode_lossy(&s[at + 1..]);
                (&s[..at], (!v.is_empty()).then_some(v))
            }
            None => (s, None),
        };
        // 6. name and namespace.
        let (ns, name) = match s.rsplit_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, s),
        };
        let mut name = gatehouse::percent::decode_lossy(name).trim().to_owned();
        if name.is_empty() {
            return Err(err("no name"));
        }
        let mut namespace = ns
            .map(|ns| {
                ns.split('/')
                    .filter(|seg| !seg.trim().is_empty())
                    .map(gatehouse::percent::decode_lossy)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .filter(|ns| !ns.is_empty());
        // 7. per-type rules.
        (namespace, name) = split_name_per_type(&ty, namespace, name);
        if LOWER_NAMESPACE.contains(&ty.as_str()) {
            namespace = namespace.map(|n| n.to_lowercase());
        }
        if LOWER_NAME.contains(&ty.as_str()) {
            name = name.to_lowercase();
        }
        if ty == "pypi" {
            name = name.replace('_', "-");
        }
        Ok(Purl {
            ty,
            namespace,
            name,
            version,
            qualifiers,
            subpath,
        })
    }

    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The identity sbom-diff matches by: type, namespace, name and the qualifiers that
    /// distinguish co-installable artifacts ([`IDENTITY_QUALIFIERS`]); no version, no subpath.
    pub fn identity(&self) -> String {
        let mut key = self.base();
        if self.qualifiers.is_empty() {
            return key;
        }
        let mut sep = '?';
        for (k, v) in &self.qualifiers {
            if !IDENTITY_QUALIFIERS.contains(&k.as_str()) {
                continue;
            }
            // `type=jar` is Maven's default packaging: writing it or not is the same artifact.
            if self.ty == "maven" && k == "type" && v == "jar" {
                continue;
            }
            key.push(sep);
            key.push_str(k);
            key.push('=');
            encode_into(&mut key, v, true);
            sep = '&';
        }
        key
    }

    /// The identity at a version: `pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64`, what
    /// messages show (provenance qualifiers such as `distro` left out).
    pub fn short(&self, version: Option<&str>) -> String {
        let id = self.identity();
        let Some(v) = version.or(self.version.as_deref()) else {
            return id;
        };
        let base_len = self.base().len();
        // Readable rather than canonical: only what would break the purl apart is encoded.
        let v: String = v
            .chars()
            .map(|c| match c {
                '?' | '#' | '%' | ' ' => format!("%{:02X}", u32::from(c)),
                c => c.to_string(),
            })
            .collect();
        format!("{}@{v}{}", &id[..base_len], &id[base_len..])
    }

    /// `pkg:type/namespace/name`: the package, whatever its version and qualifiers.
    pub fn base(&self) -> String {
        let len =
            6 + self.ty.len() + self.namespace.as_ref().map_or(0, String::len) + self.name.len();
        let mut s = String::with_capacity(len + 8);
        s.push_str("pkg:");
        s.push_str(&self.ty);
        s.push('/');
        if let Some(ns) = &self.namespace {
            for seg in ns.split('/') {
                encode_into(&mut s, seg, false);
                s.push('/');
            }
        }
        encode_into(&mut s, &self.name, false);
        s
    }

    /// The version to compare: RPM's epoch travels in a qualifier (`?epoch=1`), so it is
    /// put back in front of the version where the version does not already carry one.
    pub fn comparable_version(&self) -> Option<String> {
        let v = self.version.as_ref()?;
        match (self.ty.as_str(), self.qualifier("epoch")) {
            ("rpm", Some(e)) if !v.contains(':') && !e.is_empty() => Some(format!("{e}:{v}")),
            _ => Some(v.clone()),
        }
    }

    /// The same package URL at another version.
    pub fn with_version(&self, version: Option<&str>) -> Purl {
        Purl {
            version: version.map(str::to_owned),
            ..self.clone()
        }
    }
}

/// The canonical form: normalised components, percent-encoded, qualifiers sorted.
impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base())?;
        if let Some(v) = &self.version {
            write!(f, "@{}", encode(v, false))?;
        }
        let mut sep = '?';
        for (k, v) in &self.qualifiers {
            write!(f, "{sep}{k}={}", encode(v, true))?;
            sep = '&';
        }
        if let Some(sub) = &self.subpath {
            f.write_char('#')?;
            let segs: Vec<String> = sub.split('/').map(|s| encode(s, false)).collect();
            f.write_str(&segs.join("/"))?;
        }
        Ok(())
    }
}

/// Types whose namespace is a path and whose name may not hold a `/` (purl-spec
/// PURL-TYPES): a name that does — `%40cypress%2Fxvfb` as older cdxgen wrote an npm scope,
/// `github.com%2Fgorilla%2Fmux` for a Go module — is split at its last `/`, the left part
/// joining the namespace, so both spellings are one package.
const PATH_NAMESPACE: &[&str] = &[
    "bitbucket",
    "composer",
    "docker",
    "github",
    "gitlab",
    "golang",
    "huggingface",
    "maven",
    "npm",
    "swift",
];

/// Docker Hub's names for itself: `docker.io/library/debian` is `debian`.
const DOCKER_HUB: &[&str] = &["docker.io", "index.docker.io", "registry-1.docker.io"];

/// The per-type rules for where the namespace ends and the name begins.
fn split_name_per_type(
    ty: &str,
    namespace: Option<String>,
    name: String,
) -> (Option<String>, String) {
    let (mut namespace, mut name) = (namespace, name);
    // Maven's `group:artifact` coordinates written as the name (an artifactId never holds
    // a `:`): the group is the namespace.
    if ty == "maven"
        && namespace.is_none()
        && let Some((group, artifact)) = name.split_once(':')
    {
        let (group, artifact) = (group.trim(), artifact.trim());
        if !group.is_empty() && !artifact.is_empty() && !artifact.contains(':') {
            namespace = Some(group.to_owned());
            name = artifact.to_owned();
        }
    }
    if PATH_NAMESPACE.contains(&ty) {
        let trimmed = name.trim_matches('/');
        if let Some((left, right)) = trimmed.rsplit_once('/') {
            let left: Vec<&str> = left.split('/').filter(|s| !s.trim().is_empty()).collect();
            if !right.trim().is_empty() && !left.is_empty() {
                let left = left.join("/");
                namespace = Some(match namespace {
                    Some(ns) => format!("{ns}/{left}"),
                    None => left,
                });
                name = right.to_owned();
            }
        }
    }
    if ty == "docker"
        && let Some(ns) = namespace.take()
    {
        // Docker Hub is the default registry and `library` its namespace of official
        // images: `pkg:docker/docker.io/library/debian` and `pkg:docker/debian` are one image.
        let mut segs: Vec<&str> = ns.split('/').collect();
        if segs
            .first()
            .is_some_and(|s| DOCKER_HUB.iter().any(|h| s.eq_ignore_ascii_case(h)))
        {
            segs.remove(0);
        }
        if segs == ["library"] {
            segs.clear();
        }
        namespace = (!segs.is_empty()).then(|| segs.join("/"));
    }
    (namespace, name)
}

/// Linear in the number of qualifiers: a purl with 100 000 of them (0.9 MB) once took 25 s
/// when each one scanned the list for an earlier copy of its key.
fn parse_qualifiers(q: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or("a qualifier is not key=value")?;
        let k = k.trim().to_ascii_lowercase();
        if k.is_empty()
            || k.starts_with(|c: char| c.is_ascii_digit())
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err("a qualifier key is empty or holds characters other than a-z 0-9 . _ -");
        }
        let v = gatehouse::percent::decode_lossy(v);
        if v.trim().is_empty() {
            continue;
        }
        out.push((k, v));
    }
    // A repeated key: the last one wins, as in a URL query read into a map. The sort is
    // stable, so within one key the input order stays and the last of each run is kept.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let mut deduped: Vec<(String, String)> = Vec::with_capacity(out.len());
    for (k, v) in out {
        match deduped.last_mut() {
            Some(last) if last.0 == k => last.1 = v,
            _ => deduped.push((k, v)),
        }
    }
    Ok(deduped)
}

fn normalise_subpath(sub: &str) -> Option<String> {
    let segs: Vec<String> = sub
        .split('/')
        .filter(|s| !s.trim().is_empty() && *s != "." && *s != "..")
        .map(gatehouse::percent::decode_lossy)
        .collect();
    (!segs.is_empty()).then(|| segs.join("/"))
}

/// Percent-encodes everything but unreserved characters and `:` (and `/` inside qualifier
/// values, as the spec's canonical form keeps URLs readable).
fn encode(s: &str, keep_slash: bool) -> String {
    gatehouse::percent::encode_keeping(s, if keep_slash { b":/" } else { b":" })
}

fn encode_into(out: &mut String, s: &str, keep_slash: bool) {
    gatehouse::percent::encode_into(out, s, if keep_slash { b":/" } else { b":" });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Purl {
        Purl::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Cases from the purl-spec test suite (tests/types/*.json, tests/spec/*.json), as
    /// (input, canonical output).
    #[test]
    fn normalises_like_the_spec_test_suite() {
        for (input, canonical) in [
            (
                "pkg:PYPI/Django_package@1.11.1.dev1",
                "pkg:pypi/django-package@1.11.1.dev1",
            ),
            (
                "pkg:Maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources&repositorY_url=https://repo.spring.io/release",
                "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources&repository_url=https://repo.spring.io/release",
            ),
            (
                "pkg:GOLANG/google.golang.org/genproto@abcdedf#/googleapis/api/annotations/",
                "pkg:golang/google.golang.org/genproto@abcdedf#googleapis/api/annotations",
            ),
            (
                "pkg:bitbucket/birKenfeld/pyGments-main@244fd47e07d1014f0aed9c",
                "pkg:bitbucket/birkenfeld/pygments-main@244fd47e07d1014f0aed9c",
            ),
            (
                "pkg:composer/Laravel/Laravel@5.5.0",
                "pkg:composer/laravel/laravel@5.5.0",
            ),
            (
                "pkg:brew/postgresql%4012@12.17",
                "pkg:brew/postgresql%4012@12.17",
            ),
            (
                "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64",
                "pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64",
            ),
            (
                "pkg:npm/%40angular/animation@12.3.1",
                "pkg:npm/%40angular/animation@12.3.1",
            ),
            (
                "pkg:npm/@babel/core#/googleapis/api/annotations/",
                "pkg:npm/%40babel/core#googleapis/api/annotations",
            ),
            (
                "pkg:nuget/EnterpriseLibrary.Common@6.0.1304",
                "pkg:nuget/EnterpriseLibrary.Common@6.0.1304",
            ),
            (
                "pkg:cocoapods/GoogleUtilities@7.5.2#NSData+zlib",
                "pkg:cocoapods/GoogleUtilities@7.5.2#NSData%2Bzlib",
            ),
            (
                "pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&epoch=1&distro=fedora-25",
                "pkg:rpm/fedora/centerim@4.22.10-1.el6?arch=i686&distro=fedora-25&epoch=1",
            ),
            (
                "pkg:///maven/org.apache.commons/io",
                "pkg:maven/org.apache.commons/io",
            ),
            (
                "pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value",
                "pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value",
            ),
            (
                "pkg:generic/bitwarderl?vcs_url=git%2Bhttps://git.fsfe.org/dxtr/bitwarderl%40cc55108da32",
                "pkg:generic/bitwarderl?vcs_url=git%2Bhttps://git.fsfe.org/dxtr/bitwarderl%40cc55108da32",
            ),
            (
                "pkg:swift/github.com/Alamofire/Alamofire@5.4.3",
                "pkg:swift/github.com/Alamofire/Alamofire@5.4.3",
            ),
            (
                "pkg:oci/debian@sha256%3A244fd47e07d10?repository_url=docker.io/library/debian&arch=amd64&tag=latest",
                "pkg:oci/debian@sha256:244fd47e07d10?arch=amd64&repository_url=docker.io/library/debian&tag=latest",
            ),
        ] {
            assert_eq!(p(input).to_string(), canonical, "{input}");
        }
    }

    #[test]
    fn parses_components() {
        let x =
            p("pkg:npm/%40babel/helper-string-parser@7.24.7#packages/babel-helper-string-parser");
        assert_eq!(x.ty, "npm");
        assert_eq!(x.namespace.as_deref(), Some("@babel"));
        assert_eq!(x.name, "helper-string-parser");
        assert_eq!(x.version.as_deref(), Some("7.24.7"));
        assert_eq!(
            x.subpath.as_deref(),
            Some("packages/babel-helper-string-parser")
        );
        let y = p("pkg:maven/mygroup/myartifact@1.0.0%20Final?mykey=my%20value&empty=");
        assert_eq!(y.version.as_deref(), Some("1.0.0 Final"));
        assert_eq!(y.qualifiers, vec![("mykey".into(), "my value".into())]);
    }

    #[test]
    fn refuses_what_the_spec_refuses() {
        for bad in [
            "EnterpriseLibrary.Common@6.0.1304",
            "pkg:EnterpriseLibrary.Common@6.0.1304",
            "pkg:n&g?inx/nginx@0.8.9",
            "pkg:3nginx/nginx@0.8.9",
            "http://example.com/x",
            "pkg:npm/",
            "pkg:npm/x?1key=v",
            "pkg:npm/x?novalue",
        ] {
            assert!(Purl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_ignores_version_subpath_and_provenance_qualifiers() {
        let a = p("pkg:deb/debian/libc6@2.28-10?arch=amd64&distro=debian-10&upstream=glibc");
        let b = p("pkg:deb/Debian/libc6@2.31-13+deb11u5?distro=debian-11&arch=amd64");
        assert_eq!(a.identity(), b.identity());
        assert_eq!(a.identity(), "pkg:deb/debian/libc6?arch=amd64");
        let i386 = p("pkg:deb/debian/libc6@2.28-10?arch=i386");
        assert_ne!(a.identity(), i386.identity());
        let jar = p("pkg:maven/org.slf4j/slf4j-api@1.7.30?type=jar");
        let plain = p("pkg:maven/org.slf4j/slf4j-api@2.0.9");
        assert_eq!(jar.identity(), plain.identity());
        let sources = p("pkg:maven/org.slf4j/slf4j-api@2.0.9?classifier=sources");
        assert_ne!(sources.identity(), plain.identity());
        let sub = p("pkg:npm/%40babel/core@7.0.0#packages/babel-core");
        assert_eq!(sub.identity(), p("pkg:npm/@babel/core@7.1.0").identity());
        assert_eq!(
            p("pkg:pypi/Typing_Extensions@4.0").identity(),
            p("pkg:pypi/typing-extensions@4.1").identity()
        );
    }

    #[test]
    fn short_form_keeps_identity_and_version_only() {
        let x =
            p("pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?distro=debian-12&arch=amd64&upstream=zlib");
        assert_eq!(
            x.short(None),
            "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64"
        );
        assert_eq!(
            p("pkg:pypi/requests").short(Some("2.32.3")),
            "pkg:pypi/requests@2.32.3"
        );
    }

    #[test]
    fn rpm_epoch_qualifier_joins_the_version() {
        let x = p("pkg:rpm/fedora/curl@7.50.3-1.fc25?epoch=1&arch=x86_64");
        assert_eq!(x.comparable_version().as_deref(), Some("1:7.50.3-1.fc25"));
        let y = p("pkg:rpm/fedora/curl@2:7.50.3-1.fc25?epoch=1");
        assert_eq!(y.comparable_version().as_deref(), Some("2:7.50.3-1.fc25"));
    }

    /// One package, two spellings, one identity: per purl type, (spelling, other spelling,
    /// canonical form). Older cdxgen wrote an npm scope inside an encoded name; Go module
    /// paths, Maven `group:artifact` and Docker Hub's default registry have the same story.
    #[test]
    fn a_namespace_written_into_the_name_is_the_same_package() {
        for (a, b, canonical) in [
            (
                "pkg:npm/%40cypress%2Fxvfb@1.2.4",
                "pkg:npm/%40cypress/xvfb@1.2.4",
                "pkg:npm/%40cypress/xvfb@1.2.4",
            ),
            (
                "pkg:npm/@cypress%2fxvfb@1.2.4",
                "pkg:npm/@cypress/xvfb@1.2.5",
                "pkg:npm/%40cypress/xvfb@1.2.4",
            ),
            (
                "pkg:golang/github.com%2Fgorilla%2Fmux@v1.8.0",
                "pkg:golang/github.com/gorilla/mux@v1.8.1",
                "pkg:golang/github.com/gorilla/mux@v1.8.0",
            ),
            (
                "pkg:golang/github.com%2Fgorilla/mux@v1.8.0",
                "pkg:golang/github.com/gorilla/mux",
                "pkg:golang/github.com/gorilla/mux@v1.8.0",
            ),
            (
                "pkg:maven/org.apache.commons:commons-lang3@3.12.0",
                "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
                "pkg:maven/org.apache.commons/commons-lang3@3.12.0",
            ),
            (
                "pkg:maven/org.apache.commons%2Fcommons-lang3@3.12.0",
                "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
                "pkg:maven/org.apache.commons/commons-lang3@3.12.0",
            ),
            (
                "pkg:docker/docker.io/library/debian@sha256%3Aabc",
                "pkg:docker/debian@sha256%3Adef",
                "pkg:docker/debian@sha256:abc",
            ),
            (
                "pkg:docker/library%2Fdebian@12",
                "pkg:docker/debian@11",
                "pkg:docker/debian@12",
            ),
            (
                "pkg:docker/docker.io%2Fsmartentry%2Fdebian@dc437cc87d10",
                "pkg:docker/smartentry/debian",
                "pkg:docker/smartentry/debian@dc437cc87d10",
            ),
            (
                "pkg:github/package-url%2Fpurl-spec@244fd47e07d10",
                "pkg:github/package-url/purl-spec",
                "pkg:github/package-url/purl-spec@244fd47e07d10",
            ),
            (
                "pkg:composer/laravel%2Flaravel@5.5.0",
                "pkg:composer/laravel/laravel",
                "pkg:composer/laravel/laravel@5.5.0",
            ),
            (
                "pkg:swift/github.com%2FAlamofire%2FAlamofire@5.4.3",
                "pkg:swift/github.com/Alamofire/Alamofire",
                "pkg:swift/github.com/Alamofire/Alamofire@5.4.3",
            ),
        ] {
            assert_eq!(p(a).to_string(), canonical, "{a}");
            assert_eq!(p(a).identity(), p(b).identity(), "{a} vs {b}");
        }
        // Where a name may hold what would be a separator, it stays the name.
        for (input, canonical) in [
            // A Docker image in another registry keeps its registry.
            (
                "pkg:docker/gcr.io%2Fdistroless%2Fstatic@nonroot",
                "pkg:docker/gcr.io/distroless/static@nonroot",
            ),
            // Types without a path namespace: an encoded `/` is part of the name.
            ("pkg:generic/a%2Fb@1", "pkg:generic/a%2Fb@1"),
            ("pkg:pypi/a%2Fb@1", "pkg:pypi/a%2Fb@1"),
            // Maven: a name with two colons is not group:artifact.
            ("pkg:maven/a:b:c@1", "pkg:maven/a:b:c@1"),
            // npm: a trailing or leading `/` moves nothing.
            ("pkg:npm/x%2F@1", "pkg:npm/x%2F@1"),
        ] {
            assert_eq!(p(input).to_string(), canonical, "{input}");
        }
        assert_ne!(
            p("pkg:docker/gcr.io/distroless/static").identity(),
            p("pkg:docker/distroless/static").identity()
        );
    }

    /// 100 000 qualifiers once took 25 s (each scanned the list for a repeat of its key);
    /// linear now. Not timed: the bound only proves it does not hang.
    #[test]
    fn many_qualifiers_parse_in_linear_time() {
        let mut s = String::from("pkg:npm/left-pad@1.3.0?");
        for i in 0..100_000 {
            s.push_str(&format!("k{i}=v&"));
        }
        s.push_str("k5=last&arch=x");
        let started = std::time::Instant::now();
        let x = p(&s);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(x.qualifiers.len(), 100_001);
        assert_eq!(x.qualifier("k5"), Some("last"), "the last repeat wins");
        assert_eq!(x.identity(), "pkg:npm/left-pad?arch=x");
        let dup = p("pkg:npm/a@1?b=1&a=2&b=3&b=&a=4");
        assert_eq!(
            dup.qualifiers,
            vec![("a".into(), "4".into()), ("b".into(), "3".into())]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,80}") {
            let _ = Purl::parse(&s);
            let _ = Purl::parse(&format!("pkg:{s}"));
        }

        #[test]
        fn canonical_form_is_a_fixed_point(
            ty in "[a-z][a-z0-9]{0,6}",
            ns in proptest::option::of("[A-Za-z0-9@._ -]{1,8}"),
            name in "[A-Za-z0-9@._ %+-]{1,10}",
            version in proptest::option::of("[A-Za-z0-9.:+~ -]{1,8}"),
        ) {
            let mut s = format!("pkg:{ty}/");
            if let Some(ns) = &ns { s.push_str(&encode(ns, false)); s.push('/'); }
            s.push_str(&encode(&name, false));
            if let Some(v) = &version { s.push('@'); s.push_str(&encode(v, false)); }
            if let Ok(first) = Purl::parse(&s) {
                let again = Purl::parse(&first.to_string()).expect("canonical form parses");
                prop_assert_eq!(&again, &first);
                prop_assert_eq!(again.to_string(), first.to_string());
            }
        }
    }
}
