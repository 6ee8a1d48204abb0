"""The Vietnamese normaliser: NFC, one tone-mark convention, accent folding."""

import unicodedata

import pytest

from ingest.textnorm import fold_diacritics, has_diacritics, normalize_text


@pytest.mark.parametrize(
    "given, expected",
    [
        ("hoà", "hòa"), ("Tỉnh uỷ", "Tỉnh ủy"), ("thuỷ lợi", "thủy lợi"), ("khoẻ", "khỏe"),
        ("chuẩn hoá, trẻ hoá", "chuẩn hóa, trẻ hóa"), ("luỹ kế", "lũy kế"), ("Uỷ ban", "Ủy ban"),
        # already in the convention, or where both conventions agree: untouched
        ("hòa", "hòa"), ("hoàng", "hoàng"), ("tuyết", "tuyết"), ("quả", "quả"), ("giữ", "giữ"),
        ("người", "người"), ("khuỷu", "khuỷu"), ("Quỳnh", "Quỳnh"), ("gìn", "gìn"), ("HTX", "HTX"),
    ],
)
def test_one_tone_mark_convention(given, expected):
    assert normalize_text(given) == expected


def test_decomposed_input_becomes_nfc():
    decomposed = unicodedata.normalize("NFD", "Mai Sơn có 20 sản phẩm")
    assert normalize_text(decomposed) == "Mai Sơn có 20 sản phẩm"
    assert unicodedata.is_normalized("NFC", normalize_text(decomposed))


def test_both_spellings_of_the_samples_unify():
    assert normalize_text("Ban Thường vụ Tỉnh uỷ") == normalize_text("Ban Thường vụ Tỉnh ủy")


def test_numbers_and_spacing_kept():
    assert normalize_text("1.373,7 ha\u00a0và  91,48%") == "1.373,7 ha và 91,48%"


def test_fold_diacritics():
    assert fold_diacritics("Mai Sơn có bao nhiêu sản phẩm OCOP?") == "Mai Son co bao nhieu san pham OCOP?"
    assert fold_diacritics("Đảng bộ") == "Dang bo"
    assert has_diacritics("Mai Sơn") and not has_diacritics("Mai Son co bao nhieu")
