#!/usr/bin/env python3
"""Every link and file path the docs cite resolves inside the repository.

Checks each tracked Markdown file (and, for citations outside the repository, every source file): links [text](target) that are not URLs must name an existing
file or folder (relative to the Markdown file; a #fragment is ignored) that lies inside the
repository; paths written in backticks that start with a top-level folder of the repository
(src/, docs/, tools/, ...) must exist, with {a,b} alternatives and * globs expanded. Prints every
broken reference as FILE:LINE: ... and fails if there is one.
"""
import glob
import itertools
import os
import re
import subprocess
import sys

ROOT = os.environ.get("W2S_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP = ("src/", "docs/", "tools/", "tests/", "kernels/", "configs/", "jobs/", "slurm/", "bench/", "cmake/", ".ci/")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")
# Paths that are produced at run time, not stored in the repository.
GENERATED = ("bench/results/",)


def tracked_markdown():
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "*.md"], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout.split()
    return [p for p in out if not p.startswith(".cache/")]


def expand(path):
    """{a,b} alternatives → every combination."""
    parts = re.split(r"(\{[^{}]*\})", path)
    choices = [p[1:-1].split(",") if p.startswith("{") else [p] for p in parts]
    return ["".join(c) for c in itertools.product(*choices)]


def exists(rel):
    full = os.path.join(ROOT, rel)
    return bool(glob.glob(full)) if "*" in rel else os.path.exists(full)


def inside_repo(path):
    return os.path.realpath(path).startswith(os.path.realpath(ROOT) + os.sep) or os.path.realpath(path) == os.path.realpath(ROOT)


def check_file(md):
    problems = []
    base = os.path.dirname(os.path.join(ROOT, md))
    with open(os.path.join(ROOT, md), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            for target in LINK.findall(line):
                if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                    continue
                path = target.split("#", 1)[0]
                full = os.path.normpath(os.path.join(base, path))
                if not inside_repo(full):
                    problems.append(f"{md}:{lineno}: link '{target}' points outside the repository")
                elif not os.path.exists(full):
                    problems.append(f"{md}:{lineno}: link '{target}' names no file")
            for code in CODE.findall(line):
                code = code.rstrip(".,;:")
                if not code.startswith(TOP) or code.startswith(GENERATED):
                    continue
                if re.search(r"[<>$]|\.\.\.|NNNN|KKKK|XXXX", code):  # placeholders, not paths
                    continue
                code = code.split(":", 1)[0]  # file:line or file:function
                for p in expand(code):
                    if not exists(p):
                        problems.append(f"{md}:{lineno}: path '{p}' does not exist")
            if "../shared" in line or re.search(r"DESIGN(\.md| §)", line):
                problems.append(f"{md}:{lineno}: cites a file outside the repository")
    return problems


SOURCE_ENDINGS = (".cpp", ".h", ".cu", ".cuh", ".sh", ".py", ".cmake", ".txt", ".ini", ".sbatch")
OUTSIDE = re.compile(r"\.\./shared|DESIGN(\.md| §)|BACKGROUND[ .]")


def check_sources():
    """Comments and scripts cite nothing outside the repository either."""
    out = subprocess.run(["git", "-C", ROOT, "ls-files"], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout.split()
    problems = []
    for rel in out:
        if not rel.endswith(SOURCE_ENDINGS) or rel.startswith(".cache/") or rel == "tests/arch/test_doc_links.py":
            continue
        with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as f:
            for lineno, line in enumerate(f, 1):
                if OUTSIDE.search(line):
                    problems.append(f"{rel}:{lineno}: cites a file outside the repository")
    return problems


def main():
    problems = [p for md in tracked_markdown() for p in check_file(md)] + check_sources()
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} broken reference(s) in the docs")
        return 1
    print(f"doc links: {len(tracked_markdown())} Markdown files, every link and path resolves in the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
