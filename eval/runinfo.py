"""What an eval run records about itself: git SHA, library versions, timestamps.

So that a report can be reproduced: the same code, libraries and settings give the same numbers.
"""

from __future__ import annotations

import platform
import subprocess
import time
from importlib import metadata as importlib_metadata
from pathlib import Path

LIBRARIES = ("llama-index-core", "llama-index-vector-stores-faiss", "llama-index-retrievers-bm25", "faiss-cpu",
             "bm25s", "sentence-transformers", "transformers", "torch", "numpy", "PyStemmer")


def git_sha(repo: Path) -> str:
    """HEAD's SHA ("unknown" without a repository or commits), "-dirty" when the tree has changes."""
    def git(*argv: str) -> subprocess.CompletedProcess | None:
        try:
            return subprocess.run(["git", "-C", str(repo), *argv], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return None

    head = git("rev-parse", "--verify", "--quiet", "HEAD")
    sha = head.stdout.strip() if head is not None and head.returncode == 0 and head.stdout.strip() else "unknown"
    status = git("status", "--porcelain")
    if status is not None and status.returncode == 0 and status.stdout.strip():
        sha += "-dirty"
    return sha


def library_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
