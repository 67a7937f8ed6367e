"""The keys export gives new records in a map: readable, stable, unique."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence

from .records import ExistingRecord

MAX_KEY_LENGTH = 60
_LATIN_LETTERS = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ħ": "h",
        "\u0131": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ð": "d",
    }
)
"""Latin letters that Unicode does not decompose into a base letter and an accent."""


def slug(name: str) -> str:
    """A readable key from a record's name: `Café Zürich #2` -> `cafe-zurich-2`.

    Accents on Latin letters are dropped (people type `cafe`, not `café`, in a terminal); letters
    of other scripts are kept as they are (`会议室`, `кафе`): a guessed transliteration would be
    less readable to the people who named the rooms and groups. Anything else separates words.
    """
    text = unicodedata.normalize("NFKC", name).casefold().translate(_LATIN_LETTERS)
    kept: list[str] = []
    for char in unicodedata.normalize("NFD", text):
        if unicodedata.category(char).startswith("M"):
            if kept and kept[-1].isascii():
                continue  # an accent on a Latin letter
            kept.append(char)  # a vowel sign or mark that belongs to its script
        elif char.isalnum():
            kept.append(char)
        else:
            kept.append(" ")
    words = unicodedata.normalize("NFC", "".join(kept)).split()
    key = "-".join(words)
    if len(key) > MAX_KEY_LENGTH:
        cut = key[:MAX_KEY_LENGTH]
        key = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return key


def derive_keys(records: Sequence[ExistingRecord], taken: Collection[str] = ()) -> dict[int, str]:
    """Record id -> a key unique among `records` and unlike any of `taken` (one kind's map).

    Records take their name's key in id order, the oldest first; a record whose key is already
    taken gets `-2`, `-3`... A nameless record (or one whose name has no letters or digits) is
    `room-<id>` or `group-<id>`. Newer records never change the keys of older ones.
    """
    used = set(taken)
    keys: dict[int, str] = {}
    for record in sorted(records, key=lambda record: record.id):
        base = candidate = slug(record.name or "") or f"{record.kind.noun}-{record.id}"
        suffix = 1
        while candidate in used:
            suffix += 1
            candidate = f"{base}-{suffix}"
        keys[record.id] = candidate
        used.add(candidate)
    return keys
