"""Which of `, ; TAB |` separates the fields."""

import csv
import io
import itertools

DELIMITERS = ",;\t|"  # in order of preference when the evidence is even
SNIFF_CHARS = 64 * 1024  # for the consistency count, which runs at C speed
SNIFFER_CHARS = 4 * 1024  # csv.Sniffer's regexes and per-character tallies are slow
SNIFF_RECORDS = 200


def detect_delimiter(sample: str) -> str:
    """The delimiter of a file starting with `sample`.

    csv.Sniffer proposes; the proposal stands if it splits the header into several fields and
    the records into as many fields as the header at least as consistently as any other
    candidate. Otherwise the most consistent candidate wins, and ',' when there is only one
    column.
    """
    text = _whole_lines(sample[:SNIFF_CHARS])
    scores = {delimiter: _consistency(text, delimiter) for delimiter in DELIMITERS}
    best = max(scores.values())
    if best == 0:
        return ","
    sniffed = _sniff(_whole_lines(text[:SNIFFER_CHARS]))
    if sniffed is not None and scores[sniffed] == best:
        return sniffed
    return next(d for d in DELIMITERS if scores[d] == best)


def _whole_lines(sample: str) -> str:
    end = max(sample.rfind("\n"), sample.rfind("\r"))
    return sample[: end + 1] if end > 0 else sample


def _sniff(text: str) -> str | None:
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:  # "Could not determine delimiter"
        return None


def _consistency(text: str, delimiter: str) -> float:
    """Share of records with as many fields as the header; 0 if the header has one field.

    Parsed by the csv module, so quoted delimiters and quoted newlines do not count.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = [r for r in itertools.islice(reader, SNIFF_RECORDS) if r]
    except csv.Error:
        return 0.0
    if not records or len(records[0]) < 2:
        return 0.0
    width = len(records[0])
    return sum(len(r) == width for r in records) / len(records)
