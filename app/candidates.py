"""Answer candidates (sentences and their clauses) of the top passages, each with its feature vector.

The features are what the learned answer model (app/answer_model.py) weighs: how much of the question
(IDF-weighted, accent-folded) the candidate, its sentence, passage and title cover, where the passage
ranked, and whether the candidate holds something of the asked type. No weights live here.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from app.answer_rules import (NOT_PERSON, asks, figure_asked, holds_count, holds_kin, holds_office, is_cased, names_group,
                              names_kind, offices_asked)
from app.question import STOPWORDS, YEAR, ParsedQuestion, folded_syllables
from ingest.chunk import passage_sentences
from ingest.textnorm import fold_diacritics

FEATURE_VERSION = "answer-features-v16"  # bump when a feature's meaning or order changes
QTYPES = ("when", "how_many", "who", "where", "yes_no")  # "what" is the baseline
FEATURES = (
    "cov_own", "cov_sentence", "cov_sentence_title", "cov_passage", "cov_title", "cov_missing",
    "cov_gap_best", "bigram_own", "bigram_sentence", "run_own", "new_share", "new_log", "len_log",
    "too_long", "is_sentence", "sentence_pos", "first_sentence", "rank_0", "rank_1", "rank_log",
    "rel_score", "bm25_rr", "dense_rr", "has_figure", "has_figure_near", "has_percent", "has_date",
    "has_name", "has_capital", "has_unit_place", "title_place", "numbers_own", "numbers_passage",
    "places_ok", "places_own", "best_cov_passage", "capitals_log", "capital_near", "proximity",
    "naive_pick", "sentence_best_in_passage", "sentence_cov_rr",
    "top_score", "top_gap", "score_diff", "article_rr", "in_dense", "cov_own_vs_passage", "places_named_ok",
    "sem", "sem_gap_best", "sem_rr", "sem_best", "count_ok", "role_ok", "year_ok", "support",
    *(f"q_{t}" for t in QTYPES), *(f"hit_{t}" for t in QTYPES), "hit_percent",
)
# Features whose weight depends on what is asked: one copy per question type (zero for other types).
_BY_TYPE = ("cov_own", "bigram_own", "new_share", "has_capital", "capital_near", "has_figure", "has_date", "len_log")
FEATURES = FEATURES + tuple(f"x_{t}_{name}" for t in QTYPES for name in _BY_TYPE)
MAX_CANDIDATE_SYLLABLES = 40

_PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")
_DATE = re.compile(
    r"\b(?:(?:ngày|tháng|năm)\s+)?(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}/\d{4}|\d{1,2}/\d{1,2}|(?:19|20)\d{2}\b)"
    r"|\b(?:ngày|tháng|năm|thế kỷ|thế kỉ)\s+\d{1,4}\b",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r";\s+|:\s+(?=[-–]?\s*\S)")
_UNIT_PLACE = re.compile(r"\b(?:tỉnh|huyện|thành phố|quận|thị xã|xã|nước|miền|vùng)\s+[^\W\d_]+")
_TITLE_BRACKET = re.compile(r"\(([^()]{2,40})\)")


# The commonest Vietnamese family names (most people bear one of them).
SURNAMES = set("nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh đoàn trịnh trương "
               "lương lưu tô tạ quách".split())


@dataclass
class Candidate:
    text: str  # the clause or sentence offered as the answer
    sentence: str  # its sentence, for highlighting
    passage_index: int
    features: list[float]


def clauses(sentence: str) -> list[str]:
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


@functools.lru_cache(maxsize=8192)
def capital_runs(text: str) -> tuple[str, ...]:
    """Runs of capitalised words ("Sóc Trăng", "Hà Văn Bình"), one word runs included (remembered: each
    candidate asks for its own twice)."""
    runs, run = [], []
    # A hyphen inside a word keeps it whole ("Moon Jae-in", "Binet-Simon"); a spaced one ("Hà Nội - Huế") parts runs.
    for word in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*|[^\w\s]", text) + ["."]:
        if word[0].isupper():
            run.append(word)
            continue
        if run:
            runs.append(" ".join(run))
        run = []
    return tuple(runs)


def person_names(text: str) -> list[str]:
    """Runs of 2–4 capitalised syllables that are not bodies or titles: "Hà Văn Bình", "Thào A Sử"."""
    names = []
    for run in capital_runs(text):
        words = run.split()
        while words and words[0].lower() in NOT_PERSON:
            words = words[1:]
        # "Nguyễn Thành Trung", "Phạm Minh Chính": after a family name, "Thành", "Trung" are given names.
        surname = words[:1] and words[0].lower() in SURNAMES
        if 2 <= len(words) <= 4 and (surname or not any(w.lower() in NOT_PERSON for w in words)) and not run.isupper():
            names.append(" ".join(words))
    return names


def new_capitals(question: ParsedQuestion, text: str) -> list[str]:
    """Capitalised runs of the text that the question does not already name, first word of text aside."""
    asked = " " + " ".join(question.folded) + " "
    found = []
    for i, run in enumerate(capital_runs(text)):
        folded = " ".join(folded_syllables(run))
        if folded and f" {folded} " not in asked and not (i == 0 and text.startswith(run) and " " not in run):
            found.append(run)
    return found


def title_place(question: ParsedQuestion, title: str) -> str:
    """A place the article title gives in brackets ("… (Sóc Trăng)") that the question does not name."""
    for match in _TITLE_BRACKET.finditer(title):
        inside = match.group(1).strip()
        if new_capitals(question, inside) and not any(ch.isdigit() for ch in inside):
            return inside
    return ""


def named_places(question: ParsedQuestion) -> list[str]:
    """The question's places that name somewhere: two syllables or more, not the country itself and not a
    legal citation ("Theo Bộ luật…" reads as a capitalised run); one-syllable matches ("trong", "nam")
    are the corpus' place list catching common words."""
    return [p for p in question.places if len(p.split()) >= 2 and p != "viet nam" and not p.startswith("theo ")]


