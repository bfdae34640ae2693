"""The Elasticsearch adapter's requests, checked as data (no cluster runs here).

These pin what the adapter asks of Elasticsearch; whether a real cluster answers the way the
contract suite expects is checked only when ELASTICSEARCH_URL is set.
"""

from decimal import Decimal

import pytest
from eventsourcing.persistence import Tracking

from infrastructure.read_stores.search_elasticsearch import (
    ALIAS,
    TRACKING_ID,
    alias_actions,
    bulk_actions,
    index_name,
    mapping,
    parse_search_response,
    parse_suggest_response,
    search_body,
    suggest_body,
    tracking_action,
)
from projections.search import (
    InvalidGenerationError,
    InvalidSearchQueryError,
    SearchQuery,
    SuggestQuery,
)
from projections.search_document import Synonyms

DOC = {
    "id": "0b7c4c3e-0000-5000-8000-000000000001",
    "sku": "ECO-0001",
    "name": "Café Orgânico",
    "description": "Grãos torrados",
    "category": "alimentos",
    "price": "39.9",
    "available": 50,
    "certifications": ["Fair Trade"],
    "carbon_footprint_kg": "1.250",
    "version": 3,
}


def filters_of(body):
    return body["query"]["bool"]["filter"]


# Mapping --------------------------------------------------------------------------------


def test_the_analyzer_lowercases_folds_accents_drops_stop_words_and_stems():
    analysis = mapping()["settings"]["analysis"]
    analyzer = analysis["analyzer"]["portuguese_folded"]
    assert analyzer["tokenizer"] == "standard"
    assert analyzer["filter"] == [
        "lowercase",
        "asciifolding",
        "portuguese_stop",
        "portuguese_stemmer",
    ]
    assert analysis["filter"]["portuguese_stop"] == {"type": "stop", "stopwords": "_portuguese_"}
    assert analysis["filter"]["portuguese_stemmer"]["type"] == "stemmer"
    assert "portuguese" in analysis["filter"]["portuguese_stemmer"]["language"]


def test_text_fields_use_the_folding_analyzer_with_keyword_sub_fields():
    properties = mapping()["mappings"]["properties"]
    for field in ("name", "description"):
        assert properties[field]["type"] == "text"
        assert properties[field]["analyzer"] == "portuguese_folded"
        assert properties[field]["fields"]["keyword"]["type"] == "keyword"
    assert properties["category"]["type"] == "keyword"
    assert properties["category"]["fields"]["text"]["analyzer"] == "portuguese_folded"


def test_price_is_a_scaled_float_in_cents_and_filters_are_keywords():
    properties = mapping()["mappings"]["properties"]
    assert properties["price"] == {"type": "scaled_float", "scaling_factor": 100}
    assert properties["certifications"]["type"] == "keyword"
    assert properties["sku"]["type"] == "keyword"
    assert properties["available"]["type"] == "integer"
    assert properties["position"]["type"] == "long"


def test_the_mapping_refuses_fields_it_does_not_declare():
    assert mapping()["mappings"]["dynamic"] == "strict"


def test_every_field_of_a_stored_document_is_mapped():
    (action,) = bulk_actions([DOC], 7, "i")
    declared = set(mapping()["mappings"]["properties"])
    assert set(action["_source"]) <= declared
    assert set(tracking_action(Tracking("EcoVarejo", 7), "i")["_source"]) <= declared


# Bulk actions ---------------------------------------------------------------------------


def test_documents_are_written_under_the_aggregate_id_at_the_log_position():
    (action,) = bulk_actions([DOC], 42, "ecovarejo-products-g1")
    assert action["_op_type"] == "index"
    assert action["_index"] == "ecovarejo-products-g1"
    assert action["_id"] == DOC["id"]
    assert (action["version"], action["version_type"]) == (42, "external")


