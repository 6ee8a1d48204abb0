"""`hoidap eval`: answer a dataset's questions with each retriever and write the report.

Builds (or reuses) an isolated cached index under DATA_DIR/eval-cache/<hash>/, asks every question
through the real answer path (QAService) for hybrid/bm25/dense and the llama-index baselines
(eval/baselines.py), answers them again with the naive answerer (eval/naive.py) over the hybrid
retriever's passages, and hands per-query records (eval/records.py) to eval/report.py.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from pathlib import Path

from eval import naive
from eval.corpus import EVAL_CACHE, UsageError, corpus_hash, ensure_index, load_corpus
from eval.records import Hit, Outcome, make_record, outcome_of
from eval.runinfo import _now, git_sha, library_versions
from eval.specificity import label_specificity

OUR_RETRIEVERS = ("hybrid", "bm25", "dense")
NAIVE, NAIVE_OVER = naive.NAME, naive.OVER
BASELINE_RETRIEVERS = ("llamaindex-default", "llamaindex-bm25")
ALL_RETRIEVERS = OUR_RETRIEVERS + BASELINE_RETRIEVERS
DEPTH = 30  # passages per question, as `ask --batch -k 30` lists them: 20 chunks can hold under 10 articles
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


# ---------------------------------------------------------------- asking


class _RecordingIndex:
    """The loaded index, unchanged, remembering the passages of its last retrieval (their full scores)."""

    def __init__(self, index):
        self._index = index
        self.last: list = []

    def __getattr__(self, name):
        return getattr(self._index, name)

    def retrieve(self, *args, **kwargs):
        self.last = self._index.retrieve(*args, **kwargs)
        return self.last


def ask(service, recorder: _RecordingIndex, question: str, mode: str) -> Outcome:
    """One question through QAService.ask, the path users get, ranked as its `sources` list them."""
    from app.qa import BadQuestion, Timings

    timings = Timings()
    recorder.last = []
    started = time.perf_counter()
    try:
        result = service.ask(question, k=DEPTH, mode=mode, timings=timings)
    except BadQuestion as exc:
        return Outcome([], "", "", "", False, "", 0.0, 0.0, (time.perf_counter() - started) * 1000, error=str(exc))
    total = (time.perf_counter() - started) * 1000
    scores = {p.node_id: float(p.score) for p in recorder.last}  # unrounded, for the per-query records
    return outcome_of(result, timings.retrieval_ms, timings.answer_ms, total, scores)


class _BaselineIndex:
    """A llama-index baseline behind the LoadedIndex interface, so QAService answers from its passages.

    Everything but retrieval (manifest, term statistics…) is the real index's: same corpus, same
    answer path, only the passages differ. The `mode` QAService passes is the baseline's name.
    """

    def __init__(self, index, baselines, articles: dict):
        self._index = index
        self._baselines = baselines
        self._articles = articles

    def __getattr__(self, name):
        return getattr(self._index, name)

    def retrieve(self, query: str, k: int = 5, mode: str = "llamaindex-default", doc_ids=None, **_ignored) -> list:
        from index.retrieve import Passage

        passages = []
        for hit in self._baselines.retrieve(mode, query, k):
            article = self._articles.get(hit.doc_id)
            meta = {"doc_id": hit.doc_id, "title": hit.title, "date": getattr(article, "date", ""),
                    "source": getattr(article, "source", "")}
            passages.append(Passage(hit.node_id, hit.doc_id, hit.title, hit.text, hit.score, meta, {mode: len(passages) + 1}))
        return passages


def typed_as(question: str, how: str, seed: str) -> str:
    """The question as a user might type it: as written, without diacritics, or half without.

    "mixed" folds each word with probability 1/2, seeded by the question id, so runs repeat."""
    from ingest.textnorm import fold_diacritics

    if how == "folded":
        return fold_diacritics(question)
    if how == "mixed":
        rng = random.Random(f"mixed:{seed}")
        return " ".join(fold_diacritics(w) if rng.random() < 0.5 else w for w in question.split(" "))
    return question


def warm_up(service, recorder, question: str, mode: str) -> None:
    """One untimed question first, so lazy initialisation is not charged to the first record."""
    ask(service, recorder, question, mode)


# ---------------------------------------------------------------- entry point


def parse_retrievers(names) -> list[str]:
    if not names:
        return list(ALL_RETRIEVERS)
    chosen = []
    for name in names:
        for part in str(name).split(","):
            part = part.strip()
            if not part:
                continue
            if part not in ALL_RETRIEVERS:
                raise UsageError(f"unknown retriever {part!r}; choose from {', '.join(ALL_RETRIEVERS)}")
            if part not in chosen:
                chosen.append(part)
    if not chosen:
        raise UsageError("no retriever named")
    return chosen


def _load_dataset(args):
    from eval.datasets import load_dataset

    limit = getattr(args, "limit", None)
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    try:
        dataset = load_dataset(args.dataset, getattr(args, "format", "auto") or "auto", limit)
    except (ValueError, KeyError, TypeError, OSError, UnicodeDecodeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot read dataset {args.dataset}: {reason}") from exc
    half = getattr(args, "half", None)
    if half is not None:  # the questions `hoidap train-reader --hold-half H` left out
        from eval.train_reader import half_of

        dataset.questions = [q for q in dataset.questions if half_of(f"{dataset.name}:{q.id}") == half]
    if not dataset.questions:
        raise UsageError(f"{args.dataset}: no question to evaluate")
    return dataset


def print_summary(metrics: dict, report_path: Path) -> None:
    columns = [("R@1", "retrieval", "recall@1"), ("R@5", "retrieval", "recall@5"),
               ("R@10", "retrieval", "recall@10"), ("R@20", "retrieval", "recall@20"),
               ("MRR@10", "retrieval", "mrr@10"), ("nDCG@10", "retrieval", "ndcg@10"),
               ("EM", "answer", "em"), ("F1", "answer", "f1"), ("Acc", "answer", "accuracy"),
               ("Refuse", "answer", "refusal_accuracy"), ("Gold∈", "answer", "contains_gold"),
               ("Answered", "answer", "answer_rate"), ("AUROC", "answer", "auroc_correct"),
               ("p50 ms", "latency_ms", "p50"), ("ans p50", "latency_ms", "answer_p50"),
               ("ans p95", "latency_ms", "answer_p95")]
    from eval.report import answerer_label

    labels = {name: answerer_label(name) for name in metrics}
    width = max([len("answerer")] + [len(label) for label in labels.values()])
    header = f"{'answerer':<{width}}" + "".join(f" {title:>8}" for title, _, _ in columns)
    print(header)
    print("-" * len(header))
    for name, entry in metrics.items():
        cells = []
        for _, part, key in columns:
            value = entry[part].get(key)
            cells.append(f" {'–':>8}" if value is None else f" {value:>8.3f}" if part != "latency_ms"
                         else f" {value:>8.1f}")
        print(f"{labels[name]:<{width}}" + "".join(cells))
    print(f"\nReport: {report_path}")


def reader_info(settings) -> dict | None:
    if not settings.reader:
        return None
    from app.reader import describe

    return describe(settings.reader_weights or None, settings.reader_backend)


def main(args) -> int:
    try:
        return _run(args)
    except UsageError as exc:
        print(f"hoidap eval: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _run(args) -> int:
    from tqdm import tqdm

    from app.config import REPO_ROOT, ConfigError, load_settings

    started_at, sha = _now(), git_sha(REPO_ROOT)  # the SHA of the code that runs, not of a later commit
    retrievers = parse_retrievers(getattr(args, "retriever", None))
    dataset = _load_dataset(args)
    queries = getattr(args, "queries", None) or "as-is"
    try:
        settings = load_settings(getattr(args, "data_dir", None), getattr(args, "config", None))
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    data_dir = Path(settings.data_dir)
    articles, corpus_info = load_corpus(dataset, getattr(args, "corpus", None))
    label_specificity(dataset.questions, articles)

    from app.qa import QAService
    from index.embed import ModelUnavailable, embedder_for
    from index.manifest import IndexMismatch
    from index.retrieve import open_index

    s = settings.index
    try:
        embedder = embedder_for(s)
        chash = corpus_hash(articles)
        built = ensure_index(data_dir, articles, s, embedder, chash)
        index = open_index(built.folder, embedder, s, settings.retrieval)
    except (ModelUnavailable, IndexMismatch) as exc:
        print(f"hoidap eval: {exc}", file=sys.stderr)
        return EXIT_FAIL
    recorder = _RecordingIndex(index)
    service = QAService(settings, embedder, recorder)

    baseline_recorder, baseline_service, baseline_info = None, None, None
    if any(name in BASELINE_RETRIEVERS for name in retrievers):
        from eval.baselines import LlamaIndexBaselines

        baselines, baseline_info = LlamaIndexBaselines.build_or_load(
            data_dir / EVAL_CACHE, articles, chash, embedder, data_dir / "cache" / "embeddings.sqlite")
        baseline_recorder = _RecordingIndex(_BaselineIndex(index, baselines, {a.doc_id: a for a in articles}))
        baseline_service = QAService(settings, embedder, baseline_recorder)

    results: dict[str, list[dict]] = {}
    naive_records: list[dict] = []
    for name in retrievers:
        records = []
        svc, rec = (service, recorder) if name in OUR_RETRIEVERS else (baseline_service, baseline_recorder)
        warm_up(svc, rec, dataset.questions[0].question, name)
        if name == NAIVE_OVER:  # its first answer untimed too (imports, folding caches)
            naive.ask_naive(index, dataset.questions[0].question, [Hit(p.node_id, p.doc_id, p.title, p.text, p.score)
                                                             for p in rec.last], 0.0)
        for question in tqdm(dataset.questions, desc=f"{dataset.name} · {name}", unit="q", file=sys.stderr,
                             dynamic_ncols=True):
            asked = typed_as(question.question, queries, question.id)
            outcome = ask(svc, rec, asked, name)
            records.append(make_record(question, outcome, asked))
            if name == NAIVE_OVER:  # the very passages hoidap answered from
                naive_records.append(make_record(question, naive.ask_naive(index, asked, outcome.hits,
                                                                     outcome.retrieval_ms), asked))
        results[name] = records
    if NAIVE_OVER not in retrievers:
        naive.ask_naive(index, dataset.questions[0].question, naive.retrieve_hits(DEPTH, index, dataset.questions[0].question,
                                                                      NAIVE_OVER)[0], 0.0)  # untimed warm-up
        for question in tqdm(dataset.questions, desc=f"{dataset.name} · {NAIVE}", unit="q", file=sys.stderr,
                             dynamic_ncols=True):
            asked = typed_as(question.question, queries, question.id)
            hits, retrieval_ms = naive.retrieve_hits(DEPTH, index, asked, NAIVE_OVER)
            naive_records.append(make_record(question, naive.ask_naive(index, asked, hits, retrieval_ms), asked))
    results[NAIVE] = naive_records

    manifest = index.manifest
    run_info = {
        "dataset": {"name": dataset.name, "path": str(Path(dataset.path).resolve()), "format": dataset.format,
                    "content_hash": dataset.content_hash, "n_questions": len(dataset.questions),
                    "n_answerable": sum(q.answerable for q in dataset.questions),
                    "limit": getattr(args, "limit", None), "half": getattr(args, "half", None)},
        "corpus": {**corpus_info, "hash": chash, "n_chunks": manifest.n_chunks},
        "retrievers": retrievers,
        "answerers": {"hoidap": "app.qa.QAService, one entry per retriever"
                                + (" (answer model + reader)" if settings.reader else " (answer model alone)"),
                      NAIVE: f"eval/naive.py over the {NAIVE_OVER} retriever's passages: the top passage's "
                             "sentence with the most IDF-weighted question syllables; never declines"},
        "queries": queries,
        "depth": DEPTH,
        "index": {"folder": str(built.folder), "build_id": built.build_id, "reused": built.reused,
                  "build_stats": built.stats, "fusion": manifest.fusion, "rrf_k": manifest.rrf_k,
                  "tokenizer": manifest.tokenizer, "normaliser_version": manifest.normaliser_version,
                  "chunking": manifest.chunking},
        "index_settings": s.to_dict(),
        "retrieval_settings": settings.retrieval.to_dict(),
        "embedding_model": embedder.info.to_dict(),
        "reader": reader_info(settings),
        "baselines": baseline_info,
        "git_sha": sha,
        "versions": library_versions(),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "command": " ".join(["hoidap", *sys.argv[1:]]) if Path(sys.argv[0]).name == "hoidap"
        else " ".join(sys.argv),
        "arguments": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                      if k != "func" and not callable(v)},
        "started_at": started_at,
        "finished_at": _now(),
    }
    from eval.report import write_report

    out = Path(getattr(args, "out", None) or "eval-out")
    metrics = write_report(out, results, run_info)
    print_summary(metrics, out / "report.md")
    return EXIT_OK
