#!/usr/bin/env python3
"""Checks that every #include of the library looks down the layers.

The layer table (name, folders, direct dependencies) is cmake/w2s_layers.cmake's, written by
CMake to BUILD/layers.json. A file of layer L may include a header of L itself or of any layer
that L depends on, directly or transitively. Every violation is printed as

    FILE:LINE: includes "HEADER" (layer H), but layer L may include only: ...

and the exit status is 1. An include that names no file of the tree (a system or external
header) is not checked.

Usage: check_layers.py --table BUILD/layers.json [--root DIR] [--layer NAME]
  --root   the tree to check (default: the repository this script is in)
  --layer  check one layer's files only (what the build does per layer); default: all
"""
import argparse
import json
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
EXTENSIONS = (".h", ".cuh", ".cpp", ".cu")


def load_table(path):
    with open(path) as f:
        layers = json.load(f)
    by_name = {l["name"]: l for l in layers}
    for l in layers:
        for d in l["deps"]:
            if d not in by_name:
                sys.exit(f"{path}: layer {l['name']} depends on unknown layer {d}")
    return layers, by_name


def allowed_layers(name, by_name):
    """The layer itself and everything reachable through its dependencies."""
    seen, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(by_name[n]["deps"])
    return seen


def layer_of_dir(layers):
    """Folder (relative, '/'-separated) -> layer name; folders are matched exactly, not by prefix."""
    return {d.rstrip("/"): l["name"] for l in layers for d in l["dirs"]}


def files_of(root, layer):
    for d in layer["dirs"]:
        folder = os.path.join(root, d)
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            if f.endswith(EXTENSIONS):
                yield os.path.join(d, f)


def resolve(root, including, header, roots):
    """The tree-relative path an include names, or None for a header outside the tree."""
    here = os.path.normpath(os.path.join(os.path.dirname(including), header))
    if os.path.isfile(os.path.join(root, here)):
        return here
    for r in roots:
        p = os.path.normpath(os.path.join(r, header))
        if os.path.isfile(os.path.join(root, p)):
            return p
    return None


def check(root, layers, by_name, only=None):
    dir_layer = layer_of_dir(layers)
    roots = ["src", "."]  # the include roots of cmake's w2s_base
    errors = []
    for layer in layers:
        if only and layer["name"] != only:
            continue
        ok = allowed_layers(layer["name"], by_name)
        for rel in files_of(root, layer):
            with open(os.path.join(root, rel), errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = resolve(root, rel, m.group(1), roots)
                    if target is None:
                        continue
                    owner = dir_layer.get(os.path.dirname(target).replace(os.sep, "/"))
                    if owner is None:
                        errors.append(f"{rel}:{lineno}: includes \"{m.group(1)}\" ({target}), which belongs to no layer")
                    elif owner not in ok:
                        allowed = ", ".join(sorted(ok))
                        errors.append(f"{rel}:{lineno}: includes \"{m.group(1)}\" (layer {owner}), "
                                      f"but layer {layer['name']} may include only: {allowed}")
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--table", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--layer")
    a = ap.parse_args()
    layers, by_name = load_table(a.table)
    if a.layer and a.layer not in by_name:
        sys.exit(f"check_layers: no layer named {a.layer} in {a.table}")
    errors = check(a.root, layers, by_name, a.layer)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_layers: {len(errors)} include(s) break the layering (cmake/w2s_layers.cmake, "
              f"docs/architecture.md)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
