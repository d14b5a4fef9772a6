"""The reader child's memory limit: a file that needs more ends the child, never its parent,
and says so (ReaderOutOfMemory) instead of passing for a complete read."""

import io
import os
import signal
from pathlib import Path

import pytest

from csvhub.csvread import ReadLimits
from csvhub.csvread.child import ReaderOutOfMemory, open_csv_in_child

LIMIT = 96 << 20  # the interpreter takes about 26 MiB of address space
BIG_FIELD = b'a,b\n1,"' + b"x" * (40 << 20) + b'"\n2,y\n'
# Read limits that let BIG_FIELD's record through, so that memory is what it runs into.
ROOMY = ReadLimits(record_chars=64 << 20)


def _rows(data: bytes, memory_limit: int | None) -> int:
    with open_csv_in_child(
        io.BytesIO(data), batch_rows=1000, memory_limit=memory_limit, limits=ROOMY
    ) as reader:
        return sum(batch.row_count for batch in reader.batches())


def test_a_file_needing_more_than_the_limit_raises_reader_out_of_memory() -> None:
    with pytest.raises(ReaderOutOfMemory, match=f"its limit: {LIMIT} bytes"):
        _rows(BIG_FIELD, LIMIT)


def test_ordinary_files_read_within_the_limit_and_big_ones_without_it() -> None:
    ordinary = b"n,t\n" + b"".join(b"%d,text %d\n" % (i, i) for i in range(100_000))
    assert _rows(ordinary, LIMIT) == 100_000
    assert _rows(BIG_FIELD, None) == 2


@pytest.mark.skipif(not Path("/proc/self/oom_score_adj").exists(), reason="Linux only")
def test_the_child_is_the_oom_killers_first_choice_and_its_kill_reads_as_out_of_memory() -> None:
    data = b"n\n" + b"".join(b"%d\n" % n for n in range(3_000_000))
    with open_csv_in_child(io.BytesIO(data), batch_rows=10_000, memory_limit=LIMIT) as reader:
        batches = reader.batches()
        next(batches)
        pid = reader._process.pid
        assert Path(f"/proc/{pid}/oom_score_adj").read_text().strip() == "1000"
        os.kill(pid, signal.SIGKILL)  # what the kernel's OOM killer sends
        with pytest.raises(ReaderOutOfMemory, match="ended with code -9"):
            for _ in batches:
                pass
