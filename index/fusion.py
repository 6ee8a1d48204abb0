"""Score fusion: each retriever's evidence z-scored over its own top list, added with fitted weights.

Signals: BM25 over chunks, BM25 over whole articles (every chunk of an article shares its score),
dense similarity, and the question's closeness to a chunk's closest sentence (index/sentences.py).
Weights per embedding model come from `fusion_weights.json`, written by `hoidap fit-fusion` on the
shared benchmarks (data hashes, command, git SHA). How each signal is computed: index/retrieve.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ARTICLE_FIELD = "bm25_article"
ARTICLE_FIELD_FOLDED = "bm25_article_folded"
CHUNK_START = "article_chunk_start.npy"
WEIGHTS_FILE = Path(__file__).with_name("fusion_weights.json")
METHODS = ("zscore", "rrf")
SIGNALS = ("bm25", "article", "dense", "sentence")
# A model nobody fitted: its evidence counts as much as BM25's.
UNFITTED = {"dense": 1.0, "article": 0.0, "sentence": 0.0}


@dataclass(frozen=True)
class FusionWeights:
    method: str  # zscore | rrf (builds from before score fusion)
    dense: float
    article: float
    sentence: float = 0.0  # builds from before the sentence signal: 0
    adapter: str = ""  # sha256 of the query adapter the weights were fitted with; "" = none (index/query_adapter.py)

    def to_dict(self) -> dict:
        record = {"method": self.method, "dense": self.dense, "article": self.article, "sentence": self.sentence}
        return record | ({"adapter": self.adapter} if self.adapter else {})


@lru_cache(maxsize=1)
def fitted_weights() -> dict:
    """The artefact `hoidap fit-fusion` wrote ({} when missing: every model is then unfitted)."""
    try:
        return json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def weights_for(model_name: str, settings) -> FusionWeights:
    """The weights an index is built with: configured values win, then the fitted ones for the model
    (those fitted with its query adapter, or without one when `query_adapter` is off)."""
    fitted = fitted_weights().get("models", {}).get(model_name, UNFITTED)
    adapter = fitted.get("query_adapter", {}).get("sha256", "")
    if adapter and not settings.query_adapter:
        fitted, adapter = fitted.get("without_adapter", fitted), ""
    dense = settings.dense_weight if settings.dense_weight is not None else fitted.get("dense", UNFITTED["dense"])
    article = settings.article_weight if settings.article_weight is not None else fitted.get("article", 0.0)
    sentence = settings.sentence_weight if settings.sentence_weight is not None else fitted.get("sentence", 0.0)
    return FusionWeights(settings.fusion, float(dense), float(article), float(sentence),
                         adapter if settings.fusion == "zscore" else "")


def zscores(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """values standardised by the mean and spread of a retriever's top scores (zeros if they are flat)."""
    spread = float(reference.std()) if len(reference) else 0.0
    if spread < 1e-9:
        return np.zeros(len(values), dtype="float32")
    return ((values - float(reference.mean())) / spread).astype("float32")


def top_rows(scores: np.ndarray, depth: int) -> np.ndarray:
    """Rows of the `depth` highest positive scores, best first."""
    depth = min(depth, len(scores))
    if depth <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, depth - 1)[:depth] if depth < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return top[scores[top] > 0]


class ArticleFields:
    """The whole-article BM25 fields of a build and where each article's chunks are."""

    def __init__(self, folder: Path, load_bm25):
        self.accented = load_bm25(folder / ARTICLE_FIELD)
        self.folded = load_bm25(folder / ARTICLE_FIELD_FOLDED)
        self.chunk_start = np.load(folder / ARTICLE_FIELD / CHUNK_START)

    def article_of(self, rows: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.chunk_start, rows, side="right") - 1

    def chunk_rows(self, articles: np.ndarray) -> np.ndarray:
        if not len(articles):
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(self.chunk_start[a], self.chunk_start[a + 1]) for a in articles])


def save_article_fields(folder: Path, article_tokens, folded_tokens, chunk_counts: list[int]) -> None:
    """Write both article fields (token lists per article, in chunk order) and the chunk offsets."""
    from index.bm25index import bm25_from_tokens

    for name, docs in ((ARTICLE_FIELD, article_tokens), (ARTICLE_FIELD_FOLDED, folded_tokens)):
        bm25_from_tokens(docs).save(str(folder / name), show_progress=False)
    np.save(folder / ARTICLE_FIELD / CHUNK_START, np.concatenate([[0], np.cumsum(chunk_counts)]).astype(np.int64))


@dataclass
class Signal:
    """One retriever's evidence for the fusion: values for any chunk rows, its candidate rows (best
    first), and the top scores that standardise it."""

    name: str  # one of SIGNALS
    share: float  # of its name's evidence (a query searched in two BM25 fields gives each half)
    values: object  # rows -> scores
    candidates: np.ndarray
    reference: np.ndarray | None  # None: the top `reference_depth` of its values over all candidates
    rank_map: object = None  # () -> {row: rank}; default: position among the candidates
    reference_depth: int = 0

    def ranks(self) -> dict[int, int]:
        if self.rank_map is not None:
            return self.rank_map()
        return {int(row): rank for rank, row in enumerate(self.candidates, 1)}


def standardise(signals: list[Signal]) -> tuple[np.ndarray, dict[str, np.ndarray], dict[int, dict]]:
    """(candidate rows, z-scored evidence per signal name over those rows, {row: {name: rank}})."""
    candidates = [signal.candidates for signal in signals if len(signal.candidates)]
    if not candidates:
        return np.zeros(0, dtype=np.int64), {}, {}
    rows = np.unique(np.concatenate(candidates))
    z: dict[str, np.ndarray] = {}
    ranks: dict[int, dict] = {}
    for signal in signals:
        values = signal.values(rows)
        reference = signal.reference
        if reference is None:
            reference = np.sort(values)[::-1][: signal.reference_depth]
        z[signal.name] = z.get(signal.name, 0.0) + signal.share * zscores(values, reference)
        for row, rank in signal.ranks().items():
            ranks.setdefault(row, {}).setdefault(signal.name, rank)
    return rows, z, ranks


def fuse(rankings: dict[str, tuple[float, list[tuple[str, float]]]], rrf_k: int) -> list[tuple[str, float, dict]]:
    """Weighted reciprocal rank fusion; a single ranking keeps its own order and scores."""
    active = {name: r for name, r in rankings.items() if r[0] > 0}
    if len(active) == 1:
        name, (_, ranking) = next(iter(active.items()))
        return [(node_id, score, {name: rank}) for rank, (node_id, score) in enumerate(ranking, 1)]
    scores: dict[str, float] = {}
    ranks: dict[str, dict] = {}
    for name, (weight, ranking) in active.items():
        for rank, (node_id, _) in enumerate(ranking, 1):
            scores[node_id] = scores.get(node_id, 0.0) + weight / (rrf_k + rank)
            ranks.setdefault(node_id, {})[name] = rank
    ordered = sorted(scores, key=lambda n: -scores[n])
    return [(n, round(scores[n], 6), ranks[n]) for n in ordered]
