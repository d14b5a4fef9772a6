"""Clustering figures: the three methods of csvhub.cleaning.clusters on 100,000 distinct
company names with known duplicate groups (tests/cleaning/corpus.py), against a baseline
measured in the same run.

    .venv/bin/python bench/clusters.py [--values 100000]

Baseline: key collision on the lower-cased value alone (one str.lower and one dict insert per
value), the least any key-collision method costs in Python. Each method's seconds are printed
with their ratio to it, microseconds per value, and pairwise precision and recall against the
known groups. Figures are not tests: nothing here fails on a slow machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from csvhub.cleaning.clusters import Method, clusters  # noqa: E402
from tests.cleaning.corpus import company_corpus, pair_scores  # noqa: E402


def _baseline(values: list[tuple[str, int]]) -> float:
    started = time.perf_counter()
    groups: dict[str, list[str]] = defaultdict(list)
    for value, _ in values:
        groups[value.lower()].append(value)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=100_000)
    args = parser.parse_args()
    values, group = company_corpus(max(args.values // 3, 10))
    values = values[: args.values]
    group = {value: group[value] for value, _ in values}
    print(f"{len(values):,} distinct values, {len(set(group.values())):,} companies")
    baseline = _baseline(values)
    print(f"baseline (lower-case key collision): {baseline:.3f} s")
    for method in Method:
        started = time.perf_counter()
        found = clusters(values, method)
        seconds = time.perf_counter() - started
        precision, recall = pair_scores([[v.value for v in c.values] for c in found], group)
        print(
            f"{method:<11} {seconds:7.2f} s = {seconds / baseline:6.1f}x baseline, "
            f"{seconds / len(values) * 1e6:6.1f} µs/value, {len(found):,} clusters, "
            f"precision {precision:.3f}, recall {recall:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
