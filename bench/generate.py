"""Write a CSV shaped like the seed data, for the ingestion figures (bench/ingest.py).

    .venv/bin/python bench/generate.py --rows 1000000 --out bench/out/transactions-1000000.csv

Columns: transaction_id (UUID4), transaction_date ('YYYY-MM-DD HH:MM:SS' over three years),
transaction_amount (two decimals), client_id (integer), client_name (text; some names hold
commas or double quotes and are quoted as RFC 4180 says: "Smith, John", "The ""Best"" Shop").

The output depends only on the row count and the seed. Rows are built a chunk at a time from
random bytes: UUIDs by strided slice assignment into a bytearray, the other fields by indexing
small precomputed pools with unsigned 16-bit draws, so no per-row Python code runs except the
C loops behind `map`, `zip` and `bytes.join` (10M rows, about 900 MB, in well under a minute).
"""

from __future__ import annotations

import argparse
import binascii
import csv
import io
import os
import random
import sys
import time
from array import array
from datetime import date, timedelta
from pathlib import Path

HEADER = b"transaction_id,transaction_date,transaction_amount,client_id,client_name\n"
OUT_DIR = Path(__file__).resolve().parent / "out"
CHUNK_ROWS = 200_000
POOL = 1 << 16  # pools are indexed by unsigned 16-bit draws
FIRST_DAY = date(2022, 1, 1)
DAYS = 3 * 365 + 1
# Bump when the output changes, so cached files from an older generator are not reused.
VERSION = 1

_FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Ana",
    "José",
    "Zoë",
    "Björn",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "O'Brien",
    "Müller",
    "Nguyen",
    "Kowalski",
]
_SHOPS = ["Best", "Corner", "Golden", "Fresh", "Daily", "Blue Sky", "Sunrise", "Urban"]
_KINDS = ["Shop", "Market", "Bakery", "Traders", "Supplies", "Cafe", "Hardware", "Books"]


def cached_path(rows: int) -> Path:
    return OUT_DIR / f"transactions-{rows}-v{VERSION}.csv"


def ensure_csv(rows: int, *, quiet: bool = False) -> Path:
    """The cached file for `rows` (seed 0), generated first if it is missing."""
    path = cached_path(rows)
    if not path.exists():
        write_csv(rows, path, quiet=quiet)
    return path


def write_csv(rows: int, out: Path, *, seed: int = 0, quiet: bool = False) -> None:
    """Write atomically: a partial file never sits under the final name."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + f".partial-{os.getpid()}")
    started = time.perf_counter()
    pools = _Pools(random.Random(f"csvhub-bench-pools-{seed}"))
    try:
        with open(partial, "wb", buffering=0) as file:
            file.write(HEADER)
            for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
                rng = random.Random(f"csvhub-bench-{seed}-{index}")
                file.write(pools.chunk(rng, min(CHUNK_ROWS, rows - start)))
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    if not quiet:
        seconds = time.perf_counter() - started
        size = out.stat().st_size
        print(
            f"wrote {rows:,} rows, {size / 1e6:,.0f} MB to {out} in {seconds:.1f} s",
            file=sys.stderr,
        )


class _Pools:
    """Precomputed field texts, each with its trailing separator, indexed by 16-bit draws."""

    def __init__(self, rng: random.Random) -> None:
        days = [(FIRST_DAY + timedelta(days=d)).isoformat().encode() + b" " for d in range(DAYS)]
        self.days = [days[i % DAYS] for i in range(POOL)]
        self.times = [_clock(rng.randrange(86_400)) for _ in range(POOL)]
        # Mostly small amounts, a few large ones; cents drawn separately.
        self.units = [
            str(int(rng.paretovariate(1.2) * 10) % 100_000).encode() + b"." for _ in range(POOL)
        ]
        self.cents = [b"%02d," % (i % 100) for i in range(POOL)]
        self.clients = [_client(rng, client_id) for client_id in range(1, POOL + 1)]

    def chunk(self, rng: random.Random, n: int) -> bytes:
        def draws() -> array:
            values = array("H")
            values.frombytes(rng.randbytes(2 * n))
            return values

        return b"".join(
            map(
                b"".join,
                zip(
                    _uuids(rng, n),
                    map(self.days.__getitem__, draws()),
                    map(self.times.__getitem__, draws()),
                    map(self.units.__getitem__, draws()),
                    map(self.cents.__getitem__, draws()),
                    map(self.clients.__getitem__, draws()),
                    strict=True,
                ),
            )
        )


def _clock(second: int) -> bytes:
    return b"%02d:%02d:%02d," % (second // 3600, second // 60 % 60, second % 60)


def _client(rng: random.Random, client_id: int) -> bytes:
    """`client_id,client_name\\n`, the name quoted when it holds a comma or a quote."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    roll = rng.random()
    if roll < 0.10:
        name = f"{last}, {first}"
    elif roll < 0.15:
        name = f'The "{rng.choice(_SHOPS)}" {rng.choice(_KINDS)}'
    elif roll < 0.18:
        name = f'{last} & Sons, "{rng.choice(_SHOPS)}" {rng.choice(_KINDS)}'
    elif roll < 0.30:
        name = f"{last}'s {rng.choice(_KINDS)}"
    else:
        name = f"{first} {last}"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow([client_id, name])
    return text.getvalue().encode()


# UUID text positions (8-4-4-4-12) of the 32 hex digits, and the comma after it.
_UUID_WIDTH = 37
_UUID_DIGITS = [p for p in range(36) if p not in (8, 13, 18, 23)]
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab89ab89ab89ab")


def _uuids(rng: random.Random, n: int) -> list[bytes]:
    """n random version-4 UUIDs as text, each followed by a comma."""
    digits = binascii.hexlify(rng.randbytes(16 * n))
    text = bytearray(_UUID_WIDTH * n)
    for source, target in enumerate(_UUID_DIGITS):
        text[target::_UUID_WIDTH] = digits[source::32]
    for dash in (8, 13, 18, 23):
        text[dash::_UUID_WIDTH] = b"-" * n
    text[14::_UUID_WIDTH] = b"4" * n  # version
    text[19::_UUID_WIDTH] = text[19::_UUID_WIDTH].translate(_VARIANT)
    text[36::_UUID_WIDTH] = b"," * n
    whole = bytes(text)
    return [whole[i : i + _UUID_WIDTH] for i in range(0, len(whole), _UUID_WIDTH)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, help="default: the cache file under bench/out/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    cached = args.out is None and args.seed == 0
    out = args.out or OUT_DIR / f"transactions-{args.rows}-v{VERSION}-seed{args.seed}.csv"
    if cached:
        out = cached_path(args.rows)
    if cached and out.exists() and not args.force:
        print(f"reusing {out}", file=sys.stderr)
    else:
        write_csv(args.rows, out, seed=args.seed)
    print(out)


if __name__ == "__main__":
    main()
