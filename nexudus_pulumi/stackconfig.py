"""Stack config files (`stacks/Pulumi.<stack>.yaml`) edited as a person would edit them.

`export` and `clone` rewrite parts of a file that people also write by hand: a comment on why a
room is inactive, the order of the rooms, a quoted business id. ruamel.yaml's round-trip mode
keeps all of that; the helpers here also keep the comment lines that ruamel attaches to the entry
*before* them when that entry is removed or new entries are appended after it.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, MarkedYAMLError, YAMLError
from ruamel.yaml.tokens import CommentToken

from .errors import StackFileError, StackFileProblem

PROJECT_FILE = "Pulumi.yaml"
SECRETS_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")
"""Top-level keys of a stack file that belong to its secrets provider, not to its config."""
SECURE = "secure"
"""A value Pulumi encrypted is `{secure: v1:...}`: the tools never decrypt, compare or rewrite
one (clone has Pulumi re-encrypt it)."""


def is_encrypted(value: Any) -> bool:
    """A value Pulumi encrypted (`{secure: v1:...}`)."""
    return isinstance(value, Mapping) and set(value) == {SECURE}


def holds_encrypted(value: Any) -> bool:
    """`value` is, or holds anywhere within its lists and mappings, an encrypted value
    (`users: [11, {secure: v1:...}]`): export leaves such a field as it stands."""
    todo = [value]
    while todo:
        current = todo.pop()
        if is_encrypted(current):
            return True
        if isinstance(current, Mapping):
            todo += current.values()
        elif isinstance(current, list):
            todo += current
    return False


@dataclass(frozen=True)
class Project:
    """The Pulumi project in a folder: its name (the config namespace) and where stacks live."""

    root: Path
    name: str
    stack_config_dir: Path

    @classmethod
    def find(cls, root: Path) -> Project:
        path = root / PROJECT_FILE
        if not path.is_file():
            raise StackFileError(
                f"no {PROJECT_FILE} in {root}: run this command in the Pulumi project's root",
                reason="no-project",
                path=path,
            )
        document = _parse(path.read_text(encoding="utf-8"), path)
        name = document.get("name") if isinstance(document, dict) else None
        if not isinstance(name, str) or not name:
            raise StackFileError(f"{path} has no project `name`", reason="no-name", path=path)
        config_dir = document.get("stackConfigDir") or "."
        return cls(root=root, name=name, stack_config_dir=root / str(config_dir))

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def key(self, name: str) -> str:
        """The config key of one of the project's own settings: `nexudus-rooms:rooms`."""
        return f"{self.name}:{name}"


class StackFile:
    """One stack's YAML, loaded round-trip: dump it and only what was changed differs."""

    def __init__(self, path: Path, document: CommentedMap, yaml: YAML, indent: int) -> None:
        self.path = path
        self.document = document
        self.indent = indent
        """Spaces per mapping level, as the file has them."""
        self._yaml = yaml

    @classmethod
    def load(cls, path: Path, *, missing_ok: bool = False) -> StackFile:
        if not path.exists():
            if not missing_ok:
                raise StackFileError(f"{path} does not exist", reason="missing", path=path)
            return cls.parse("", path)
        return cls.parse(path.read_text(encoding="utf-8"), path)

    @classmethod
    def parse(cls, text: str, path: Path) -> StackFile:
        mapping, sequence, offset = _guess_indent(text)
        yaml = YAML()  # round-trip mode
        yaml.preserve_quotes = True
        yaml.width = 4096  # never fold a long value (a ciphertext, a room name)
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        document = _parse(text, path, yaml)
        _check_expanded_size(document, path)
        if document is None:
            document = CommentedMap()
        if not isinstance(document, CommentedMap):
            raise StackFileError(
                f"{path} must be a YAML mapping (config: ...), not a list or text",
                reason="not-a-mapping",
                path=path,
            )
        config = document.get("config")
        if config is not None and not isinstance(config, CommentedMap):
            raise StackFileError(
                f"{path}: `config` must be a mapping of config keys",
                reason="not-a-mapping",
                path=path,
                key="config",
            )
        return cls(path, document, yaml, mapping)

    @property
    def config(self) -> CommentedMap:
        """The `config` mapping, created (empty) if the file has none."""
        config = self.document.get("config")
        if config is None:
            config = self.document["config"] = CommentedMap()
        assert isinstance(config, CommentedMap)
        return config

    def mapping(self, key: str) -> CommentedMap | None:
        """A config value that must be a mapping (`nexudus-rooms:rooms`), or None if absent."""
        value = self.config.get(key)
        if value is None:
            return None
        if not isinstance(value, CommentedMap):
            raise StackFileError(
                f"{self.path}: {key} must be a mapping, not {value!r}",
                reason="not-a-mapping",
                path=self.path,
                key=key,
            )
        return value

    def dump(self) -> str:
        out = io.StringIO()
        self._yaml.dump(self.document, out)
        return out.getvalue()

    def save(self, path: Path | None = None) -> None:
        """Write atomically: a reader (or a crash) never sees half a file."""
        target = path or self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.dump())
            if target.exists():
                os.chmod(temporary, target.stat().st_mode & 0o777)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


