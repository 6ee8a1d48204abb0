"""Load question-answering datasets (jsonl, SQuAD/Zalo JSON, BEIR folders) into plain dataclasses.

Covers format detection, parsing, grouping of Zalo-style repeated questions and a content hash for
caching indexes. Leaves out: indexing, retrieval and scoring (index/, eval/metrics.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from eval.metrics import normalize_answer

FORMATS = ("jsonl", "squad", "beir")
_QRELS_CANDIDATES = ("qrels.tsv", "qrels/test.tsv")


@dataclass
class Passage:
    id: str
    title: str
    text: str


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]  # empty = unanswerable
    relevant_ids: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    fields: dict = field(default_factory=dict)  # variant, type, question_type, source… for breakdowns

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class Dataset:
    name: str
    format: str
    path: str
    questions: list[Question]
    passages: list[Passage] | None  # None for jsonl: answered over a separate corpus
    content_hash: str


# ---------------------------------------------------------------- shared helpers


def _as_list(value) -> list[str]:
    """A str-or-list field as a list of strings (None → [])."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)]


def _dedupe_texts(texts: list[str]) -> list[str]:
    """Keep the first of texts that normalise alike ("Moon Jae-in" / "Moon Jae In")."""
    seen, kept = set(), []
    for text in texts:
        key = normalize_answer(text)
        if key not in seen:
            seen.add(key)
            kept.append(text)
    return kept


def _hash_files(files: list[Path]) -> str:
    """sha256 over the files' bytes in a fixed order; names stay out so a renamed copy keeps its cache."""
    digest = hashlib.sha256()
    for path in files:
        content = path.read_bytes()
        digest.update(len(content).to_bytes(8, "big"))  # length prefix keeps file boundaries unambiguous
        digest.update(content)
    return digest.hexdigest()


def _read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) per non-blank line; a malformed line raises naming its number."""
    rows = []
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: line {number} is not valid JSON ({error.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}: line {number} is not a JSON object")
            rows.append((number, obj))
    return rows


# ---------------------------------------------------------------- format detection


def _is_squad(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig")).get("data")
    except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
        return False
    return isinstance(data, list) and all(isinstance(a, dict) and "paragraphs" in a for a in data)


def detect_format(path) -> str:
    """"beir" for a folder with corpus.jsonl + queries.jsonl, "squad" or "jsonl" for a file."""
    path = Path(path)
    if path.is_dir():
        if (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file():
            return "beir"
        raise ValueError(f"{path}: a dataset folder needs corpus.jsonl and queries.jsonl (BEIR layout)")
    if not path.is_file():
        raise ValueError(f"{path}: no such dataset file or folder")
    if path.suffix == ".json" and _is_squad(path):
        return "squad"
    if path.suffix == ".jsonl":
        return "jsonl"
    raise ValueError(
        f"{path}: unknown dataset format; expected a .jsonl file, a SQuAD .json file "
        '({"data": [{"paragraphs": ...}]}) or a BEIR folder (corpus.jsonl, queries.jsonl, qrels.tsv)'
    )


# ---------------------------------------------------------------- jsonl

_JSONL_KNOWN = {"id", "question", "answers", "doc_id", "evidence"}


def _jsonl_question(path: Path, number: int, obj: dict) -> Question:
    for key in ("question", "answers"):
        if key not in obj:
            raise ValueError(f"{path}: line {number} has no {key!r} key")
    if not isinstance(obj["answers"], list):
        raise ValueError(f"{path}: line {number}: 'answers' must be a list (empty = unanswerable)")
    return Question(
        id=str(obj.get("id", number)),
        question=str(obj["question"]),
        answers=[str(answer) for answer in obj["answers"]],
        relevant_ids=_as_list(obj.get("doc_id")),
        evidence=_as_list(obj.get("evidence")),
        fields={key: value for key, value in obj.items() if key not in _JSONL_KNOWN},
    )


def _load_jsonl(path: Path) -> tuple[list[Question], None, list[Path]]:
    questions = [_jsonl_question(path, number, obj) for number, obj in _read_jsonl(path)]
    return questions, None, [path]


# ---------------------------------------------------------------- squad


def _article_title(article: dict) -> str:
    """The article title, unless it is just one of the article's questions (Zalo files do that)."""
    title = str(article.get("title") or "")
    asked = {normalize_answer(qa.get("question", "")) for p in article["paragraphs"] for qa in p.get("qas", [])}
    return "" if normalize_answer(title) in asked else title