def test_a_stored_document_keeps_money_as_a_two_place_decimal_string():
    (action,) = bulk_actions([DOC], 1, "i")
    source = action["_source"]
    assert source["price"] == "39.90"
    assert source["kind"] == "product"
    assert source["sku"] == "ECO-0001"
    assert source["certifications"] == ["Fair Trade"]


def test_one_action_per_document_and_none_for_no_documents():
    other = {**DOC, "id": "other", "sku": "ECO-0002"}
    assert [a["_id"] for a in bulk_actions([DOC, other], 5, "i")] == [DOC["id"], "other"]
    assert bulk_actions([], 5, "i") == []


def test_the_position_document_is_versioned_by_the_position_too():
    action = tracking_action(Tracking("EcoVarejo", 9), "ecovarejo-products-g2")
    assert action["_id"] == TRACKING_ID
    assert action["_index"] == "ecovarejo-products-g2"
    assert (action["version"], action["version_type"]) == (9, "external")
    assert action["_source"] == {"kind": "tracking", "application_name": "EcoVarejo", "position": 9}


# Search body ----------------------------------------------------------------------------


def test_text_is_matched_across_name_description_and_category_without_fuzziness():
    body = search_body(SearchQuery(q="café orgânico"))
    (must,) = body["query"]["bool"]["must"]
    match = must["multi_match"]
    assert match["query"] == "café orgânico"
    assert match["fields"] == ["name^3", "description", "category.text"]
    assert match["operator"] == "and"
    assert "fuzziness" not in match
    assert body["sort"] == [{"_score": "desc"}, {"sku": "asc"}]


def test_without_text_everything_matches_in_sku_order():
    body = search_body(SearchQuery())
    assert body["query"]["bool"]["must"] == []
    assert filters_of(body) == [{"term": {"kind": "product"}}]
    assert body["sort"] == [{"sku": "asc"}]


def test_the_position_document_is_never_a_hit():
    body = search_body(SearchQuery(q="x", category="casa"))
    assert {"term": {"kind": "product"}} in filters_of(body)


def test_filters_are_terms_on_folded_keys_and_a_price_range_of_decimal_strings():
    query = SearchQuery(
        category="Higiene",
        certification="Orgânico Brasil",
        min_price=Decimal("10.5"),
        max_price=Decimal("99.90"),
        in_stock=True,
    )
    assert filters_of(search_body(query))[1:] == [
        {"term": {"category_keys": "higiene"}},
        {"term": {"certification_keys": "organico brasil"}},
        {"term": {"stocked": True}},
        {"range": {"price": {"gte": "10.5", "lte": "99.90"}}},
    ]


def test_an_open_price_range_has_one_bound():
    body = search_body(SearchQuery(max_price=Decimal("20")))
    assert filters_of(body)[1:] == [{"range": {"price": {"lte": "20"}}}]


def test_facets_are_terms_aggregations_over_the_filtered_set():
    body = search_body(SearchQuery(category="casa"))
    assert body["aggs"]["category"]["terms"]["field"] == "category_facets"
    assert body["aggs"]["certification"]["terms"]["field"] == "certifications"
    assert "post_filter" not in body  # filters apply to the facets too


def test_the_price_facet_is_a_range_aggregation_in_whole_reais():
    ranges = search_body(SearchQuery())["aggs"]["price"]["range"]["ranges"]
    assert ranges[0] == {"key": "-25", "to": 25}
    assert ranges[2] == {"key": "50-100", "from": 50, "to": 100}
    assert ranges[-1] == {"key": "500-", "from": 500}
    assert all(isinstance(v, int) for r in ranges for k, v in r.items() if k != "key")


