"""Remove web-portal boilerplate from article text, keeping only what the article says.

Covers what district portals wrap around an article: visit counters, footers (addresses, phone,
"Chịu trách nhiệm nội dung"), "Phản hồi" / "Các tin khác" / "Văn bản mới" blocks, photo captions,
datelines and author lines (returned separately so metadata.py can use them). Works line by line on
normalised text; leaves sentence splitting to chunk.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A line that starts the portal's tail: everything from it on is page furniture, not article.
# Block headings that are also ordinary words ("Chia sẻ", "Tin tức", "Phản hồi") count only as the
# whole line (a count or colon may follow): "Chia sẻ kinh nghiệm trồng cà phê" is a sub-heading.
_TAIL_MARKERS = re.compile(
    r"^((phản hồi|các tin khác|tin khác|tin liên quan|mới nhất|liên kết website|văn bản mới|"
    r"thống kê truy cập|đăng nhập|tin tức|bản quyền|chia sẻ|bình luận|ý kiến bạn đọc)"
    r"\s*(:.*|\(?\d*\)?)$|(tổng số điểm của bài viết|cơ quan chủ quản|chịu trách nhiệm nội dung|"
    r"bản quyền thuộc|copyright)\b)",
    re.IGNORECASE,
)
_AUTHOR = re.compile(r"^(tác giả|tin, ảnh|tin và ảnh|bài, ảnh|bài và ảnh|nguồn)\s*:\s*(.+)$", re.IGNORECASE)
_DATELINE = re.compile(
    r"^((thứ\s+\w+|chủ nhật)\s*[-,]\s*)?(\d{1,2})/(\d{1,2})/(\d{4})(\s+\d{1,2}:\d{2})?[\s\d]*$",
    re.IGNORECASE,
)
# Lines that are page furniture wherever they appear. Counters and contact lines are a label and
# a value ("Hôm nay: 245", "Hôm nay24,892", "Điện thoại: 022…"): the label alone opens many a
# sentence ("Điện thoại đang sạc pin phát nổ…", "Hôm nay, …"), so the value must follow.
_NOISE_LINE = re.compile(
    r"^((•\s*)?(đang online|đang truy cập|hôm nay|trong tuần|tháng hiện tại|tháng trước|"
    r"tổng lượt truy cập|tất cả|lượt xem|điện thoại|email|website|số fax|fax)\s*[:\d]|"
    r"top$|down$|địa chỉ:|chung nhan tin nhiem mang|bạn đã không sử dụng site|in bài$|gửi email$|"
    r"(ảnh|photo)\s*:)",
    re.IGNORECASE,
)
_CAPTION_PAREN = re.compile(r"^\(.*\)$")
_CAPTION_CREDIT = re.compile(r"\((ảnh|ảnh minh họa|nguồn)\s*:[^)]*\)\s*$", re.IGNORECASE)


@dataclass
class CleanResult:
    lines: list[str]  # the article's paragraphs, in order
    author: str = ""
    dateline: str = ""  # e.g. "Chủ nhật - 04/06/2023 22:40"
    removed: list[str] = field(default_factory=list)  # what was dropped, for tests and debugging


def _is_caption(line: str, index: int, lines: list[str]) -> bool:
    if _CAPTION_PAREN.match(line) or _CAPTION_CREDIT.search(line):
        return True
    if index + 1 < len(lines) and lines[index + 1] == line:
        return True  # portals repeat a photo's caption as its alt text
    if index > 0 and lines[index - 1] == line:
        return True
    # A short lone sentence right under the title is the lead photo's caption, unless the title
    # holds it: a statute's "Điều 2. Giải thích từ ngữ" is followed by its heading again.
    short_single = len(line) < 110 and line.count(". ") == 0 and not line.endswith(":")
    no_facts = not any(ch.isdigit() for ch in line)
    return index == 1 and short_single and no_facts and len(lines) > 3 and line.lower() not in lines[0].lower()


def clean_lines(text: str, *, has_title_line: bool = True) -> CleanResult:
    """Split into non-empty lines and drop everything that is not the article itself."""
    raw = [line.strip() for line in text.split("\n")]
    lines = [line for line in raw if line]
    result = CleanResult(lines=[])
    for index, line in enumerate(lines):
        if index == 0 and has_title_line:
            result.lines.append(line)  # the title, already chosen: a title is never furniture
            continue
        author = _AUTHOR.match(line)
        if author and index > 0:
            result.author = author.group(2).strip()
            result.removed.extend(lines[index:])
            break
        if index > 0 and _TAIL_MARKERS.match(line) and len(line) < 80:
            result.removed.extend(lines[index:])
            break
        if _DATELINE.match(line):
            result.dateline = result.dateline or line
            result.removed.append(line)
            continue
        is_caption = has_title_line and _is_caption(line, index, lines) or _CAPTION_PAREN.match(line)
        if _NOISE_LINE.match(line) or line in {".", "…"} or is_caption:
            result.removed.append(line)
            continue
        result.lines.append(line)
    return result
