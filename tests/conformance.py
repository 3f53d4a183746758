"""Conformance material nobody here wrote, read at test time and never committed.

1EdTech's JSON Schemas and validator fixtures and the W3C test suites live in their own public
repositories. We check against them without copying them into this repository: a test asks for a
file by repository and path, and reads it from a local mirror of that repository (a bare git
directory or a clone) under `LER_CONFORMANCE_MIRROR` (default `/work/.mirror`, laid out as
`owner+name/repo`). Where the mirror is absent the test is skipped with a reason that names the
repository, so a fresh machine still runs the rest of the suite; CI on a machine with the mirrors
runs them all.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

# The public repositories the suite checks against (owner/name as GitHub spells it).
OB_SPEC = "1EdTech/openbadges-specification"
OB2_VALIDATOR = "1EdTech/openbadges-validator-core"
PUBLIC_VALIDATOR = "1EdTech/digital-credentials-public-validator"
RDF_CANON = "w3c/rdf-canon"
JSON_LD_API = "w3c/json-ld-api"


def mirror_root() -> Path:
    return Path(os.environ.get("LER_CONFORMANCE_MIRROR", "/work/.mirror"))


@functools.cache
def _git_dir(repo: str) -> Path | None:
    base = mirror_root() / repo.replace("/", "+") / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def available(repo: str) -> bool:
    return _git_dir(repo) is not None


def require(repo: str) -> Path:
    """The repository's git directory, or skip the test saying which mirror is missing."""
    git_dir = _git_dir(repo)
    if git_dir is None:
        pytest.skip(
            f"no local mirror of {repo} under {mirror_root()} (set LER_CONFORMANCE_MIRROR): "
            "the check against that public material cannot run here"
        )
    return git_dir


@functools.cache
def read_bytes(repo: str, path: str, ref: str = "HEAD") -> bytes:
    """One file at `ref` (a commit or branch: 1EdTech publishes its JSON Schemas on gh-pages)."""
    git_dir = require(repo)
    shown = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{ref}:{path}"],
        capture_output=True,
        check=False,
    )
    if shown.returncode != 0:
        raise FileNotFoundError(f"{repo}: no {path} at {ref} ({shown.stderr.decode().strip()})")
    return shown.stdout


def read_text(repo: str, path: str, ref: str = "HEAD") -> str:
    return read_bytes(repo, path, ref).decode("utf-8")


def read_json(repo: str, path: str, ref: str = "HEAD") -> Any:
    return json.loads(read_bytes(repo, path, ref))


@functools.cache
def list_files(repo: str, under: str, ref: str = "HEAD") -> tuple[str, ...]:
    """Every file path at `ref` below `under` (a folder of the repository)."""
    git_dir = require(repo)
    listed = subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "-r", "--name-only", ref, "--", under],
        capture_output=True,
        check=True,
        text=True,
    )
    return tuple(line for line in listed.stdout.splitlines() if line)


def commit(repo: str, ref: str = "HEAD") -> str:
    """The mirrored commit, for messages that say what was checked against."""
    git_dir = require(repo)
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", ref],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.strip()
