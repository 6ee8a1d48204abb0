"""Write an evaluation run to disk: metrics.json, per_query.jsonl, run.json, refusal_curve.json,
report.md and PNG plots (recall@k, latency, the refusal trade-off).

Covers turning per-query records of one or more retrievers into files a person can read and recheck.
Leaves out: producing the records (the eval runner) and computing metrics (eval/metrics.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.metrics import (DEFAULT_KS, answered_correctly, breakdown, confidence_of, contains_answer, records_curve,
                          summarize)
from eval.specificity import FIELD as SPECIFICITY

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


def _plot_refusal(path: Path, curves: dict[str, list[dict]], metrics: dict) -> None:
    """Left: declined-unanswerable against declined-answerable as the confidence threshold sweeps
    (the diagonal is a confidence that knows nothing); right: answerable questions still answered
    correctly against declined-answerable. A dot marks where each answerer's own decisions sit."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.5), dpi=100)
    left, right = figure.subplots(1, 2)
    for name, points in curves.items():
        xs = [p["declined_answerable"] for p in points]
        if any(x is None for x in xs):
            continue  # no answerable question: nothing to trade off
        answer = metrics[name]["answer"]
        # Straight lines between the thresholds' points, as ROC curves join tied scores.
        style = {"label": answerer_label(name), "marker": "." if len(points) <= 30 else None}
        ys = [p["declined_unanswerable"] for p in points]
        if all(y is not None for y in ys):
            (line,) = left.plot(xs, ys, **style)
            if answer.get("wrong_refusal_rate") is not None and answer.get("refusal_accuracy") is not None:
                left.plot([answer["wrong_refusal_rate"]], [answer["refusal_accuracy"]], "o", color=line.get_color())
        (line,) = right.plot(xs, [p["answered_correctly"] for p in points], **style)
        if answer.get("wrong_refusal_rate") is not None and answer.get("contains_gold") is not None:
            right.plot([answer["wrong_refusal_rate"]], [answer["contains_gold"]], "o", color=line.get_color())
    left.plot([0, 1], [0, 1], ":", color="grey", linewidth=1)
    left.set(title="Refusal trade-off (threshold on confidence)", xlabel="answerable questions declined",
             ylabel="unanswerable questions declined", xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    right.set(title="What declining costs", xlabel="answerable questions declined",
              ylabel="answerable questions answered correctly", xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    for axes, empty in ((left, "no unanswerable questions"), (right, "no answerable questions")):
        axes.grid(alpha=0.3)
        if any(line.get_label() and not line.get_label().startswith("_") for line in axes.lines):
            axes.legend(loc="best")
        else:
            axes.text(0.5, 0.5, empty, ha="center", transform=axes.transAxes)
    figure.tight_layout()
    figure.savefig(path)


def write_plots(out_dir: Path, results: dict[str, list[dict]], metrics: dict, curves: dict | None = None) -> None:
    """recall_at_k.png, latency.png and refusal_curve.png, in a font that renders Vietnamese."""
    import matplotlib

    curves = curves if curves is not None else {name: records_curve(records) for name, records in results.items()}
    with matplotlib.rc_context({"font.family": FONT}):
        _plot_recall(out_dir / "recall_at_k.png", metrics)
        _plot_latency(out_dir / "latency.png", results)
        _plot_refusal(out_dir / "refusal_curve.png", curves, metrics)


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
_ANSWER_COLUMNS = ["em", "f1", "accuracy", "contains_gold_span", "numeric_match", "n_numeric", "refusal_accuracy",
                   "n_unanswerable", "answer_rate", "wrong_refusal_rate", "citation_precision", "auroc_correct",
                   "auroc_answerable", "mean_confidence", "answer_chars_p50"]
# The comparison a user feels: (column title, part, key).
_VERSUS_COLUMNS = [("answer contains gold", "answer", "contains_gold"), ("span contains gold", "answer",
                   "contains_gold_span"), ("EM", "answer", "em"), ("F1", "answer", "f1"),
                   ("answerable answered", "answer", "answer_rate"),
                   ("unanswerable declined", "answer", "refusal_accuracy"),
                   ("AUROC correct", "answer", "auroc_correct"), ("AUROC answerable", "answer", "auroc_answerable"),
                   ("answer chars p50", "answer", "answer_chars_p50"), ("answer p50 ms", "latency_ms", "answer_p50"), ("answer p95 ms", "latency_ms", "answer_p95")]
_LATENCY_COLUMNS = ["p50", "p95", "retrieval_p50", "retrieval_p95", "answer_p50", "answer_p95"]
_BREAKDOWN_COLUMNS = [("n", None), ("recall@10", "retrieval"), ("mrr@10", "retrieval"), ("em", "answer"),
                      ("f1", "answer"), ("accuracy", "answer"), ("answer_rate", "answer")]


def answerer_label(name: str) -> str:
    """An entry's name as the report shows it: hoidap's answers per retriever, or the naive answerer."""
    from eval import naive

    return f"{naive.NAME} · {naive.OVER}" if name == naive.NAME else f"hoidap · {name}"


def _versus_table(metrics: dict) -> list[str]:
    lines = ["## hoidap vs naive", "",
             "The naive answerer gives the top passage's sentence with the most IDF-weighted question syllables "
             "and never declines. \"Answer contains gold\" reads the text a person reads (without its source "
             "note), \"span\" the precise part; both match whole tokens, ignoring case and accents. "
             "AUROC: how well the confidence separates correct answers from the rest (wrong, declined, "
             "unanswerable), and answerable questions from unanswerable ones (0.5 = no information).", ""]
    rows = [[answerer_label(name)] + [m[part].get(key) for _, part, key in _VERSUS_COLUMNS] for name, m in metrics.items()]
    lines += _table(["answerer"] + [title for title, _, _ in _VERSUS_COLUMNS], rows)
    return lines + ["![](refusal_curve.png)", "",
                    "Declining every answer whose confidence is below a threshold, as the threshold sweeps; "
                    "a dot marks the answerer's own decisions.", ""]


def _metric_tables(metrics: dict) -> list[str]:
    lines = ["## Retrieval", "", "Averaged over questions with labelled relevant passages.", ""]
    lines += _table(["retriever"] + _RETRIEVAL_COLUMNS,
                    [[name] + [m["retrieval"].get(c, "–") for c in _RETRIEVAL_COLUMNS] for name, m in metrics.items()])
    lines += ["![](recall_at_k.png)", "", "## Answers", "",
              "EM, F1, accuracy (= contains_gold: the text a person reads contains a gold), contains_gold_span "
              "and numeric match are over answerable questions; a declined answer counts as wrong. answer_rate: "
              "answerable questions answered; refusal_accuracy: unanswerable ones declined.", ""]
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


def worst_answer_misses(records: list[dict], limit: int = WORST_MISSES) -> list[dict]:
    """What a user would hold against the answerer: answers that are wrong (an answerable question
    without its gold, or an unanswerable one answered) and answerable questions declined. Given
    answers first, most confident first: a confident wrong answer misleads most."""
    missed = [r for r in records if not answered_correctly(r) and (r.get("answerable") or r.get("found"))]
    return sorted(missed, key=lambda r: (bool(r.get("found")), confidence_of(r)), reverse=True)[:limit]


def _answer_misses_section(results: dict[str, list[dict]]) -> list[str]:
    lines = []
    for name, records in results.items():
        lines += [f"### {answerer_label(name)}", ""]
        rows = [[r.get("question"), " / ".join(r.get("gold") or []) or "(unanswerable)",
                 (r.get("claim") or r.get("answer")) if r.get("found") else "(declined)",
                 round(confidence_of(r), 3)] for r in worst_answer_misses(records)]
        lines += _table(["question", "gold", "answer", "confidence"], rows) if rows else ["No misses.", ""]
    if not lines:
        return []
    return [f"## Worst answer misses per answerer (up to {WORST_MISSES})", "",
            "Wrong answers (most confident first), then answerable questions declined.", ""] + lines


def render_markdown(results: dict[str, list[dict]], metrics: dict, run_info: dict) -> str:
    lines = ["# hoidap evaluation report", ""]
    lines += _run_section(run_info) + _versus_table(metrics) + _metric_tables(metrics) + _breakdown_tables(metrics)
    lines += _answer_misses_section(results) + _misses_section(results)
    return "\n".join(lines)


# ---------------------------------------------------------------- entry point


def write_report(out_dir, results: dict[str, list[dict]], run_info: dict,
                 breakdown_fields=("variant", "type", "question_type", SPECIFICITY)) -> dict:
    """Write every report file into out_dir (created if needed) and return the metrics dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = build_metrics(results, breakdown_fields)
    _write_json(out_dir / "metrics.json", metrics)
    _write_per_query(out_dir / "per_query.jsonl", results)
    _write_json(out_dir / "run.json", run_info)
    curves = {name: records_curve(records) for name, records in results.items()}
    _write_json(out_dir / "refusal_curve.json", curves)
    write_plots(out_dir, results, metrics, curves)
    (out_dir / "report.md").write_text(render_markdown(results, metrics, run_info), encoding="utf-8")
    return metrics
