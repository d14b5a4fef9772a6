"""Clustering suggestions: the methods on a generated corpus of company names (precision and
recall reported), and the API on every warehouse: distinct values by GROUP BY, accept (a map
step in the recipe and a journaled, undoable edit of the stored rows), reject."""

from __future__ import annotations

import pytest

from csvhub.cleaning.clusters import Method, clusters, fingerprint, ngram_fingerprint
from csvhub.cleaning.models import RecipeVersion
from tests.cleaning.corpus import company_corpus, pair_scores
from tests.datasets.pipeline import api_client_for, make_org, upload


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("  Acme, Inc. ", "acme inc"),
        ("inc ACME", "acme inc"),
        ("Café  Bleu", "bleu cafe"),
        ("J&A Holding", "holding ja"),
    ],
)
def test_fingerprint_folds_case_spaces_punctuation_accents_and_word_order(value, key):
    assert fingerprint(value) == key


def test_ngram_fingerprint_ignores_spaces_and_case():
    assert ngram_fingerprint("Ab Cd") == ngram_fingerprint("abcd") == "abbccd"


# Floors under the figures measured on this corpus (printed with -s): a change that makes a
# method worse shows here.
FLOORS = {
    Method.FINGERPRINT: (0.9, 0.7),
    Method.NGRAM: (0.95, 0.45),
    Method.NEAREST: (0.9, 0.65),
}


@pytest.mark.parametrize("method", list(Method))
def test_methods_find_the_known_duplicate_groups(method):
    values, group = company_corpus(400)
    found = clusters(values, method)
    precision, recall = pair_scores([[v.value for v in c.values] for c in found], group)
    print(f"{method}: precision {precision:.3f}, recall {recall:.3f} over {len(values)} values")
    assert precision >= FLOORS[method][0] and recall >= FLOORS[method][1]


def test_canonical_is_the_most_frequent_and_rejected_pairs_split():
    values = [("Acme Inc", 9), ("ACME inc", 3), ("acme, inc.", 1)]
    (cluster,) = clusters(values, Method.FINGERPRINT)
    assert cluster.canonical == "Acme Inc" and cluster.rows == 13
    rejected = [("Acme Inc", "ACME inc"), ("Acme Inc", "acme, inc."), ("ACME inc", "acme, inc.")]
    assert clusters(values, Method.FINGERPRINT, rejected=rejected) == []


def test_nearest_links_one_typo_but_not_different_names():
    values = [("JEA Holding Stocks", 4), ("JEA Holdinq Stocks", 1), ("Nova Media", 2)]
    (cluster,) = clusters(values, Method.NEAREST)
    assert [v.value for v in cluster.values] == ["JEA Holding Stocks", "JEA Holdinq Stocks"]


COMPANIES = "company,amount\n" + "".join(
    f'"{name}",{n}\n'
    for n, name in enumerate(
        ["Acme Inc"] * 3 + ["ACME inc", "acme, inc.", "Nova Media", "Nova Medai", "Orion"]
    )
)


@pytest.mark.django_db(transaction=True)
def test_clusters_api_reads_distinct_values_from_the_warehouse(warehouse):
    org = make_org()
    job = upload(org, "firms.csv", COMPANIES)
    client = api_client_for(org)
    url = f"/api/v1/datasets/{job.dataset.slug}/columns/company/clusters/"

    answer = client.get(url, {"method": "fingerprint"})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["count"], body["distinct_values"], body["complete"]) == (1, 6, True)
    assert body["clusters"] == [
        {
            "canonical": "Acme Inc",
            "rows": 5,
            "values": [
                {"value": "Acme Inc", "count": 3},
                {"value": "ACME inc", "count": 1},
                {"value": "acme, inc.", "count": 1},
            ],
        }
    ]
    nearest = client.get(url, {"method": "nearest"}).json()["clusters"]
    assert {"Nova Media", "Nova Medai"} in [{v["value"] for v in c["values"]} for c in nearest]


@pytest.mark.django_db(transaction=True)
def test_accept_adds_a_map_step_and_edits_the_stored_rows_reject_is_remembered(warehouse):
    org = make_org()
    job = upload(org, "firms.csv", COMPANIES)
    client = api_client_for(org)
    base = f"/api/v1/datasets/{job.dataset.slug}/columns/company/clusters/"

    accepted = client.post(
        f"{base}accept",
        {"values": ["Acme Inc", "ACME inc", "acme, inc."], "canonical": "ACME Inc."},
        format="json",
    )
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["recipe_version"] == 1
    stored = accepted.json()["stored_rows"]
    assert (stored["applied"], stored["rows_changed"], stored["message"]) == (True, 5, "")
    rows = client.get(f"/api/v1/datasets/{job.dataset.slug}/rows/?limit=100").json()["rows"]
    assert [row["company"] for row in rows][:5] == ["ACME Inc."] * 5
    undone = client.post(f"/api/v1/datasets/{job.dataset.slug}/edits/{stored['edit']}/undo")
    assert undone.status_code in (200, 201), undone.json()
    (version,) = RecipeVersion.objects.filter(recipe__dataset=job.dataset)
    assert version.steps == [
        {
            "op": "map",
            "column": "company",
            "values": {"Acme Inc": "ACME Inc.", "ACME inc": "ACME Inc.", "acme, inc.": "ACME Inc."},
        }
    ]

    rejected = client.post(f"{base}reject", {"values": ["Nova Media", "Nova Medai"]}, format="json")
    assert rejected.json() == {"pairs_remembered": 1}
    nearest = client.get(base, {"method": "nearest"}).json()["clusters"]
    assert all("Nova Media" not in [v["value"] for v in c["values"]] for c in nearest)


@pytest.mark.django_db
def test_clusters_of_a_number_column_or_unknown_column_are_a_400():
    org = make_org()
    job = upload(org, "firms.csv", COMPANIES)
    client = api_client_for(org)
    base = f"/api/v1/datasets/{job.dataset.slug}/columns"
    assert client.get(f"{base}/amount/clusters/").status_code == 400
    assert "Unknown column" in client.get(f"{base}/nope/clusters/").json()["detail"]
    assert client.get(f"{base}/company/clusters/", {"method": "soundex"}).status_code == 400
