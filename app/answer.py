"""Extractive answers: the clause of the retrieved passages that answers, or a polite refusal.

A clause is chosen by how much of the question it (with its sentence and article title) covers,
whether it holds a candidate of the asked type (a figure for "bao nhiêu", a date for "khi nào"),
and whether the places the question names are in its passage or article. When nothing passes
those checks the tool declines: a wrong figure is worse than no figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.question import GENERIC, ParsedQuestion, folded_syllables
from ingest.chunk import split_sentences
from ingest.textnorm import fold_diacritics

MIN_COVERAGE = 0.5  # share of the question's content weight the evidence must cover
_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
_DATE = re.compile(
    r"\b(?:(?:ngày|tháng|năm)\s+)?(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}/\d{4}|\d{1,2}/\d{1,2}|(?:19|20)\d{2}\b|\d{1,2}\b)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(19|20)\d\d")
# Capitalised words that start names of bodies and titles, not of people.
_NOT_PERSON = set(
    "ban huyện đảng nghị đại hội ủy uỷ chương trung bộ sở phòng ubnd hđnd mặt tỉnh xã trạm thành "
    "quốc nhà chi công chính sông bản tiểu đề kết chỉ bí phó trưởng giám chủ thường".split()
)
_CLAUSE_SPLIT = re.compile(r";\s+|:\s+(?=[-–]?\s*\S)")

REFUSAL = (
    "Xin lỗi, các bài viết hiện có không nêu thông tin này. "
    "Dưới đây là những đoạn gần nhất để anh/chị tham khảo."
)


@dataclass
class Extracted:
    found: bool
    text: str  # the reply a person reads
    clause: str = ""  # the clause that answers, with its qualifiers
    sentence: str = ""  # its sentence, for highlighting
    passage_index: int = -1  # which source it came from
    coverage: float = 0.0
    span: str = ""  # the shortest part of the clause that answers (a figure with its unit, a name, a date)


def _clauses(sentence: str) -> list[str]:
    """Clauses of a sentence: split at ; and : , and long clauses at ", " outside brackets."""
    out = []
    for part in _CLAUSE_SPLIT.split(sentence):
        part = part.strip(" .;")
        if not part:
            continue
        if len(part.split()) <= 28:
            out.append(part)
            continue
        depth, start = 0, 0
        for i, ch in enumerate(part):
            depth += ch == "("
            depth -= ch == ")"
            # ", " only: "1.373,7" has no space after its comma.
            if ch == "," and part[i + 1 : i + 2] == " " and depth == 0 and i - start > 40:
                out.append(part[start:i].strip())
                start = i + 1
        out.append(part[start:].strip(" ,."))
    return [c for c in out if c]


def _has_candidate(question: ParsedQuestion, clause: str, tokens: list[str]) -> bool:
    """Does the clause hold something of the asked type that the question did not already give?"""
    qtype = question.qtype
    if qtype == "how_many":
        if question.wants_percent:
            return any(m.group(1) not in question.numbers for m in _PERCENT.finditer(clause))
        terms = {t for t in question.terms if t not in GENERIC}
        for i, token in enumerate(tokens):
            if token[0].isdigit() and token.lstrip("0") not in question.numbers and not _YEAR.fullmatch(token):
                # a figure counts when it stands next to what was asked about ("20 sản phẩm")
                if terms & set(tokens[max(0, i - 4) : i + 5]):
                    return True
        return False
    if qtype == "when":
        return any(m.group(0) not in question.text for m in _DATE.finditer(clause))
    if qtype == "who":
        asked = fold_diacritics(question.text).lower()
        if not any(fold_diacritics(n).lower() not in asked for n in _person_names(clause)):
            return False
        # "Phó Bí thư" does not answer a question about the "Bí thư".
        return "pho" in question.terms or not any(
            tokens[i] == "pho" and tokens[i + 1] in question.terms for i in range(len(tokens) - 1)
        )
    return True


def _person_names(clause: str) -> list[str]:
    """Runs of 2–4 capitalised syllables that are not bodies or titles: "Hà Văn Bình", "Thào A Sử"."""
    names = []
    words = re.findall(r"[^\W\d_]+|[^\w\s]", clause)
    run: list[str] = []
    for word in words + ["."]:
        if word[0].isupper() and not word.isupper() or (len(word) == 1 and word.isupper() and run):
            if not run and word.lower() in _NOT_PERSON:
                continue
            run.append(word)
            continue
        if 2 <= len(run) <= 4 and not any(w.lower() in _NOT_PERSON for w in run):
            names.append(" ".join(run))
        run = []
    return names


def _coverage(question: ParsedQuestion, own: set[str], context: set[str]) -> float:
    """Weighted share of question terms found: in the clause fully, in its sentence/title partly."""
    total = sum(question.weight(t) for t in question.terms) or 1.0
    got = 0.0
    for term in question.terms:
        if term in own:
            got += question.weight(term)
        elif term in context:
            got += 0.7 * question.weight(term)
    return got / total


def _context_ok(question: ParsedQuestion, passage_text: str, title: str) -> bool:
    """The places and figures the question names must be in the passage or its article's title."""
    words = folded_syllables(title + " " + passage_text)
    haystack = " " + " ".join(words) + " "
    numbers = {w.lstrip("0") for w in words if w[0].isdigit()}
    return all(f" {place} " in haystack for place in question.places) and all(
        n.lstrip("0") in numbers for n in question.numbers
    )


