"""What a sentence must hold to answer certain questions: a count of the thing counted, the office
itself rather than its deputy, a date or rank as precise as asked, the name of the kind of thing asked,
the kinship asked; and no sentence that is itself a question answers. Pure functions of syllables;
app/candidates.py turns them into features and app/answer.grounded() refuses candidates that fail them.
"""

from __future__ import annotations

import re

from app.question import SMALL_NUMBERS, syllables
from ingest.textnorm import fold_diacritics, fold_word, has_diacritics

# Number words, as written: "ba người", "một phần hai" count as figures do ("một số", "tỷ lệ" do not;
# "năm" is a year far more often than five, so it counts only before the counted noun).
NUMBER_WORDS = set("một hai ba bốn sáu bảy tám chín mười mươi trăm nghìn ngàn triệu tỷ tỉ chục nửa".split())
_MONEY = set("dong ty ti trieu nghin ngan usd do euro".split())  # folded currency words after an amount
_DURATIONS = {"lau": set("giay phut gio tieng ngay tuan thang nam".split()), "tieng": {"tieng", "gio"},
              "gio": {"tieng", "gio"}}
_NOT_A_NUMBER = {("một", "số"), ("tỷ", "lệ"), ("tỉ", "lệ")}


def _is_figure(words: list[str], n: int, counting: bool) -> bool:
    word, after = words[n], words[n + 1] if n + 1 < len(words) else ""
    return word[0].isdigit() or ((word in NUMBER_WORDS or (counting and word == "năm")) and (word, after) not in _NOT_A_NUMBER)


def holds_count(counted: str | None, sentence: str, given: set[str] | frozenset = frozenset()) -> bool:
    """Whether a sentence can answer a count question (app/question.ParsedQuestion.counted): it holds a
    figure or number word, with the counted noun's first syllable within the next two syllables and its
    second anywhere ("26 hợp tác xã", "3 trường đạt chuẩn", "cây ăn quả đạt 11.200 ha"; "hai mùa nhãn,
    sản phẩm" does not count products), other than the figures the question gives ("trong 8 chương trình,
    đã xong mấy chương trình?" is not answered by "8 chương trình"). True for questions that count nothing."""
    if counted is None:
        return True
    words = syllables(sentence)
    folded = [fold_word(w) for w in words]
    head, *rest = counted.split() or [""]
    if not all(t in folded for t in rest):  # "sân thể thao" does not count airports ("sân bay")
        return False
    # What must follow the figure: "bao nhiêu tiền" an amount of money ("995 tỷ đồng", not "3 nội dung");
    # "bao lâu" any span of time, "bao nhiêu tiếng" hours.
    wanted = _MONEY if head == "tien" else _DURATIONS.get(head, {head})
    return any(_is_figure(words, n, bool(head)) and words[n].lstrip("0") not in given
               and (not head or wanted & set(folded[n + 1:n + 3])) for n in range(len(words)))


# How a question ends when a page writes it without its "?" ("Tên khai sinh của Bác Hồ là gì").
_ASKING_ENDS = ("là gì", "là ai", "ở đâu", "bao nhiêu", "ra sao", "như thế nào")


def asks(sentence: str) -> bool:
    """A sentence that is itself a question answers nothing: quiz pages repeat the question asked ("Trảo
    Nha là bút danh của nhà thơ nào sau đây ?", "Tên khai sinh thời nhỏ của Bác Hồ là gì") or ask their own."""
    end = sentence.rstrip(" \"”'’).").lower()
    return end.endswith("?") or end.endswith(_ASKING_ENDS)


# Offices a question may ask the holder of, folded; "Phó Bí thư" does not hold "Bí thư".
OFFICES = tuple(o.split() for o in (
    "bi thu|chu tich|giam doc|tong giam doc|thu tuong|tong thong|bo truong|thu truong|hieu truong|vien truong|"
    "chanh an|chu nhiem|tu lenh|truong ban|truong phong|chanh van phong|cuc truong").split("|"))


def _at(tokens: list[str], words: list[str]) -> list[int]:
    return [i for i in range(len(tokens) - len(words) + 1) if tokens[i:i + len(words)] == words]


# Bodies an office belongs to, folded, as a question names them right after it ("Bí thư Huyện ủy",
# "Chủ tịch UBND"); the names of one body are one group ("UBND" is "Ủy ban nhân dân").
BODIES = (("huyen uy",), ("tinh uy",), ("thanh uy",), ("dang uy",), ("quan uy",), ("ubnd", "uy ban"),
          ("hdnd", "hoi dong"), ("mttq", "mat tran"))


# Offices whose country follows them ("Tổng thống Pháp Emmanuel Macron", "Thủ tướng Nhật Bản").
_HEADS_OF_STATE = ("tong thong", "thu tuong")


