"""From paths to clean Article records: discovery, reading, cleaning, normalising, metadata.

One bad file never stops the rest: it is reported in `LoadReport.skipped` with its reason.
A document's id is its path relative to the folder it was found in, without extension.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest import clean, metadata, readers, textnorm

# Bump when reading/cleaning/metadata change what an unchanged file yields: re-ingest then redoes it.
PARSER_VERSION = "4"


@dataclass
class Article:
    doc_id: str
    title: str
    text: str  # cleaned, normalised paragraphs joined by blank lines
    source: str  # the file it came from
    url: str = ""  # its web address when the file declares one (HTML canonical link)
    date: str = ""  # ISO date, "" when the article gives none
    author: str = ""
    places: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    content_hash: str = ""  # of the raw bytes and the normaliser version: unchanged file ⇒ same hash

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p.strip()]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LoadReport:
    articles: list[Article] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def discover(paths: list[Path]) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
    """(file, root) pairs for every supported file under the paths, plus paths that don't exist."""
    found, missing = [], []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.is_file() and not file.name.startswith("."):
                    found.append((file, path))
        elif path.is_file():
            found.append((path, path.parent))
        else:
            missing.append((str(path), "không tồn tại (no such file or folder)"))
    return found, missing


def doc_id_for(file: Path, root: Path) -> str:
    return file.relative_to(root).with_suffix("").as_posix()


def load_article(file: Path, root: Path) -> Article:
    """Read and clean one file; raises readers.UnreadableFile."""
    raw = readers.read_file(file)
    digest = hashlib.sha256(file.read_bytes() + f"{textnorm.VERSION}/{PARSER_VERSION}".encode()).hexdigest()[:16]
    return article_from_text(doc_id_for(file, root), raw.text, str(file), declared_title=raw.title, url=raw.url,
                             date=raw.date, encoding=raw.encoding, content_hash=digest)


def article_from_text(doc_id: str, text: str, source: str, *, declared_title: str = "", url: str = "",
                      date: str = "", encoding: str = "utf-8", content_hash: str = "") -> Article:
    """An Article from a document's text, as read: normalise, find the title, clean, metadata.

    The one path every document takes, files and `hoidap eval`'s dataset passages alike, so what
    eval measures is what an ingested file gets. Raises readers.UnreadableFile when no text is left."""
    text = textnorm.normalize_text(text)
    declared_title = textnorm.normalize_text(declared_title).strip()
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    title, title_is_line = title_from(declared_title, lines)
    body = lines[1:] if title_is_line and lines and lines[0] == title else lines
    cleaned = clean.clean_lines("\n".join([title, *body]) if title_is_line else "\n".join(body), has_title_line=title_is_line)
    paragraphs = cleaned.lines[1:] if title_is_line else cleaned.lines
    if not paragraphs and title_is_line and len(lines) == 1:
        # A one-line document is its own text: read as a title only, it would be lost (690 of
        # zalo-qa's 3,255 paragraphs are one untitled line).
        paragraphs = [title]
    if not paragraphs:
        raise readers.UnreadableFile("không có nội dung bài viết sau khi làm sạch (no article text)")
    body_text = "\n\n".join(paragraphs)
    return Article(
        doc_id=doc_id,
        title=title,
        text=body_text,
        source=source,
        url=url,
        date=date or metadata.iso_date(cleaned.dateline),
        author=cleaned.author,
        places=metadata.find_places(title + "\n" + body_text),
        encoding=encoding,
        content_hash=content_hash,
    )


def title_from(declared: str, lines: list[str]) -> tuple[str, bool]:
    """The declared (markup) title wins; otherwise the first line or opening clause."""
    if declared:
        return declared, bool(lines) and lines[0] == declared
    return metadata.title_from_lines(lines)


def load_articles(paths: list[Path], progress=None) -> LoadReport:
    """Load every supported file under `paths`; unreadable ones are reported, not fatal."""
    files, missing = discover(paths)
    report = LoadReport(skipped=list(missing))
    for file, root in files:
        try:
            if file.suffix.lower() not in readers.SUPPORTED_SUFFIXES:
                raise readers.UnreadableFile(f"định dạng không hỗ trợ: {file.suffix or '(none)'}")
            report.articles.append(load_article(file, root))
        except readers.UnreadableFile as exc:
            report.skipped.append((str(file), str(exc)))
        if progress:
            progress(file)
    return report
