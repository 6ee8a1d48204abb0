"""`hoidap fit-fusion`: fit the query adapter and the fusion weights (dense, whole-article BM25, closest
sentence) for the model, on the shared benchmarks indexed as `hoidap eval` indexes them.

Signals come from the index's own code (LoadedIndex.signals), read through an adapter fitted without
the question's fold (folds group questions by article), so the grid search chooses weights on signals
no adapter saw. The artefacts record the data hashes, the command and the git SHA.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from eval.runinfo import _now, git_sha

DEFAULT_SETS = ("vinewsqa-dev", "alqac-legal", "zalo-qa/zalo_qa_squad2.json")
DENSE_GRID = tuple(round(x, 2) for x in np.arange(0.0, 1.61, 0.1))
ARTICLE_GRID = tuple(round(x, 2) for x in np.arange(0.0, 1.51, 0.1))
SENTENCE_GRID = tuple(round(x, 2) for x in np.arange(0.0, 3.01, 0.25))
FOLDS = 5
DEPTH = 50  # what LoadedIndex.retrieve standardises over


def question_signals(index, question: str) -> tuple[list[str], np.ndarray]:
    """(doc id of each candidate chunk, z-scored evidence per signal: rows × SIGNALS)."""
    from index.fusion import SIGNALS, standardise

    forms = index.query_forms(question)
    model_query = " ".join(forms.restored) if forms.restored else question
    rows, z, _ = standardise(index.signals(question, model_query, DEPTH, SIGNALS, forms=forms))
    matrix = np.zeros((len(rows), len(SIGNALS)), dtype="float32")
    for j, name in enumerate(SIGNALS):
        if name in z:
            matrix[:, j] = z[name]
    return [index.node_ids[r].rsplit("#", 1)[0] for r in rows], matrix


def ranking_metrics(docs: list[str], scores: np.ndarray, relevant: set[str], k: int = 10) -> tuple[float, float]:
    """(MRR@k, recall@k) of the article ranking the chunk scores give (first chunk of an article counts)."""
    seen: list[str] = []
    for i in np.argsort(-scores, kind="stable"):
        if docs[i] not in seen:
            seen.append(docs[i])
            if len(seen) == k:
                break
    hits = [d in relevant for d in seen]
    mrr = next((1.0 / (n + 1) for n, hit in enumerate(hits) if hit), 0.0)
    return mrr, sum(hits) / max(1, len(relevant))


def grid_scores(items, grid) -> np.ndarray:
    """items: (docs, matrix, relevant) per question; grid: (dense, article, sentence) weights →
    (len(grid), questions, 2) MRR@10 and R@10, every grid point at once (same figures as ranking_metrics:
    an article ranks by its best chunk, ties in chunk-row order, which is doc-id order)."""
    weights = np.array([[1.0, article, dense, sentence] for dense, article, sentence in grid], dtype="float32").T
    out = np.zeros((len(grid), len(items), 2))
    for q, (docs, matrix, relevant) in enumerate(items):
        if not len(docs):
            continue
        names, doc_of = np.unique(np.asarray(docs), return_inverse=True)
        best = np.full((len(names), len(grid)), -np.inf, dtype="float32")
        np.maximum.at(best, doc_of, matrix[:, : weights.shape[0]] @ weights)
        first = np.full(len(grid), np.inf)
        found = np.zeros(len(grid))
        for j in np.flatnonzero(np.isin(names, list(relevant))):
            rank = 1 + (best > best[j]).sum(0) + (best[:j] == best[j]).sum(0)
            first = np.minimum(first, rank)
            found += rank <= 10
        out[:, q, 0] = np.where(first <= 10, 1.0 / first, 0.0)
        out[:, q, 1] = found / max(1, len(relevant))
    return out


def fit(per_set: dict[str, np.ndarray], grid) -> int:
    """The grid point with the best mean (over datasets) MRR@10."""
    means = np.mean([scores[:, :, 0].mean(axis=1) for scores in per_set.values()], axis=0)
    return int(np.argmax(means))


def cross_validate(per_set: dict[str, np.ndarray], grid, fold_of: dict[str, np.ndarray], folds: int = FOLDS) -> dict:
    """Held-out MRR@10/R@10 per dataset: weights fitted on the other folds of every dataset."""
    held = {name: np.zeros((scores.shape[1], 2)) for name, scores in per_set.items()}
    chosen = []
    for fold in range(folds):
        best = fit({n: s[:, fold_of[n] != fold] for n, s in per_set.items()}, grid)
        chosen.append(grid[best])
        for name, scores in per_set.items():
            held[name][fold_of[name] == fold] = scores[best, fold_of[name] == fold]
    return {"per_dataset": {n: {"mrr@10": round(float(h[:, 0].mean()), 4), "recall@10": round(float(h[:, 1].mean()), 4)}
                            for n, h in held.items()},
            "weights_per_fold": [{"dense": d, "article": a, "sentence": w} for d, a, w in chosen]}


def load_set(path: Path, settings, embedder, data_dir: Path):
    """The dataset's questions with relevance and its eval index (built if not cached)."""
    from eval.datasets import load_dataset
    from eval.corpus import corpus_hash, ensure_index, load_corpus
    from index.retrieve import open_index

    dataset = load_dataset(path)
    articles, _ = load_corpus(dataset, None)
    built = ensure_index(data_dir, articles, settings.index, embedder, corpus_hash(articles))
    index = open_index(built.folder, embedder, settings.index, settings.retrieval)
    return dataset, index


