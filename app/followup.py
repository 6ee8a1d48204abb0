"""Rule-based follow-up questions: "Còn Sông Mã thì sao?" becomes a standalone question.

Used by the chat when no language model is configured (the LLM condenses questions itself). Covers
the follow-ups officials type: another place, another year, and narrowing ("Trong đó …").
Leaves out anything needing real understanding; a question that stands alone is left unchanged.
"""

from __future__ import annotations

import re

from app.question import find_places, folded_syllables
from ingest.textnorm import fold_diacritics, normalize_text

_FOLLOW_CUES = (" thi sao", " the nao", "con ", "vay ", "trong do", "o do", "noi do", "cung ", "the con")
_YEAR = re.compile(r"\b(19|20)\d\d\b")
_UNITS = {"huyen", "xa", "tinh", "quan", "phuong"}


def _is_follow_up(question: str) -> bool:
    folded = " " + " ".join(folded_syllables(question)) + " "
    return any(cue in folded for cue in _FOLLOW_CUES) or len(folded.split()) <= 4


def _name_span(text: str, folded_name: str) -> str | None:
    """How a (folded) place name is written in text, with its unit word ("huyện Mai Sơn") if any."""
    words = list(re.finditer(r"[^\W\d_]+", text))
    size = len(folded_name.split())
    for i in range(len(words) - size + 1):
        window = words[i : i + size]
        if " ".join(folded_syllables(" ".join(w.group(0) for w in window))) == folded_name:
            start = window[0].start()
            if i > 0 and fold_diacritics(words[i - 1].group(0)).lower() in _UNITS:
                start = words[i - 1].start()
            return text[start : window[-1].end()]
    return None


def resolve(question: str, previous: str | None, known_places: list[str]) -> str:
    """The question made standalone using the previous (already standalone) question."""
    question = normalize_text(question).strip()
    if not previous or not _is_follow_up(question):
        return question
    new_places = find_places(question, known_places)
    old_places = find_places(previous, known_places)
    years = [m.group(0) for m in _YEAR.finditer(question)]
    if re.search(r"thì sao|thế nào|thi sao|the nao", question, re.IGNORECASE) and (new_places or years):
        rewritten = previous
        for new in new_places:
            span = _name_span(rewritten, old_places[0]) if old_places else None
            replacement = _name_span(question, new) or new
            rewritten = rewritten.replace(span, replacement, 1) if span else f"{replacement} {rewritten}"
        for year in years:
            old_year = _YEAR.search(rewritten)
            rewritten = rewritten.replace(old_year.group(0), year, 1) if old_year else f"Năm {year} {rewritten[0].lower()}{rewritten[1:]}"
        return rewritten
    if not new_places and old_places:
        # "Trong đó bao nhiêu sản phẩm 4 sao?" narrows the previous question: keep its subject.
        subject = previous.rstrip(" ?.")
        return f"{subject}, {question[0].lower()}{question[1:]}"
    return question