_KEY_ONLY = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")


def _guess_indent(text: str) -> tuple[int, int, int]:
    """The file's own indentation; Pulumi's (2, dashes indented by 2) for a new file."""
    mapping: int | None = None
    offset: int | None = None
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    for line, following in itertools.pairwise(lines):
        parent = _KEY_ONLY.match(line)
        if parent is None:
            continue
        depth = len(following) - len(following.lstrip(" "))
        step = depth - len(parent.group(1))
        if following.lstrip().startswith("- "):
            offset = step if offset is None else offset
        elif step > 0 and mapping is None:
            mapping = step
    mapping = mapping or 2
    offset = 2 if offset is None else offset
    return mapping, max(mapping, offset + 2), offset


MAX_YAML_VALUES = 1_000_000
"""The most values a stack file may hold once its aliases (`*name`) are expanded: a stack of
5,000 records holds under 200,000. A 500-byte alias bomb expands to hundreds of millions, and
took export 44 s and 2.3 GB before any request."""


def _check_expanded_size(document: Any, path: Path) -> None:
    """Refuse a document that expands past `MAX_YAML_VALUES` through its aliases. Counted
    without expanding: each node once, an alias being the same object again (ruamel reads an
    alias inside the value it names as null, so there is no cycle)."""
    sizes: dict[int, int] = {}
    todo: list[tuple[Any, bool]] = [(document, False)]
    while todo:
        node, children_counted = todo.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not children_counted:
            todo.append((node, True))
            todo += [(child, False) for child in children if id(child) not in sizes]
            continue
        sizes[id(node)] = size = 1 + sum(sizes[id(child)] for child in children)
        if size > MAX_YAML_VALUES:
            raise StackFileError(
                f"{path} holds more than {MAX_YAML_VALUES:,} values once its YAML aliases "
                "(*name) are expanded, far more than any stack declares (an alias bomb?): "
                "write the values out instead of aliasing them",
                reason="too-many-values",
                path=path,
            )


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    return list(node) if isinstance(node, list) else []


def _parse(text: str, path: Path, yaml: YAML | None = None) -> Any:
    try:
        return (yaml or YAML()).load(text)
    except RecursionError:
        raise StackFileError(
            f"{path} nests its YAML deeper than Python can read; no stack declares that",
            reason="too-deep",
            path=path,
        ) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        reason: StackFileProblem = "invalid-yaml"
        if "duplicate key" in str(exc):
            problem = f"a key appears twice ({exc.problem}): two entries cannot share a key"
            reason = "duplicate-key"
        raise StackFileError(
            f"{path} is not valid YAML{where}: {problem}",
            reason=reason,
            path=path,
            line=mark.line + 1 if mark else None,
        ) from None
    except YAMLError as exc:
        raise StackFileError(
            f"{path} is not valid YAML: {exc}", reason="invalid-yaml", path=path
        ) from None


# ----- comments that belong to the next entry ---------------------------------------------------
#
# ruamel stores the comment lines *between* two entries on the first one: on its scalar value
# (`mapping.ca.items[key][2]` or `seq.ca.items[index][0]`), after the end-of-line comment of that
# entry. A token's text is "<end-of-line comment>\n<lines that follow>". Removing the entry, or
# appending one after it, must move "<lines that follow>" to whatever now precedes the next entry.


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, CommentedMap | CommentedSeq) and bool(value) and not value.fa.flow_style()
    )


def _trailing_slot(container: CommentedMap | CommentedSeq, key: Any) -> tuple[Any, Any, int]:
    """The (container, key, slot) whose token ends the text of `container[key]`."""
    value = container[key]
    while _is_block(value):
        container = value
        key = list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        value = container[key]
    return container, key, 2 if isinstance(container, CommentedMap) else 0


def _take_trailing(container: CommentedMap | CommentedSeq, key: Any) -> str:
    """Detach and return the comment lines that follow the entry `container[key]`."""
    owner, owner_key, slot = _trailing_slot(container, key)
    entry = owner.ca.items.get(owner_key)
    token = entry[slot] if entry else None
    if token is None or "\n" not in token.value:
        return ""
    own, rest = str(token.value).split("\n", 1)
    token.value = own + "\n" if own else ""
    if not token.value:
        entry[slot] = None
    return rest


