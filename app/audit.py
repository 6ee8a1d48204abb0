"""The audit log: every answer (time, user, question, filters, sources, answer) and its feedback.

Kept in SQLite at DATA_DIR/audit.sqlite; one short connection per call, so web workers share it
safely. `export_jsonl` writes the eval JSONL format (question, answers, doc_id, evidence) plus
the feedback fields; a thumbs-down line has answers [] and needs_review true (see README).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

FILENAME = "audit.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL, question TEXT NOT NULL,
  standalone TEXT NOT NULL, filters TEXT NOT NULL, sources TEXT NOT NULL, answer TEXT NOT NULL,
  span TEXT NOT NULL, found INTEGER NOT NULL, model TEXT NOT NULL, channel TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id INTEGER NOT NULL REFERENCES answers(id), at TEXT NOT NULL,
  user TEXT NOT NULL, rating INTEGER NOT NULL, comment TEXT NOT NULL);
"""
_lock = threading.Lock()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class AuditLog:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / FILENAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def log_answer(self, result: dict, user: str = "", filters: dict | None = None, channel: str = "web") -> int:
        """Store one final answer object (the contract's JSON); returns its id for feedback."""
        sources = [{"doc_id": s.get("doc_id", ""), "node_id": s.get("node_id", ""), "title": s.get("title", ""),
                    "score": s.get("score"), "highlight": s.get("highlight", ""), "cited": bool(s.get("cited"))}
                   for s in result.get("sources", [])]
        row = (_now(), user or "", str(result.get("question", "")), str(result.get("standalone_question", "")),
               json.dumps(filters or {}, ensure_ascii=False), json.dumps(sources, ensure_ascii=False),
               str(result.get("answer", "")), str(result.get("span", "")), int(bool(result.get("found"))),
               str(result.get("model", "")), channel)
        with _lock, self._connect() as db:
            cur = db.execute("INSERT INTO answers (at, user, question, standalone, filters, sources, answer, span, "
                             "found, model, channel) VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)
            return int(cur.lastrowid)

    def add_feedback(self, answer_id: int, rating: int, comment: str = "", user: str = "") -> int:
        """Thumbs up (+1) or down (-1) with an optional comment, against a logged answer."""
        if rating not in (1, -1):
            raise ValueError("rating must be +1 or -1")
        with _lock, self._connect() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise KeyError(answer_id)
            cur = db.execute("INSERT INTO feedback (answer_id, at, user, rating, comment) VALUES (?,?,?,?,?)",
                             (answer_id, _now(), user or "", rating, (comment or "").strip()[:2000]))
            return int(cur.lastrowid)

    def answers(self) -> list[dict]:
        with self._connect() as db:
            return [dict(r) for r in db.execute("SELECT * FROM answers ORDER BY id")]

    def feedback(self) -> list[dict]:
        """Each answer's latest feedback joined with the answer (older ratings are superseded)."""
        query = ("SELECT a.*, f.rating, f.comment, f.at AS feedback_at, f.user AS feedback_user FROM answers a "
                 "JOIN feedback f ON f.id = (SELECT MAX(id) FROM feedback WHERE answer_id = a.id) ORDER BY a.id")
        with self._connect() as db:
            return [dict(r) for r in db.execute(query)]


def eval_record(row: dict) -> dict:
    """One feedback row as an eval JSONL object.

    Thumbs up: the answer is taken as right (answers = [its span], doc_id/evidence = the cited
    source; a thumbs-up on a refusal means "rightly declined": answers = []). Thumbs down: the
    right answer is unknown, so answers = [] and needs_review = true, with the rejected answer kept
    in `rejected_answer`; a reviewer writes the right answer in before they serve as gold (the
    default export, rating="up", leaves them out)."""
    sources = json.loads(row["sources"])
    # The source flagged "cited"; rows logged before the flag existed had it moved first.
    cited = next((s for s in sources if s.get("cited")), sources[0] if sources else {})
    liked = row["rating"] > 0
    record = {"id": f"feedback-{row['id']}", "question": row["standalone"] or row["question"],
              "answers": [row["span"] or row["answer"]] if liked and row["found"] else [],
              "feedback": "up" if liked else "down", "comment": row["comment"], "needs_review": not liked,
              "found": bool(row["found"]), "user": row["user"], "asked_at": row["at"],
              "filters": json.loads(row["filters"]), "model": row["model"]}
    if liked and row["found"] and cited:
        record["doc_id"] = cited.get("doc_id", "")
        record["evidence"] = cited.get("highlight", "")
    if not liked:
        record["rejected_answer"] = row["answer"]
    return record


def export_jsonl(log: AuditLog, out: Path, rating: str = "up") -> int:
    """Write feedback as eval JSONL (rating: up | down | all); returns the number of lines."""
    rows = [r for r in log.feedback() if rating == "all" or (r["rating"] > 0) == (rating == "up")]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(eval_record(row), ensure_ascii=False) + "\n")
    return len(rows)
