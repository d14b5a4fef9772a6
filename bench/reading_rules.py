"""Reading rules' cost on the reading path: read and infer a generated CSV (bench/generate.py)
with no rules, with the defaults of a new dataset (null tokens, detection), and with rules that
rewrite (a decimal comma file, day-first dates), measured in the same run.

    .venv/bin/python bench/reading_rules.py [--rows 500000] [--repeat 3]

Each measurement opens the file, reads every batch with the C splitter (when built), applies
the rules (csvhub.csvread.rules) and runs type inference (TypeTracker), as ingestion does
before writing; the best of --repeat runs is printed with its ratio to the no-rules run.
Target: the defaults within 1.10x of no rules; the time inside the rules is printed too, as
the whole-read ratio moves with the machine's load. Figures are not tests.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ensure_csv

from csvhub.csvread import Columns, TypeTracker, open_csv
from csvhub.csvread.rules import DEFAULT_NULL_TOKENS, ReadingRules, detect

BATCH_ROWS = 20_000


def _read(path: Path, rules: ReadingRules | None) -> tuple[float, float]:
    """Seconds of the whole read, and of the rules alone (detection and rewriting)."""
    started = time.perf_counter()
    in_rules = 0.0
    with path.open("rb") as stream:
        reader = open_csv(stream, filename=path.name)
        names = [column.name for column in reader.columns]
        tracker = TypeTracker(len(names))
        rewrite: Callable[[Columns], Columns] | None = None
        for batch in reader.batches(BATCH_ROWS):
            columns = batch.columns
            rules_started = time.perf_counter()
            if rules is not None:
                if rewrite is None:
                    reading = detect(rules, columns, reader.delimiter, names)
                    rewriter = rewrite_of(reading, len(names))
                    rewrite = rewriter.rewrite if rewriter.active else (lambda c: c)
                columns = rewrite(columns)
            in_rules += time.perf_counter() - rules_started
            tracker.observe_columns(columns)
    return time.perf_counter() - started, in_rules


def rewrite_of(reading, width: int):  # type: ignore[no-untyped-def]
    from csvhub.csvread.rules import BatchRewriter

    return BatchRewriter([reading.cell_rules() for _ in range(width)])


CASES: dict[str, ReadingRules | None] = {
    "no rules (before reading rules)": None,
    "defaults of a new dataset": ReadingRules(null_tokens=DEFAULT_NULL_TOKENS),
    "decimal comma and '.' thousands": ReadingRules(
        null_tokens=DEFAULT_NULL_TOKENS, decimal_separator=",", thousands_separator="."
    ),
    "day-first dates": ReadingRules(null_tokens=DEFAULT_NULL_TOKENS, day_first=True),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = ensure_csv(args.rows)
    best: dict[str, tuple[float, float]] = {}
    for _ in range(args.repeat):  # interleaved, so load changes hit every case alike
        for name, rules in CASES.items():
            seconds = _read(path, rules)
            best[name] = min(best.get(name, seconds), seconds)
    baseline = best["no rules (before reading rules)"][0]
    for name, (seconds, in_rules) in best.items():
        print(
            f"{name:<34} {seconds:6.2f} s  {seconds / baseline:5.2f}x no rules  "
            f"(rules themselves: {in_rules:.3f} s = {in_rules / seconds:.1%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
