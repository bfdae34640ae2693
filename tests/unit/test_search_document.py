"""What both search adapters derive from a product document (no I/O)."""

from decimal import Decimal

import pytest

from projections.search import InvalidSuggestQueryError, SuggestQuery
from projections.search_document import (
    PRICE_RANGES,
    Synonyms,
    fold_key,
    fold_words,
    given,
    indexed,
    price_range_keys,
    price_range_of,
    suggest_inputs,
    suggests,
    within_one_edit,
)


def test_a_key_ignores_case_accents_and_extra_spaces():
    assert fold_key("  Vestuário  Infantil ") == "vestuario infantil"
    assert fold_key("ORGÂNICO") == fold_key("organico")


def test_words_keep_letters_and_digits_only():
    assert fold_words("Camiseta — Orgânica, 100% algodão!") == "camiseta organica 100 algodao"


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("camiseta", "camiseta", True),
        ("camisteta", "camiseta", True),  # one inserted
        ("camseta", "camiseta", True),  # one missing
        ("camizeta", "camiseta", True),  # one wrong
        ("camisetta", "camisetat", False),  # two
        ("caimseta", "camiseta", False),  # a transposition counts two, as configured in ES
        ("cami", "camiseta", False),
    ],
)
def test_one_edit_is_an_insertion_a_deletion_or_a_substitution(a, b, near):
    assert within_one_edit(a, b) is near
    assert within_one_edit(b, a) is near


def test_a_suggestion_is_a_prefix_with_one_typo_forgiven_from_four_letters_not_the_first():
    entry = "camiseta de algodao"
    assert suggests("cam", entry)
    assert suggests("camisteta", entry)
    assert suggests("camisa", entry)  # `camise` with one letter wrong
    assert not suggests("cxm", entry)  # too short to forgive
    assert not suggests("xamiseta", entry)  # the first letter is never forgiven


def test_suggestion_inputs_are_the_word_suffixes_of_the_name_cut_to_50():
    assert suggest_inputs("Café Orgânico em Grãos") == [
        "cafe organico em graos",
        "organico em graos",
        "em graos",
        "graos",
    ]
    assert all(len(entry) <= 50 for entry in suggest_inputs("palavra " * 20))


def test_every_price_falls_in_exactly_one_range():
    assert price_range_keys() == ["-25", "25-50", "50-100", "100-200", "200-500", "500-"]
    assert price_range_of(Decimal("0")) == "-25"
    assert price_range_of(Decimal("24.99")) == "-25"
    assert price_range_of(Decimal("25.00")) == "25-50"
    assert price_range_of(Decimal("99999999.99")) == "500-"
    assert len(PRICE_RANGES) == len(price_range_keys())


def test_synonyms_parse_from_a_setting_folded():
    synonyms = Synonyms.parse("Camiseta, camisa ; garrafa,SQUEEZE;sozinha")
    assert synonyms.groups == (("camiseta", "camisa"), ("garrafa", "squeeze"))
    assert synonyms.of_word("Camisa") == ("camiseta", "camisa")
    assert synonyms.of_word("caneca") == ("caneca",)
    assert synonyms.as_rules() == ["camiseta, camisa", "garrafa, squeeze"]
    assert Synonyms.parse("").groups == ()


@pytest.mark.parametrize("text", ["camiseta,camisa;camisa,blusa", "copo reutilizavel,caneca"])
def test_a_word_in_two_groups_or_a_phrase_is_refused(text):
    with pytest.raises(ValueError, match=r"two synonym groups|a synonym is one word"):
        Synonyms.parse(text)


def test_an_older_document_takes_the_defaults():
    doc = {"name": "Caneca", "category": "Casa", "certifications": ["Vegano"], "available": 0}
    derived = indexed(doc)
    assert (derived.category_path, derived.category_keys) == (["Casa"], ["casa"])
    assert derived.certification_keys == ["vegano"]
    assert (derived.sustainability_score, derived.rating_average, derived.created_at) == (
        None,
        None,
        None,
    )
    assert (derived.rating_count, derived.in_stock) == (0, False)
    assert given(doc) == {}


def test_given_product_fields_win_over_the_defaults():
    doc = {
        "name": "Camiseta",
        "category": "Vestuário",
        "category_path": ["vestuario", "camisetas"],
        "sustainability_score": 140,
        "rating_average": 4.25,
        "in_stock": False,
        "available": 9,
    }
    derived = indexed(doc)
    assert derived.category_keys == ["vestuario", "camisetas"]
    assert derived.sustainability_score == 100  # 0-100
    assert derived.rating_average == Decimal("4.25")
    assert derived.in_stock is False
    assert set(given(doc)) == {
        "category_path",
        "sustainability_score",
        "rating_average",
        "in_stock",
    }


@pytest.mark.parametrize(
    "criteria", [{"q": "x" * 51}, {"q": "a", "size": 0}, {"q": "a", "size": 21}]
)
def test_a_suggestion_request_out_of_range_is_refused(criteria):
    with pytest.raises(InvalidSuggestQueryError):
        SuggestQuery(**criteria)
