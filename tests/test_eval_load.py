"""eval.load against a real Gradio server: 20 simultaneous gradio_client users all answered correctly.

The server is the one `python -m eval.load` starts itself, over the session's sample index.
"""

import json

from eval import load


def test_twenty_simultaneous_users_get_correct_answers(sample_settings, tmp_path):
    out = tmp_path / "load-out"
    code = load.main(["--users", "20", "--rounds", "1", "--data-dir", str(sample_settings.data_dir), "--out", str(out)])
    report = json.loads((out / "load.json").read_text(encoding="utf-8"))
    summary = report["summary"]
    wrong = [(r["question"], r["answer"], r.get("error")) for r in report["requests"] if not r["correct"]]
    assert code == 0 and wrong == [], wrong
    assert (summary["requests"], summary["correct"], summary["errors"]) == (20, 20, 0)
    # Twenty different questions, asked at once by twenty different users, each answered with its gold.
    assert summary["distinct_questions"] == 20 and len({r["user"] for r in report["requests"]}) == 20
    assert all(r["found"] and r["model"] for r in report["requests"])
    latency = summary["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["max"]
    # The single-user pass stops once it has twenty correctly answered questions: the load's questions.
    assert summary["alone"]["correct"] == 20 and summary["alone"]["latency_ms"]["p95"] > 0
    markdown = (out / "load.md").read_text(encoding="utf-8")
    assert "p95 ms" in markdown and f"| {latency['p95']} |" in markdown and report["run"]["git_sha"] in markdown
