"""The optional LLM over a real OpenAI-compatible HTTP server on 127.0.0.1, and chat follow-ups.

The server speaks the chat-completions protocol (streamed and not); its replies are scripted per
test: a grounded answer, an invented figure, garbage, a slow reply, and no server at all.
"""

import copy
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.qa import QAService


class FakeOpenAI(BaseHTTPRequestHandler):
    reply = "Mai Sơn có 20 sản phẩm OCOP [1]."
    delay = 0.0
    garbage = False
    requests: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        time.sleep(self.delay)
        if self.garbage:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"<html>502 proxy</html>")
            return
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for word in self.reply.split(" "):
                chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                         "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            return
        content = self.reply
        if "Viết lại câu hỏi cuối" in json.dumps(body, ensure_ascii=False):
            content = "Huyện Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?"
        payload = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def llm_server():
    handler = type("Handler", (FakeOpenAI,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def with_llm(service, base_url, timeout=5.0):
    settings = copy.deepcopy(service.settings)
    settings.llm.base_url, settings.llm.model, settings.llm.timeout_s = base_url, "qwen-test", timeout
    return QAService(settings, service.embedder, service.index)


def url(server):
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def test_generated_answer_streams_with_citations(service, llm_server):
    server, handler = llm_server
    llm = with_llm(service, url(server))
    steps = list(llm.ask_stream("Mai Sơn có bao nhiêu sản phẩm OCOP?"))
    assert len(steps) > 3 and all(s.get("partial") for s in steps[:-1])
    final = steps[-1]
    assert final["found"] and "20 sản phẩm OCOP [1]" in final["answer"] and "llm_note" not in final
    assert final["model"].endswith("+ LLM qwen-test")
    # the prompt carried the numbered passages and the grounding instruction
    prompt = json.dumps(handler.requests[-1], ensure_ascii=False)
    assert "[1] Nghị quyết Đại hội Đảng bộ huyện Mai Sơn" in prompt and "Không được bịa số liệu" in prompt
    assert final["sources"][0]["doc_id"] == "001_ad2f1263791dfcf2"


def test_invented_figure_falls_back_to_extractive(service, llm_server):
    server, handler = llm_server
    handler.reply = "Mai Sơn có 35 sản phẩm OCOP [1]."
    out = with_llm(service, url(server)).ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert "35" in out["llm_note"] and "20 sản phẩm OCOP" in out["answer"] and out["found"]


def test_garbage_reply_falls_back(service, llm_server):
    server, handler = llm_server
    handler.garbage = True
    out = with_llm(service, url(server)).ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert out["llm_note"].startswith("Không dùng được mô hình ngôn ngữ") and "20 sản phẩm OCOP" in out["answer"]


def test_slow_server_times_out_instead_of_hanging(service, llm_server):
    server, handler = llm_server
    handler.delay = 5
    started = time.perf_counter()
    out = with_llm(service, url(server), timeout=1.0).ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert time.perf_counter() - started < 4.5
    assert "chậm" in out["llm_note"] and "20 sản phẩm OCOP" in out["answer"]


def test_stopped_server_still_answers(service):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    out = with_llm(service, f"http://127.0.0.1:{port}/v1").ask("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert "kết nối" in out["llm_note"] and "20 sản phẩm OCOP" in out["answer"] and out["found"]


def test_llm_condenses_follow_ups(service, llm_server):
    server, _ = llm_server
    history = [("Mai Sơn có bao nhiêu trường đạt chuẩn quốc gia?", "42/63 trường")]
    assert with_llm(service, url(server)).standalone("Còn Sông Mã thì sao?", history) == \
        "Huyện Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?"


def test_three_turn_conversation_without_llm(service):
    history = []
    answers = []
    for question in ["Mai Sơn có bao nhiêu trường đạt chuẩn quốc gia?", "Còn Sông Mã thì sao?",
                     "Trong đó có bao nhiêu trường đạt chuẩn mức độ 2?"]:
        out = service.ask_stream(question, history=history)
        final = list(out)[-1]
        answers.append(final)
        history.append((final.get("standalone_question", question), final["answer"]))
    assert "42/63" in answers[0]["answer"]
    assert answers[1]["standalone_question"] == "Sông Mã có bao nhiêu trường đạt chuẩn quốc gia?"
    assert "44/53" in answers[1]["answer"]
    assert "3 trường đạt chuẩn mức độ 2" in answers[2]["answer"]


@pytest.mark.parametrize("follow_up, previous, expected", [
    ("Còn Sông Mã thì sao?", "Mai Sơn có bao nhiêu sản phẩm OCOP?", "Sông Mã có bao nhiêu sản phẩm OCOP?"),
    ("con song ma thi sao", "Mai Sơn có bao nhiêu sản phẩm OCOP?", "song ma có bao nhiêu sản phẩm OCOP?"),
    ("Năm 2021 thì sao?", "Năm 2020 Sông Mã tiêu thụ bao nhiêu tấn nhãn?", "Năm 2021 Sông Mã tiêu thụ bao nhiêu tấn nhãn?"),
    ("Trong đó bao nhiêu sản phẩm 4 sao?", "Mai Sơn có bao nhiêu sản phẩm OCOP?",
     "Mai Sơn có bao nhiêu sản phẩm OCOP, trong đó bao nhiêu sản phẩm 4 sao?"),
    ("Tà Tổng có bao nhiêu đảng viên?", "Mai Sơn có bao nhiêu sản phẩm OCOP?", "Tà Tổng có bao nhiêu đảng viên?"),
])
def test_rule_based_follow_ups(follow_up, previous, expected):
    from app.followup import resolve

    places = ["huyện Mai Sơn", "huyện Sông Mã", "xã Tà Tổng", "tỉnh Sơn La"]
    assert resolve(follow_up, previous, places) == expected
