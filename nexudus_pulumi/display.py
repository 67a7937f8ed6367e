"""Text from the API (a name, a `SystemId`) shown to people or put into a comment: as data.

A record's name may hold anything Nexudus accepted: an ESC that would drive the terminal, a
line break that would end a table row or a YAML comment (`\\r`, U+0085, U+2028...), a lone
surrogate that cannot be encoded. None of these reaches a terminal or a file raw: `visible`
escapes them where text is shown, `quoted` gives a form that is safe inside a YAML comment.
`visible` is the one escaping function for every text of the API's that reaches a terminal, a
log or an error message: record fields in listings, the API's error messages (`Errors[]`, a
500's reason, OAuth's `error_description`), owner markers (`ownership.describe_owner`).
"""

from __future__ import annotations

import json

ELLIPSIS = "…"


def visible(text: str) -> str:
    """`text` with every character that is not printable (controls, line and paragraph
    separators, format characters, lone surrogates) written as its escape: `\\x1b`, `\\u2028`."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, an ellipsis marking what was cut."""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def quoted(text: str, width: int = 60) -> str:
    """`text`, cut to `width`, as a JSON string of ASCII only: it holds no line break and no
    control character whatever `text` holds, so it cannot end a comment or drive a terminal."""
    return json.dumps(cut(text, width), ensure_ascii=True)
