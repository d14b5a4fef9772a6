"""Clusters of probable duplicates among a column's distinct values (no Django, no SQL).

Three methods, after OpenRefine's: key collision on a *fingerprint* (trim, lower-case, fold
accents, strip punctuation, sort and dedupe the words), key collision on an *n-gram
fingerprint* (the sorted distinct character bigrams of the value without spaces or
punctuation), and *nearest* neighbours by Levenshtein distance (rapidfuzz), compared only
within blocks of values that share a prefix or a suffix of their fingerprint, so that 100,000
values cost seconds rather than 10^10 comparisons.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

_PUNCTUATION = re.compile(r"[^\w\s]|_")
BLOCK_CHARS = 4  # values compared by `nearest` share their first or last 4 characters
MAX_BLOCK = 2_000  # a bigger block is split on one more character
NEAREST_RADIUS = 2  # edits between two values `nearest` calls the same


class Method(StrEnum):
    FINGERPRINT = "fingerprint"
    NGRAM = "ngram"
    NEAREST = "nearest"


@dataclass(frozen=True)
class ClusterValue:
    value: str
    count: int


@dataclass(frozen=True)
class Cluster:
    """Values that probably mean the same, most frequent first; `canonical` is the first."""

    values: tuple[ClusterValue, ...]

    @property
    def canonical(self) -> str:
        return self.values[0].value

    @property
    def rows(self) -> int:
        return sum(value.count for value in self.values)


def _folded(value: str) -> str:
    """Lower case, accents folded (é → e), punctuation gone."""
    decomposed = unicodedata.normalize("NFKD", value.strip().lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _PUNCTUATION.sub("", plain)


def fingerprint(value: str) -> str:
    """`  Acme, Inc.` and `inc acme` → `acme inc`."""
    return " ".join(sorted(set(_folded(value).split())))


def ngram_fingerprint(value: str, n: int = 2) -> str:
    """The sorted distinct character n-grams of the folded value without spaces."""
    text = "".join(_folded(value).split())
    if len(text) <= n:
        return text
    return "".join(sorted({text[i : i + n] for i in range(len(text) - n + 1)}))


type Pair = tuple[str, str]


def clusters(
    values: Sequence[tuple[str, int]],
    method: Method,
    *,
    rejected: Iterable[Pair] = (),
    radius: int = NEAREST_RADIUS,
) -> list[Cluster]:
    """The clusters among `values` (value, count), biggest (in rows) first; a rejected pair
    is never in one cluster unless other values link them."""
    counts = dict(values)
    if method is Method.NEAREST:
        groups = _nearest_groups(list(counts), radius)
    else:
        key = fingerprint if method is Method.FINGERPRINT else ngram_fingerprint
        groups = _key_groups(counts, key)
    refused = {tuple(sorted(pair)) for pair in rejected}
    found = [
        _cluster(part, counts)
        for group in groups
        for part in _split_rejected(group, refused)
        if len(part) > 1
    ]
    return sorted(found, key=lambda c: (-c.rows, -len(c.values), c.canonical))


def _cluster(members: Iterable[str], counts: dict[str, int]) -> Cluster:
    ordered = sorted(members, key=lambda value: (-counts[value], value))
    return Cluster(tuple(ClusterValue(value, counts[value]) for value in ordered))


def _key_groups(counts: dict[str, int], key: Callable[[str], str]) -> list[list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for value in counts:
        folded = key(value)
        if folded:
            groups[folded].append(value)
    return [group for group in groups.values() if len(group) > 1]


def _split_rejected(group: list[str], refused: set[tuple[str, ...]]) -> list[list[str]]:
    """The group's parts once rejected pairs no longer link their values: connected
    components of the group's values, linked to each other unless rejected."""
    if not refused or not any(tuple(sorted((a, b))) in refused for a in group for b in group):
        return [group]
    links = {
        value: {
            other
            for other in group
            if other != value and tuple(sorted((value, other))) not in refused
        }
        for value in group
    }
    return _components(group, links)


def _components(values: Iterable[str], links: dict[str, set[str]]) -> list[list[str]]:
    seen: set[str] = set()
    parts = []
    for start in values:
        if start in seen:
            continue
        part, stack = [], [start]
        seen.add(start)
        while stack:
            value = stack.pop()
            part.append(value)
            for other in links.get(value, ()):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        parts.append(part)
    return parts


def _nearest_groups(values: list[str], radius: int) -> list[list[str]]:
    """Values within `radius` edits of each other (compared lower-cased and trimmed), linked
    transitively, compared only within blocks."""
    keys = [" ".join(value.lower().split()) for value in values]
    links: dict[str, set[str]] = defaultdict(set)
    for block in _blocks(keys):
        _link_within(block, values, keys, radius, links)
    linked = [value for value in values if value in links]
    return [part for part in _components(linked, links) if len(part) > 1]


def _blocks(keys: list[str]) -> Iterable[list[int]]:
    """Positions of values sharing the first or the last BLOCK_CHARS characters of their
    fingerprint; one edit anywhere leaves at least one of the two intact (when the value is
    longer than twice BLOCK_CHARS)."""
    by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        folded = "".join(_folded(key).split()) or key
        by_key[("head", folded[:BLOCK_CHARS])].append(position)
        by_key[("tail", folded[-BLOCK_CHARS:])].append(position)
    for (end, _), block in by_key.items():
        yield from _split_block(block, keys, end, BLOCK_CHARS + 1)


def _split_block(block: list[int], keys: list[str], end: str, width: int) -> Iterable[list[int]]:
    if len(block) < 2:
        return
    if len(block) <= MAX_BLOCK or width > 12:
        yield block
        return
    parts: dict[str, list[int]] = defaultdict(list)
    for position in block:
        folded = "".join(_folded(keys[position]).split())
        parts[folded[:width] if end == "head" else folded[-width:]].append(position)
    for part in parts.values():
        yield from _split_block(part, keys, end, width + 1)


def _link_within(
    block: list[int], values: list[str], keys: list[str], radius: int, links: dict[str, set[str]]
) -> None:
    texts = [keys[position] for position in block]
    for i, text in enumerate(texts):
        # One C call per value: its distance to each later value of the block, within radius.
        later = texts[i + 1 :]
        found = process.extract(
            text, later, scorer=Levenshtein.distance, score_cutoff=radius, limit=None
        )
        for _, _, j in found:
            a, b = values[block[i]], values[block[i + 1 + j]]
            if a != b:
                links[a].add(b)
                links[b].add(a)