def offices_asked(question_tokens: list[str], places=()) -> list[tuple[list[str], tuple[str, ...]]]:
    """The offices whose holder the question asks for ("Bí thư", not "Phó Bí thư" nor "Tổng Bí thư"),
    each with the names of the body the question puts it in (empty when it names none): one of BODIES,
    or for a head of state the country named after it (one of the question's `places`)."""
    asked = []
    for office in OFFICES:
        starts = [i for i in _at(question_tokens, office) if not (i and question_tokens[i - 1] in ("pho", "tong"))]
        if starts:
            after = " ".join(question_tokens[starts[0] + len(office):starts[0] + len(office) + 4])
            body = next((group for group in BODIES if any(after == n or after.startswith(n + " ") for n in group)), ())
            if not body and " ".join(office) in _HEADS_OF_STATE:
                # "Tổng thống Nhật Bản" is not answered by "Tổng thống Thụy Sỹ" beside "Thủ tướng Nhật Bản".
                body = tuple(p for p in places if after == p or after.startswith(p + " "))[:1]
            asked.append((office, body))
    return asked


def holds_office(offices: list[tuple[list[str], tuple[str, ...]]], tokens: list[str]) -> bool:
    """Whether the sentence names every asked office itself: not only as its deputy ("Phó Bí thư" for
    "Bí thư"), nor not at all (a sentence about the district does not say who its Bí thư is), and in the
    body asked for within the next five syllables ("Bí thư Đảng ủy thị trấn" is not "Bí thư Huyện ủy"),
    a head of state's country at most one syllable on ("Tổng thống nước Pháp"; not "Tổng thống Hàn Quốc
    tới Triều Tiên")."""
    for office, body in offices:
        named = [i for i in _at(tokens, office) if not (i and tokens[i - 1] == "pho")]
        head_of_state = " ".join(office) in _HEADS_OF_STATE

        def follows(i: int, name: str) -> bool:  # a country at most a syllable on, a body within five
            span = 1 + len(name.split()) if head_of_state else 5
            return f" {name} " in " " + " ".join(tokens[i + len(office):i + len(office) + span]) + " "

        if body:
            named = [i for i in named if any(follows(i, n) for n in body)]
        if not named:
            return False
    return True


# What answers "ngày nào", "tháng nào", "năm nào": a date of that precision at least, other than the
# question's own ("nhiệm kỳ 2020 - 2025" does not say on which day a congress met).
_DAY = r"\b\d{1,2}/\d{1,2}/(?:19|20)?\d\d\b|\b(?:ngày|sáng|trưa|chiều|tối|đêm|hôm)\s+\d{1,2}\b"  # not "5/8 chương trình"
_DATE_OF = {
    "ngay": re.compile(_DAY, re.IGNORECASE),
    "thang": re.compile(_DAY + r"|\b\d{1,2}/(?:19|20)\d\d\b|\btháng\s+\d{1,2}\b", re.IGNORECASE),
    "nam": re.compile(r"\b(?:19|20)\d\d\b|\bnăm\s+\d{1,4}\b", re.IGNORECASE),
}
_RANK = re.compile(r"\b(?:thứ|hạng)\s+\d{1,3}\b|\b(?:thứ|hạng)\s+(?:nhất|nhì|ba|tư|năm)\b", re.IGNORECASE)


def figure_asked(question_tokens: list[str]) -> re.Pattern | None:
    """What a sentence must hold to answer "ngày / tháng / năm nào (mấy)" (a date that precise) or "thứ /
    hạng mấy" (a rank); None for other questions."""
    padded = f" {' '.join(question_tokens)} "
    if " thu may " in padded or " hang may " in padded:
        return _RANK
    unit = next((w for w in ("ngay", "thang", "nam") if f" {w} nao " in padded or f" {w} may " in padded), "")
    return _DATE_OF.get(unit)


# Capitalised words that start names of bodies and titles, not of people (nor of the thing asked).
NOT_PERSON = set(
    "ban huyện đảng nghị đại hội ủy uỷ chương trung bộ sở phòng ubnd hđnd mặt tỉnh xã trạm thành "
    "quốc nhà chi công chính sông bản tiểu đề kết chỉ bí phó trưởng giám chủ thường".split()
)


# A firm is named by what it is ("Công ty Than Quảng Ninh" answers "doanh nghiệp nào").
_FIRMS = [k.split() for k in ("cong ty", "nha may", "doanh nghiep", "tap doan", "hop tac xa", "htx")]


def is_cased(text: str) -> bool:
    """Whether a text capitalises names: a capital inside a sentence (zalo-qa holds lower-cased pages)."""
    words = text.split()
    return any(w[:1].isupper() and words[i - 1][-1:] not in ".!?:\"“" for i, w in enumerate(words) if i)


