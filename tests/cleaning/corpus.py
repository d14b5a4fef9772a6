"""A generated corpus of company names with known duplicate groups, for clustering tests and
bench/clusters.py: each company is written several ways (case, spaces, punctuation, accents,
word order, legal suffix, one typo), and every spelling knows its company."""

from __future__ import annotations

import random

WORDS = [
    "acme",
    "global",
    "north",
    "river",
    "stone",
    "blue",
    "peak",
    "union",
    "pacific",
    "atlas",
    "summit",
    "harbor",
    "crown",
    "eagle",
    "prime",
    "delta",
    "vertex",
    "nova",
    "orion",
    "maple",
    "cedar",
    "falcon",
    "silver",
    "golden",
    "iron",
]
KINDS = [
    "Holding",
    "Stocks",
    "Trading",
    "Foods",
    "Logistics",
    "Partners",
    "Systems",
    "Energy",
    "Capital",
    "Media",
]
ACCENTED = {"e": "é", "a": "à", "o": "ô", "u": "ü"}


def _base(rng: random.Random) -> str:
    return f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {rng.choice(KINDS)}"


def _variants(name: str, rng: random.Random) -> list[str]:
    words = name.split()
    typo_at = rng.randrange(1, len(name) - 1)
    typo = name[:typo_at] + ("x" if name[typo_at] != "x" else "y") + name[typo_at + 1 :]
    accented = "".join(ACCENTED.get(c, c) if i == 1 else c for i, c in enumerate(name))
    return [
        name.upper(),
        f"  {name.lower()} ",
        f"{words[0]}, {' '.join(words[1:])}.",
        " ".join(reversed(words)),
        accented,
        typo,
    ]


def company_corpus(companies: int, seed: int = 7) -> tuple[list[tuple[str, int]], dict[str, int]]:
    """(value, count) of every spelling, and the company (group) of each spelling."""
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < companies:
        names.add(f"{_base(rng)} {len(names)}" if len(names) >= 2000 else _base(rng))
    group: dict[str, int] = {}
    counts: dict[str, int] = {}
    for number, name in enumerate(sorted(names)):
        for spelling in [name, *rng.sample(_variants(name, rng), 3)]:
            if spelling not in group:
                group[spelling] = number
                counts[spelling] = rng.randint(1, 50) * (10 if spelling == name else 1)
    return sorted(counts.items()), group


def pair_scores(clusters_found: list[list[str]], group: dict[str, int]) -> tuple[float, float]:
    """Pairwise precision and recall of clusters against the known groups."""
    found = {(a, b) for cluster in clusters_found for a in cluster for b in cluster if a < b}
    true_pairs = 0
    members: dict[int, list[str]] = {}
    for value, number in group.items():
        members.setdefault(number, []).append(value)
    for values in members.values():
        true_pairs += len(values) * (len(values) - 1) // 2
    correct = sum(1 for a, b in found if group[a] == group[b])
    precision = correct / len(found) if found else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    return precision, recall