def _score(question: ParsedQuestion, own_list: list[str], sentence: str, title: str, rank: int) -> tuple[float, float]:
    own = set(own_list)
    context = set(folded_syllables(sentence + " " + title))
    coverage = _coverage(question, own, context)
    own_bigrams = {f"{a} {b}" for a, b in zip(own_list, own_list[1:])}
    phrase = len(question.bigrams & own_bigrams)
    # Short, on-topic clauses beat long ones that merely mention everything.
    length_penalty = 0.01 * max(0, len(own_list) - 25)
    return coverage + 0.15 * phrase - 0.03 * rank - length_penalty, coverage


def extract(question: ParsedQuestion, passages: list[dict]) -> Extracted:
    """Pick the answering clause from ranked passages ({"text", "title", "date"}), or decline."""
    best: Extracted | None = None
    best_score = float("-inf")
    for rank, passage in enumerate(passages):
        title = passage.get("title", "")
        if not _context_ok(question, passage["text"], title):
            continue
        for sentence in split_sentences(passage["text"]):
            for clause in _clauses(sentence):
                tokens = folded_syllables(clause)
                if not tokens or not _has_candidate(question, clause, tokens):
                    continue
                score, coverage = _score(question, tokens, sentence, title, rank)
                if coverage >= MIN_COVERAGE and score > best_score:
                    best_score = score
                    best = Extracted(True, "", clause, sentence, rank, round(coverage, 3))
    if best is None:
        return Extracted(False, REFUSAL)
    best.text = compose_reply(best.clause, passages[best.passage_index])
    best.span = shortest_span(question, best.clause)
    return best


_FIGURE = re.compile(r"\d+(?:[.,/]\d+)*\s*%?")


def _phrase_end(clause: str, start: int) -> int:
    """End of the phrase starting at `start`: the next ", " or ";" outside brackets, or the end."""
    depth = 0
    for i in range(start, len(clause)):
        depth += clause[i] == "("
        depth -= clause[i] == ")"
        if depth <= 0 and (clause[i] == ";" or (clause[i] == "," and clause[i + 1 : i + 2] == " ")):
            return i
    return len(clause)


_CHANGE_CUES = ("tang", "giam", "vuot", "hon")


def _figures(question: ParsedQuestion, clause: str):
    """(score, match) for each figure that could answer: scored by the question words around it."""
    for match in _FIGURE.finditer(clause):
        figure = match.group(0).strip()
        if figure.rstrip("% ") in question.numbers or _YEAR.fullmatch(figure):
            continue
        if question.wants_percent and not figure.endswith("%"):
            continue
        before = folded_syllables(clause[max(0, match.start() - 30) : match.start()])[-5:]
        after = folded_syllables(clause[match.end() : match.end() + 30])[:5]
        near = set(before + after) - GENERIC
        score = sum(question.weight(t) for t in set(question.terms) & near)
        if before and before[-1] in _CHANGE_CUES and before[-1] not in question.terms:
            score -= 2.0  # "tăng 54 HTX" is a change, not the count asked for
        if score > 0:
            yield score, match


def shortest_span(question: ParsedQuestion, clause: str) -> str:
    """The figure with its unit and brackets, the person's name or the date; else the clause."""
    if question.qtype == "how_many":
        figures = list(_figures(question, clause))
        # The first figure about as close to the question's words as the closest one: order matters
        # ("181 HTX, tăng 54 HTX"), but a figure about something else does not win by coming first.
        top = max((score for score, _ in figures), default=0)
        best = next((m for score, m in figures if score >= 0.6 * top), None)
        if best:
            match = best
            start = match.start()
            if match.group(0).strip().endswith("%"):  # "đạt 91,48%": the percentage closes its phrase
                comma = clause.rfind(", ", 0, start)
                return clause[comma + 2 if comma >= 0 else 0 : match.end()].strip()
            before = clause[:start].rstrip()
            if before.lower().endswith(("thứ", "trên", "gần", "hơn", "khoảng")):  # "vị trí thứ 3", "trên 995"
                start = before.rfind(" ") + 1 if " " in before else 0
            return clause[start : _phrase_end(clause, match.end())].strip()
    if question.qtype == "who":
        names = [n for n in _person_names(clause) if fold_diacritics(n).lower() not in fold_diacritics(question.text).lower()]
        if names:
            return names[0]
    if question.qtype == "when":
        dates = [m.group(0) for m in _DATE.finditer(clause) if m.group(0) not in question.text]
        if dates:  # the most specific date: "tháng 7/2020" over "2020"
            return max(dates, key=lambda d: (d.count("/"), not d[0].isdigit()))
    return clause


def compose_reply(clause: str, passage: dict) -> str:
    """A sentence a person reads: the answering span, then where it comes from and how current."""
    span = clause.strip().rstrip(",;:")
    span = span[0].upper() + span[1:] if span else span
    source = f"theo bài “{passage.get('title', '')}”"
    if passage.get("date"):
        source += f", ngày {_vn_date(passage['date'])}"
    return f"{span} ({source})."


def claim_of(reply: str) -> str:
    """The reply without the source note compose_reply adds: what the answer asserts."""
    cut = reply.rfind(" (theo bài “")
    return reply[:cut].strip() if cut > 0 else reply.strip()


def _vn_date(iso: str) -> str:
    parts = iso.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else iso
