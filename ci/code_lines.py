#!/usr/bin/env python3
"""Counts the code lines (not blank, not comments) of each runtime crate's
src/ and fails if one reaches 400: DESIGN.md's rule that runtime crates are
glue, a screen or two each.

    python3 ci/code_lines.py

A line counts unless it is blank or starts with `//` (doc comments
included); attributes, braces and `use` lines count.
"""

import os
import sys

LIMIT = 400
CRATES = ["adapters/smol", "adapters/async-std", "adapters/tokio"]


def code_lines(folder):
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".rs"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    total += sum(1 for line in f if line.strip() and not line.strip().startswith("//"))
    return total


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    failed = False
    for crate in CRATES:
        n = code_lines(os.path.join(crate, "src"))
        over = n >= LIMIT
        failed |= over
        print(f"{crate}/src: {n} code lines{' (limit ' + str(LIMIT) + ')' if over else ''}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
