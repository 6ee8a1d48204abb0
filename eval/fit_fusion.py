"""`hoidap fit-fusion`: fit the fusion weights (dense, whole-article BM25, closest sentence) for the model.

Each shared benchmark is indexed as `hoidap eval` indexes it (same cache), every question's fusion
signals come from the index's own code (LoadedIndex.signals), and a grid search picks the weights
with the best mean MRR@10 over the datasets. 5-fold cross-validation reports held-out figures.
The weights go into index/fusion_weights.json with the data hashes, the command and the git SHA.
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
ARTICLE_GRID = tuple(round(x, 2) for x in np.arange(0.0, 1.01, 0.1))
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


def cross_validate(per_set: dict[str, np.ndarray], grid, folds: int = FOLDS) -> dict:
    """Held-out MRR@10/R@10 per dataset: weights fitted on the other folds of every dataset."""
    held = {name: np.zeros((scores.shape[1], 2)) for name, scores in per_set.items()}
    chosen = []
    for fold in range(folds):
        train = {n: s[:, [q for q in range(s.shape[1]) if q % folds != fold]] for n, s in per_set.items()}
        best = fit(train, grid)
        chosen.append(grid[best])
        for name, scores in per_set.items():
            test = [q for q in range(scores.shape[1]) if q % folds == fold]
            held[name][test] = scores[best, test]
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


def main(args) -> int:
    from tqdm import tqdm

    from app.config import load_settings
    from index.embed import embedder_for, sha256_file
    from index.fusion import WEIGHTS_FILE

    started, sha = _now(), git_sha(Path(__file__).resolve().parent.parent)
    settings = load_settings(getattr(args, "data_dir", None), getattr(args, "config", None))
    embedder = embedder_for(settings.index)
    root = Path(args.benchmarks)
    grid = [(d, a, w) for d in DENSE_GRID for a in ARTICLE_GRID for w in SENTENCE_GRID]
    per_set, hashes = {}, {}
    t0 = time.perf_counter()
    for name in args.sets:
        path = root / name
        dataset, index = load_set(path, settings, embedder, Path(settings.data_dir))
        files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
        hashes[name] = {f.name: sha256_file(f) for f in files}
        items = []
        for question in tqdm(dataset.questions, desc=f"{name} · signals", unit="q", file=sys.stderr):
            if question.relevant_ids:
                docs, matrix = question_signals(index, question.question)
                items.append((docs, matrix, set(question.relevant_ids)))
        per_set[name] = grid_scores(items, grid)
        print(f"hoidap fit-fusion: {name}: {len(items)} questions", file=sys.stderr)
    best = fit(per_set, grid)
    dense, article, sentence = grid[best]

    def at(point):
        g = grid.index(point)
        return {n: {"mrr@10": round(float(s[g, :, 0].mean()), 4), "recall@10": round(float(s[g, :, 1].mean()), 4)}
                for n, s in per_set.items()}

    record = {
        "dense": dense, "article": article, "sentence": sentence,
        "fitted_on": hashes,
        "in_sample": at((dense, article, sentence)),
        "bm25_chunks_only": at((0.0, 0.0, 0.0)),
        "without_sentence": at(max((p for p in grid if p[2] == 0.0),
                                   key=lambda p: np.mean([s[grid.index(p), :, 0].mean() for s in per_set.values()]))),
        "cross_validated": cross_validate(per_set, grid),
        "objective": "mean over datasets of article-level MRR@10 (grid search)",
        "grid": {"dense": list(DENSE_GRID), "article": list(ARTICLE_GRID), "sentence": list(SENTENCE_GRID)},
        "embedding_model": embedder.info.to_dict(),
        "command": " ".join(["hoidap", *sys.argv[1:]]),
        "git_sha": sha, "started_at": started, "finished_at": _now(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = Path(args.out) if args.out else WEIGHTS_FILE
    artefact = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    artefact.setdefault("method", "zscore")
    artefact.setdefault("models", {})[embedder.info.name] = record
    out.write_text(json.dumps(artefact, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: record[k] for k in ("dense", "article", "sentence", "in_sample", "bm25_chunks_only",
                                             "without_sentence", "cross_validated")},
                     ensure_ascii=False, indent=1))
    print(f"hoidap fit-fusion: wrote {out}", file=sys.stderr)
    return 0