@pytest.mark.parametrize(
    ("sort", "clauses"),
    [
        ("price_asc", [{"price": "asc"}]),
        ("price_desc", [{"price": "desc"}]),
        ("newest", [{"listed_at": {"order": "desc", "missing": "_last"}}]),
        ("rating", [{"rating": {"order": "desc", "missing": "_last"}}, {"ratings": "desc"}]),
        ("footprint", [{"footprint": {"order": "asc", "missing": "_last"}}]),
        ("score", [{"score": {"order": "desc", "missing": "_last"}}]),
    ],
)
def test_each_sort_ends_on_the_sku_and_puts_missing_values_last(sort, clauses):
    assert search_body(SearchQuery(q="camiseta", sort=sort))["sort"] == [*clauses, {"sku": "asc"}]


def test_synonyms_apply_at_query_time_only():
    analysis = mapping(Synonyms.of([("camiseta", "camisa")]))["settings"]["analysis"]
    assert analysis["filter"]["ecovarejo_synonyms"] == {
        "type": "synonym_graph",
        "synonyms": ["camiseta, camisa"],
    }
    assert "ecovarejo_synonyms" in analysis["analyzer"]["portuguese_folded_search"]["filter"]
    assert "ecovarejo_synonyms" not in analysis["analyzer"]["portuguese_folded"]["filter"]
    name = mapping()["mappings"]["properties"]["name"]
    assert (name["analyzer"], name["search_analyzer"]) == (
        "portuguese_folded",
        "portuguese_folded_search",
    )


def test_no_synonyms_means_no_synonym_filter():
    analysis = mapping(Synonyms())["settings"]["analysis"]
    assert "ecovarejo_synonyms" not in analysis["filter"]
    assert "ecovarejo_synonyms" not in analysis["analyzer"]["portuguese_folded_search"]["filter"]


# Suggestions ----------------------------------------------------------------------------


def test_a_document_feeds_the_completion_field_its_folded_word_suffixes():
    (action,) = bulk_actions([{**DOC, "name": "Camiseta de Algodão"}], 1, "i")
    assert action["_source"]["suggest"] == {
        "input": ["camiseta de algodao", "de algodao", "algodao"]
    }
    suggest = mapping()["mappings"]["properties"]["suggest"]
    assert (suggest["type"], suggest["analyzer"]) == ("completion", "suggest_folded")


def test_suggestions_forgive_one_edit_but_not_in_the_first_letter_nor_a_short_query():
    body = suggest_body(SuggestQuery(q="Camisteta", size=5))
    completion = body["suggest"]["products"]["completion"]
    assert body["suggest"]["products"]["prefix"] == "camisteta"
    assert completion["size"] == 5
    assert completion["fuzzy"] == {
        "fuzziness": 1,
        "transpositions": False,
        "prefix_length": 1,
        "min_length": 4,
    }
    assert "fuzzy" not in suggest_body(SuggestQuery(q="cam"))["suggest"]["products"]["completion"]


def test_suggestions_list_exact_prefixes_first_and_each_product_once():
    def option(id_, text, sku):
        return {"_id": id_, "text": text, "_source": {"sku": sku, "name": sku.lower()}}

    response = {
        "suggest": {
            "products": [
                {
                    "options": [
                        option("1", "organico em graos", "ECO-1"),
                        option("2", "organica", "ECO-2"),
                        option("1", "organico", "ECO-1"),
                    ]
                }
            ]
        }
    }
    found = parse_suggest_response(response, "organica")
    assert [s.sku for s in found] == ["ECO-2", "ECO-1"]


# Product-level fields -------------------------------------------------------------------


def test_a_document_keeps_the_product_fields_given_and_derives_defaults_apart():
    (action,) = bulk_actions([DOC], 1, "i")
    source = action["_source"]
    assert not {"category_path", "sustainability_score", "in_stock"} & set(source)
    assert (source["category_facets"], source["category_keys"]) == (["alimentos"], ["alimentos"])
    assert (source["stocked"], source["score"], source["listed_at"]) == (True, None, None)
    full = {**DOC, "category_path": ["casa", "cozinha"], "sustainability_score": 81}
    (action,) = bulk_actions([full], 1, "i")
    assert action["_source"]["category_path"] == ["casa", "cozinha"]
    assert action["_source"]["category_facets"] == ["casa", "cozinha"]
    assert action["_source"]["score"] == 81


