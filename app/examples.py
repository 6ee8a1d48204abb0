"""Example questions drawn from the loaded articles, each one checked by answering it first.

A figure stated in an article ("toàn huyện có 181 HTX") becomes "Mai Sơn có bao nhiêu HTX?", with
the article's first place name; a question is offered only if the service answers it with that
figure. Questions typed without diacritics are shown too, since officials type them that way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ingest.textnorm import fold_diacritics

# "có 181 HTX", "đạt 12/19 tiêu chí": a verb, a count, then a short noun phrase.
_FIGURE = re.compile(r"\b(?:có|đạt|gồm)\s+(\d+(?:[.,]\d+)*)\s+((?:[^\W\d_]+\s?){1,3})", re.UNICODE)
# Amounts and units make odd questions ("có bao nhiêu tỷ đồng?"): such figures are skipped.
_UNITS = {"tỷ", "triệu", "nghìn", "ngàn", "đồng", "ha", "km", "tấn", "lượt", "năm", "tháng", "ngày", "lần", "người", "kg"}
FALLBACK = [
    "Mai Sơn có bao nhiêu sản phẩm OCOP?",
    "Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?",
    "Tà Tổng có bao nhiêu đảng viên?",
    "Mai Son co bao nhieu san pham OCOP?",
]


def _noun(phrase: str) -> str:
    """The first word of the phrase (pyvi segmentation, so "đảng viên sinh hoạt" → "đảng viên")."""
    from pyvi import ViTokenizer

    words = ViTokenizer.tokenize(phrase.strip()).split()
    if not words or words[0].split("_")[0].lower() in _UNITS:
        return ""
    return words[0].replace("_", " ")


def candidates(service, per_article: int = 2) -> Iterator[tuple[str, str]]:
    """(question, figure it must be answered with), a few per article, newest articles first. A
    generator: start-up reads only the chunks it needs, however large the index."""
    index = service.index
    documents = index.manifest.documents
    for doc_id in sorted(documents, key=lambda d: documents[d].get("date") or "", reverse=True):
        places = documents[doc_id].get("places") or []
        found = 0
        for i in range(documents[doc_id].get("chunks", 0) if places else 0):
            text = index.docstore.get_node(f"{doc_id}#{i}").get_content()  # node ids as index/build.py makes them
            for match in _FIGURE.finditer(text):
                noun = _noun(match.group(2))
                if noun and found < per_article:
                    place = places[0][:1].upper() + places[0][1:]
                    yield f"{place} có bao nhiêu {noun}?", match.group(1)
                    found += 1
            if found >= per_article:
                break


def example_questions(service, limit: int = 4) -> list[str]:
    """Questions about the loaded articles that the service answers with the stated figure; one of
    them also typed without diacritics. The fixed samples' questions when none qualifies."""
    chosen: list[str] = []
    seen_docs: set[str] = set()
    for question, figure in candidates(service):
        try:
            result = service.ask(question)
        except Exception:  # an example is a nicety: a question that fails is just not offered
            continue
        doc_id = next((s["doc_id"] for s in result.get("sources") or [] if s.get("cited")), "")
        if result.get("found") and figure in result.get("span", result["answer"]) and doc_id not in seen_docs:
            chosen.append(question)
            seen_docs.add(doc_id)
        if len(chosen) >= limit - 1:
            break
    if not chosen:
        return list(FALLBACK)
    return chosen + [fold_diacritics(chosen[0])]
