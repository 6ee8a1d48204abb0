"""Shared pieces of `hoidap bench` and its synthetic-corpus children: settings, memory, timings.

Small helpers only; the measurements live in eval/bench.py and eval/synthetic.py.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
BUILD_PATH_MAX = 100_000  # by default larger sizes skip the build path (~2 min at 100k); --sizes runs it at any size
SCALE_PATH_MIN = 10_000  # sizes from here on are also built directly (eval/scale.py), with recall measured
ROUNDS = 3  # each gold question is asked this many times for the warm latency
SYNTHETIC_ROUNDS = 1  # rounds of the gold questions per synthetic size and mode
SYNTHETIC_MODES = ("bm25", "dense", "hybrid")
SYNTHETIC_DENSE_WEIGHT = 1.0
SYNTHETIC_MODEL = "random-unit-vectors"
QUERY_K = 5
CHILD_TIMEOUT_S = 3600
BUDGET_S = 1500  # a default run skips a synthetic size that would push the whole bench past this
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


# ---------------------------------------------------------------- small helpers


def _progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    """This process's peak resident memory (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process's own address space (Linux VmHWM), else ru_maxrss.

    A child started by subprocess inherits its parent's ru_maxrss on Linux (the high-water mark
    survives fork/vfork + exec), so a small child would report its parent's peak; VmHWM does not.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return peak_rss_mb()


def unmeasured_row(row: dict, size: str, columns: int) -> str | None:
    """A report table row for a size that failed or was skipped (None when it was measured)."""
    if "error" not in row and "skipped" not in row:
        return None
    what = f"failed: {row['error']}" if "error" in row else f"skipped: {row['skipped']}"
    return f"| {size} | {what} |" + " |" * (columns - 2)


def pct(values: list[float]) -> dict:
    from eval.metrics import percentile

    if not values:
        return {"p50": None, "p95": None, "n": 0}
    return {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3), "n": len(values)}


def folder_bytes(folder: Path) -> int:
    total = 0
    for path in Path(folder).rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def machine_info() -> dict:
    ram = None
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_count": os.cpu_count(), "cpu": cpu, "ram_gb": round(ram / 1024**3, 1) if ram else None,
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def gold_questions(limit: int | None = None) -> list[str]:
    """The gold set's questions (eval/gold/samples_qa.jsonl)."""
    path = Path(__file__).resolve().parent / "gold" / "samples_qa.jsonl"
    questions = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return questions[:limit] if limit else questions
