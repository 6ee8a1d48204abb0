"""Turn one file into text: decoding (UTF-8, UTF-16, legacy Windows-1258) and format (txt, md, html;
docx and pdf through ingest/docformats.py).

Covers only getting characters out of bytes and markup; boilerplate removal, normalisation and
metadata come after (clean.py, textnorm.py, metadata.py). Raises UnreadableFile with a reason a
person can act on; never returns garbage silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf")
MAX_FILE_BYTES = 20 * 1024 * 1024


class UnreadableFile(Exception):
    """A file that cannot be turned into article text (binary, empty, undecodable, too large)."""


@dataclass
class RawText:
    text: str
    encoding: str
    title: str = ""  # a title the markup declares (<title>, <h1>, "# heading"), if any
    date: str = ""  # a publication date the markup declares, if any
    url: str = ""  # the article's own web address (canonical link, og:url), http(s) only


# Letters only Vietnamese uses: a decoding that yields several of them is very likely right.
_VIET_LETTERS = re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323]")


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name). Legacy Vietnamese files are usually Windows-1258."""
    if not data.strip():
        raise UnreadableFile("tệp rỗng (empty file)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:4096]:
        raise UnreadableFile("tệp nhị phân, không phải văn bản (binary file)")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:
        text = ""
    if text and len(_VIET_LETTERS.findall(text)) >= 3:
        return text, "cp1258"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableFile("không nhận ra bảng mã (unknown text encoding)")
    return str(best), best.encoding


def _looks_binary(text: str) -> bool:
    controls = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\n\r\t\f")
    return controls > max(8, len(text[:4096]) // 50)


def read_file(path: Path) -> RawText:
    """Read a .txt, .md, .html, .docx or .pdf file into plain text with its declared title/date."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"định dạng không hỗ trợ: {suffix or '(none)'}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(f"tệp quá lớn ({size // 1024 // 1024} MB > 20 MB)")
        if size == 0:
            raise UnreadableFile("tệp rỗng (empty file)")
        if suffix in (".docx", ".pdf"):
            from ingest import docformats

            return docformats.read_docx(path) if suffix == ".docx" else docformats.read_pdf(path)
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"không đọc được tệp: {exc.strerror or exc}") from exc
    text, encoding = decode_bytes(data)
    if _looks_binary(text):
        raise UnreadableFile("tệp nhị phân, không phải văn bản (binary file)")
    if suffix in (".html", ".htm"):
        return _from_html(text, encoding)
    if suffix == ".md":
        return _from_markdown(text, encoding)
    return RawText(text, encoding)


_BLOCK_TAGS = ["p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article"]


def _from_html(html: str, encoding: str) -> RawText:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title = ""
    h1 = soup.find("h1")
    if h1 and h1.get_text(strip=True):
        title = h1.get_text(" ", strip=True)
    elif soup.title and soup.title.string:
        title = soup.title.string.strip()
    date = ""
    meta = soup.find("meta", attrs={"property": "article:published_time"})
    if meta and meta.get("content"):
        date = str(meta["content"])[:10]
    canonical = soup.find("link", rel="canonical") or soup.find("meta", attrs={"property": "og:url"})
    url = str(canonical.get("href") or canonical.get("content") or "").strip() if canonical else ""
    url = url if re.match(r"https?://[^\s\"'<>]+$", url) else ""  # never javascript: or data:
    # Scripts, styles and page chrome are never article content.
    for tag in soup(["script", "style", "noscript", "iframe", "nav", "header", "footer", "aside", "form", "svg"]):
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    body = soup.body or soup
    lines = [line.strip() for line in body.get_text().splitlines()]
    text = "\n\n".join(line for line in lines if line)
    return RawText(text, encoding, title=title, date=date, url=url)


_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def _from_markdown(md: str, encoding: str) -> RawText:
    title = ""
    out = []
    for line in md.splitlines():
        stripped = line.strip()
        heading = re.match(r"^#{1,6}\s+(.*)$", stripped)
        if heading:
            stripped = heading.group(1).strip()
            if not title:
                title = stripped
        stripped = _MD_IMAGE.sub("", stripped)
        stripped = _MD_LINK.sub(r"\1", stripped)
        stripped = _MD_EMPHASIS.sub(r"\2", stripped)
        stripped = re.sub(r"^([-*+]|\d+\.)\s+", "- ", stripped)
        out.append(stripped)
    return RawText("\n".join(out), encoding, title=title)
