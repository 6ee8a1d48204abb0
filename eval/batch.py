"""`hoidap eval-batch`: score the output of `hoidap ask --batch` against a dataset's labels.

The evaluator's path: the dataset's questions written for `ask --batch` (--write-questions), asked
over an index built with `hoidap ingest`, then scored here with eval's own records and metrics, each
answer ranked as its `sources` list them (eval/records.outcome_of), as `hoidap eval` ranks its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from eval.corpus import articles_from_passages
from eval.run import EXIT_OK, EXIT_USAGE, UsageError, _load_dataset
from eval.specificity import label_specificity


def write_questions(dataset, path: Path) -> int:
    """The dataset's questions as `ask --batch` reads them: one {"id", "question"} per line."""
    with path.open("w", encoding="utf-8") as out:
        for question in dataset.questions:
            out.write(json.dumps({"id": question.id, "question": question.question}, ensure_ascii=False) + "\n")
    return len(dataset.questions)


def read_answers(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc


def match_answers(questions, answers: list[dict]) -> list[tuple[object, dict]]:
    """(question, answer object) pairs: `ask --batch` answers in input order, so line i answers
    question i; the question text must agree (a batch asked from another file is refused)."""
    if len(answers) != len(questions):
        raise UsageError(f"{len(answers)} answers for {len(questions)} questions: ask --batch the file "
                         "that --write-questions wrote")
    for number, (question, answer) in enumerate(zip(questions, answers), 1):
        if str(answer.get("question", "")).strip() != question.question.strip():
            raise UsageError(f"answer line {number} is for another question ({answer.get('question')!r})")
    return list(zip(questions, answers))


def main(args) -> int:
    try:
        dataset = _load_dataset(args)
        if args.write_questions:
            n = write_questions(dataset, Path(args.write_questions))
            print(f"Wrote {n} questions to {args.write_questions}: run `hoidap ask --batch "
                  f"{args.write_questions} -k 30 > answers.jsonl`, then `hoidap eval-batch {args.dataset} answers.jsonl`.")
            return EXIT_OK
        if not args.answers:
            raise UsageError("name the `ask --batch` output to score, or --write-questions FILE")
        pairs = match_answers(dataset.questions, read_answers(Path(args.answers)))
        if dataset.passages is not None:  # the articles the answers were asked over, as ingest reads them
            label_specificity(dataset.questions, articles_from_passages(dataset.passages, dataset.path))
    except UsageError as exc:
        print(f"hoidap eval-batch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from eval.records import make_record, outcome_of
    from eval.report import write_report
    from eval.run import print_summary
    from eval.runinfo import _now

    records = [make_record(question, outcome_of(answer)) for question, answer in pairs]
    depth = max((len(a.get("sources") or []) for _, a in pairs), default=0)
    run_info = {"dataset": {"name": dataset.name, "path": str(Path(dataset.path).resolve()),
                            "format": dataset.format, "content_hash": dataset.content_hash,
                            "n_questions": len(dataset.questions)},
                "answers": str(Path(args.answers).resolve()), "depth": depth,
                "models": sorted({str(a.get("model", "")) for _, a in pairs}),
                "note": "ranked as each answer's sources list them; no timings (ask --batch records none)",
                "finished_at": _now()}
    out = Path(args.out)
    metrics = write_report(out, {"ask-batch": records}, run_info)
    print_summary(metrics, out / "report.md")
    return EXIT_OK
