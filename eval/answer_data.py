"""Training data for the answer model: benchmark questions → their top passages → labelled candidates.

Each question is retrieved through eval's cached index (as the app would answer it), its candidates
(app/candidates.py) get their features, and each is labelled by whether the reply it makes holds a gold
answer (accent- and case-folded, token-bounded). Used by eval/train_answer.py.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from eval.metrics import contains_gold
from index.embed import sha256_file

K = 5  # passages the app answers from (max(top_k, 5))
FOLDS = 5
NON_EXTRACTIVE = {"đúng", "sai", "có", "không"}  # ALQAC true/false answers: no passage text holds them


@dataclass
class Item:
    """One question with its labelled candidates."""

    dataset: str
    qid: str
    question: str
    answers: list[str]
    qtype: str
    X: np.ndarray
    y: np.ndarray
    texts: list[str]
    sentence_of: list[int]  # candidate → sentence number, so the margin compares different sentences
    naive: str  # the naive baseline's answer
    fold: int = 0
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- data


def dataset_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]


def usable(question) -> bool:
    """Extractive questions only: ALQAC's true/false and multiple-choice keys are not in any passage."""
    kind = question.fields.get("question_type")
    if kind in ("Đúng/Sai", "Trắc nghiệm"):
        return False
    return not question.answers or not all(a.strip().lower() in NON_EXTRACTIVE for a in question.answers)


def retrieve_rows(path: Path, settings, embedder, mode: str, limit: int | None) -> tuple[list[tuple], dict]:
    """(dataset, id, question, answers, parsed question, passages as the app sees them, the naive
    answerer's sentence: eval/naive.py, as `hoidap eval` reports it) per usable question."""
    from app import question as qparse
    from app.candidates import passage_inputs
    from eval import naive
    from eval.datasets import load_dataset
    from eval.run import corpus_hash, ensure_index, load_corpus
    from index.retrieve import open_index

    dataset = load_dataset(path)
    questions = [q for q in dataset.questions if usable(q)][:limit]
    articles, _ = load_corpus(dataset, None)
    # The query adapter was fitted on these same questions: through it their passages come back better
    # than a new question's would, and the models would learn from lists no user gets. Train without it.
    index_settings = replace(settings.index, query_adapter=False)
    built = ensure_index(Path(settings.data_dir), articles, index_settings, embedder, corpus_hash(articles))
    index = open_index(built.folder, embedder, index_settings, settings.retrieval)
    places = sorted({p for d in index.manifest.documents.values() for p in d.get("places", [])})
    rows = []
    started = time.perf_counter()
    for q in questions:
        passages = index.retrieve(q.question, k=K, mode=mode)
        plain = passage_inputs(passages)
        rows.append((dataset.name, q.id, q.question, q.answers, qparse.parse(q.question, places, index.document_frequency),
                     plain, naive.answer(q.question, [p.text for p in passages], index.document_frequency).sentence))
    info = {"name": dataset.name, "path": str(path), "questions_used": len(rows),
            "questions_in_file": len(dataset.questions),
            "answerable": sum(bool(row[3]) for row in rows),
            "files": {p.name: sha256_file(p) for p in dataset_files(path)},
            "index_build": built.build_id, "index_fusion": index.manifest.fusion, "retrieval_s": round(time.perf_counter() - started, 1)}
    return rows, info


def item_of(dataset: str, qid: str, question: str, answers: list[str], parsed, plain: list[dict], naive: str) -> Item:
    """One question's candidates, each labelled by whether the reply the app would give for it holds a gold answer."""
    from app.answer import claim_of, reply_for
    from app.candidates import candidates

    cands = candidates(parsed, plain)
    sentence_ids, seen, groups = [], {}, {}
    for c in cands:
        sentence_ids.append(seen.setdefault((c.passage_index, c.sentence), len(seen)))
        groups.setdefault(sentence_ids[-1], []).append(c)
    X = np.array([c.features for c in cands], dtype=np.float64).reshape(len(cands), -1)
    # The label is on the reply the app would give for the candidate (cut to 400 characters), without
    # its source note as eval reads it: a title in "(theo bài …)" answers nothing (it made zalo's
    # cross-validated figure 0.06 higher than the user's path). A long sentence whose answer falls
    # past the cut is not taught as right. With
    # sentence replies every clause of a right sentence is right; the clause that holds the answer
    # itself gets the full label and the others half, so the chosen clause (whose span the app
    # shows) is the one that answers. Anything above 0 counts as right in the figures.
    y = np.zeros(len(cands))
    for n, (c, sid) in enumerate(zip(cands, sentence_ids)) if answers else ():
        if contains_gold(claim_of(reply_for(parsed, c, plain[c.passage_index], groups[sid])[0]), answers):
            y[n] = 1.0 if contains_gold(c.text, answers) else 0.5
    return Item(dataset, qid, question, answers, parsed.qtype, X, y, [c.text for c in cands], sentence_ids,
                naive, extra={"sentences": [group[0].sentence for group in groups.values()]})


def labelled(rows: list[tuple]) -> list[Item]:
    """Items of retrieved rows, ids made unique across sets, in their folds."""
    items = [item_of(*row) for row in rows]
    for i in items:  # question ids are unique within a set; make them unique across sets
        i.qid = f"{i.dataset}:{i.qid}"
    assign_folds(items, FOLDS)
    return items


def assign_folds(items: list[Item], folds: int) -> None:
    """Fold by question id hash: stable across runs; Zalo's repeated question is one item already."""
    for item in items:
        item.fold = int(hashlib.sha256(f"{item.dataset}:{item.qid}".encode()).hexdigest(), 16) % folds


# ---------------------------------------------------------------- fitting
