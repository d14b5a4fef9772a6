"""Whether the collected static files are this code's: pages name each file by the hash the
manifest of `collectstatic` holds, so a server whose files were collected from another version
(code updated in place and reloaded without `collectstatic`) would pair this version's pages
with another version's scripts, or fail on a file the manifest lacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import Storage

_CSVHUB = Path(__file__).resolve().parents[1]


def static_files_problem() -> str | None:
    """None when every static file of csvhub's own apps is collected as this code has it and
    named in the manifest; else what is wrong and what to run."""
    for path, source in _csvhub_static_files():
        try:
            with staticfiles_storage.open(path) as collected, source.open(path) as shipped:
                same = collected.read() == shipped.read()
            staticfiles_storage.url(path)  # the manifest's name for it, as a page asks
        except (OSError, ValueError):
            return f"{path} is not collected: run `csvhub collectstatic --noinput`"
        if not same:
            return f"{path} was collected from another version: run `csvhub collectstatic`"
    return None


def _csvhub_static_files() -> Iterator[tuple[str, Storage]]:
    for finder in finders.get_finders():
        for path, source in finder.list(ignore_patterns=[]):
            location = getattr(source, "location", None)
            if location and Path(location).resolve().is_relative_to(_CSVHUB):
                yield path, source