def names_kind(kind: list[str], sentence: str, question_tokens: list[str]) -> bool:
    """Whether the sentence names one of the kind a "… nào" question asks for (app/question.kind_asked)
    that the question does not: the first name after the kind, at most three words on ("nhà máy Đồng
    Giao", "Bệnh viện đa khoa tỉnh Phú Thọ"), or the name the kind is said of ("Huế là tỉnh đầu tiên").
    Not "phục vụ nguyên liệu nhà máy", nor "xã Tà Tổng" for the xã bordering Tà Tổng."""
    words = re.findall(r"[^\W\d_]+", sentence)
    folded = [fold_word(w.lower()) for w in words]
    asked = f" {' '.join(question_tokens)} "

    def new_name(a: int) -> bool:
        b = a
        while b < len(words) and words[b][0].isupper():
            b += 1
        while a < b and (words[a].lower() in NOT_PERSON or words[a].isupper()):  # "UBND", "lần thứ V Đảng bộ"
            a += 1
        return a < b and f" {' '.join(folded[a:b])} " not in asked

    for k in _FIRMS if kind in _FIRMS else [kind]:
        for i in range(len(words) - len(k) + 1):
            if folded[i:i + len(k)] != k:
                continue
            after = next((j for j in range(i + len(k), min(len(words), i + len(k) + 4)) if words[j][0].isupper()), None)
            if after is not None and new_name(after):
                return True
            if i >= 2 and folded[i - 1] == "la" and words[i - 2][0].isupper():
                first = i - 2
                while first and words[first - 1][0].isupper():
                    first -= 1
                if new_name(first):
                    return True
    return False


# What a sentence must say to name a relative the question asks for (app/question.ParsedQuestion.kin_asked).
_KIN_SAID = {
    "father": ("cha", "bố", "thân phụ", "phụ thân"),
    "mother": ("mẹ", "má", "thân mẫu", "mẫu thân"),
    "wife": ("vợ", "phu nhân", "bà xã", "kết hôn", "cưới", "hôn nhân", "bạn đời"),
    "husband": ("chồng", "ông xã", "phu quân", "kết hôn", "cưới", "hôn nhân", "bạn đời"),
    "child": ("con", "quý tử", "ái nữ", "sinh con", "hạ sinh", "sinh hạ"),
    "son": ("con trai", "quý tử", "cậu con", "con cả", "con trưởng", "con út", "sinh con", "hạ sinh", "sinh hạ"),
    "daughter": ("con gái", "ái nữ", "cô con", "con cả", "con út", "sinh con", "hạ sinh", "sinh hạ"),
}


# Compounds that name another relative: "bố chồng" is a father-in-law, "hai mẹ con Gal Gadot" names her as
# the mother. ("mẹ chồng của Hari Won và mẹ Trấn Thành" does say whom she married: spouses keep them.)
_IN_LAWS = ("bố chồng", "mẹ chồng", "cha chồng", "bố vợ", "mẹ vợ", "cha vợ")
_OTHER_KIN = {"husband": (), "wife": (), "father": _IN_LAWS + ("bố con", "cha con", "bố mẹ", "cha mẹ"),
              "mother": _IN_LAWS + ("mẹ con", "bố mẹ", "cha mẹ"),
              "child": ("con dâu", "con rể"), "son": ("con rể",), "daughter": ("con dâu",)}


def holds_kin(relation: str, sentence: str) -> bool:
    """Whether a sentence says the kinship asked ("vợ", "kết hôn" for a wife): "Cha của Nguyễn Tấn Dũng
    là …" does not say who his wife is, nor "Apollo là con trai của Zeus" who Zeus's daughter is. True
    when no kinship is asked. Matched as written, or accent-folded in a sentence typed without accents."""
    if not relation:
        return True
    accented = has_diacritics(sentence)
    padded = f" {' '.join(syllables(sentence) if accented else [fold_word(w) for w in syllables(sentence)])} "
    for other in _OTHER_KIN[relation]:
        padded = padded.replace(f" {other if accented else fold_diacritics(other)} ", " ")
    return any(f" {w if accented else fold_diacritics(w)} " in padded for w in _KIN_SAID[relation])


_LIST_OPENERS = {":", "gom", "nhu", "la"}


def names_group(group: tuple[str, str] | None, sentence: str) -> bool:
    """Whether a sentence that counts the group a which/who question asks about (app/question.group_asked:
    "Hai cá nhân … là ai?") also says which they are: a list after the count (":", "gồm", "như", "là") or
    a name within six words. "2 cá nhân được UBND tỉnh tặng bằng khen" does not; a sentence that does not
    count the group is not judged here."""
    if not group:
        return True
    count, noun = group
    words = re.findall(r"[^\W_]+|:", sentence)
    folded = [fold_word(w.lower()) for w in words]

    def is_name(word: str) -> bool:
        return word[0].isupper() and not word.isupper() and word.lower() not in NOT_PERSON

    counted = [i for i in range(len(words) - 1)
               if count in (words[i].lstrip("0"), SMALL_NUMBERS.get(words[i].lower())) and folded[i + 1] == noun]
    if not counted:
        return True
    for i in counted:
        if any(folded[j] in _LIST_OPENERS or is_name(words[j]) for j in range(i + 2, min(len(words), i + 8))):
            return True
    return False
