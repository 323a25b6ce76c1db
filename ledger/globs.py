"""gitignore-style globs over repository paths (LEDGER.md §7), and git pathspecs that narrow a
tree to their candidates.

A pattern without a slash (other than a trailing one) matches at any depth, a leading ``/``
anchors it, a trailing ``/`` matches everything inside, ``*`` and ``?`` never cross ``/``, ``**``
does, ``[…]`` are classes, ``!pattern`` excludes, and the last matching pattern decides. A pattern
matching a directory also matches everything under it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import ConfigError

# A star, and the same matching as little as it can; `**/` (any directories) last.
_STARS = {"[^/]*": "[^/]*?", ".*": ".*?", "(?:.*/)?": "(?:.*?/)??"}
_DIRS = "(?:.*/)?"


def _tokens(glob: str) -> list[str]:
    out = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = glob.find("]", i + 2 if glob.startswith(("[!", "[^"), i) else i + 1)
            if end < 0:
                raise ValueError("unclosed '['")
            inner = glob[i + 1 : end]
            if inner[:1] in ("!", "^"):
                inner = "^" + inner[1:]
            out.append("[" + inner.replace("\\", "\\\\") + "]")
            i = end + 1
        elif char == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return out


def _translate(glob: str) -> str:
    # Stars with fixed text between them backtrack through every way of splitting a path among
    # them (`*a*a*a*a*a*a*b` against 100 letters: 22 s). Where the next star can take whatever
    # a later match of the text would have skipped, the earliest match is as good as any: the
    # star and its text are matched once, atomically (as ``fnmatch`` does). `*`, text without a
    # class that takes `/`, then `*` or `**`: the skipped part has no `/` (a `/` in the text can
    # only be the next one); `**`, text, `**`: anything; `**/`, text, `**`, or `**/`, text
    # ending in `/`, `**/`: what is skipped ends in `/`. (A class may take the `/` a later
    # match needed.) An empty class (`[]`, `[!]`) runs on into what follows: left as it was.
    tokens, out, group = _tokens(glob), [], 0
    if "[]" in tokens or "[^]" in tokens:
        return "".join(tokens)
    i = 0
    while i < len(tokens):
        star = tokens[i]
        j = i + 1
        while j < len(tokens) and tokens[j] not in _STARS:
            j += 1
        text = "".join(tokens[i + 1 : j])
        after = tokens[j] if j < len(tokens) else ""
        slash = any(t[:1] == "[" and re.fullmatch(t, "/") for t in tokens[i + 1 : j])
        if star in _STARS and text and (
                (star == ".*" and after == ".*")
                or (star == "[^/]*" and after in ("[^/]*", ".*") and not slash)
                or (star == _DIRS and (after == ".*" or (after == _DIRS and text[-1:] == "/")))):
            group += 1
            out.append(f"(?=(?P<g{group}>{_STARS[star]}{text}))(?P=g{group})")
            i = j
        else:
            out.append(star)
            i += 1
    return "".join(out)


def compile_glob(glob: str) -> tuple[bool, re.Pattern[str]]:
    """Compile one gitignore-style pattern into (negated, regex over repository paths).

    A pattern without a slash (other than a trailing one) matches at any depth; a trailing slash
    matches everything inside such directories; ``**`` crosses directories, ``*`` does not.
    """
    text = glob.strip()
    negated = text.startswith("!")
    text = text[1:] if negated else text
    if not text or text in ("/", "!"):
        raise ValueError("empty pattern")
    directory = text.endswith("/")
    text = text.rstrip("/")
    anchored = "/" in text
    text = text.lstrip("/")
    body = _translate(text)
    prefix = "" if anchored else "(?:.*/)?"
    suffix = "/.*" if directory else "(?:/.*)?"
    try:
        # DOTALL: a newline in a file name is a character like any other (it escaped every glob).
        return negated, re.compile(prefix + body + suffix + r"\Z", re.DOTALL)
    except re.error as exc:
        raise ValueError(str(exc)) from None


class PathMatcher:
    """A list of gitignore-style patterns; the last matching pattern decides."""

    def __init__(self, globs: Sequence[str]) -> None:
        self.rules = []
        for glob in globs:
            try:
                self.rules.append(compile_glob(glob))
            except ValueError as exc:
                raise ConfigError(f"bad glob {glob!r}: {exc}") from None

    def __call__(self, path: str) -> bool:
        matched = False
        for negated, regex in self.rules:
            if regex.match(path):
                matched = not negated
        return matched


def pathspec(glob: str) -> list[str] | None:
    """git ``:(glob)`` pathspecs matching a superset of what ``glob`` matches (candidates, to be
    filtered exactly), or None when git's glob cannot express it (``**`` inside a name)."""
    text = glob.strip()
    if not text or text.startswith("!"):
        return []
    if re.search(r"[^/]\*\*|\*\*[^/]", text):
        return None
    directory = text.endswith("/")
    body = text.rstrip("/")
    anchored = "/" in body
    body = body.lstrip("/")
    if not anchored:
        body = "**/" + body
    # A pattern also matches everything inside a directory of that name.
    return [body + "/**"] if directory else [body, body + "/**"]
