#!/usr/bin/env python3
"""The module graph in Package.swift is the real one, and it keeps the architecture's rules.

    python3 scripts/check_imports.py              # check the package; exit 1 naming each problem
    python3 scripts/check_imports.py --self-test  # break the rules on purpose: each break must be caught

1. Every target imports only what it declares (`swift package describe --type json`): a Swift file
   that imports a module its target does not depend on is reported with its path, line and the
   import. System modules (Foundation, Glibc, Dispatch, Synchronization, Testing...) are allowed.
2. The rules (ARCHITECTURE.md, "Modules"), on the declared graph (transitively) and on the imports:
   - Index knows no database, no ICU, no analyzer, engine, catalog, sync, server or commerce;
   - Analyzer knows no index (nor anything above it) and no database;
   - Catalog knows no index, analyzer, engine, sync or server;
   - Commerce imports no search module (Engine, Index, Analyzer, Sync);
   - no search module (Index, Analyzer, Engine, Sync) imports Commerce: stock reaches search only
     through the catalog's change log.
Python 3 standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Glibc", "Darwin", "Musl", "Dispatch",
          "Synchronization", "XCTest", "Testing", "Swift", "_Concurrency", "os", "ucrt", "WinSDK"}

DATABASES = {"CLibPQ", "CMongoc", "CHiredis"}
ICU = {"CICUShim"}
SEARCH = {"AisleIndex", "AisleAnalyzer", "AisleEngine", "AisleSync"}
COMMERCE = {"AisleCommerce"}

# (module, forbidden modules, why)
RULES = [
    ("AisleIndex", DATABASES | ICU | {"CStemmer", "CBLAS", "AisleEmbedding", "AisleAnalyzer", "AisleEngine", "AisleCatalog", "AisleSync", "AisleServer"} | COMMERCE,
     "Index knows no database, no ICU and nothing above it"),
    ("AisleAnalyzer", DATABASES | {"AisleIndex", "AisleEngine", "AisleCatalog", "AisleSync", "AisleServer"} | COMMERCE,
     "Analyzer knows no index and no database"),
    ("AisleCatalog", {"AisleIndex", "AisleAnalyzer", "AisleEngine", "AisleSync", "AisleServer", "CZstd"} | ICU | COMMERCE,
     "Catalog knows no index"),
    ("AisleCommerce", SEARCH, "Commerce imports no search module (Engine, Index, Analyzer, Sync)"),
    ("AisleEmbedding", DATABASES | ICU | {"CStemmer", "CZstd", "AisleIndex", "AisleAnalyzer", "AisleEngine", "AisleCatalog", "AisleSync", "AisleServer"} | COMMERCE,
     "Embedding (the sentence encoder) knows no index, no analyzer and no database"),
] + [(m, COMMERCE, "search never imports Commerce (stock reaches search through the catalog's change log)") for m in sorted(SEARCH)]

IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|package|private|fileprivate)\s+)?import\s+"
                    r"(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def describe(root):
    out = subprocess.run(["swift", "package", "describe", "--type", "json"], cwd=root, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("check_imports: swift package describe failed:\n" + out.stderr)
    text = out.stdout[out.stdout.index("{"):]
    return json.loads(text)


def targets_of(desc):
    """name -> (module name, path, declared modules)."""
    out = {}
    for t in desc["targets"]:
        deps = set(t.get("target_dependencies") or []) | set(t.get("product_dependencies") or [])
        out[t["name"]] = (t.get("c99name", t["name"]), t["path"], deps, t["type"])
    return out


def sources(root, path):
    for d, _, files in os.walk(os.path.join(root, path)):
        for f in sorted(files):
            if f.endswith(".swift"):
                yield os.path.relpath(os.path.join(d, f), root)


def imports(root, rel, read):
    for i, line in enumerate(read(os.path.join(root, rel)).splitlines(), 1):
        m = IMPORT.match(line)
        if m:
            yield i, m.group(1)


def closure(name, targets):
    seen, todo = set(), [name]
    while todo:
        n = todo.pop()
        for d in targets.get(n, (None, None, set(), None))[2]:
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def check(root, desc, read=lambda p: open(p, encoding="utf-8").read()):
    targets = targets_of(desc)
    module = {name: t[0] for name, t in targets.items()}
    problems = []
    for name, (mod, path, deps, kind) in sorted(targets.items()):
        if kind == "system-target":
            continue
        declared = {module.get(d, d) for d in deps} | {mod}
        # The declared graph keeps the rules (transitively).
        reach = {module.get(d, d) for d in closure(name, targets)}
        for ruled, forbidden, why in RULES:
            if mod == ruled:
                for bad in sorted(reach & forbidden):
                    problems.append("Package.swift: target %s depends (directly or not) on %s: %s" % (name, bad, why))
        for rel in sources(root, path):
            for line, imp in imports(root, rel, read):
                if imp in SYSTEM:
                    continue
                if imp not in declared:
                    problems.append("%s:%d: imports %s, which target %s does not declare in Package.swift" % (rel, line, imp, name))
                for ruled, forbidden, why in RULES:
                    if mod == ruled and imp in forbidden:
                        problems.append("%s:%d: imports %s: %s" % (rel, line, imp, why))
    return problems


def self_test(root, desc):
    """Each break of a rule, injected into one file in memory, must be reported naming it."""
    targets = targets_of(desc)
    first = {}
    for name, (mod, path, deps, kind) in targets.items():
        for rel in sources(root, path):
            first.setdefault(mod, rel)
            break
    cases = []
    if "AisleCatalog" in first:
        cases.append((first["AisleCatalog"], "import AisleIndex", "Catalog knows no index"))
    if "AisleIndex" in first:
        cases.append((first["AisleIndex"], "import AisleEngine", "Index knows no database"))
        cases.append((first["AisleIndex"], "import CLibPQ", "Index knows no database"))
    if "AisleAnalyzer" in first:
        cases.append((first["AisleAnalyzer"], "@testable import AisleIndex", "Analyzer knows no index"))
    if "AisleEngine" in first:
        cases.append((first["AisleEngine"], "import AisleCommerce", "search never imports Commerce"))
    if "AisleServer" in first:
        cases.append((first["AisleServer"], "import ArgumentParser", "does not declare"))
    failed = 0
    for rel, line, expect in cases:
        def read(p, rel=rel, line=line):
            text = open(p, encoding="utf-8").read()
            return line + "\n" + text if os.path.relpath(p, root) == rel else text
        got = check(root, desc, read)
        hit = [p for p in got if p.startswith(rel + ":1:") and expect in p]
        print("self-test: %-55s %-30s -> %s" % (rel, line, "caught" if hit else "NOT CAUGHT"))
        if not hit:
            failed += 1
    # A forbidden dependency declared in Package.swift is caught too.
    bad = json.loads(json.dumps(desc))
    for t in bad["targets"]:
        if t["name"] == "AisleCatalog":
            t["target_dependencies"] = (t.get("target_dependencies") or []) + ["AisleIndex"]
    hit = [p for p in check(root, bad) if p.startswith("Package.swift: target AisleCatalog depends") and "AisleIndex" in p]
    print("self-test: %-55s %-30s -> %s" % ("Package.swift", "AisleCatalog -> AisleIndex", "caught" if hit else "NOT CAUGHT"))
    failed += 0 if hit else 1
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    desc = describe(root)
    if a.self_test:
        failed = self_test(root, desc)
        if failed:
            sys.exit("check_imports: %d injected break(s) not caught" % failed)
        print("check_imports: self-test passed (every injected break was caught)")
        return
    problems = check(root, desc)
    for p in problems:
        print(p)
    if problems:
        sys.exit("check_imports: %d problem(s)" % len(problems))
    n = sum(1 for t in desc["targets"] if t["type"] != "system-target")
    print("check_imports: %d targets import only what they declare and keep the rules" % n)


if __name__ == "__main__":
    main()
