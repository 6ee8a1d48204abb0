"""Write an evaluation run to disk: metrics.json, per_query.jsonl, run.json, report.md and PNG plots.

Covers turning per-query records of one or more retrievers into files a person can read and recheck.
Leaves out: producing the records (the eval runner) and computing metrics (eval/metrics.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.metrics import DEFAULT_KS, breakdown, contains_answer, summarize

TEXT_LIMIT = 200  # chars of passage text kept per ranked item in per_query.jsonl
TEXT_RANKS = 3  # only the first ranks keep text: hits, ids and scores suffice to recompute metrics
WORST_MISSES = 10
MISS_DEPTH = 10  # a relevant passage below this rank counts as a retrieval miss
FONT = "DejaVu Sans"  # ships with matplotlib and covers Vietnamese letters


# ---------------------------------------------------------------- metrics and data files


def build_metrics(results: dict[str, list[dict]], breakdown_fields) -> dict:
    """{retriever: summary}, with a "breakdown" per field that some record actually carries."""
    metrics = {}
    for name, records in results.items():
        entry = summarize(records)
        present = [f for f in breakdown_fields if any(f in (r.get("fields") or {}) for r in records)]
        if present:
            entry["breakdown"] = {f: breakdown(records, f) for f in present}
        metrics[name] = entry
    return metrics


def _trimmed(record: dict, retriever: str) -> dict:
    """A copy of the record for per_query.jsonl: retriever named, passage texts shortened."""
    ranked = [{**item, "text": (item.get("text") or "")[:TEXT_LIMIT] if rank < TEXT_RANKS else ""}
              for rank, item in enumerate(record.get("ranked") or [])]
    return {**record, "ranked": ranked, "retriever": retriever}


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def _write_per_query(path: Path, results: dict[str, list[dict]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for name, records in results.items():
            for record in records:
                handle.write(json.dumps(_trimmed(record, name), ensure_ascii=False, default=str) + "\n")


# ---------------------------------------------------------------- plots


def _plot_recall(path: Path, metrics: dict, ks=DEFAULT_KS) -> None:
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    for name, entry in metrics.items():
        values = [entry["retrieval"].get(f"recall@{k}") for k in ks]
        if all(value is not None for value in values):
            axes.plot(list(ks), values, marker="o", label=name)
    axes.set(title="Recall@k", xlabel="k (passages retrieved)", ylabel="recall", ylim=(0, 1.02), xticks=list(ks))
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend(loc="lower right")
    else:
        axes.text(0.5, 0.5, "no relevance labels", ha="center", transform=axes.transAxes)
    figure.tight_layout()
    figure.savefig(path)  # Figure.savefig renders PNG through Agg


def _plot_latency(path: Path, results: dict[str, list[dict]]) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    names = list(results)
    totals = [[(r.get("timings_ms") or {}).get("total", 0.0) for r in results[name]] or [0.0] for name in names]
    axes.boxplot(totals, showfliers=True)
    axes.set_xticks(range(1, len(names) + 1), names)
    axes.set(title="Total latency per question", xlabel="retriever", ylabel="milliseconds")
    axes.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(path)


def write_plots(out_dir: Path, results: dict[str, list[dict]], metrics: dict) -> None:
    """recall_at_k.png and latency.png, in a font that renders Vietnamese."""
    import matplotlib

    with matplotlib.rc_context({"font.family": FONT}):
        _plot_recall(out_dir / "recall_at_k.png", metrics)
        _plot_latency(out_dir / "latency.png", results)


# ---------------------------------------------------------------- report.md


def _cell(value, limit: int = 120) -> str:
    """One Markdown table cell: None as a dash, no newlines or pipes, long text shortened."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines + [""]


def _run_section(run_info: dict) -> list[str]:
    lines = ["## What was run", ""]
    for key, value in run_info.items():
        shown = json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list)) else value
        lines.append(f"- **{key}**: {_cell(shown, limit=400)}")
    return lines + [""]


_RETRIEVAL_COLUMNS = [f"recall@{k}" for k in DEFAULT_KS] + ["mrr@10", "ndcg@10", "n", "evidence@5"]
_ANSWER_COLUMNS = ["em", "f1", "accuracy", "numeric_match", "n_numeric", "refusal_accuracy", "n_unanswerable",
                   "answer_rate", "wrong_refusal_rate", "citation_precision"]
