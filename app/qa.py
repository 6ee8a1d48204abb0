"""Question → retrieval → answer, as the JSON object of the contract. No UI code here.

`QAService` is composed once per process (embedder + index) and shared by the CLI, the web app
and eval. Bad questions raise BadQuestion with a Vietnamese message; the service never guesses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app import answer, question as qparse
from app.config import Settings
from ingest.textnorm import normalize_text


class BadQuestion(ValueError):
    """The question cannot be asked as given (empty, too long)."""


@dataclass
class Timings:
    retrieval_ms: float = 0.0
    answer_ms: float = 0.0


def check_question(text: str, max_chars: int) -> str:
    text = normalize_text(text or "").strip()
    if not text:
        raise BadQuestion("Câu hỏi trống: hãy nhập một câu hỏi (empty question).")
    if len(text) > max_chars:
        raise BadQuestion(
            f"Câu hỏi quá dài ({len(text)} ký tự, tối đa {max_chars}): hãy hỏi ngắn gọn hơn (question too long)."
        )
    return text


class QAService:
    def __init__(self, settings: Settings, embedder, index):
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.known_places = sorted({p for d in index.manifest.documents.values() for p in d.get("places", [])})

    @classmethod
    def open(cls, settings: Settings) -> "QAService":
        from index.embed import load_embedder
        from index.retrieve import open_index

        s = settings.index
        embedder = load_embedder(s.embed_model, backend=s.embed_backend, query_prompt=s.query_prompt,
                                 passage_prompt=s.passage_prompt)
        return cls(settings, embedder, open_index(settings.data_dir, embedder, s))

    @property
    def model_label(self) -> str:
        label = self.embedder.info.name
        if self.settings.llm.base_url and self.settings.llm.model:
            label += f" + LLM {self.settings.llm.model}"
        return label

    @property
    def n_documents(self) -> int:
        return len(self.index.manifest.documents)

    def ask(self, text: str, k: int | None = None, mode: str = "hybrid", doc_ids: set[str] | None = None,
            timings: Timings | None = None) -> dict:
        """The contract's answer object for one question."""
        q = check_question(text, self.settings.max_question_chars)
        k = k or self.settings.top_k
        t0 = time.perf_counter()
        passages = self.index.retrieve(q, k=max(k, 5), mode=mode, doc_ids=doc_ids)
        t1 = time.perf_counter()
        parsed = qparse.parse(q, self.known_places, self.index.document_frequency)
        plain = [{"text": p.text, "title": p.title, "date": p.metadata.get("date", "")} for p in passages]
        extracted = answer.extract(parsed, plain)
        t2 = time.perf_counter()
        if timings is not None:
            timings.retrieval_ms = (t1 - t0) * 1000
            timings.answer_ms = (t2 - t1) * 1000
        sources = [
            {
                "doc_id": p.doc_id, "title": p.title, "text": p.text, "score": round(p.score, 4),
                "date": p.metadata.get("date", ""), "source": p.metadata.get("source", ""),
                "highlight": extracted.sentence if i == extracted.passage_index else "",
            }
            for i, p in enumerate(passages)
        ]
        if extracted.found and extracted.passage_index > 0:
            # The cited passage goes first: the reader checks the answer against it.
            sources.insert(0, sources.pop(extracted.passage_index))
        return {
            "question": text,
            "answer": extracted.text,
            "found": extracted.found,
            "sources": sources[: max(k, 1)] if not extracted.found or extracted.passage_index < k else sources,
            "model": self.model_label,
        }
