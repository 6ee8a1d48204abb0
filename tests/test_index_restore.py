"""Queries typed without diacritics, or with some: restoration from the index vocabulary, and
abbreviations matched to their long forms (HTX ⇄ hợp tác xã), on the sample corpus."""

from dataclasses import replace

import pytest

from index import abbreviations, tokenize

from .conftest import OCOP_DOC

SONG_MA_DOC = "000_4f69736f366c6fd8"
TA_TONG_DOC = "004_1e938f9e399ad7c0"


@pytest.fixture(scope="module")
def index(service):
    return service.index


@pytest.mark.parametrize("typed, restored", [
    ("Mai Son co bao nhieu san pham OCOP?", "mai sơn có bao nhiêu sản phẩm ocop"),
    ("ta tong dat bao nhieu tieu chi nong thon moi", "tà tổng đạt bao nhiêu tiêu chí nông thôn mới"),
    ("Song Ma co bao nhieu truong dat chuan quoc gia", "sông mã có bao nhiêu trường đạt chuẩn quốc gia"),
    ("Mai Son có bao nhieu san phẩm OCOP", "mai sơn có bao nhiêu sản phẩm ocop"),  # mixed
])
def test_diacritics_are_restored_from_the_corpus_vocabulary(index, typed, restored):
    assert " ".join(index.restorer().restore(tokenize.syllables(typed))) == restored


def test_syllables_typed_with_diacritics_are_never_changed(index):
    typed = tokenize.syllables("Mái Sờn có bao nhiêu")
    assert index.restorer().restore(typed)[:3] == ["mái", "sờn", "có"]


@pytest.mark.parametrize("question, doc_id, figure", [
    ("Mai Son có bao nhieu san phẩm OCOP?", OCOP_DOC, "20"),
    ("Song Mã co bao nhieu truong dat chuan quoc gia?", SONG_MA_DOC, "trường"),
    ("Ta Tổng dat bao nhieu tieu chi nong thon moi?", TA_TONG_DOC, "12/19"),
])
def test_mixed_queries_find_and_answer_like_accented_ones(service, question, doc_id, figure):
    result = service.ask(question)
    assert result["found"], result
    assert result["sources"][0]["doc_id"] == doc_id
    assert figure in result["answer"]


@pytest.mark.parametrize("accents, field, expected, absent", [
    ("fold", "bm25_folded", "mai_son", None),  # the default: typed partly without diacritics → folded field
    ("restore", "bm25", "mai_sơn", "son"),  # the accented field, diacritics restored
    ("field", "bm25", "son", "mai_sơn"),  # before: one diacritic sent it to the accented field as typed
])
def test_a_mixed_query_is_searched_per_the_accent_strategy(service, accents, field, expected, absent):
    question = "Mai Son có bao nhieu san phẩm OCOP?"
    saved = service.index.retrieval
    service.index.retrieval = replace(saved, accents=accents)
    try:
        [(folded, tokens)] = service.index.bm25_queries(question)
    finally:
        service.index.retrieval = saved
    assert folded == (field == "bm25_folded")
    assert expected in tokens and (absent is None or absent not in tokens)


def test_a_query_typed_with_its_diacritics_is_left_alone(service):
    forms = service.index.query_forms("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert forms.restored is None and forms.any_accented
    [(folded, _)] = service.index.bm25_queries("Mai Sơn có bao nhiêu sản phẩm OCOP?")
    assert not folded


def test_abbreviations_and_long_forms_meet_in_both_directions():
    assert abbreviations.other_forms(tokenize.syllables("Mai Sơn có bao nhiêu HTX?")) == [["hợp", "tác", "xã"]]
    assert abbreviations.other_forms(tokenize.syllables("số hợp tác xã của Mai Sơn")) == [["htx"]]
    assert abbreviations.other_forms(tokenize.folded_syllables("so hop tac xa"), folded=True) == [["htx"]]
    assert abbreviations.other_forms(tokenize.syllables("UBND huyện"))[0] == ["ủy", "ban", "nhân", "dân"]
    tokens = tokenize.query_tokens(tokenize.syllables("bao nhiêu HTX"))
    assert {"hợp", "hợp_tác", "tác_xã", "htx"} <= set(tokens)
    assert "hợp" not in tokenize.query_tokens(tokenize.syllables("bao nhiêu HTX"), expand=False)


def test_abbreviation_matching_is_off_by_default_and_switched_on_in_the_config(sample_settings, tmp_path):
    from app.config import load_settings

    assert not sample_settings.retrieval.expand_abbreviations  # measured neutral: docs/retrieval.md
    config = tmp_path / "hoidap.toml"
    config.write_text("[retrieval]\nexpand_abbreviations = true\n", encoding="utf-8")
    assert load_settings(data_dir=tmp_path, config_file=config, env={}).retrieval.expand_abbreviations


@pytest.mark.parametrize("question", ["Huyện Mai Sơn hiện có bao nhiêu HTX?", "Mai Son co bao nhieu hop tac xa?"])
def test_the_cooperative_count_is_found_by_either_form(service, question):
    saved = service.index.retrieval
    service.index.retrieval = replace(saved, expand_abbreviations=True)
    try:
        result = service.ask(question)
    finally:
        service.index.retrieval = saved
    assert result["found"] and result["sources"][0]["doc_id"] == OCOP_DOC
    assert "181" in result["answer"]
