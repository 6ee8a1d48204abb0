"""The web app's named API endpoints `ask` and `ask_filtered`, called through gradio_client against a real Gradio server."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import pytest

from tests.webfixtures import OCOP_DOC, OCOP_QUESTION, running_app


@pytest.fixture(scope="module")
def client(service, sample_settings):
    from gradio_client import Client

    with running_app(service, sample_settings) as url:
        yield Client(url, verbose=False)


def ask(client, question):
    result = client.predict(question, api_name="/ask")
    assert isinstance(result, dict), result
    assert set(result) >= {"question", "answer", "found", "sources", "model"}, result
    assert result["model"], result
    return result


def test_view_api_lists_only_the_named_endpoints(client):
    info = client.view_api(print_info=False, return_format="dict")
    named = info["named_endpoints"]
    assert "/ask" in named, named.keys()
    assert [p["parameter_name"] for p in named["/ask"]["parameters"]] == ["question"]
    assert named["/ask"]["returns"][0]["component"] == "Json"
    # The chat's own handlers stay private: they never take the name "ask" nor show up as endpoints.
    assert set(named) == {"/ask", "/ask_filtered"}, named.keys()
    assert [p["parameter_name"] for p in named["/ask_filtered"]["parameters"]] == ["question", "filters"]
    assert not info["unnamed_endpoints"]


@pytest.mark.parametrize("question", [OCOP_QUESTION, "Mai Son co bao nhieu san pham OCOP?"])
def test_ask_ocop(client, question):
    result = ask(client, question)
    assert result["found"] is True, result
    assert result["question"] == question
    assert "20" in result["answer"], result["answer"]
    assert result["sources"][0]["doc_id"] == OCOP_DOC, result["sources"][0]
    first = result["sources"][0]
    assert {"doc_id", "title", "text", "score"} <= set(first)
    assert "20 sản phẩm OCOP" in first["text"]
    assert "error" not in result


def test_same_object_as_service(client, service):
    """The endpoint returns exactly what `hoidap ask --json` prints (QAService.ask's object)."""
    assert ask(client, OCOP_QUESTION) == service.ask(OCOP_QUESTION)


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000])
def test_bad_question_returns_error_object(client, question):
    result = ask(client, question)
    assert result["found"] is False
    assert result["answer"] == ""
    assert result["sources"] == []
    assert result["error"] and isinstance(result["error"], str)


def test_empty_question_message_is_vietnamese(client):
    assert "Câu hỏi trống" in ask(client, "")["error"]


def test_unanswerable_question_declines(client):
    result = ask(client, "Huyện Yên Châu có bao nhiêu sản phẩm OCOP?")
    assert result["found"] is False, result["answer"]
    assert result["sources"], "the closest passages are still returned"
    assert "error" not in result


def test_ask_filtered(client):
    question = "Có bao nhiêu trường đạt chuẩn quốc gia?"
    mai_son = client.predict(question, {"doc_ids": [OCOP_DOC]}, api_name="/ask_filtered")
    assert "42/63" in mai_son["answer"] and {s["doc_id"] for s in mai_son["sources"]} == {OCOP_DOC}
    song_ma = client.predict(question, {"place": "huyện Sông Mã"}, api_name="/ask_filtered")
    assert "44/53" in song_ma["answer"]
    none = client.predict(question, {"date_from": "1990-01-01", "date_to": "1990-12-31"}, api_name="/ask_filtered")
    assert none["found"] is False and none["sources"] == [] and "Không có bài viết nào khớp" in none["answer"]
    bad = client.predict(question, {"date_from": "32/13/2023"}, api_name="/ask_filtered")
    assert bad["found"] is False and "không hợp lệ" in bad["error"]
    assert client.predict(OCOP_QUESTION, {}, api_name="/ask_filtered")["answer"] == ask(client, OCOP_QUESTION)["answer"]
