"""The Elasticsearch adapter's requests, checked as data (no cluster runs here).

These pin what the adapter asks of Elasticsearch; whether a real cluster answers the way the
contract suite expects is checked only when ELASTICSEARCH_URL is set.
"""

from decimal import Decimal

import pytest
from eventsourcing.persistence import Tracking

from infrastructure.search_elasticsearch import (
    ALIAS,
    TRACKING_ID,
    alias_actions,
    bulk_actions,
    index_name,
    mapping,
    parse_search_response,
    search_body,
    tracking_action,
)
from projections.search import InvalidGenerationError, InvalidSearchQueryError, SearchQuery

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


def test_filters_are_exact_terms_and_a_price_range_of_decimal_strings():
    query = SearchQuery(
        category="higiene",
        certification="FSC",
        min_price=Decimal("10.5"),
        max_price=Decimal("99.90"),
    )
    assert filters_of(search_body(query))[1:] == [
        {"term": {"category": "higiene"}},
        {"term": {"certifications": "FSC"}},
        {"range": {"price": {"gte": "10.5", "lte": "99.90"}}},
    ]


def test_an_open_price_range_has_one_bound():
    body = search_body(SearchQuery(max_price=Decimal("20")))
    assert filters_of(body)[1:] == [{"range": {"price": {"lte": "20"}}}]


def test_facets_are_terms_aggregations_over_the_filtered_set():
    body = search_body(SearchQuery(category="casa"))
    assert body["aggs"]["category"]["terms"]["field"] == "category"
    assert body["aggs"]["certification"]["terms"]["field"] == "certifications"
    assert "post_filter" not in body  # filters apply to the facets too


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
    assert result.facets == {"category": {"higiene": 7}, "certification": {"FSC": 5, "B Corp": 1}}
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