def _weighted(question: ParsedQuestion, present) -> float:
    pairs, total = question.term_weights
    return sum(w for t, w in pairs if t in present) / total


def _run(terms: list[str], tokens: list[str]) -> float:
    """Longest run of consecutive question terms that also occurs consecutively in the tokens."""
    if not terms or not tokens:
        return 0.0
    # Syllables hold no spaces, so a run occurs in the tokens exactly when " a b " is in " … a b … ".
    text = " " + " ".join(tokens) + " "
    best = 0
    for n in (1, 2, 3, 4):
        if any(" " + " ".join(terms[i : i + n]) + " " in text for i in range(len(terms) - n + 1)):
            best = n
    return best / min(4, len(terms))


_HONORIFICS = set("ong ba anh chi co bac ngai".split())  # "Ông Phạm Nhật Vượng" is named "Phạm Nhật Vượng"


def _without_honorific(syllables: list[str]) -> list[str]:
    return syllables[1:] if len(syllables) > 2 and syllables[0] in _HONORIFICS else syllables


def _holds_rate(sentence: str) -> bool:
    """A percentage or "phần trăm": what "tỷ lệ … là bao nhiêu" asks for ("212 đảng viên" is no rate)."""
    return bool(_PERCENT.search(sentence)) or "phan tram" in " ".join(folded_syllables(sentence))


def _support(runs: list[str], haystacks: list[str], own: int) -> float:
    """The share of the other passages that name what the candidate names and the question does not:
    an answer other articles repeat is more often right (zalo-qa: contains gold 0.656 → 0.672)."""
    names = {" ".join(_without_honorific(folded_syllables(run))) for run in runs} - {""}
    hits = max((sum(f" {n} " in h for j, h in enumerate(haystacks) if j != own) for n in names), default=0)
    return hits / max(1, len(haystacks) - 1)


def _figure_near(question: ParsedQuestion, tokens: list[str]) -> bool:
    """A figure the question did not give, standing next to a question term ("20 sản phẩm")."""
    terms = set(question.terms)
    for i, token in enumerate(tokens):
        if token[0].isdigit() and token.lstrip("0") not in question.numbers and not YEAR.fullmatch(token):
            if terms & set(tokens[max(0, i - 4) : i + 5]):
                return True
    return False


