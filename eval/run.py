"""`hoidap eval`: answer a dataset's questions with each retriever and write the report.

Builds (or reuses) an isolated cached index under DATA_DIR/eval-cache/<hash>/, asks every question
through the real answer path (QAService) for hybrid/bm25/dense and the llama-index baselines
(eval/baselines.py), answers them again with the naive answerer (eval/naive.py) over the hybrid
retriever's passages, and hands per-query records (eval/records.py) to eval/report.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from eval import naive
from eval.records import Hit, Outcome, make_record, outcome_of
from eval.runinfo import _now, git_sha, library_versions

OUR_RETRIEVERS = ("hybrid", "bm25", "dense")
NAIVE, NAIVE_OVER = naive.NAME, naive.OVER
BASELINE_RETRIEVERS = ("llamaindex-default", "llamaindex-bm25")
ALL_RETRIEVERS = OUR_RETRIEVERS + BASELINE_RETRIEVERS
DEPTH = 30  # passages per question, as `ask --batch -k 30` lists them: 20 chunks can hold under 10 articles
EVAL_CACHE = "eval-cache"
CACHE_FORMAT = "eval-index-v2"  # bump when what goes into a cached eval index changes
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input: reported on one line, exit code 2."""


@dataclass
class CorpusIndex:
    """The eval's own index: where it lives and whether this run built it."""

    folder: Path
    build_id: str
    reused: bool
    stats: dict = field(default_factory=dict)


# ---------------------------------------------------------------- corpus


def passage_file_text(title: str, text: str) -> str:
    """A dataset passage as the .txt file a user would write for it: the title on the first line."""
    return f"{title.strip()}\n{text}" if title.strip() else text


def articles_from_passages(passages, source: str) -> list:
    """Dataset passages as Articles, each read exactly as its .txt file (passage_file_text) is by
    `hoidap ingest` (ingest.documents.article_from_text), so eval ranks what users' files get."""
    from ingest.documents import PARSER_VERSION, article_from_text
    from ingest.readers import UnreadableFile
    from ingest.textnorm import VERSION

    articles, seen, empty = [], set(), 0
    for passage in passages:
        if passage.id in seen:
            continue
        seen.add(passage.id)
        text = passage_file_text(passage.title, passage.text)
        digest = hashlib.sha256(f"{text}\0{VERSION}/{PARSER_VERSION}".encode("utf-8")).hexdigest()[:16]
        try:
            articles.append(article_from_text(passage.id, text, source, content_hash=digest))
        except UnreadableFile:
            empty += 1  # ingest would skip its file too
    if empty:
        print(f"hoidap eval: {empty} passage(s) have no text once read as files; left out as ingest would",
              file=sys.stderr)
    return articles


def load_corpus(dataset, corpus_arg: str | None) -> tuple[list, dict]:
    """(articles, description) for the dataset: its own passages, or the --corpus folder for jsonl."""
    from app.config import SAMPLES_DIR
    from ingest.documents import load_articles

    if dataset.passages is not None:
        if corpus_arg:
            print(f"hoidap eval: --corpus is ignored: {dataset.format} datasets bring their own passages",
                  file=sys.stderr)
        articles = articles_from_passages(dataset.passages, dataset.path)
        if not articles:
            raise UsageError(f"{dataset.path}: the dataset has no passage with text")
        return articles, {"kind": "dataset passages", "path": dataset.path, "n_passages": len(articles)}
    path = Path(corpus_arg) if corpus_arg else SAMPLES_DIR
    if not path.exists():
        raise UsageError(f"--corpus {path}: no such file or folder")
    report = load_articles([path])
    for skipped, reason in report.skipped:
        print(f"hoidap eval: skipped {skipped}: {reason}", file=sys.stderr)
    if not report.articles:
        raise UsageError(f"--corpus {path}: no readable article")
    return report.articles, {"kind": "articles", "path": str(path), "n_articles": len(report.articles)}


