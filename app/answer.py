"""Extractive answers: the sentence of the retrieved passages that answers, or a polite refusal.

Candidates (app/candidates.py: sentences and clauses of the top passages) are scored by the learned
answer model (app/answer_model.py); its calibrated confidence in the best one decides between an
answer and a refusal. Then the precise part (a figure with its unit, a date, a name, a place) is cut
out of the chosen candidate as `span`, and the reply a person reads is its whole sentence (cut around
the span past 400 characters), with its source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.candidates import FEATURES, candidates, capital_runs, new_capitals, person_names, title_place
from app.question import GENERIC, YEAR, ParsedQuestion, folded_syllables
from ingest.textnorm import fold_diacritics

_DATE = re.compile(
    r"\b(?:(?:ngày|tháng|năm)\s+)?(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}/\d{4}|\d{1,2}/\d{1,2}|(?:19|20)\d{2}\b|\d{1,2}\b)",
    re.IGNORECASE,
)
_PARTS = re.compile(r"[,;:]\s+")
MAX_REPLY_CHARS = 400  # the reply with its source mention
MAX_TITLE_CHARS = 90
MAX_CLAUSE_CHARS = 250  # a longer candidate is shortened to the clause holding its span
GATE_FEATURE = "places_named_ok"  # what grounded() reads; "places_ok" was the first rule
REPLY_GRANULARITY = "sentence"  # or "candidate": the clause the model chose (measured worse)

SOURCE_NOTE = "theo bài “"  # the source note opens so (claim_of strips it)
TITLE_NOTE = "tiêu đề "  # … or so, when the title itself is the answer
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
    confidence: float = 0.0  # calibrated probability that the clause answers (0 when nothing was scored)
    span: str = ""  # the shortest part of the clause that answers (a figure with its unit, a name, a date)


def extract(question: ParsedQuestion, passages: list[dict], model=None, reader=None) -> Extracted:
    """The best candidate of the ranked passages ({"text", "title", "date", "score", "ranks"}), or a
    refusal when the confidence in it is below the threshold. With a reader (app/reader.py) the answer
    model's best sentences are re-read and the confidence is the reader's, over both scores."""
    import numpy as np

    from app.answer_model import load_model
    from app.reader import combine, sentence_order

    model = model or load_model()
    found = candidates(question, passages)
    if not found:
        return Extracted(False, REFUSAL)
    z = model.logits(np.array([c.features for c in found], dtype=np.float64))
    # Only candidates whose passage holds the places and figures the question names may answer.
    z = np.where([grounded(c.features) for c in found], z, -np.inf)
    order = sentence_order(z, [(c.passage_index, c.sentence) for c in found])
    if not order:
        return Extracted(False, REFUSAL, confidence=0.0)
    if reader is not None:
        top = order[: reader.top]
        pos, score, margin = combine(z[top], reader.scores(question.text, [found[j].sentence for j in top]),
                                     reader.weight)
        best_i = top[pos]
        confidence = reader.confidence(score, margin, model.confidence_row(found[best_i].features))
        threshold = reader.threshold
    else:
        best_i = order[0]
        margin = min(float(z[best_i] - z[order[1]]), 5.0) if len(order) > 1 else 5.0
        confidence = model.confidence(float(z[best_i]), margin, found[best_i].features)
        threshold = model.threshold
    best = found[best_i]
    # A where-question about a place whose article title brackets its province ("Huyện Mỹ Xuyên (Sóc
    # Trăng)") is answered by the title even below the threshold: the shared sets hold no such title to
    # learn that from, and the model's where-questions are otherwise the least sure (docs/answers.md).
    by_title = question.qtype == "where" and best.features[FEATURES.index("title_place")] >= 1.0
    if confidence < threshold and not by_title:
        return Extracted(False, REFUSAL, confidence=round(confidence, 3))
    reply, clause, span = reply_for(question, best, passages[best.passage_index], found)
    return Extracted(True, reply, clause, best.sentence, best.passage_index, confidence=round(confidence, 3), span=span)


def grounded(features: list[float]) -> bool:
    """The places the question names (app/candidates.named_places: two syllables or more, not "Việt Nam"
    nor a "Theo Bộ…" citation) are in the candidate's passage or its title: an article about another
    district does not answer for this one. Reading every place measured worse (ALQAC 0.51 against 0.60). (Requiring the question's figures too measured
    worse: ALQAC questions cite "Bộ luật Hình sự năm 2017"; eval/train_answer.py records both.)
    And a question that counts something ("bao nhiêu hợp tác xã") is answered only by a sentence that
    counts it (app/answer_rules.holds_count): "8 chương trình" does not say how many cooperatives (nor a
    term "2020 - 2025" on which day something happened: the date or rank asked, app/candidates.py); and one
    that asks who holds an office, only by a sentence that does not name just its deputy (holds_office);
    one that asks for a relative ("Cha của Messi"), only by a sentence saying that kinship (holds_kin);
    none by a sentence that is itself a question (asks); and one set in a year ("Năm 2019 …") only by a
    passage that names that year."""
    # GATE_FEATURE is read per call: eval/train_answer.py measures the first place rule by swapping it.
    return all(features[FEATURES.index(name)] >= 1.0 for name in (GATE_FEATURE, "count_ok", "role_ok", "year_ok"))


def reply_for(question: ParsedQuestion, best, passage: dict, found: list) -> tuple[str, str, str]:
    """(reply, clause, span) for a chosen candidate: the span it holds, the text a person reads and
    the reply. The text is the whole sentence holding the candidate ("sentence"), cut around the span
    when it is longer than the reply allows; or the candidate itself ("candidate"), shortened to the
    clause holding the span when long. Training labels this same reply."""
    title = passage.get("title", "")
    # A span cut from a whole sentence would keep its full stop.
    span = _bare(shortest_span(question, best.text, title))
    if REPLY_GRANULARITY == "sentence":
        if span == _bare(best.text) and best.text != best.sentence:
            # The clause holds nothing of the asked type; its sentence, which is the reply, may
            # ("Đồng chí Hà Văn Bình, Phó Bí thư…, cho biết, …06/19 chỉ tiêu…").
            span = _bare(shortest_span(question, best.sentence, title))
        if span and span not in best.sentence and span in title:
            # Only the title says it ("Huyện Mỹ Xuyên (Sóc Trăng) …"): the title is the answer.
            return compose_reply(title, passage, span, from_title=True), title, span
        subject = _pronoun_subject(question, best.sentence, title)
        if subject:
            # "Ông là tác giả của … Tây Tiến" says who only through its article: "Ông Quang Dũng là …".
            pronoun, rest = best.sentence.split(maxsplit=1)
            return compose_reply(f"{pronoun} {subject} {rest}", passage, subject), best.sentence, subject
        # Whole sentences hold the gold answer more often than their clauses, and a long sentence cut
        # around the span more often than the clause (eval/train_answer.py records the comparison).
        # A span that is the whole sentence says nothing about where to cut it: keep its part that
        # holds the most of the question's words.
        keep = _asked_part(question, best.sentence) if span == _bare(best.sentence) else span
        return compose_reply(best.sentence, passage, keep), best.sentence, span
    clause = best.text
    if len(clause) > MAX_CLAUSE_CHARS and span != best.text:
        clause = _shortest_holding(span, best, found)
    return compose_reply(clause, passage, span), clause, span


# Words a sentence opens with to mean the person its article is about.
_PRONOUNS = ("Ông", "Bà", "Anh", "Chị", "Cô", "Cậu", "Chàng", "Nàng", "Ngài", "Hắn")


def _pronoun_subject(question: ParsedQuestion, sentence: str, title: str) -> str:
    """Whom a who-question's answering sentence means by its opening pronoun: the person its article's
    title names first ("Quang Dũng (tên thật là Bùi Đình Diệm)…", "Napoléon"), when the question does not."""
    words = sentence.split(maxsplit=2)
    # "Ông Hà Văn Bình cho biết" names its man; "Ông là tác giả" means the article's.
    if question.qtype != "who" or len(words) < 3 or words[0] not in _PRONOUNS or words[1][0].isupper():
        return ""
    asked = fold_diacritics(question.text).lower()
    # A title that is only a name names its person, however many words ("Napoléon", "Quang Dũng").
    names = person_names(title) or [run for run in capital_runs(title) if run == title.strip() and len(run.split()) <= 4]
    return next((n for n in names if fold_diacritics(n).lower() not in asked and n not in sentence), "")


def _asked_part(question: ParsedQuestion, sentence: str) -> str:
    """The clause of a sentence (between commas and semicolons) holding the most distinct question terms."""
    terms = set(question.terms)
    parts = [p for p in _PARTS.split(sentence) if p.strip()]
    return max(parts, key=lambda p: len(terms & set(folded_syllables(p))), default=sentence)


def _bare(text: str) -> str:
    return text.strip().rstrip(",;:. ")


def _shortest_holding(span: str, best, found) -> str:
    """The shortest candidate of the best one's sentence that holds the span (the best one if none)."""
    holding = [c.text for c in found if c.sentence == best.sentence and c.passage_index == best.passage_index
               and span in c.text]
    return min(holding, key=len) if holding else best.text


