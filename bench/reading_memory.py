"""Reading memory: peak RSS of reading hostile gzip files, with csvhub's read limits and without.

    .venv/bin/python bench/reading_memory.py

Each case runs in a fresh child process (`python bench/reading_memory.py --child ...`) that
reads the file with open_csv, infers types batch by batch as ingestion does, and reports its
peak RSS (ru_maxrss) and its RSS after the imports (the baseline). The files, built in memory:

  wide rows   a header and 20 rows of 10 MB each (200 KiB of gzip): the issue's file
  no newline  a header and one 200 MB line without a line break (200 KiB of gzip)

"limits off" reads with limits too large to matter (records and batches cut by row count
only, as before issue 11); "default limits" with ReadLimits(), the settings' defaults.
Figures are not tests: tests/csvread/test_csvread_reading.py checks the bounds themselves.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
UNLIMITED = 1 << 40


FILES = {  # the start of the file, then 20 pieces of 10 MB
    "wide rows": (b"id,text\n", lambda n: b"%d,%s\n" % (n, b"x" * 10_000_000)),
    "no newline": (b"id,text\n1,", lambda n: b"y" * 10_000_000),
}


def write_file(kind: str, folder: Path) -> Path:
    path = folder / (kind.replace(" ", "-") + ".csv.gz")
    start, piece = FILES[kind]
    with gzip.open(path, "wb") as out:
        out.write(start)
        for number in range(20):
            out.write(piece(number))
    return path


def child(path: str, limited: bool) -> dict:
    sys.path.insert(0, str(REPO))
    from csvhub.csvread import ReadLimits, TypeTracker, open_csv

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    limits = ReadLimits() if limited else ReadLimits(UNLIMITED, UNLIMITED, UNLIMITED)
    stream = open(path, "rb")  # noqa: SIM115 - read to the end below
    reader = open_csv(stream, filename="hostile.csv.gz", limits=limits)
    tracker = TypeTracker(len(reader.columns))
    rows = rejected = largest = 0
    for batch in reader.batches(20_000):
        if batch.row_count:
            tracker.observe_columns(batch.columns)
        rows += batch.row_count
        rejected += len(batch.bad_rows)
        largest = max(largest, batch.chars)
        del batch
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "gzip_kib": Path(path).stat().st_size // 1024,
        "baseline_mib": baseline // 1024,
        "peak_mib": peak // 1024,
        "rows": rows,
        "rejected": rejected,
        "largest_batch_chars": largest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("PATH", "LIMITED"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1] == "1")))
        return 0
    print(f"{'file':<12} {'limits':<15} {'gzip':>8} {'peak RSS':>9} {'x base':>7} rows  rejected")
    folder = Path(tempfile.mkdtemp(prefix="csvhub-reading-memory-"))
    for kind in FILES:
        path = write_file(kind, folder)
        for limited in (False, True):
            command = [sys.executable, __file__, "--child", str(path), "1" if limited else "0"]
            figures = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
            label = "default limits" if limited else "limits off"
            ratio = figures["peak_mib"] / max(figures["baseline_mib"], 1)
            print(
                f"{kind:<12} {label:<15} {figures['gzip_kib']:>5} KiB {figures['peak_mib']:>5} MiB"
                f" {ratio:>6.1f}x {figures['rows']:>4} {figures['rejected']:>9}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
