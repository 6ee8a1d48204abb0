"""Question → retrieval → answer, as the JSON object of the contract. No UI code here.

`QAService` is composed once per process (embedder + index) and shared by the CLI, the web app
and eval. Bad questions raise BadQuestion with a Vietnamese message; the service never guesses.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from app import answer, followup
from app import question as qparse
from app.answer_model import reads_sentence_scores
from app.candidates import passage_inputs
from app.config import Settings
from app.filters import NO_MATCH
from ingest.textnorm import normalize_text

log = logging.getLogger(__name__)


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
        self._llm = None
        self._swap = threading.Lock()

    def reader(self):
        """The reader (app/reader.py) when the settings use it, built once per process."""
        if not self.settings.reader:
            return None
        from app.reader import load_reader

        return load_reader(self.settings.reader_weights or None, self.settings.reader_backend)

    def reload(self) -> None:
        """Open the build CURRENT now points to and swap it in; questions already running keep the
        index they started with (its files stay readable: FAISS is in memory; the passage store's
        open SQLite file and BM25's memory maps outlive the old folder's deletion)."""
        from index.retrieve import open_index

        with self._swap:
            fresh = open_index(self.settings.data_dir, self.embedder, self.settings.index, self.settings.retrieval,
                               reranker=self.index.reranker)
            places = sorted({p for d in fresh.manifest.documents.values() for p in d.get("places", [])})
            self.index, self.known_places = fresh, places

    def follow_current(self) -> bool:
        """Reload when another process (e.g. `hoidap ingest`) made a new build current; True if it did."""
        from index.build import current_build

        folder = current_build(self.settings.data_dir)
        if folder is None or folder == self.index.folder:
            return False
        try:
            self.reload()
        except Exception:  # an index this process cannot open: keep answering from the one it has
            log.exception("could not open the new index %s", folder)
            return False
        return True

    @property
    def documents(self) -> dict[str, dict]:
        """The loaded index's per-document records (title, date, chunks, places, source)."""
        return self.index.manifest.documents

    @classmethod
    def open(cls, settings: Settings) -> QAService:
        """Open the index under settings.data_dir; the embedding model loads when a query needs it."""
        from index.embed import deferred_embedder
        from index.retrieve import open_index, read_manifest

        manifest = read_manifest(settings.data_dir, settings.index)
        embedder = deferred_embedder(manifest.embed_model, settings.index)
        return cls(settings, embedder, open_index(settings.data_dir, embedder, settings.index, settings.retrieval))

    @property
    def model_label(self) -> str:
        label = self.embedder.info.name
        if self.index.reranker is not None:
            label += f" + xếp hạng lại {self.index.reranker.name}"
        if self.settings.llm.base_url and self.settings.llm.model:
            label += f" + LLM {self.settings.llm.model}"
        return label

    @property
    def n_documents(self) -> int:
        return len(self.index.manifest.documents)

    @property
    def llm(self):
        """The OpenAI-compatible client when one is configured, else None."""
        if self._llm is None and self.settings.llm.base_url:
            from app.llm import make_client

            self._llm = make_client(self.settings.llm)
        return self._llm

    def standalone(self, text: str, history: list[tuple[str, str]]) -> str:
        """A follow-up made standalone: by the LLM when there is one, else by rules."""
        if not history:
            return text
        if self.llm is not None:
            from app.llm import LLMError, condense

            try:
                return condense(self.llm, text, history)
            except LLMError:
                pass  # the rules below still understand the common follow-ups
        return followup.resolve(text, history[-1][0], self.known_places)

    def ask(self, text: str, k: int | None = None, mode: str = "hybrid", doc_ids: set[str] | None = None,
            timings: Timings | None = None) -> dict:
        """The contract's answer object for one question (generated when an LLM is configured)."""
        result = None
        for result in self.ask_stream(text, k=k, mode=mode, doc_ids=doc_ids, timings=timings):
            pass
        return result

    def ask_stream(self, text: str, history: list[tuple[str, str]] | None = None, k: int | None = None,
                   mode: str = "hybrid", doc_ids: set[str] | None = None, timings: Timings | None = None):
        """Yield the answer object as it grows (LLM streaming); the last one is final.

        `history` holds earlier (standalone question, answer) turns of a conversation.
        """
        question = check_question(text, self.settings.max_question_chars)
        index, places = self.index, self.known_places  # one index for the whole question, even if swapped
        question = self.standalone(question, history or [])
        if doc_ids is not None and not doc_ids:
            yield {"question": text, "answer": NO_MATCH, "found": False, "sources": [], "model": self.model_label,
                   "span": "", "confidence": 0.0}
            return
        k = k or self.settings.top_k
        t0 = time.perf_counter()
        passages = index.retrieve(question, k=max(k, 5), mode=mode, doc_ids=doc_ids)
        t1 = time.perf_counter()
        parsed = qparse.parse(question, places, index.document_frequency)
        plain = passage_inputs(passages, reads_sentence_scores(index.manifest.embed_model.get("name", "")))
        # Answers come from the top passages users see, however many sources the caller wants listed.
        extracted = answer.extract(parsed, plain[: max(self.settings.top_k, 5)], reader=self.reader())
        t2 = time.perf_counter()
        if timings is not None:
            timings.retrieval_ms = (t1 - t0) * 1000
            timings.answer_ms = (t2 - t1) * 1000
        sources = [
            {
                "doc_id": p.doc_id, "node_id": p.node_id, "title": p.title, "text": p.text, "score": round(p.score, 4),
                "date": p.metadata.get("date", ""), "source": p.metadata.get("source", ""),
                "url": p.metadata.get("url", ""),
                "highlight": extracted.clause if i == extracted.passage_index else "",
                "cited": extracted.found and i == extracted.passage_index,
            }
            for i, p in enumerate(passages)
        ]
        result = {"question": text, "answer": extracted.text, "found": extracted.found, "sources": sources,
                  "model": self.model_label, "span": extracted.span, "confidence": extracted.confidence}
        if question != text:
            result["standalone_question"] = question
        if self.llm is not None:
            yield from self._generate(result, question, plain, k)
            return
        # Sources stay in retrieval order, the answering one flagged "cited". Moving it first measured
        # worse once retrieval fused e5 with article BM25: alqac-legal R@1 0.896 → 0.885 and MRR@10
        # 0.932 → 0.927 when moved for questions naming a place, and the gold set's R@1 is 1.000 either way.
        result["sources"] = sources[:k]
        yield result

    def _generate(self, extractive: dict, question: str, passages: list[dict], k: int):
        """Stream the LLM's answer; fall back to the extractive one on failure or invented figures.

        The extractive answer's confidence (the reader's when it is on) decides refusals here too: below
        its threshold the passages are taken not to hold the answer, and the LLM is not asked to find one."""
        from app.llm import LLMError, stream_answer, unsupported_figures

        if not extractive["found"]:
            yield dict(extractive, sources=extractive["sources"][:k])
            return
        shown = passages[: max(k, 5)]
        result = dict(extractive, sources=extractive["sources"][: len(shown)])
        text = ""
        try:
            for text in stream_answer(self.llm, question, shown):
                yield dict(result, answer=text, found=True, partial=True)
        except LLMError as exc:
            yield dict(extractive, sources=extractive["sources"][:k],
                       llm_note=f"Không dùng được mô hình ngôn ngữ: {exc}. Câu trả lời dưới đây được trích trực tiếp.")
            return
        invented = unsupported_figures(text, shown)
        if invented:
            yield dict(extractive, sources=extractive["sources"][:k],
                       llm_note=f"Câu trả lời sinh ra có số liệu không có trong nguồn ({', '.join(invented)}); "
                                "hiển thị câu trả lời trích trực tiếp thay thế.")
            return
        declined = "không nêu thông tin" in text
        yield dict(result, answer=text, found=not declined, span="" if declined else text)