def _answer_texts(qa: dict) -> list[str]:
    """Answer texts of one (question, paragraph) pair; none when SQuAD 2.0 marks it impossible."""
    if qa.get("is_impossible", False):
        return []
    return [str(answer["text"]) for answer in qa.get("answers", []) if str(answer.get("text", "")).strip()]


def _load_squad(path: Path) -> tuple[list[Question], list[Passage], list[Path]]:
    data = json.loads(path.read_text(encoding="utf-8-sig"))["data"]
    passages: list[Passage] = []
    passage_by_context: dict[str, Passage] = {}
    groups: dict[str, dict] = {}  # normalised question text → first id/text, answers, relevant ids
    for article in data:
        title = _article_title(article)
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            if context not in passage_by_context:
                passage_by_context[context] = Passage(id=f"p{len(passages):05d}", title=title, text=context)
                passages.append(passage_by_context[context])
            passage_id = passage_by_context[context].id
            for qa in paragraph.get("qas", []):
                key = normalize_answer(qa["question"])
                group = groups.setdefault(
                    key, {"id": str(qa["id"]), "question": qa["question"].strip(), "answers": [], "relevant": []}
                )
                answers = _answer_texts(qa)
                if answers:
                    group["answers"].extend(answers)
                    if passage_id not in group["relevant"]:
                        group["relevant"].append(passage_id)
    questions = [
        Question(
            id=group["id"],
            question=group["question"],
            answers=_dedupe_texts(group["answers"]),
            relevant_ids=group["relevant"],
        )
        for group in groups.values()
    ]
    return questions, passages, [path]


# ---------------------------------------------------------------- beir

_BEIR_KNOWN = {"_id", "id", "text", "answers", "evidence"}


def _record_id(path: Path, number: int, obj: dict) -> str:
    if "_id" in obj:
        return str(obj["_id"])
    if "id" in obj:
        return str(obj["id"])
    raise ValueError(f"{path}: line {number} has neither '_id' nor 'id'")


def _read_qrels(path: Path) -> dict[str, list[str]]:
    """query id → relevant corpus ids (score > 0), in file order; the header line is optional."""
    relevant: dict[str, list[str]] = {}
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < 3:
            raise ValueError(f"{path}: line {number} needs query-id, corpus-id and score (tab-separated)")
        query_id, corpus_id, score = (column.strip() for column in columns[:3])
        try:
            is_relevant = float(score) > 0
        except ValueError:
            if number == 1:
                continue  # header: query-id corpus-id score
            raise ValueError(f"{path}: line {number} has a non-numeric score {score!r}") from None
        if is_relevant and corpus_id not in relevant.setdefault(query_id, []):
            relevant[query_id].append(corpus_id)
    return relevant


def _load_beir(folder: Path) -> tuple[list[Question], list[Passage], list[Path]]:
    corpus_path, queries_path = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_path = next((folder / name for name in _QRELS_CANDIDATES if (folder / name).is_file()), None)
    passages = [
        Passage(id=_record_id(corpus_path, n, obj), title=str(obj.get("title") or ""), text=str(obj.get("text") or ""))
        for n, obj in _read_jsonl(corpus_path)
    ]
    qrels = _read_qrels(qrels_path) if qrels_path else {}
    questions = []
    for number, obj in _read_jsonl(queries_path):
        query_id = _record_id(queries_path, number, obj)
        answers = _as_list(obj.get("answers"))
        if query_id not in qrels and not answers:
            continue  # neither labelled passages nor answers: nothing to measure
        questions.append(
            Question(
                id=query_id,
                question=str(obj.get("text", "")),
                answers=answers,
                relevant_ids=qrels.get(query_id, []),
                evidence=_as_list(obj.get("evidence")),
                fields={key: value for key, value in obj.items() if key not in _BEIR_KNOWN},
            )
        )
    files = [corpus_path, queries_path] + ([qrels_path] if qrels_path else [])
    return questions, passages, files


# ---------------------------------------------------------------- entry point

_LOADERS = {"jsonl": _load_jsonl, "squad": _load_squad, "beir": _load_beir}


def _dataset_name(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def load_dataset(path, fmt: str = "auto", limit: int | None = None) -> Dataset:
    """Load a dataset; limit keeps the first N questions but every passage (retrieval stays as hard)."""
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in _LOADERS:
        raise ValueError(f"unknown dataset format {fmt!r}; expected one of {', '.join(FORMATS)} or 'auto'")
    questions, passages, files = _LOADERS[fmt](path)
    if limit is not None:
        questions = questions[:limit]
    return Dataset(
        name=_dataset_name(path),
        format=fmt,
        path=str(path),
        questions=questions,
        passages=passages,
        content_hash=_hash_files(files),
    )