_FIGURE = re.compile(r"\d+(?:[.,/]\d+)*\s*%?")


def _phrase_end(clause: str, start: int) -> int:
    """End of the phrase starting at `start`: the next ", " or ";" outside brackets, or the end."""
    depth = 0
    for i in range(start, len(clause)):
        depth += clause[i] == "("
        depth -= clause[i] == ")"
        if depth < 0:  # the bracket the phrase stands in closes: "(…mới đạt 404 tỷ đồng);"
            return i
        if depth == 0 and (clause[i] == ";" or (clause[i] == "," and clause[i + 1 : i + 2] == " ")):
            return i
    return len(clause)


_CHANGE_CUES = ("tang", "giam", "vuot", "hon")


def _figures(question: ParsedQuestion, clause: str):
    """(score, match) for each figure that could answer: scored by the question words around it (not
    its places: they say where a figure is from, not what it measures)."""
    place_syllables = {t for place in question.places for t in place.split()}
    for match in _FIGURE.finditer(clause):
        figure = match.group(0).strip()
        if figure.rstrip("% ") in question.numbers or YEAR.fullmatch(figure):
            continue
        if question.wants_percent and not figure.endswith("%"):
            continue
        # Its context stops at ";": "17 triệu đồng (đạt 68%); tổng thu ngân sách…" does not give 68% the budget's words.
        before = folded_syllables(clause[max(0, match.start() - 30) : match.start()].rsplit(";", 1)[-1])[-5:]
        after = folded_syllables(clause[match.end() : match.end() + 30].split(";", 1)[0])[:5]
        near = set(before + after) - GENERIC - place_syllables  # "Mai Sơn có 06/19 chỉ tiêu" is about targets
        score = sum(question.weight(t) for t in set(question.terms) & near)
        if before and before[-1] in _CHANGE_CUES and before[-1] not in question.terms:
            score -= 2.0  # "tăng 54 HTX" is a change, not the count asked for
        if score > 0:
            yield score, match


