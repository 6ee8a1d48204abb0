"""What a Vietnamese question asks: its type, its content terms and the places it names.

Works on questions with or without diacritics (matching is done on accent-folded syllables).
Leaves out finding the answer (answer.py) and conversation context (follow-ups).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from ingest.textnorm import fold_diacritics, fold_word, has_diacritics, normalize_text
from ingest.metadata import PLACE_UNITS

# Cue phrases, folded, checked in order: the first that occurs decides the type.
_TYPE_CUES = (
    ("when", ("khi nao", "bao gio", "nam nao", "ngay nao", "thang nao", "thoi gian nao", "luc nao", "dip nao",
              "ngay may", "thang may", "thoi diem nao")),
    ("how_many", ("bao nhieu", "may ", "ty le", "ti le", "so luong", "tong so", "bao xa", "bao lau")),
    ("who", (" ai", "ai ", "dong chi nao", "nguoi nao", "ong nao", "ba nao", "ten gi", "la ai")),
    ("where", ("o dau", "noi nao", "dia diem nao", "tai dau", "xa nao", "huyen nao", "tinh nao", "ban nao")),
    ("yes_no", ("co phai", "phai khong", "dung khong", "hay khong", "chua")),
)
# Question scaffolding and function words, folded: they say nothing about the topic.
STOPWORDS = set(
    "co bao nhieu may la gi nao ai o dau khi the thi sao cua va cac nhung duoc da trong tai voi cho mot "
    "nhu den tu ve theo bang hay hoac khong phai nay do ra vao len con dang se ti ty le so luong tong "
    "hien nay hien toan bo gio nam ngay thang luc dip ten ong ba chi anh em chua dung vay nhe a u".split()
)
# Words present in nearly every article of this kind: they count, but little.
GENERIC = set("huyen xa tinh dang bo nghi quyet dai hoi thi tran thanh pho ban nhan dan cong tac thuc hien".split())
# Heads after "bao nhiêu" that any figure answers (people are counted as "lao động", "thành viên"…;
# "phần trăm" by a "%"), or that end the phrase ("trở lên"). "tiền" is counted in money (answer_rules).
_ANY_COUNT = set("nguoi phan lan muc con so tro".split())
# What "… là bao nhiêu" asks the amount of money for, folded ("tổng mức đầu tư", "kinh phí"), and what
# may follow "bao nhiêu" when no unit does.
_MONEY_ASKED = {"kinh phi", "dau tu", "ngan sach", "tri gia", "chi phi", "doanh thu", "von"}
_NO_UNIT = set("so voi trong tai cua va la".split())
# Kinds of thing a name follows ("nhà máy Đồng Giao", "xã Chiềng Ban"): "… nào" asks for that name.
# ("quận", "phường", "trường" are also "cơ quan", "địa phương", "môi trường": left out.) One syllable
# must be written as the kind when the question has accents ("tính nào" asks no province).
_NAMED_KINDS = ("nha may", "cong ty", "doanh nghiep", "hop tac xa", "benh vien", "truong hoc", "thanh pho", "xa",
                "huyen", "tinh", "thon")
_WRITTEN = {"xa": "xã", "huyen": "huyện", "tinh": "tỉnh", "thon": "thôn"}
# Classifiers before a counted noun, folded ("căn nhà", "chiếc xe", "ngôi trường"); a sentence counts
# the noun without them as often as with.
_CLASSIFIERS = set("can chiec cai ngoi toa buc cuon quyen".split())
# Small numbers as written before a counted group ("Hai cá nhân … là ai?"); typed without accents only
# those that are no other common word ("sau", "bay", "tam", "nam" are).
SMALL_NUMBERS = {"hai": "2", "ba": "3", "bốn": "4", "sáu": "6", "bảy": "7", "tám": "8", "chín": "9", "mười": "10"}
_SMALL_FOLDED = {"hai": "2", "ba": "3", "bon": "4", "chin": "9", "muoi": "10"}
# Units of time a count question may ask in ("bao nhiêu tuần mà tử vong?" counts weeks, not "tuần mà").
TIME_UNITS = set("giay phut gio tieng ngay tuan thang nam lau".split())
# Kinship a question asks the person of, as written ("Cha của Messi", "Ai là vợ của Bill Gates"): the
# relation it names, read from the longest phrase first ("con gái" before "con").
KIN_WORDS = {"con trai": "son", "con gái": "daughter", "con trưởng": "son", "con út": "child", "con": "child",
             "cha": "father", "bố": "father", "thân phụ": "father", "mẹ": "mother", "thân mẫu": "mother",
             "vợ": "wife", "phu nhân": "wife", "chồng": "husband"}
YEAR = re.compile(r"(19|20)\d\d")  # a year, not a count: read by candidates.py and answer.py too
_LAW_WORDS = set("luat dinh tu phap chi quyet lenh".split())  # (bộ) luật, nghị định, thông tư, hiến pháp…
_SYLLABLE = re.compile(r"\d+(?:[.,/]\d+)*|[^\W\d_]+")
_UNITS_FOLDED = tuple(fold_diacritics(u) for u in PLACE_UNITS)
# Units that surely introduce a place name ("Bản" and "Ban" fold alike, so bản is left out).
_NAME_UNITS = {"huyen", "xa", "tinh", "quan", "phuong"}
# Words a person's name follows, as written ("Ông Soo", "Bà Khất Thị Oanh", "Bác Hồ"): the article says
# "ông Soo" or "Kim Jung Soo", so the run is a person, not a place to find in the passage ("Ba Lan" is one).
_HONORIFICS = set("Ông Bà Cụ Bác Anh Chị Cô Chú Em Bé Cháu Thầy".split())
_NOT_PLACE_HEADS = set("truong pho bi chu ban dong uy hoi dai nghi chuong trung so phong mat nha chi cong".split())


@dataclass
class ParsedQuestion:
    text: str
    qtype: str
    terms: list[str]  # folded content syllables, in order
    places: list[str] = field(default_factory=list)  # folded place names ("mai son")
    weights: dict[str, float] = field(default_factory=dict)  # term → how telling it is (IDF)

    @cached_property
    def bigrams(self) -> set[str]:
        return {f"{a} {b}" for a, b in zip(self.terms, self.terms[1:])}

    @cached_property
    def numbers(self) -> set[str]:
        """Figures the question itself gives ("năm 2021"): context to match, never the answer."""
        return {t for t in self.terms if t[0].isdigit()}

    @cached_property
    def folded(self) -> list[str]:
        """The question's folded syllables, stopwords included (terms leaves them out)."""
        return folded_syllables(self.text)

    @property
    def counted(self) -> str | None:
        """What a count question ("bao nhiêu", "mấy") counts: its first one or two folded syllables ("bao
        nhiêu hợp tác xã" → "hop tac", "bao nhiêu hộ có…" → "ho"); "tien" for an amount of money ("tổng mức
        đầu tư là bao nhiêu"); "" when any figure answers it ("là bao nhiêu", "bao nhiêu người"); None when
        it counts nothing."""
        words, tokens = syllables(self.text), self.folded
        for i, token in enumerate(tokens):
            if token == "bao" and tokens[i + 1:i + 2] == ["lau"]:
                return "lau"  # "bao lâu" asks a span of time
            if token == "bao" and tokens[i + 1:i + 2] == ["nhieu"]:
                head = i + 2
            elif words[i] == "mấy" or (token == "may" and not has_diacritics(self.text)):
                # folded "may" is also "máy": read as "mấy" only in a question typed without any accent
                head = i + 1
            else:
                continue
            if tokens[head:head + 1] and tokens[head] in _CLASSIFIERS and head + 1 < len(tokens):
                head += 1  # "bao nhiêu căn nhà tạm" counts houses: "255 nhà tạm" answers it
            phrase = tokens[head:head + 2]  # "sân bay", not any "sân"
            if not phrase or phrase[0] in STOPWORDS or phrase[0] in _ANY_COUNT or phrase[0][0].isdigit():
                # "Tổng mức đầu tư là bao nhiêu?" asks an amount of money, not any figure (when no unit
                # follows: "vốn … quá bao nhiêu ngày" asks days).
                money = not phrase or phrase[0] in _NO_UNIT
                said = set(tokens) | {f"{a} {b}" for a, b in zip(tokens, tokens[1:])}
                return "tien" if money and _MONEY_ASKED & said else ""
            if phrase[0] in TIME_UNITS:
                return phrase[0]
            return " ".join(phrase[:1] + [t for t in phrase[1:] if t not in STOPWORDS and not t[0].isdigit()])
        return None

    @property
    def years(self) -> list[str]:
        """Years the question sets its facts in ("Năm 2019 huyện … tiêu thụ"), not those naming a law
        ("Bộ luật Dân sự năm 2015", "Nghị định … năm 2020")."""
        tokens = self.folded
        return [t for i, t in enumerate(tokens) if YEAR.fullmatch(t) and i and tokens[i - 1] == "nam"
                and not set(tokens[max(0, i - 6):i - 1]) & _LAW_WORDS]

    @cached_property
    def wants_percent(self) -> bool:
        folded = " " + " ".join(self.folded) + " "
        return any(cue in folded for cue in (" ty le ", " ti le ", " phan tram ")) or "%" in self.text

    @cached_property
    def rate_of(self) -> list[str]:
        """What a rate question measures: the content syllables after "tỷ lệ" ("tỷ lệ hộ nghèo" → hộ nghèo)."""
        tokens = self.folded
        for i in range(len(tokens) - 1):
            if tokens[i] in ("ty", "ti") and tokens[i + 1] == "le":
                return [t for t in tokens[i + 2:i + 4] if t not in STOPWORDS and t not in GENERIC]
        return []

    @cached_property
    def kind_asked(self) -> list[str]:
        """The kind of named thing a "… nào" question asks which one of ("nhà máy nào" → nhà máy), folded."""
        padded = f" {' '.join(self.folded)} "
        written = f" {' '.join(syllables(self.text))} "
        # A kind of two syllables may take a qualifier before "nào" ("nhà máy chế biến nào"); one may not
        # ("trường hợp nào", "tinh thần nào" ask no name).
        gap = r"(?: \w+){0,2}"

        def asked(kind: str) -> bool:
            if " " in kind:
                return bool(re.search(f" {kind}{gap} nao ", padded))
            return f" {kind} nao " in padded and (f" {_WRITTEN[kind]} nào " in written or not has_diacritics(self.text))

        return next((kind.split() for kind in _NAMED_KINDS if asked(kind)), [])

    @cached_property
    def kin_asked(self) -> str:
        """The kinship whose person the question asks for ("son", "wife"…; app/answer_rules.holds_kin), when
        it opens with it or with "Ai là" before it and names its person next ("Con gái của Mỹ Linh", "vợ của
        shark Hưng là ai"); "" otherwise ("Cha mẹ bé đã không làm gì?", "Con đường lây truyền…").
        Typed without accents, "của" must follow ("con cua messi"): "con", "me", "vo" are other words too."""
        if self.qtype not in ("who", "what"):  # "Chồng của Valentina có bao nhiêu người con?" asks a count
            return ""
        accented = has_diacritics(self.text)
        words = syllables(self.text) if accented else self.folded
        start = 2 if words[:2] in (["ai", "là"], ["ai", "la"]) else 0
        for phrase, relation in KIN_WORDS.items():
            kin = phrase.split() if accented else fold_diacritics(phrase).split()
            if words[start:start + len(kin)] != kin:
                continue
            after = words[start + len(kin):start + len(kin) + 1]
            if after in (["của"], ["cua"]) or (accented and after and self._capital_after(phrase)):
                return relation
        return ""

    @cached_property
    def group_asked(self) -> tuple[str, str] | None:
        """(count, the counted noun's first folded syllable) of the group a which/who question opens with
        and asks the members of ("Hai cá nhân … là ai?" → ("2", "ca"), "3 chương trình … là những chương
        trình nào?" → ("3", "chuong")); else None ("5 đảng viên bị khiển trách vì lý do gì?" asks why)."""
        padded = f" {' '.join(self.folded)} "
        if self.qtype not in ("who", "what", "where") or not any(f" {c} " in padded for c in ("nao", "ai")):
            return None
        words, tokens = syllables(self.text), self.folded
        first = 1 if tokens[:1] in (["nhung"], ["cac"]) else 0
        word = words[first] if len(words) > first + 1 else ""
        count = word.lstrip("0") if word.isdigit() and len(word) < 4 else (
            SMALL_NUMBERS if has_diacritics(self.text) else _SMALL_FOLDED).get(word)
        return (count, tokens[first + 1]) if count and tokens[first + 1].isalpha() else None

    def _capital_after(self, phrase: str) -> bool:
        """Whether a capitalised name follows the phrase within three words ("Con trai Hồ Ngọc Hà")."""
        rest = re.split(re.escape(phrase), normalize_text(self.text), maxsplit=1, flags=re.IGNORECASE)[-1].split()
        return any(w[:1].isupper() for w in rest[:3])

    def weight(self, term: str) -> float:
        return self.weights.get(term, 0.4 if term in GENERIC else 1.0)

    @cached_property
    def term_weights(self) -> tuple[list[tuple[str, float]], float]:
        """(each term with its weight, their sum or 1): what candidates' coverage features divide."""
        pairs = [(t, self.weight(t)) for t in self.terms]
        return pairs, sum(w for _, w in pairs) or 1.0

    @cached_property
    def text_folded(self) -> str:
        """The question as written, accent-folded and lower-cased (names it gives are matched in it)."""
        return fold_diacritics(self.text).lower()


