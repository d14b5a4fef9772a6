# Types of the binary COPY encoder (_copybinary.c), which mypy cannot read; its docstring says
# what the values mean. Keep in step with the C source.

# The end of binary COPY data.
TRAILER: bytes

def encode(columns: list[str], types: str, first_id: int, header: bool, /) -> bytes | None: ...