def test_pages_with_from_and_size_and_counts_every_hit():
    body = search_body(SearchQuery(page=3, size=20))
    assert (body["from"], body["size"]) == (40, 20)
    assert body["track_total_hits"] is True


def test_a_blank_query_is_no_text_query():
    assert search_body(SearchQuery(q="   "))["query"]["bool"]["must"] == []


@pytest.mark.parametrize(
    "criteria",
    [
        {"page": 0},
        {"size": 0},
        {"size": 101},
        {"page": 101, "size": 100},
        {"min_price": Decimal("-1")},
        {"min_price": Decimal("10"), "max_price": Decimal("9.99")},
        {"max_price": Decimal("NaN")},
    ],
)
def test_a_query_out_of_range_is_refused_before_any_request(criteria):
    with pytest.raises(InvalidSearchQueryError):
        SearchQuery(**criteria)


# Responses ------------------------------------------------------------------------------


def test_a_response_becomes_hits_with_decimal_prices_and_facets_in_order():
    response = {
        "hits": {
            "total": {"value": 12, "relation": "eq"},
            "hits": [
                {
                    "_id": DOC["id"],
                    "_score": 2.5,
                    "_source": {
                        "sku": "ECO-0001",
                        "name": "Café Orgânico",
                        "price": 39.9,  # a number, as an older document might hold
                        "available": 50,
                        "certifications": ["Fair Trade"],
                        "carbon_footprint_kg": "1.250",
                    },
                }
            ],
        },
        "aggregations": {
            "category": {"buckets": [{"key": "higiene", "doc_count": 7}]},
            "certification": {
                "buckets": [{"key": "FSC", "doc_count": 5}, {"key": "B Corp", "doc_count": 1}]
            },
        },
    }
    result = parse_search_response(response)
    assert result.total == 12
    (hit,) = result.items
    assert hit.price == Decimal("39.90")
    assert str(hit.price) == "39.90"
    assert (hit.sku, hit.available, hit.certifications) == ("ECO-0001", 50, ["Fair Trade"])
    assert result.facets == {
        "category": {"higiene": 7},
        "certification": {"FSC": 5, "B Corp": 1},
        "price": {},
    }
    assert list(result.facets["certification"]) == ["FSC", "B Corp"]


# Generations ----------------------------------------------------------------------------


def test_each_generation_is_an_index_behind_one_alias():
    assert index_name("g2") == f"{ALIAS}-g2"
    with pytest.raises(InvalidGenerationError):
        index_name("G2/../x")


def test_the_alias_moves_to_the_new_index_in_one_request():
    actions = alias_actions([f"{ALIAS}-g1"], f"{ALIAS}-g2")
    assert actions == [
        {"remove": {"index": f"{ALIAS}-g1", "alias": ALIAS}},
        {"add": {"index": f"{ALIAS}-g2", "alias": ALIAS}},
    ]


def test_the_first_activation_only_adds_the_alias():
    assert alias_actions([], f"{ALIAS}-g1") == [{"add": {"index": f"{ALIAS}-g1", "alias": ALIAS}}]


def test_activating_the_active_generation_again_keeps_it():
    actions = alias_actions([f"{ALIAS}-g1"], f"{ALIAS}-g1")
    assert actions == [{"add": {"index": f"{ALIAS}-g1", "alias": ALIAS}}]


def test_empty_price_ranges_are_left_out_of_the_facet():
    response = {
        "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []},
        "aggregations": {
            "price": {
                "buckets": [
                    {"key": "-25", "to": 25.0, "doc_count": 0},
                    {"key": "25-50", "from": 25.0, "to": 50.0, "doc_count": 3},
                ]
            }
        },
    }
    assert parse_search_response(response).facets["price"] == {"25-50": 3}
