"""BM25 tokens keep what English defaults drop: one-letter syllables, one-digit numbers, diacritics."""

from index.tokenize import syllables, tokenize, tokenize_folded


def test_one_letter_syllables_and_digits_are_kept():
    assert syllables("Ở xã có ý kiến về 3 hộ") == ["ở", "xã", "có", "ý", "kiến", "về", "3", "hộ"]


def test_numbers_keep_their_separators_and_drop_leading_zeros():
    assert syllables("đạt 1.373,7 ha, 06/19 chỉ tiêu, 02 vùng") == ["đạt", "1.373,7", "ha", "06/19", "chỉ", "tiêu", "2", "vùng"]


def test_bigrams_and_normalisation():
    tokens = tokenize("Tỉnh uỷ Sơn La")
    assert "tỉnh_ủy" in tokens and "sơn_la" in tokens and "uỷ" not in tokens


def test_folded_field_matches_text_typed_without_diacritics():
    assert tokenize_folded("Mai Sơn có bao nhiêu sản phẩm") == tokenize_folded("mai son co bao nhieu san pham")
