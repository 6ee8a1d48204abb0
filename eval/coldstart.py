"""Cold start as a user meets it: `hoidap ask` from a new process, and `hoidap serve` until its page
answers, each over an index that already exists (run by `hoidap bench`, reported, never asserted).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SERVE_TIMEOUT_S = 120


def _command() -> list[str]:
    script = Path(sys.executable).parent / "hoidap"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask_wall_s(data_dir: Path, question: str, config: list[str], runs: int = 3) -> dict:
    """Wall time of `hoidap ask --json QUESTION` in a fresh process, per run."""
    times, answered = [], True
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.run([*_command(), "ask", question, "--json", "--data-dir", str(data_dir), *config],
                              capture_output=True, text=True, timeout=SERVE_TIMEOUT_S, check=False)
        times.append(round(time.perf_counter() - started, 2))
        answered = answered and proc.returncode == 0 and '"found": true' in proc.stdout
    return {"wall_s": times, "best_s": min(times), "answered": answered, "question": question}


def serve_ready_s(data_dir: Path, config: list[str]) -> dict:
    """Seconds from `hoidap serve` starting to its page answering HTTP 200."""
    port = _free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False")
    started = time.perf_counter()
    proc = subprocess.Popen([*_command(), "serve", "--data-dir", str(data_dir), "--port", str(port), *config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        while time.perf_counter() - started < SERVE_TIMEOUT_S:
            if proc.poll() is not None:
                return {"error": f"serve exited with code {proc.returncode}"}
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return {"ready_s": round(time.perf_counter() - started, 2)}
            except OSError:
                time.sleep(0.1)
        return {"error": f"not ready after {SERVE_TIMEOUT_S} s"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def cold_start(data_dir: Path, question: str, config_file: str | None = None) -> dict:
    config = ["--config", str(config_file)] if config_file else []
    return {"ask": ask_wall_s(data_dir, question, config), "serve": serve_ready_s(data_dir, config)}


def markdown(cold: dict) -> list[str]:
    if not cold:
        return []
    ask, serve = cold["ask"], cold["serve"]
    ready = f"{serve['ready_s']} s" if "ready_s" in serve else serve.get("error", "?")
    return ["## Cold start", "",
            f"- `hoidap ask --json \"{ask['question']}\"` from a new process: {', '.join(map(str, ask['wall_s']))} s "
            f"(best **{ask['best_s']} s**, target < 6 s; answered: {ask['answered']}).",
            f"- `hoidap serve` until its page answers: **{ready}**.", ""]
