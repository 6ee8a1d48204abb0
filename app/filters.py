"""Question filters: some articles, a place, a date range → the set of doc_ids retrieval may use.

Works on the index manifest's per-document records (title, date, places), so no text is read at
question time. An article without a date is left out whenever a date range is given: nothing says
it falls inside. Bad dates raise BadFilter with a Vietnamese message.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date

from ingest.textnorm import normalize_text

NO_MATCH = ("Không có bài viết nào khớp bộ lọc đã chọn (bài viết, địa danh, khoảng thời gian). "
            "Hãy nới rộng bộ lọc rồi hỏi lại.")


class BadFilter(ValueError):
    """A filter value that cannot be understood (e.g. an impossible date)."""


@dataclass
class Filter:
    doc_ids: list[str] = field(default_factory=list)  # empty = every article
    place: str = ""  # one of the manifest's place names; "" = anywhere
    date_from: str = ""  # ISO yyyy-mm-dd or dd/mm/yyyy; "" = open
    date_to: str = ""

    @property
    def active(self) -> bool:
        return bool(self.doc_ids or self.place.strip() or self.date_from.strip() or self.date_to.strip())

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v}


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def parse_date(text: str, what: str) -> date | None:
    """'2023-06-04', '4/6/2023' or '' (→ None); anything else raises BadFilter."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        match = _DMY.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BadFilter(f"Ngày {what} không hợp lệ: “{text}”. Hãy viết theo dạng 2023-06-04 hoặc 04/06/2023.") from None


def _article_date(value: str) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _same_place(a: str, b: str) -> bool:
    return normalize_text(a).strip().casefold() == normalize_text(b).strip().casefold()


def allowed_doc_ids(flt: Filter | None, documents: dict[str, dict]) -> set[str] | None:
    """doc_ids a filtered question may draw on; None when no filter is set (everything)."""
    if flt is None or not flt.active:
        return None
    start, end = parse_date(flt.date_from, "bắt đầu"), parse_date(flt.date_to, "kết thúc")
    if start and end and start > end:
        raise BadFilter("Ngày bắt đầu sau ngày kết thúc: hãy đổi lại khoảng thời gian.")
    chosen = set(flt.doc_ids) if flt.doc_ids else set(documents)
    allowed = set()
    for doc_id in chosen & set(documents):
        record = documents[doc_id]
        if flt.place.strip() and not any(_same_place(flt.place, p) for p in record.get("places", [])):
            continue
        if start or end:
            when = _article_date(record.get("date", ""))
            if when is None or (start and when < start) or (end and when > end):
                continue
        allowed.add(doc_id)
    return allowed


def place_choices(documents: dict[str, dict]) -> list[str]:
    """Every place name found at ingest, in Vietnamese alphabetical-ish order, without duplicates."""
    return sorted({p for record in documents.values() for p in record.get("places", [])}, key=str.casefold)


def describe(flt: Filter | None, documents: dict[str, dict]) -> str:
    """The filters in force, in words for the reader ("" when none)."""
    if flt is None or not flt.active:
        return ""
    parts = []
    if flt.doc_ids:
        titles = [documents.get(d, {}).get("title") or d for d in flt.doc_ids]
        parts.append("chỉ trong " + "; ".join(f"“{t}”" for t in titles))
    if flt.place.strip():
        parts.append(f"địa danh: {flt.place.strip()}")
    if flt.date_from.strip() or flt.date_to.strip():
        parts.append(f"ngày: {flt.date_from.strip() or '…'} → {flt.date_to.strip() or '…'}")
    return "Bộ lọc: " + " · ".join(parts)
