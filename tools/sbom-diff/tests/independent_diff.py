#!/usr/bin/env python3
"""An independent count of what changed between two SBOMs, for sbom-diff's tests.

Standard library only, written from the definitions in docs/sbom-diff.md rather than from
the Rust code:

* components: CycloneDX JSON/XML `components` (nested ones included; `metadata.component` is
  the subject and left out, its own sub-components are included; tool and pedigree
  components are not part of the BOM); SPDX JSON `packages` minus the one described package;
* identity: the package URL without version and subpath, with only the `arch`, `classifier`
  and (non-`jar`) `type` qualifiers kept, type lowercased, components percent-decoded, the
  purl types that are case-insensitive lowercased, PyPI `_` read as `-`; without a purl,
  the lowercased `group/name`;
* per identity, the versions on each side are a multiset: equal versions are unchanged;
  an extra copy of a version the other side also has is added/removed; the remaining
  versions pair up one to one as "changed"; what is left over is added or removed.

Usage: independent_diff.py OLD NEW   → prints {"added":…, "removed":…, "changed":…, "unchanged":…}
"""

import collections
import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET

LOWER_NS = {"alpm", "apk", "bitbucket", "brew", "composer", "deb", "github", "gitlab", "hex",
            "luarocks", "qpkg", "rpm", "vscode-extension", "yocto"}
LOWER_NAME = {"alpm", "apk", "bitbucket", "bitnami", "brew", "chrome-extension", "composer", "deb",
              "github", "gitlab", "hex", "luarocks", "oci", "otp", "pub", "pypi", "vscode-extension"}


def purl_identity(purl):
    """(identity, version) of a purl string, or None when it is not one."""
    if not purl or not purl.lower().startswith("pkg:"):
        return None
    rest = purl[4:].lstrip("/")
    rest = rest.split("#", 1)[0]
    rest, _, query = rest.partition("?")
    typ, _, path = rest.partition("/")
    if not typ or not path:
        return None
    typ = typ.lower()
    path = path.strip("/")
    head, _, last = path.rpartition("/")
    version = None
    if "@" in last:
        last, _, version = last.rpartition("@")
        version = urllib.parse.unquote(version)
    name = urllib.parse.unquote(last).strip()
    ns = "/".join(urllib.parse.unquote(s) for s in head.split("/") if s.strip()) if head else ""
    if typ in LOWER_NS:
        ns = ns.lower()
    if typ in LOWER_NAME:
        name = name.lower()
    if typ == "pypi":
        name = name.replace("_", "-")
    quals = []
    for pair in query.split("&") if query else []:
        k, _, v = pair.partition("=")
        k = k.strip().lower()
        v = urllib.parse.unquote(v)
        if not v.strip() or k not in ("arch", "classifier", "type"):
            continue
        if typ == "maven" and k == "type" and v == "jar":
            continue
        quals.append(f"{k}={v}")
    return (f"{typ}/{ns}/{name}?{'&'.join(sorted(quals))}", version)


def component(name, group, version, purl):
    ident = purl_identity(purl)
    if ident:
        key, purl_version = ident
        return key, (version or purl_version or "")
    return f"name:{(group or '').lower()}/{(name or '').lower()}", (version or "")


def cyclonedx_json(doc):
    out = []

    def walk(items):
        for c in items or []:
            out.append(component(c.get("name"), c.get("group"), c.get("version"), c.get("purl")))
            walk(c.get("components"))

    subject = (doc.get("metadata") or {}).get("component") or {}
    walk(subject.get("components"))
    walk(doc.get("components"))
    return out


def spdx_json(doc):
    described = set(doc.get("documentDescribes") or [])
    me = doc.get("SPDXID", "SPDXRef-DOCUMENT")
    for r in doc.get("relationships") or []:
        if r.get("relationshipType") == "DESCRIBES" and r.get("spdxElementId") == me:
            described.add(r.get("relatedSpdxElement"))
        if r.get("relationshipType") == "DESCRIBED_BY" and r.get("relatedSpdxElement") == me:
            described.add(r.get("spdxElementId"))
    packages = doc.get("packages") or []
    n_described = sum(1 for p in packages if p.get("SPDXID") in described)
    out = []
    skipped = False
    for p in packages:
        if n_described == 1 and not skipped and p.get("SPDXID") in described:
            skipped = True
            continue
        purl = next((r.get("referenceLocator") for r in p.get("externalRefs") or []
                     if (r.get("referenceType") or "").lower() == "purl"), None)
        out.append(component(p.get("name"), None, p.get("versionInfo"), purl))
    return out


def cyclonedx_xml(text):
    root = ET.fromstring(text)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    out = []

    def field(el, name):
        f = el.find(ns + name)
        return f.text.strip() if f is not None and f.text else None

    def walk(components_el):
        if components_el is None:
            return
        for c in components_el.findall(ns + "component"):
            out.append(component(field(c, "name"), field(c, "group"), field(c, "version"),
                                 field(c, "purl")))
            walk(c.find(ns + "components"))

    meta = root.find(ns + "metadata")
    if meta is not None:
        subject = meta.find(ns + "component")
        if subject is not None:
            walk(subject.find(ns + "components"))
    walk(root.find(ns + "components"))
    return out


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8-sig")
    if text.lstrip().startswith("<"):
        return cyclonedx_xml(text)
    doc = json.loads(text)
    if "spdxVersion" in doc:
        return spdx_json(doc)
    return cyclonedx_json(doc)


def count(old, new):
    by_key = collections.defaultdict(lambda: ([], []))
    for k, v in old:
        by_key[k][0].append(v)
    for k, v in new:
        by_key[k][1].append(v)
    totals = collections.Counter()
    for olds, news in by_key.values():
        o, n = collections.Counter(olds), collections.Counter(news)
        same = sum((o & n).values())
        rest_old = [v for v, c in (o - n).items() for _ in range(c) if v not in n]
        rest_new = [v for v, c in (n - o).items() for _ in range(c) if v not in o]
        changed = min(len(rest_old), len(rest_new))
        totals["unchanged"] += same
        totals["changed"] += changed
        totals["added"] += len(news) - same - changed
        totals["removed"] += len(olds) - same - changed
    return {k: totals[k] for k in ("added", "removed", "changed", "unchanged")}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(json.dumps(count(load(sys.argv[1]), load(sys.argv[2])), sort_keys=True))
