"""Load test of the web app: N simultaneous gradio_client users, each asking its own gold question.

Against --url, or a real Gradio server started here over the sample corpus (or --data-dir). Users
start each round together (a barrier); reports latency p50/p95/max, throughput and correct/total
("answer contains gold", as `hoidap eval`) in OUT/load.json and OUT/load.md. Reported, not asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

GOLD = Path(__file__).resolve().parent / "gold" / "samples_qa.jsonl"
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
DEFAULT_ROUNDS = 3
CLIENT_TIMEOUT_S = 300  # no request may hang a run: a stuck one counts as an error


def answerable_questions() -> list:
    """The gold set's answerable questions, in file order (eval.datasets.Question)."""
    from eval.datasets import load_dataset

    return [q for q in load_dataset(GOLD, "jsonl").questions if q.answerable]


def is_correct(result: dict, answers: list[str]) -> bool:
    """Found, and the answer's claim (without its source note) contains a gold answer: eval's accuracy."""
    from app.answer import claim_of
    from eval.metrics import contains_answer

    return bool(result.get("found")) and contains_answer(claim_of(result.get("answer") or ""), answers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_server(data_dir: Path | None, config: str | None = None):
    """Yield the URL of the real web app (app.ui) on 127.0.0.1 over data_dir; a fresh index of the
    sample corpus when data_dir is None or empty. The model is warmed up before the URL is given."""
    from app import ui
    from app.cli import open_service
    from app.examples import FALLBACK
    from app.config import load_settings

    with tempfile.TemporaryDirectory(prefix="hoidap-load-") as scratch:
        settings = load_settings(data_dir or Path(scratch) / "data", config)
        service = open_service(settings)  # ingests the samples into an empty data dir
        service.ask(FALLBACK[0])  # loads the embedding model: not part of any user's latency
        settings.host, settings.port = "127.0.0.1", _free_port()
        demo = ui.build_app(service, settings)
        ui.launch(demo, settings.host, settings.port, prevent_thread_lock=True)
        try:
            yield f"http://{settings.host}:{settings.port}/"
        finally:
            demo.close()


def _ask(client, question) -> dict:
    """One request, timed; a failure is a measured outcome (error, wrong), never a crash."""
    record = {"id": question.id, "question": question.question, "gold": list(question.answers)}
    started = time.perf_counter()
    try:
        result = client.predict(question.question, api_name="/ask")
        record.update(answer=result.get("answer", ""), found=bool(result.get("found")), model=result.get("model", ""),
                      correct=is_correct(result, question.answers))
        if result.get("error"):
            record["error"] = result["error"]
    except Exception as exc:  # noqa: BLE001 - timeouts, refused connections, server errors alike
        record.update(answer="", found=False, correct=False, error=f"{type(exc).__name__}: {exc}")
    record["started_s"], record["latency_ms"] = started, (time.perf_counter() - started) * 1000
    return record


def run_load(url: str, questions: list, users: int, rounds: int) -> tuple[list[dict], list[dict]]:
    """(alone, under_load) request records.

    First gold questions are asked alone, one at a time (spread over the users' clients, which
    connects them all), until users × rounds are answered correctly: the baseline latency, and
    questions the system can answer. Under load, in round r user u asks the (r * users + u)-th of
    those, so all requests ask different questions and a wrong answer can only come from the load.
    """
    from gradio_client import Client

    clients = [Client(url, verbose=False, analytics_enabled=False, download_files=False,
                      httpx_kwargs={"timeout": CLIENT_TIMEOUT_S}) for _ in range(users)]
    clients[0].predict(questions[0].question, api_name="/ask")  # server warm-up, not measured
    alone, pool = [], []
    for i, question in enumerate(questions):
        if len(pool) >= users * rounds:  # enough different questions for every request of the load
            break
        alone.append(_ask(clients[i % users], question))
        if alone[-1]["correct"]:
            pool.append(question)
    pool = pool or questions
    answered_alone = {r["id"]: r["answer"] for r in alone}
    barrier = threading.Barrier(users)
    records: list[dict] = []
    lock = threading.Lock()

    def user(number: int) -> None:
        for round_ in range(rounds):
            question = pool[(round_ * users + number) % len(pool)]
            try:
                barrier.wait(timeout=CLIENT_TIMEOUT_S)
            except threading.BrokenBarrierError:
                pass  # another user failed to arrive: ask anyway, the latency is still real
            record = _ask(clients[number], question)
            record.update(user=number, round=round_, same_as_alone=record["answer"] == answered_alone[question.id])
            with lock:
                records.append(record)

    threads = [threading.Thread(target=user, args=(n,), name=f"load-user-{n}") for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return alone, sorted(records, key=lambda r: (r["round"], r["user"]))


def _latency(records: list[dict]) -> dict:
    from eval.metrics import percentile

    values = [r["latency_ms"] for r in records]
    if not values:
        return {"p50": None, "p95": None, "max": None, "mean": None}
    return {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
            "max": round(max(values), 1), "mean": round(sum(values) / len(values), 1)}


def summarize(alone: list[dict], records: list[dict], users: int, rounds: int) -> dict:
    # A round lasts from its barrier release to its last answer; throughput is over the rounds only.
    busy_s = 0.0
    for round_ in range(rounds):
        these = [r for r in records if r["round"] == round_]
        if these:
            busy_s += max(r["started_s"] + r["latency_ms"] / 1000 for r in these) - min(r["started_s"] for r in these)
    return {
        "users": users, "rounds": rounds, "requests": len(records),
        "correct": sum(bool(r["correct"]) for r in records), "errors": sum("error" in r for r in records),
        "same_as_alone": sum(bool(r["same_as_alone"]) for r in records),
        "distinct_questions": len({r["id"] for r in records}),
        "latency_ms": _latency(records),
        "throughput_rps": round(len(records) / busy_s, 2) if busy_s else None, "busy_s": round(busy_s, 2),
        "alone": {"questions": len(alone), "correct": sum(bool(r["correct"]) for r in alone),
                  "latency_ms": _latency(alone)},
    }


def render_markdown(report: dict) -> str:
    s, run = report["summary"], report["run"]
    alone, lat, solo = s["alone"], s["latency_ms"], s["alone"]["latency_ms"]
    lines = [
        "# hoidap load test", "",
        (f"{s['users']} simultaneous `gradio_client` users × {s['rounds']} rounds on the `/ask` endpoint "
         f"({run['server']}). Gold questions were first asked alone, one at a time, until enough were answered "
         f"correctly; under load every request asks a different one of those ({s['distinct_questions']} distinct). "
         "Reported, not asserted."), "",
        f"- **git SHA**: {run['git_sha']}", f"- **model**: {run['model']}", f"- **users**: {s['users']}",
        (f"- **machine**: {run['machine']['cpu_count']} CPUs, load average at start "
         f"{run['machine']['load_average_at_start']}"),
        f"- **started**: {run['started_at']}; **command**: `{run['command']}`", "",
        "| | requests | correct | same answer as alone | errors | p50 ms | p95 ms | max ms | throughput req/s |",
        "|---|---|---|---|---|---|---|---|---|",
        (f"| {s['users']} users at once | {s['requests']} | {s['correct']}/{s['requests']} | "
         f"{s['same_as_alone']}/{s['requests']} | {s['errors']} | {lat['p50']} | {lat['p95']} | {lat['max']} | "
         f"{s['throughput_rps']} |"),
        (f"| one at a time | {alone['questions']} | {alone['correct']}/{alone['questions']} | – | – | {solo['p50']} | "
         f"{solo['p95']} | {solo['max']} | – |"), ""]
    wrong = [r for r in report["requests"] if not r["correct"]]
    if wrong:
        lines += ["Wrong or failed answers under load:", ""] + [
            f"- {r['id']} {r['question']!r}: {r.get('error') or r['answer'][:120]!r} (gold {r['gold']})" for r in wrong]
        lines.append("")
    return "\n".join(lines)


def measure(url: str | None, users: int, rounds: int, out: Path, data_dir: Path | None = None,
            config: str | None = None) -> dict:
    """Run the load test (starting a server unless url) and write OUT/load.json and OUT/load.md."""
    from app.config import REPO_ROOT
    from eval.bench_common import machine_info
    from eval.runinfo import git_sha

    questions = answerable_questions()
    machine = machine_info()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with contextlib.ExitStack() as stack:
        server = url or stack.enter_context(local_server(data_dir, config))
        alone, records = run_load(server, questions, users, rounds)
    run = {"git_sha": git_sha(REPO_ROOT), "model": next((r["model"] for r in alone if r.get("model")), "?"),
           "server": url or "real Gradio server started by eval.load, in the same process as the clients",
           "machine": machine, "started_at": started_at, "command": " ".join(["python -m eval.load", *sys.argv[1:]])
           if Path(sys.argv[0]).stem == "load" else " ".join(sys.argv)}
    report = {"run": run, "summary": summarize(alone, records, users, rounds), "requests": records, "alone": alone}
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "load.md").write_text(render_markdown(report), encoding="utf-8")
    return report


def for_bench(args, settings, out: Path) -> dict | None:
    """`hoidap bench --load-users N`: the load test over the bench's fresh sample index (also
    writing OUT/load.json and load.md); its summary goes into bench.json. None without the flag."""
    users = getattr(args, "load_users", None) or 0
    if users < 1:
        return None
    return measure(None, users, DEFAULT_ROUNDS, out, settings.data_dir, getattr(args, "config", None))["summary"]


def bench_section(summary: dict) -> list[str]:
    """Lines of bench.md about the load test."""
    lat, solo = summary["latency_ms"], summary["alone"]["latency_ms"]
    return ["## Web app under load", "",
            (f"{summary['users']} simultaneous `gradio_client` users × {summary['rounds']} rounds on `/ask`: "
             f"{summary['correct']}/{summary['requests']} correct, {summary['errors']} errors; latency p50 {lat['p50']} "
             f"/ p95 {lat['p95']} / max {lat['max']} ms; {summary['throughput_rps']} requests/s. One user at a time: "
             f"p50 {solo['p50']} / p95 {solo['p95']} ms. Details: [load.md](load.md)."), ""]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="simultaneous gradio_client users")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="questions each user asks, all users together")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="a running hoidap web app; default: start one here")
    where.add_argument("--data-dir", help="data dir of the server started here (default: fresh sample index)")
    parser.add_argument("--config", help="TOML config of the server started here")
    parser.add_argument("--out", default="load-out", help="output folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.users < 1 or args.rounds < 1:
        print("eval.load: --users and --rounds must be ≥ 1", file=sys.stderr)
        return EXIT_USAGE
    for name, value in (("HF_HUB_OFFLINE", "1"), ("GRADIO_ANALYTICS_ENABLED", "False"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(name, value)
    out = Path(args.out)
    from app.cli import CommandError

    try:
        report = measure(args.url, args.users, args.rounds, out, Path(args.data_dir) if args.data_dir else None,
                         args.config)
    except CommandError as exc:  # no index, wrong model…: its message says what to do
        print(f"eval.load: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(render_markdown(report))
    print(f"Report: {out / 'load.md'}")
    s = report["summary"]
    return EXIT_OK if s["correct"] == s["requests"] else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