_PLACE_UNIT = re.compile(r"\b(tỉnh|huyện|thành phố|quận|thị xã|xã|nước|quốc gia)\s+([^\W\d_]+(?:\s+[^\W\d_]+){0,3})")


def _unit_places(clause: str) -> list[tuple[str, str]]:
    """(unit, name) for "tỉnh Sóc Trăng"-like phrases: the unit, then the capitalised words after it."""
    out = []
    for m in _PLACE_UNIT.finditer(clause):
        words = []
        for word in m.group(2).split():
            if not word[0].isupper():
                break
            words.append(word)
        if words:
            out.append((m.group(1), " ".join(words)))
    return out


def _place(question: ParsedQuestion, clause: str, title: str) -> str:
    """The place a "where" question asks for: after the unit it names ("tỉnh nào" → "tỉnh X"), any
    capitalised name the question does not give, or the place the article title gives in brackets."""
    asked = fold_diacritics(question.text).lower()
    units = [(u, n) for u, n in _unit_places(clause) if fold_diacritics(n).lower() not in asked]
    wanted = [n for u, n in units if f"{fold_diacritics(u).lower()} nao" in asked]
    if wanted or units:
        return (wanted or [n for _, n in units])[0]
    names = new_capitals(question, clause)
    return title_place(question, title) or (names[0] if names else "")


def shortest_span(question: ParsedQuestion, clause: str, title: str = "") -> str:
    """The figure with its unit and brackets, the person's name, the date or the place; else the clause."""
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
        names = [n for n in person_names(clause) if fold_diacritics(n).lower() not in fold_diacritics(question.text).lower()]
        if names:
            return names[0]
    if question.qtype == "where":
        place = _place(question, clause, title)
        if place:
            return place
    if question.qtype == "when":
        dates = [m.group(0) for m in _DATE.finditer(clause) if m.group(0) not in question.text]
        if dates:  # the most specific date: "tháng 7/2020" over "2020"
            return max(dates, key=lambda d: (d.count("/"), not d[0].isdigit()))
    return clause


def _cut(text: str, budget: int, keep: str = "") -> str:
    """At most `budget` characters of text, cut between words, around `keep` when it is inside."""
    if len(text) <= budget:
        return text
    start = max(0, text.find(keep) - budget // 3) if keep and keep in text else 0
    if start and " " in text[start:]:
        start = text.index(" ", start) + 1
    piece = text[start : start + budget - 2]
    if " " in piece and start + len(piece) < len(text):
        piece = piece[: piece.rfind(" ")]
    return ("…" if start else "") + piece.strip(" ,;:") + "…"


def compose_reply(clause: str, passage: dict, span: str = "", from_title: bool = False) -> str:
    """A sentence a person reads: the answering clause, then where it comes from and how current;
    at most MAX_REPLY_CHARS, the clause cut around the span when it must be shortened. A reply that
    is the article's title (from_title) says so instead of repeating it."""
    source = _source_note(passage, from_title)
    text = clause.strip().rstrip(",;:. ")
    text = _cut(text, MAX_REPLY_CHARS - len(source) - 4, span)  # " (" + note + ")." aside
    text = text[0].upper() + text[1:] if text else text
    return f"{text} ({source})."


def _source_note(passage: dict, from_title: bool = False) -> str:
    if from_title:
        source = f"{TITLE_NOTE}bài viết"
    else:
        source = f"{SOURCE_NOTE}{_cut(passage.get('title', ''), MAX_TITLE_CHARS)}”"
    if passage.get("date"):
        source += f", ngày {_vn_date(passage['date'])}"
    return source


def claim_of(reply: str) -> str:
    """The reply without the source note compose_reply adds: what the answer asserts."""
    cut = max(reply.rfind(f" ({SOURCE_NOTE}"), reply.rfind(f" ({TITLE_NOTE}"))
    return reply[:cut].strip() if cut > 0 else reply.strip()


def _vn_date(iso: str) -> str:
    parts = iso.split("-")
    return f"{parts[2]}/{parts[1]}/{parts[0]}" if len(parts) == 3 else iso