def _put_trailing(container: CommentedMap | CommentedSeq, key: Any, lines: str) -> None:
    """Attach comment lines after the entry `container[key]`."""
    if not lines:
        return
    owner, owner_key, slot = _trailing_slot(container, key)
    entry = owner.ca.items.setdefault(owner_key, [None, None, None, None])
    token = entry[slot]
    if token is None:
        entry[slot] = CommentToken("\n" + lines, CommentMark(0), None)
    else:
        token.value = (token.value if token.value.endswith("\n") else token.value + "\n") + lines


def remove_key(mapping: CommentedMap, key: str) -> str:
    """Delete `mapping[key]` with the comment lines just above it, keeping those after it.

    Comment lines directly above the key, at its indentation, are taken to be about it. Returns
    the lines that stood after it when nothing is left in `mapping` to carry them (the caller
    puts them after the mapping's own entry), else "".
    """
    if key not in mapping:
        return ""
    keys = list(mapping)
    position = keys.index(key)
    column = mapping.lc.data.get(key, [None, None])[1]
    after = _take_trailing(mapping, key)
    del mapping[key]
    mapping.ca.items.pop(key, None)
    if position > 0:
        before = _take_trailing(mapping, keys[position - 1])
        _put_trailing(mapping, keys[position - 1], _without_heading(before, column) + after)
    elif after and mapping:
        first = next(iter(mapping))
        entry = mapping.ca.items.setdefault(first, [None, None, None, None])
        entry[1] = [CommentToken(after, CommentMark(0), None), *(entry[1] or [])]
    elif after:
        return after
    return ""


def _without_heading(lines: str, column: int | None) -> str:
    """`lines` less the comment lines at their end that sit at `column` (a key's heading)."""
    if column is None:
        return lines
    kept = lines.splitlines(keepends=True)
    while kept and kept[-1].lstrip().startswith("#"):
        if len(kept[-1]) - len(kept[-1].lstrip(" ")) != column:
            break
        kept.pop()
    return "".join(kept)


def remove_notes_above(mapping: CommentedMap, key: str, is_note: Callable[[str], bool]) -> None:
    """Delete the comment lines just above `mapping[key]` that `is_note` accepts (given a line
    without its indentation): a note a tool wrote about the entry, no longer true. Other comment
    lines stay where they are."""
    keys = list(mapping)
    position = keys.index(key)
    if position == 0:  # ruamel keeps them on the mapping, one token a line
        tokens = mapping.ca.comment[1] if mapping.ca.comment else None
        if tokens:
            tokens[:] = [token for token in tokens if not is_note(token.value.strip())]
        return
    owner, owner_key, slot = _trailing_slot(mapping, keys[position - 1])
    entry = owner.ca.items.get(owner_key)
    token = entry[slot] if entry else None
    if token is None:
        return
    own, _, rest = str(token.value).partition("\n")
    kept = [line for line in rest.splitlines(keepends=True) if not is_note(line.strip())]
    token.value = own + "\n" + "".join(kept) if own or kept else ""
    if not token.value:
        entry[slot] = None


def put_after(mapping: CommentedMap, key: str, lines: str) -> None:
    """Put comment lines (as `remove_key` may return them) after the entry `mapping[key]`."""
    _put_trailing(mapping, key, lines)


def insert_key(mapping: CommentedMap, position: int, key: str, value: Any) -> None:
    """Add `key` at `position`; comment lines above the entry that was there stay above it."""
    if position >= len(mapping):
        append_key(mapping, key, value)
        return
    previous = list(mapping)[position - 1] if position > 0 else None
    lines = _take_trailing(mapping, previous) if previous is not None else ""
    mapping.insert(position, key, value)
    _put_trailing(mapping, key, lines)


def append_key(
    mapping: CommentedMap, key: str, value: Any, comment: str = "", indent: int = 0
) -> None:
    """Add `key` at the end of `mapping`, after any comment lines that ended it before.

    `comment` (lines without '#') is written just above the new key, `indent` spaces in.
    """
    lines = _take_trailing(mapping, list(mapping)[-1]) if mapping else ""
    mapping[key] = value
    if comment:
        mapping.yaml_set_comment_before_after_key(key, before=comment, indent=indent)
    _put_trailing(mapping, key, lines)


def set_value(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set `mapping[key]`: in place (its comments kept) if present, else appended."""
    if key not in mapping:
        append_key(mapping, key, value)
        return
    lines = _take_trailing(mapping, key)
    mapping[key] = value
    _put_trailing(mapping, key, lines)


def flow_list(values: list[Any]) -> CommentedSeq:
    """A list written on one line, `[11, 12]`, as people write short lists in these files."""
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def plain(value: Any) -> Any:
    """A ruamel value as plain Python (dicts, lists, str, int...), for comparisons and checks."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value
