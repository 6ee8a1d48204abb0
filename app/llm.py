"""Optional generated answers from an OpenAI-compatible server (vLLM, llama.cpp, Ollama, hosted APIs).

Goes through llama-index's OpenAILike client with a Vietnamese grounding prompt and numbered
passages, so answers cite [1] [2]. Guard: a figure in the generated answer that none of the cited
passages contains is flagged and the caller falls back to the extractive answer. Any server
failure (down, slow, garbage) raises LLMError with a message; never hangs past the timeout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.config import LLMSettings

SYSTEM_PROMPT = (
    "Bạn là trợ lý trả lời câu hỏi cho cán bộ chính quyền địa phương. Chỉ dùng thông tin trong các "
    "đoạn trích được đánh số. Trả lời ngắn gọn bằng tiếng Việt, giữ nguyên con số và đơn vị như trong "
    "đoạn trích, và ghi nguồn bằng số trong ngoặc vuông, ví dụ [1]. Nếu các đoạn trích không có thông "
    "tin để trả lời, hãy nói: \"Các bài viết hiện có không nêu thông tin này.\" Không được bịa số liệu."
)
CONDENSE_PROMPT = (
    "Viết lại câu hỏi cuối thành một câu hỏi đầy đủ, tự hiểu được mà không cần đọc hội thoại. "
    "Chỉ trả về câu hỏi.\n\nHội thoại:\n{history}\n\nCâu hỏi cuối: {question}\n\nCâu hỏi đầy đủ:"
)
_FIGURE = re.compile(r"\d+(?:[.,/]\d+)*")
_CITATION = re.compile(r"\[(\d+)\]")


class LLMError(Exception):
    """The language model could not give a usable answer; the message says why, in Vietnamese."""


def make_client(settings: LLMSettings):
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=settings.model or "default", api_base=settings.base_url.rstrip("/"), api_key=settings.api_key or "none",
        is_chat_model=True, timeout=settings.timeout_s, max_retries=0, temperature=0.0, max_tokens=400,
        context_window=8192,
    )


def build_messages(question: str, passages: list[dict]):
    from llama_index.core.llms import ChatMessage

    numbered = "\n\n".join(
        f"[{i}] {p.get('title', '')} ({p.get('date') or 'không rõ ngày'}):\n{p['text']}" for i, p in enumerate(passages, 1)
    )
    return [
        ChatMessage(role="system", content=SYSTEM_PROMPT),
        ChatMessage(role="user", content=f"Các đoạn trích:\n\n{numbered}\n\nCâu hỏi: {question}"),
    ]


def _describe(exc: Exception) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return "máy chủ mô hình ngôn ngữ trả lời quá chậm (timeout)"
    if "Connection" in name:
        return "không kết nối được máy chủ mô hình ngôn ngữ"
    return f"máy chủ mô hình ngôn ngữ báo lỗi ({name})"


def stream_answer(client, question: str, passages: list[dict]) -> Iterator[str]:
    """Yield the growing answer text; raises LLMError on any failure or an empty reply."""
    text = ""
    try:
        for chunk in client.stream_chat(build_messages(question, passages)):
            text += chunk.delta or ""
            yield text
    except Exception as exc:  # the client raises many transport types; all mean "no LLM answer"
        raise LLMError(_describe(exc)) from exc
    if not text.strip():
        raise LLMError("máy chủ mô hình ngôn ngữ trả về câu trả lời rỗng")


def condense(client, question: str, history: list[tuple[str, str]]) -> str:
    """The last question rewritten to stand alone, given (question, answer) turns."""
    if not history:
        return question
    lines = "\n".join(f"Hỏi: {q}\nĐáp: {a}" for q, a in history[-3:])
    try:
        reply = client.complete(CONDENSE_PROMPT.format(history=lines, question=question)).text.strip()
    except Exception as exc:
        raise LLMError(_describe(exc)) from exc
    return reply.splitlines()[0].strip() if reply else question


def unsupported_figures(answer: str, passages: list[dict]) -> list[str]:
    """Figures in the answer that appear in none of the passages it cites (all, if it cites none)."""
    cited = {int(n) for n in _CITATION.findall(answer)}
    chosen = [p for i, p in enumerate(passages, 1) if i in cited] or passages
    haystack = " ".join(p["text"] + " " + p.get("title", "") for p in chosen)
    known = set(_FIGURE.findall(haystack))
    plain = _CITATION.sub("", answer)
    return [f for f in _FIGURE.findall(plain) if f not in known and f.lstrip("0") not in {k.lstrip("0") for k in known}]
