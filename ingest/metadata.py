"""Article metadata from cleaned text: title, date, author, and the places it names.

Covers what officials need to judge a figure: which article, how recent, by whom, about which
district or commune. Places feed the retrieval filters and the "is this the right district?" check.
"""

from __future__ import annotations

import re

_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TITLE_MAX = 160

# Administrative units a place name follows ("huyện Mai Sơn", "xã Tà Tổng").
PLACE_UNITS = ("huyện", "xã", "tỉnh", "thị trấn", "thành phố", "thị xã", "quận", "phường", "bản", "tiểu khu")
_UNIT = re.compile(r"\b(" + "|".join(PLACE_UNITS) + r")\s+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")


def iso_date(dateline: str) -> str:
    """"Chủ nhật - 04/06/2023 22:40" → "2023-06-04"; "" when there is no date."""
    match = _DATE.search(dateline or "")
    if not match:
        return ""
    day, month, year = (int(g) for g in match.groups())
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def title_from_lines(lines: list[str]) -> tuple[str, bool]:
    """Return (title, is_title_line). A short first line is the title; else the first clause."""
    if not lines:
        return "", False
    first = lines[0]
    if len(first) <= _TITLE_MAX and not first.endswith((".", ";", ",")):
        return first, True
    # No title line (some portals paste the body only): the opening phrase, up to its first
    # comma or stop, labels the article ("Nghị quyết Đại hội Đảng bộ huyện Mai Sơn").
    clause = re.split(r"(?<=[,.;:])\s", first, maxsplit=1)[0].rstrip(",.;:")
    if len(clause) < 20:
        clause = re.split(r"(?<=[.;:])\s", first, maxsplit=1)[0].rstrip(".;:")
    if len(clause) > _TITLE_MAX:
        clause = clause[:_TITLE_MAX].rsplit(" ", 1)[0] + "…"
    return clause, False


def find_places(text: str) -> list[str]:
    """Distinct place names with their unit, most frequent first: ["huyện Mai Sơn", "xã Cò Nòi", …]."""
    counts: dict[str, int] = {}
    for unit in _UNIT.finditer(text):
        name = []
        for word in _WORD.finditer(text, unit.end()):
            gap = text[(name[-1].end() if name else unit.end()) : word.start()]
            if gap.strip() or not word.group(0)[0].isupper() or len(name) == 4:
                break
            name.append(word)
        if name:
            key = f"{unit.group(1).lower()} {' '.join(w.group(0) for w in name)}"
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))
