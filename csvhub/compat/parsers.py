"""Request parsing for Thena's clients."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import IO, Any

from rest_framework.parsers import FormParser


class JsonLabelledAsFormParser(FormParser):
    """`curl -d '{"customer_id": 1000, ...}'` without `-H "Content-Type: application/json"`
    sends JSON labelled as a form. Thena read such a body as JSON, so this parser does too;
    a real form body is read as a form."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = stream.read()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
        return super().parse(io.BytesIO(body), media_type, parser_context)