def _proximity(terms: set[str], tokens: list[str]) -> float:
    """Distinct question terms matched per syllable of the stretch that holds them (1 = side by side)."""
    positions = [i for i, t in enumerate(tokens) if t in terms]
    distinct = len({tokens[i] for i in positions})
    return distinct / (positions[-1] - positions[0] + 1) if distinct >= 2 else 0.0


def _capital_near(question: ParsedQuestion, text: str, runs: list[str]) -> float:
    """A name the question does not give within 30 characters of a question term."""
    terms = set(question.terms)
    for run in runs:
        at = text.find(run)
        if at < 0:
            continue
        window = folded_syllables(text[max(0, at - 30) : at]) + folded_syllables(text[at + len(run) : at + len(run) + 30])
        if terms & set(window):
            return 1.0
    return 0.0


def _type_flags(question: ParsedQuestion, text: str, tokens: list[str], runs: list[str]) -> dict[str, float]:
    """runs: the text's new_capitals."""
    numbers = {n.lstrip("0") for n in question.numbers}
    figures = [t for t in tokens if t[0].isdigit() and t.lstrip("0") not in numbers]
    return {
        "capitals_log": math.log1p(len(runs)),
        "capital_near": _capital_near(question, text, runs),
        "has_figure": float(any(not YEAR.fullmatch(t) for t in figures)),
        "has_figure_near": float(_figure_near(question, tokens)),
        "has_percent": float(any(m.group(1).lstrip("0") not in numbers for m in _PERCENT.finditer(text))),
        "has_date": float(any(m.group(0) not in question.text for m in _DATE.finditer(text))),
        "has_name": float(any(fold_diacritics(n).lower() not in question.text_folded for n in person_names(text))),
        "has_capital": float(bool(runs)),
        "has_unit_place": float(any(m.group(0).split()[-1][0].isupper()
                                    and fold_diacritics(m.group(0)).lower() not in question.text_folded
                                    for m in _UNIT_PLACE.finditer(text))),
    }


def _hits(question: ParsedQuestion, flags: dict[str, float], title_has_place: bool) -> dict[str, float]:
    """Does the candidate hold what its question type asks for? One flag per type, 0 for other types."""
    asked = {
        "when": flags["has_date"],
        "how_many": flags["has_percent"] if question.wants_percent else flags["has_figure_near"],
        "who": flags["has_name"],
        "where": float(flags["has_capital"] or flags["has_unit_place"] or title_has_place),
        "yes_no": 1.0,
    }
    out = {f"hit_{t}": (asked[t] if question.qtype == t else 0.0) for t in QTYPES}
    out["hit_percent"] = float(question.wants_percent and flags["has_percent"])
    return out


def passage_inputs(passages, sentence_scores: bool = True) -> list[dict]:
    """What the answer stage reads of retrieved passages (index.retrieve.Passage), as plain dicts;
    without their sentence scores when those come from another model than the answer model's."""
    return [{"text": p.text, "title": p.title, "date": p.metadata.get("date", ""), "score": p.score,
             "ranks": p.ranks, "sentence_scores": p.sentence_scores if sentence_scores else None}
            for p in passages]