def corpus_hash(articles) -> str:
    """Hash of what is indexed (ids, titles, cleaned text, metadata), not of file paths."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.doc_id):
        record = [article.doc_id, article.title, article.text, article.date, article.author, article.places]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    return digest.hexdigest()


def cache_key(*parts) -> str:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def _share_embedding_cache(folder: Path, data_dir: Path) -> None:
    """folder/cache → DATA_DIR/cache, so build_index's embedding cache is the data dir's shared one."""
    shared = (data_dir / "cache").resolve()
    shared.mkdir(parents=True, exist_ok=True)
    link = folder / "cache"
    if link.is_symlink() or link.exists():
        return
    try:
        link.symlink_to(shared, target_is_directory=True)
    except OSError:
        pass  # no symlinks here: build_index falls back to a private cache inside the folder


def ensure_index(data_dir: Path, articles, settings, embedder, chash: str) -> CorpusIndex:
    """The eval index for this corpus, settings and model: reused when cached, else built."""
    from index import tokenize
    from index.build import build_index, chunking_record, current_build
    from index.fusion import weights_for
    from ingest import textnorm

    weights = weights_for(embedder.info.name, settings)  # resolved: re-fitted weights rebuild
    key = cache_key(CACHE_FORMAT, chash, settings.to_dict(), embedder.info.to_dict(), tokenize.NAME,
                    textnorm.VERSION, chunking_record(settings, embedder.info.max_seq_length), weights.to_dict())
    folder = data_dir / EVAL_CACHE / key
    folder.mkdir(parents=True, exist_ok=True)
    build = current_build(folder)
    if build is not None:
        return CorpusIndex(folder, build.name, reused=True)
    _share_embedding_cache(folder, data_dir)
    print(f"hoidap eval: building the eval index in {folder} ({len(articles)} documents)…", file=sys.stderr)
    _, stats = build_index(folder, articles, settings, embedder, weights, progress=True)
    return CorpusIndex(folder, current_build(folder).name, reused=False, stats=stats)


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


def ask_naive(index, question: str, hits: list[Hit], retrieval_ms: float) -> Outcome:
    """The naive answerer (eval/naive.py) over passages already retrieved for the question; it never
    declines, so its sentence is the span, the reply and the claim alike."""
    started = time.perf_counter()
    chosen = naive.answer(question, [hit.text for hit in hits], index.document_frequency)
    answer_ms = (time.perf_counter() - started) * 1000
    found = bool(chosen.sentence)
    cited = hits[0].text if found else ""
    return Outcome(hits, chosen.sentence, chosen.sentence, chosen.sentence, found, cited, retrieval_ms, answer_ms,
                   retrieval_ms + answer_ms, confidence=chosen.confidence)


def retrieve_hits(index, question: str, mode: str) -> tuple[list[Hit], float]:
    """(ranked hits, milliseconds) straight from the index, for the naive answerer when hoidap's
    own run with that retriever was not asked for."""
    from ingest.textnorm import normalize_text

    started = time.perf_counter()
    passages = index.retrieve(normalize_text(question).strip(), k=DEPTH, mode=mode)
    elapsed = (time.perf_counter() - started) * 1000
    return [Hit(p.node_id, p.doc_id, p.title, p.text, float(p.score)) for p in passages], elapsed


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
            ask_naive(index, dataset.questions[0].question, [Hit(p.node_id, p.doc_id, p.title, p.text, p.score)
                                                             for p in rec.last], 0.0)
        for question in tqdm(dataset.questions, desc=f"{dataset.name} · {name}", unit="q", file=sys.stderr,
                             dynamic_ncols=True):
            asked = typed_as(question.question, queries, question.id)
            outcome = ask(svc, rec, asked, name)
            records.append(make_record(question, outcome, asked))
            if name == NAIVE_OVER:  # the very passages hoidap answered from
                naive_records.append(make_record(question, ask_naive(index, asked, outcome.hits,
                                                                     outcome.retrieval_ms), asked))
        results[name] = records
    if NAIVE_OVER not in retrievers:
        ask_naive(index, dataset.questions[0].question, retrieve_hits(index, dataset.questions[0].question,
                                                                      NAIVE_OVER)[0], 0.0)  # untimed warm-up
        for question in tqdm(dataset.questions, desc=f"{dataset.name} · {NAIVE}", unit="q", file=sys.stderr,
                             dynamic_ncols=True):
            asked = typed_as(question.question, queries, question.id)
            hits, retrieval_ms = retrieve_hits(index, asked, NAIVE_OVER)
            naive_records.append(make_record(question, ask_naive(index, asked, hits, retrieval_ms), asked))
    results[NAIVE] = naive_records

    manifest = index.manifest
    run_info = {
        "dataset": {"name": dataset.name, "path": str(Path(dataset.path).resolve()), "format": dataset.format,
                    "content_hash": dataset.content_hash, "n_questions": len(dataset.questions),
                    "n_answerable": sum(q.answerable for q in dataset.questions),
                    "limit": getattr(args, "limit", None)},
        "corpus": {**corpus_info, "hash": chash, "n_chunks": manifest.n_chunks},
        "retrievers": retrievers,
        "answerers": {"hoidap": "app.qa.QAService, one entry per retriever",
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
