#!/usr/bin/env python3
"""Runs `cargo publish --dry-run --workspace` so that every publishable crate
is built from the package just made, never from an older one.

    python3 ci/publish_dry_run.py

Cargo verifies a package that depends on another workspace package (say
sse-futures on sse-sans-io) against a local registry overlay of the packages
it has just made, at TARGET/package/tmp-registry. Two caches outlive a run
and are keyed only by that path, the name and the version, not by content:

- the overlay's packages are unpacked into
  $CARGO_HOME/registry/src/-<hash of the overlay path>/NAME-VERSION, and an
  unpacked copy that exists is reused as it is;
- a registry dependency's build is up to date whenever its output exists (the
  source is assumed immutable), so a build made from a stale copy is reused
  too.

A host that ran an older tree from the same path therefore verifies the new
sse-futures against the old sse-sans-io (a CI run failed so). Before the dry
run, this removes both for our publishable crates: their unpacked copies in
path registries (registry/src/-*; crates.io's copies are untouched) and their
builds in the target directory whose sources lie in such a copy.
"""

import glob
import os
import shutil
import subprocess
import sys

from publish_metadata import publishable, workspace_metadata


def main():
    meta = workspace_metadata()
    cargo_home = os.environ.get("CARGO_HOME") or os.path.expanduser("~/.cargo")
    removed = 0
    for p in publishable(meta):
        for copy in glob.glob(
            os.path.join(cargo_home, "registry", "src", "-*", f"{p['name']}-{p['version']}")
        ):
            shutil.rmtree(copy)
            removed += 1
        for profile in glob.glob(os.path.join(meta["target_directory"], "*")):
            removed += forget_registry_builds(profile, p["name"])
    print(f"publish dry run: removed {removed} stale unpacked copies and builds", flush=True)
    sys.exit(
        subprocess.run(["cargo", "publish", "--dry-run", "--workspace", "--allow-dirty"]).returncode
    )


def forget_registry_builds(profile, name):
    """Removes the builds of package `name` in a profile directory whose
    sources were an unpacked path-registry copy; returns how many."""
    removed = 0
    for fingerprint in glob.glob(os.path.join(profile, ".fingerprint", f"{name}-*")):
        unit_hash = fingerprint.rsplit("-", 1)[1]
        dep_infos = glob.glob(os.path.join(profile, "deps", f"*-{unit_hash}.d"))
        if not any(from_path_registry(d) for d in dep_infos):
            continue
        for output in glob.glob(os.path.join(profile, "deps", f"*-{unit_hash}.*")):
            os.remove(output)
        shutil.rmtree(fingerprint)
        removed += 1
    return removed


def from_path_registry(dep_info):
    with open(dep_info, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    return f"{os.sep}registry{os.sep}src{os.sep}-" in first


if __name__ == "__main__":
    main()