def candidates(question: ParsedQuestion, passages: list[dict]) -> list[Candidate]:
    """Every sentence and clause of the passages ({"text", "title", "score", "ranks"}) with its features."""
    if not passages:
        return []
    top_score = max(float(p.get("score") or 0.0) for p in passages)
    # The retrieval's own certainty: its top fused score and how far the first passage leads the second.
    fused = [float(p.get("score") or 0.0) for p in passages]
    retrieval = {"top_score": fused[0], "top_gap": fused[0] - fused[1] if len(fused) > 1 else 1.0}
    terms = question.terms
    counted = question.counted
    rate_asked = counted is not None and question.wants_percent  # "Tỷ lệ hộ nghèo … là bao nhiêu?"
    rate_of = question.rate_of  # … is answered by a sentence about "hộ nghèo"
    offices = offices_asked(question.folded, question.places)
    kind = question.kind_asked
    kin = question.kin_asked
    group = question.group_asked
    precise = figure_asked(question.folded)
    years = question.years
    qbigrams = question.bigrams
    numbers = {n.lstrip("0") for n in question.numbers}
    qtype_flags = {f"q_{t}": float(question.qtype == t) for t in QTYPES}
    rows: list[tuple[Candidate, dict]] = []
    haystacks = [" " + " ".join(folded_syllables((p.get("title", "") or "") + " " + p["text"])) + " " for p in passages]
    for rank, passage in enumerate(passages):
        title = passage.get("title", "") or ""
        title_tokens = set(folded_syllables(title))
        sentences = passage_sentences(passage["text"])
        # The question's cosine to each sentence, from the index's sentence vectors; NaN when the
        # build has none (the model then reads the feature as its training mean: no evidence).
        sims = passage.get("sentence_scores")
        sims = sims if sims is not None and len(sims) == len(sentences) else [math.nan] * len(sentences)
        sentence_tokens = [folded_syllables(s) for s in sentences]
        passage_tokens = set(t for toks in sentence_tokens for t in toks)
        haystack = haystacks[rank]
        places_ok = float(all(f" {p} " in haystack for p in question.places))
        named_ok = float(all(f" {p} " in haystack for p in named_places(question)))
        year_ok = float(all(f" {y} " in haystack for y in years))  # 2020's figures do not answer for 2019
        passage_numbers = {t.lstrip("0") for t in passage_tokens | title_tokens if t[0].isdigit()}
        asked_place = title_place(question, title) if question.qtype == "where" else ""
        ranks = passage.get("ranks") or {}
        score = float(passage.get("score") or 0.0)
        shared = {
            "cov_passage": _weighted(question, passage_tokens),
            "cov_title": _weighted(question, title_tokens),
            "cov_missing": 1.0 - _weighted(question, passage_tokens | title_tokens),
            "rank_0": float(rank == 0), "rank_1": float(rank == 1), "rank_log": math.log1p(rank),
            # a one-passage corpus fuses every score to 0: its top passage still leads (1.0)
            "rel_score": score / top_score if top_score > 0 else float(score >= top_score),
            "bm25_rr": 1.0 / ranks["bm25"] if ranks.get("bm25") else 0.0,
            "dense_rr": 1.0 / ranks["dense"] if ranks.get("dense") else 0.0,
            "article_rr": 1.0 / ranks["article"] if ranks.get("article") else 0.0,
            "in_dense": float(bool(ranks.get("dense"))),
            "score_diff": score - fused[0], **retrieval,
            "numbers_passage": (sum(n in passage_numbers for n in numbers) / len(numbers)) if numbers else 1.0,
            "places_ok": places_ok, "places_named_ok": named_ok, "year_ok": year_ok, "title_place": float(bool(asked_place)), **qtype_flags,
        }
        passage_rows = []
        cased = is_cased(passage["text"])
        for position, (sentence, s_tokens) in enumerate(zip(sentences, sentence_tokens)):
            s_set = set(s_tokens)
            # The reply is the sentence: it must count what is asked, or give the rate, date or rank asked for.
            count_ok = float(holds_count(counted, sentence, numbers)
                             and (not rate_asked or (_holds_rate(sentence) and all(t in s_set for t in rate_of)))
                             and (not precise or any(m.group(0) not in question.text for m in precise.finditer(sentence))))
            role_ok = float(holds_office(offices, s_tokens) and holds_kin(kin, sentence) and not asks(sentence)
                            and names_group(group, sentence)
                            and (not kind or not cased or bool(asked_place) or names_kind(kind, sentence, question.folded)))
            s_bigrams = {f"{a} {b}" for a, b in zip(s_tokens, s_tokens[1:])}
            parts = clauses(sentence)
            texts = parts if len(parts) > 1 else []
            texts = [sentence.strip()] + [c for c in texts if c != sentence.strip()]
            for text in texts:
                tokens = s_tokens if text is texts[0] else folded_syllables(text)
                if not tokens:
                    continue
                own = set(tokens)
                own_bigrams = {f"{a} {b}" for a, b in zip(tokens, tokens[1:])}
                content = [t for t in tokens if t not in STOPWORDS]
                new = [t for t in content if t not in set(terms)]
                runs = new_capitals(question, text)
                flags = _type_flags(question, text, tokens, runs)
                features = {
                    **shared, **flags, **_hits(question, flags, bool(asked_place)),
                    "cov_own": _weighted(question, own),
                    "cov_own_vs_passage": _weighted(question, own) - shared["cov_passage"],
                    "cov_sentence": _weighted(question, s_set),
                    "cov_sentence_title": _weighted(question, s_set | title_tokens),
                    "bigram_own": len(qbigrams & own_bigrams) / len(qbigrams) if qbigrams else 0.0,
                    "bigram_sentence": len(qbigrams & s_bigrams) / len(qbigrams) if qbigrams else 0.0,
                    "run_own": _run(terms, tokens),
                    "new_share": len(new) / len(content) if content else 0.0,
                    "new_log": math.log1p(len(new)),
                    "len_log": math.log1p(len(tokens)),
                    "too_long": max(0, len(tokens) - MAX_CANDIDATE_SYLLABLES) / MAX_CANDIDATE_SYLLABLES,
                    "is_sentence": float(text is texts[0]),
                    "sentence_pos": position / max(1, len(sentences) - 1),
                    "first_sentence": float(position == 0),
                    "sem": float(sims[position]),
                    "count_ok": count_ok, "role_ok": role_ok,
                    "numbers_own": (sum(n in {t.lstrip("0") for t in own} for n in numbers) / len(numbers))
                    if numbers else 1.0,
                    "proximity": _proximity(set(terms), tokens),
                    # the place a where-question's title gives is the answer too ("(Sóc Trăng)")
                    "support": _support(runs + [asked_place] if asked_place else runs, haystacks, rank),
                    "places_own": (sum(f" {p} " in " " + " ".join(tokens) + " " for p in question.places)
                                   / len(question.places)) if question.places else 1.0,
                }
                passage_rows.append((Candidate(text, sentence, rank, []), features))
        best_in_passage = max((f["cov_own"] for _, f in passage_rows), default=0.0)
        best_sentence = max((f["cov_sentence"] for _, f in passage_rows), default=0.0)
        # The naive answerer's pick (issue 13): the top passage's first sentence with the most question weight.
        naive = next((c.sentence for c, f in passage_rows if f["cov_sentence"] == best_sentence), None) if rank == 0 else None
        for c, f in passage_rows:
            f["best_cov_passage"] = best_in_passage
            f["sentence_best_in_passage"] = float(f["cov_sentence"] == best_sentence)
            f["naive_pick"] = float(c.sentence == naive)
        rows.extend(passage_rows)
    best = max((f["cov_own"] for _, f in rows), default=0.0)
    sems = [f["sem"] for _, f in rows if not math.isnan(f["sem"])]
    best_sem = max(sems, default=math.nan)
    sem_order = sorted(set(sems), reverse=True)
    sem_place = {v: n for n, v in enumerate(sem_order)}
    # Where the candidate's sentence ranks by question coverage among all sentences (1, 1/2, 1/3…).
    order = sorted({round(f["cov_sentence"], 9) for _, f in rows}, reverse=True)
    place = {v: n for n, v in enumerate(order)}
    out = []
    for candidate, f in rows:
        f["sentence_cov_rr"] = 1.0 / (1 + place[round(f["cov_sentence"], 9)])
        f["cov_gap_best"] = f["cov_own"] - best
        f["sem_gap_best"] = f["sem"] - best_sem
        f["sem_rr"] = math.nan if math.isnan(f["sem"]) else 1.0 / (1 + sem_place[f["sem"]])
        f["sem_best"] = best_sem
        for t in QTYPES:
            for name in _BY_TYPE:
                f[f"x_{t}_{name}"] = f[name] if question.qtype == t else 0.0
        candidate.features = [float(f[name]) for name in FEATURES]
        out.append(candidate)
    return out
