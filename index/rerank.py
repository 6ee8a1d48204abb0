"""Optional cross-encoder reranking: re-score the fused candidates as (question, passage) pairs.

Off by default (RetrievalSettings.rerank_model is empty). The model is a sentence-transformers
CrossEncoder from a local folder, the Hugging Face cache or the hub (e.g. BAAI/bge-reranker-v2-m3,
a multilingual reranker that reads Vietnamese). A configured model that cannot be loaded turns
reranking off with a warning: answers still come, ranked by the fusion, and the label says so.
"""

from __future__ import annotations

import logging

from index.embed import ModelUnavailable, _open_model

log = logging.getLogger(__name__)


class Reranker:
    def __init__(self, model, name: str, depth: int):
        self.model = model  # a sentence_transformers.CrossEncoder
        self.name = name
        self.depth = depth

    def rerank(self, query: str, passages: list) -> list:
        """The first `depth` passages re-ordered by the cross-encoder (score = its score, rank in
        ranks["rerank"]); the rest keep their fused order behind them."""
        head, tail = passages[: self.depth], passages[self.depth:]
        if not head:
            return passages
        # The title is part of the passage's context, as it is in every indexed chunk.
        pairs = [(query, f"{p.title}\n{p.text}" if p.title and not p.text.startswith(p.title) else p.text)
                 for p in head]
        scores = self.model.predict(pairs, batch_size=16, show_progress_bar=False)
        order = sorted(range(len(head)), key=lambda i: -float(scores[i]))
        for rank, i in enumerate(order, 1):
            head[i].score = round(float(scores[i]), 6)
            head[i].ranks["rerank"] = rank
        return [head[i] for i in order] + tail


def load_reranker(name_or_path: str, depth: int, device: str = "cpu") -> Reranker | None:
    """The configured cross-encoder, or None (with a warning) when it is not set or not available."""
    if not name_or_path:
        return None
    from sentence_transformers import CrossEncoder

    try:
        model = _open_model(name_or_path, device, factory=CrossEncoder)
    except ModelUnavailable as exc:
        log.warning("Không tải được mô hình xếp hạng lại '%s': bỏ qua bước xếp hạng lại (%s)", name_or_path, exc)
        return None
    return Reranker(model, name_or_path, depth)
