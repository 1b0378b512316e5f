#!/usr/bin/env python3
"""Checks the workspace's declared `rust-version` against what builds it.

    python3 ci/rust_version.py

CI has one toolchain, so the declared minimum cannot be proven by building
with it. What is checked instead, from `cargo metadata` and `rustc`:

1. every workspace member declares the same `rust-version` (clippy's MSRV
   lints, e.g. `incompatible_msrv`, then check all of our code against it);
2. it is at least the highest `rust-version` of any locked dependency (all
   features, dev-dependencies included): a lower claim would be false, since
   `cargo build` with that toolchain refuses those dependencies;
3. the toolchain running CI is at least the declared version.

It prints the dependencies that set the minimum (the evidence) and fails,
saying which rule broke, otherwise.
"""

import json
import re
import subprocess
import sys


def version(text):
    """'1.88' or '1.88.0' -> (1, 88, 0)."""
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def show(v):
    return ".".join(str(p) for p in v)


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = set(meta["workspace_members"])
    packages = {p["id"]: p for p in meta["packages"]}
    failures = []

    declared = {}
    for pid in sorted(members):
        p = packages[pid]
        rv = p.get("rust_version")
        if rv is None:
            failures.append(f"{p['name']} declares no rust-version (add `rust-version.workspace = true`)")
        else:
            declared.setdefault(version(rv), []).append(p["name"])
    if len(declared) > 1:
        spread = "; ".join(f"{show(v)}: {', '.join(n)}" for v, n in sorted(declared.items()))
        failures.append(f"members declare different rust-versions ({spread})")
    claim = max(declared) if declared else None

    # Every package in the resolved graph that is not ours.
    needs = {}
    for node in meta["resolve"]["nodes"]:
        if node["id"] in members:
            continue
        p = packages[node["id"]]
        if p.get("rust_version"):
            needs.setdefault(version(p["rust_version"]), []).append(f"{p['name']} {p['version']}")
    floor = max(needs) if needs else (1, 0, 0)

    out = subprocess.run(["rustc", "--version"], check=True, capture_output=True, text=True).stdout
    m = re.match(r"rustc (\d+\.\d+\.\d+)", out)
    if not m:
        sys.exit(f"rust-version: cannot read the toolchain's version from {out!r}")
    toolchain = version(m.group(1))

    print(f"declared rust-version:            {show(claim) if claim else 'none'}")
    print(f"highest dependency rust-version:  {show(floor)} ({', '.join(sorted(needs.get(floor, [])))})")
    if floor in needs:
        below = sorted(v for v in needs if v < floor)
        if below:
            nxt = below[-1]
            print(f"next highest:                     {show(nxt)} ({', '.join(sorted(needs[nxt]))})")
    print(f"toolchain:                        {show(toolchain)}")

    if claim is not None:
        if claim < floor:
            failures.append(
                f"declared {show(claim)} but locked dependencies need {show(floor)}: "
                f"{', '.join(sorted(needs[floor]))} (raise workspace.package.rust-version)"
            )
        if toolchain < claim:
            failures.append(f"the toolchain {show(toolchain)} is older than the declared {show(claim)}")
    for f in failures:
        print(f"rust-version: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print("rust-version: ok")


if __name__ == "__main__":
    main()