def fitted_record(per_set: dict[str, np.ndarray], grid, fold_of) -> dict:
    """The best weights on these signals, their figures, the BM25-only and sentence-less rows, and CV."""
    def at(point):
        g = grid.index(point)
        return {n: {"mrr@10": round(float(s[g, :, 0].mean()), 4), "recall@10": round(float(s[g, :, 1].mean()), 4)}
                for n, s in per_set.items()}

    dense, article, sentence = grid[fit(per_set, grid)]
    return {"dense": dense, "article": article, "sentence": sentence,
            "in_sample": at((dense, article, sentence)),
            "bm25_chunks_only": at((0.0, 0.0, 0.0)),
            "without_sentence": at(max((p for p in grid if p[2] == 0.0),
                                       key=lambda p: np.mean([s[grid.index(p), :, 0].mean() for s in per_set.values()]))),
            "cross_validated": cross_validate(per_set, grid, fold_of)}


def main(args) -> int:
    from tqdm import tqdm

    from app.config import load_settings
    from eval.fit_adapter import RECIPE, adapter_set, article_folds, train_adapter
    from index.embed import embedder_for, sha256_file
    from index.fusion import WEIGHTS_FILE
    from index.query_adapter import ADAPTER_FILE

    started, sha = _now(), git_sha(Path(__file__).resolve().parent.parent)
    settings = load_settings(getattr(args, "data_dir", None), getattr(args, "config", None))
    embedder = embedder_for(settings.index)
    root = Path(args.benchmarks)
    grid = [(d, a, w) for d in DENSE_GRID for a in ARTICLE_GRID for w in SENTENCE_GRID]
    loaded, hashes, vectors, fold_of = {}, {}, {}, {}
    t0 = time.perf_counter()
    for name in args.sets:
        path = root / name
        dataset, index = load_set(path, settings, embedder, Path(settings.data_dir))
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
        hashes[name] = {f.name: sha256_file(f) for f in files}
        questions = [q for q in dataset.questions if q.relevant_ids]
        index.query_adapter = None  # the model's own vectors; the adapters below are set per question
        loaded[name] = (index, questions)
        vectors[name] = adapter_set(index, questions)
        fold_of[name] = article_folds([q.relevant_ids for q in questions], FOLDS)

    def signals(label: str, adapter_of) -> dict[str, np.ndarray]:
        per_set = {}
        for name, (index, questions) in loaded.items():
            items = []
            for i, question in enumerate(tqdm(questions, desc=f"{name} · {label}", unit="q", file=sys.stderr)):
                index.query_adapter = adapter_of(name, i)
                docs, matrix = question_signals(index, question.question)
                items.append((docs, matrix, set(question.relevant_ids)))
            per_set[name] = grid_scores(items, grid)
        return per_set

    without = signals("signals", lambda name, i: None)
    every = {name: np.ones(len(questions), dtype=bool) for name, (_, questions) in loaded.items()}
    adapters = []
    for fold in tqdm(range(FOLDS), desc="query adapter · folds", file=sys.stderr):
        adapters.append(train_adapter(vectors, {n: fold_of[n] != fold for n in loaded}))
    held_out = signals("signals through the other folds' adapter", lambda name, i: adapters[fold_of[name][i]])
    adapter = train_adapter(vectors, every)
    out = Path(args.out) if args.out else WEIGHTS_FILE
    adapter.save(out.with_name(ADAPTER_FILE))
    record = fitted_record(held_out, grid, fold_of) | {
        "query_adapter": {"file": ADAPTER_FILE, "sha256": adapter.sha256, "recipe": RECIPE,
                          "questions": {n: int(m.sum()) for n, m in every.items()}},
        "without_adapter": fitted_record(without, grid, fold_of),
        "fitted_on": hashes,
        "objective": "mean over datasets of article-level MRR@10 (grid search) on signals read through an "
                     "adapter fitted without the question's fold; folds group questions by relevant article",
        "grid": {"dense": list(DENSE_GRID), "article": list(ARTICLE_GRID), "sentence": list(SENTENCE_GRID)},
        "embedding_model": embedder.info.to_dict(),
        "command": " ".join(["hoidap", *sys.argv[1:]]),
        "git_sha": sha, "started_at": started, "finished_at": _now(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    artefact = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    artefact.setdefault("method", "zscore")
    artefact.setdefault("models", {})[embedder.info.name] = record
    out.write_text(json.dumps(artefact, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    summary = {k: record[k] for k in ("dense", "article", "sentence", "in_sample", "cross_validated")}
    summary["without_adapter"] = {k: record["without_adapter"][k] for k in ("dense", "article", "sentence",
                                                                            "cross_validated")}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    print(f"hoidap fit-fusion: wrote {out} and {out.with_name(ADAPTER_FILE)}", file=sys.stderr)
    return 0