_LATENCY_COLUMNS = ["p50", "p95", "retrieval_p50", "retrieval_p95", "answer_p50", "answer_p95"]
_BREAKDOWN_COLUMNS = [("n", None), ("recall@10", "retrieval"), ("mrr@10", "retrieval"), ("em", "answer"),
                      ("f1", "answer"), ("accuracy", "answer"), ("answer_rate", "answer")]


def _metric_tables(metrics: dict) -> list[str]:
    lines = ["## Retrieval", "", "Averaged over questions with labelled relevant passages.", ""]
    lines += _table(["retriever"] + _RETRIEVAL_COLUMNS,
                    [[name] + [m["retrieval"].get(c, "–") for c in _RETRIEVAL_COLUMNS] for name, m in metrics.items()])
    lines += ["![](recall_at_k.png)", "", "## Answers", "",
              "EM, F1, accuracy (answer contains a gold) and numeric match are over answerable questions; "
              "a declined answer counts as wrong.", ""]
    lines += _table(["retriever"] + _ANSWER_COLUMNS,
                    [[name] + [m["answer"][c] for c in _ANSWER_COLUMNS] for name, m in metrics.items()])
    lines += ["## Latency (ms)", ""]
    lines += _table(["retriever"] + _LATENCY_COLUMNS,
                    [[name] + [m["latency_ms"][c] for c in _LATENCY_COLUMNS] for name, m in metrics.items()])
    return lines + ["![](latency.png)", ""]


def _breakdown_tables(metrics: dict) -> list[str]:
    lines = []
    for name, entry in metrics.items():
        for field, groups in (entry.get("breakdown") or {}).items():
            lines += [f"### {name} by {field}", ""]
            rows = [[value] + [(s[part][c] if part else s[c]) for c, part in _BREAKDOWN_COLUMNS]
                    for value, s in groups.items()]
            lines += _table([field] + [c for c, _ in _BREAKDOWN_COLUMNS], rows)
    return (["## Breakdowns", ""] + lines) if lines else []


def _miss_severity(record: dict) -> int:
    """1 per failure: relevant passage outside the top 10, and a wrong or declined answer."""
    hits = [item.get("hit") for item in (record.get("ranked") or [])[:MISS_DEPTH]]
    retrieval_miss = record.get("n_relevant", 0) > 0 and not any(hits)
    answer_given = record.get("answer") if record.get("found") else ""
    answer_wrong = bool(record.get("answerable")) and not contains_answer(answer_given or "", record.get("gold") or [])
    return int(retrieval_miss) + int(answer_wrong)


def worst_misses(records: list[dict], limit: int = WORST_MISSES) -> list[dict]:
    """Records that failed, both failures first, otherwise in run order."""
    failed = [r for r in records if _miss_severity(r) > 0]
    return sorted(failed, key=_miss_severity, reverse=True)[:limit]


def _misses_section(results: dict[str, list[dict]]) -> list[str]:
    if not results:
        return []
    name, records = next(iter(results.items()))
    lines = [f"## Worst misses ({name})", "",
             f"Relevant passage not in the top {MISS_DEPTH}, or an answerable question answered wrongly.", ""]
    rows = []
    for record in worst_misses(records):
        ranked = record.get("ranked") or []
        answer = record.get("answer") if record.get("found") else "(declined)"
        rows.append([record.get("question"), " / ".join(record.get("gold") or []) or "(unanswerable)",
                     answer, ranked[0].get("title") if ranked else None])
    if not rows:
        return lines + ["No misses.", ""]
    return lines + _table(["question", "gold", "answer", "top source"], rows)


def render_markdown(results: dict[str, list[dict]], metrics: dict, run_info: dict) -> str:
    lines = ["# hoidap evaluation report", ""]
    lines += _run_section(run_info) + _metric_tables(metrics) + _breakdown_tables(metrics)
    lines += _misses_section(results)
    return "\n".join(lines)


# ---------------------------------------------------------------- entry point


def write_report(out_dir, results: dict[str, list[dict]], run_info: dict,
                 breakdown_fields=("variant", "type", "question_type")) -> dict:
    """Write every report file into out_dir (created if needed) and return the metrics dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = build_metrics(results, breakdown_fields)
    _write_json(out_dir / "metrics.json", metrics)
    _write_per_query(out_dir / "per_query.jsonl", results)
    _write_json(out_dir / "run.json", run_info)
    write_plots(out_dir, results, metrics)
    (out_dir / "report.md").write_text(render_markdown(results, metrics, run_info), encoding="utf-8")
    return metrics