def question_type(folded: str) -> str:
    # Cues match whole syllables: "ai" is not in "tại sao", "hai", "mai"; "chưa" is not in "chuẩn".
    padded = f" {folded} "
    for qtype, cues in _TYPE_CUES:
        if any(f" {cue.strip()} " in padded for cue in cues):
            return qtype
    return "what"


def syllables(text: str) -> list[str]:
    """Lower-cased syllables and figures as written ("1.373,7" is one)."""
    return _SYLLABLE.findall(unicodedata.normalize("NFC", text).lower())


def folded_syllables(text: str) -> list[str]:
    # Folding erases what normalize_text would fix (tone placement); NFC is all findall needs.
    return list(_folded(text))


@lru_cache(maxsize=32_768)
def _folded(text: str) -> tuple[str, ...]:
    """Remembered: the answer stage folds the same sentences, clauses and names several times a question."""
    return tuple(fold_word(t) for t in syllables(text))


def _strip_unit(name: str) -> str:
    """"huyện mai sơn" → "mai sơn" (works on accented and folded names)."""
    folded = fold_diacritics(name)
    for unit in _UNITS_FOLDED:
        if folded.startswith(unit + " "):
            return name[len(unit) + 1 :]
    return name


def find_places(question: str, known_places: list[str]) -> list[str]:
    """Folded places named in the question: known places, or capitalised names ("Yên Châu").

    Known places are matched with diacritics when the question has them ("Mai Sơn là" is not
    "Sơn La"), and a place overlapping one found earlier in the question is not counted twice.
    """
    text = normalize_text(question)
    accented = has_diacritics(text)
    words = [w.lower() for w in _SYLLABLE.findall(text)]
    words = words if accented else [fold_diacritics(w) for w in words]
    matches = set()
    for place in known_places:
        name = _strip_unit(place.lower() if accented else fold_diacritics(place).lower()).split()
        for i in range(len(words) - len(name) + 1):
            if words[i : i + len(name)] == name:
                matches.add((i, len(name), fold_diacritics(" ".join(name))))
    # The earliest (then longest) reading wins: "mai son la …" is Mai Sơn, not Sơn La.
    taken: set[int] = set()
    found = []
    for start, size, name in sorted(matches, key=lambda m: (m[0], -m[1])):
        if not taken & set(range(start, start + size)):
            taken |= set(range(start, start + size))
            found.append(name)
    # Capitalised runs ("Yên Châu", "Huyện Yên Châu") name places the corpus may not know; runs that
    # open with a title or body ("Trưởng Ban Tuyên giáo", "Ban Thường vụ") are not places.
    raw_words = _SYLLABLE.findall(text)  # figures end a run: "Năm 2022 Ban Thường vụ" is no name
    run: list[str] = []
    for word in raw_words + [""]:
        if word and word[0].isupper() and not word.isupper():
            run.append(word)
            continue
        head = fold_diacritics(run[0]).lower() if run else ""
        if run and (run[0] in _HONORIFICS or head == "ong"):
            names = run[1:] if len(run) >= 3 else []  # a person ("Ông Kim Jung Soo"), named without "Ông"
        elif head in _NAME_UNITS and len(run) >= 2:
            names = run[1:]
        elif len(run) >= 2 and head not in _NOT_PLACE_HEADS and head not in _UNITS_FOLDED:
            names = run
        else:
            names = []
        if names:
            name = fold_diacritics(" ".join(names)).lower()
            if not any(name in f or f in name for f in found):
                found.append(name)
        run = []
    return list(dict.fromkeys(found))


def parse(question: str, known_places: list[str] | None = None, document_frequency=None) -> ParsedQuestion:
    """`document_frequency(term) -> (df, n_docs)` over the indexed chunks weights the terms by IDF."""
    tokens = folded_syllables(question)
    terms = [s for s in tokens if s not in STOPWORDS]
    # Typed with accents, the "may" that asks how many is written "mấy" ("máy bay", "nhà máy" ask nothing).
    accented = has_diacritics(question)
    cues = [t for t, w in zip(tokens, syllables(question)) if t != "may" or w == "mấy" or not accented]
    parsed = ParsedQuestion(question, question_type(" ".join(cues)), terms, find_places(question, known_places or []))
    if document_frequency is not None:
        for term in set(terms):
            df, n_docs = document_frequency(term)
            # A term the corpus never uses says nothing about where the answer is: neutral weight.
            parsed.weights[term] = math.log(1 + n_docs / df) if df else 1.0
    return parsed
