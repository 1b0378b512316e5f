#!/usr/bin/env python3
"""Checks that every publishable workspace crate carries what crates.io and
docs.rs need, so a new crate cannot slip into a release half-described.

    python3 ci/publish_metadata.py

A member is publishable unless its manifest says `publish = false`. Each must
have: description, license, repository, rust-version, a readme file that
exists, 1-5 keywords, at least one category, an `include` list (lean
packages), `[package.metadata.docs.rs]`, and a version on every path
dependency (cargo needs it to package). `cargo publish --dry-run` checks the
rest (that each package builds alone).
"""

import json
import os
import subprocess
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None


def workspace_metadata():
    """`cargo metadata` of the workspace's own packages."""
    return json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )


def publishable(meta):
    """The members that `cargo publish --workspace` packages: all but those
    whose manifest says `publish = false`."""
    return [p for p in meta["packages"] if p.get("publish") != []]


def main():
    problems = []
    checked = []
    for p in publishable(workspace_metadata()):
        name = p["name"]
        checked.append(name)
        missing = [
            field
            for field in ("description", "license", "repository", "rust_version")
            if not p.get(field)
        ]
        readme = p.get("readme")
        if not readme:
            missing.append("readme")
        elif not os.path.isfile(os.path.join(os.path.dirname(p["manifest_path"]), readme)):
            problems.append(f"{name}: readme {readme} does not exist")
        if not 1 <= len(p.get("keywords") or []) <= 5:
            missing.append("keywords (1 to 5)")
        if not p.get("categories"):
            missing.append("categories")
        if "rs" not in ((p.get("metadata") or {}).get("docs") or {}):
            missing.append("[package.metadata.docs.rs]")
        if tomllib is not None:
            with open(p["manifest_path"], "rb") as f:
                manifest = tomllib.load(f)
            if "include" not in manifest.get("package", {}):
                missing.append("include")
        for dep in p["dependencies"]:
            if dep.get("path") and dep["kind"] != "dev" and dep["req"] == "*":
                problems.append(
                    f"{name}: path dependency {dep['name']} has no version "
                    "(use the workspace entry: `{ workspace = true }`)"
                )
        if missing:
            problems.append(f"{name}: missing {', '.join(missing)}")
    for problem in problems:
        print(f"publish metadata: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"publish metadata: ok ({', '.join(sorted(checked))})")


if __name__ == "__main__":
    main()
