"""Gitignore-style path matching with the semantics of the npm `ignore` package, which wrangler uses.

wrangler decides which files of the assets directory to skip with `ignore` (v5.3): three built-in patterns
(`/.assetsignore`, `/_redirects`, `/_headers`) plus every line of `.assetsignore`. This module reproduces
that matcher so a deploy uploads exactly the files wrangler would.

Paths are relative to the assets root, `/`-separated, with a trailing `/` for a directory
(`"img/logo.png"`, `"img/"`). Pattern rules:

- blank lines and lines starting with `#` are skipped; `\\#` and `\\!` start a pattern with a literal
  `#` or `!`; a line ending in a lone `\\` is skipped;
- a leading `!` negates: a path matched by it is not ignored (the last matching pattern wins);
- trailing whitespace is dropped unless escaped (`\\ `); a UTF-8 BOM and a `\\r` line end are dropped;
- a trailing `/` makes the pattern match directories only;
- a pattern with a `/` anywhere but at its end is anchored at the root (a leading `/` only anchors);
  one without matches a name at any depth;
- `*` matches within one path segment, `?` one character but `/`, `[a-z]` one character of a set
  (`!` and `^` inside brackets are literal characters, as in `ignore`, not negations);
- `**/x` matches `x` at any depth, `a/**/b` zero or more directories between, `a/**` everything inside `a`;
- a backslash makes the next character literal;
- matching ignores case (`ignore` is case-insensitive by default, and wrangler keeps that default).

A path inside an ignored directory is ignored, whatever later negations say: `ignore` tests every parent
directory first, as git does. A caller walking a tree can therefore skip an ignored directory entirely.

Deliberate differences from `ignore` 5.3.1, all for patterns no real `.assetsignore` contains: a lone `!` is
skipped (in `ignore` it un-ignores everything), `\\?` is a literal `?`, `\\d`-style escapes are literal
letters, `*` and `?` inside brackets are literal, and an unclosed `[` makes the pattern match nothing (in
`ignore` too, except that with a later `/` it builds a broken regex). Also,
anchoring is decided after trailing whitespace is dropped, so a CRLF line `dist/\\r` still matches `dist/`
at any depth (wrangler splits `.assetsignore` on `\\n` only, and `ignore` then sees the `\\r`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["IgnoreMatcher", "IgnoreRule", "compile_rule"]

_INVALID_TRAILING_BACKSLASH = re.compile(r"(?:[^\\]|^)\\\Z")
_TRAILING_WHITESPACE = re.compile(r"\\?\s+\Z")
_ESCAPED_WHITESPACE = re.compile(r"\\\s")
_LINE_BREAK = re.compile(r"\r?\n")
_FLAGS = re.IGNORECASE | re.DOTALL


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    """One compiled pattern line.

    `pattern` is the line as written, `negative` tells whether it starts with `!` (re-includes what it
    matches), and `regex` matches a whole relative path (`"a/b.txt"`, or `"a/"` for a directory).
    """

    pattern: str
    negative: bool
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """Return whether this pattern matches `path` itself (its parents are not looked at)."""
        return self.regex.match(path) is not None


def _char_class(content: str) -> str | None:
    """Translate the inside of `[...]` into a regex class, or None when it can match nothing."""
    chars: list[str] = []
    i = 0
    while i < len(content):
        if content[i] == "\\":
            if i + 1 == len(content):
                return None
            i += 1
        chars.append(content[i])
        i += 1
    parts: list[str] = []
    j = 0
    while j < len(chars):
        if j + 2 < len(chars) and chars[j + 1] == "-":
            low, high = chars[j], chars[j + 2]
            if low <= high:  # `ignore` drops reversed ranges
                parts.append(f"{re.escape(low)}-{re.escape(high)}")
            j += 3
        else:
            parts.append(re.escape(chars[j]))
            j += 1
    return f"[{''.join(parts)}]" if parts else None


def _segment_regex(segment: str, *, last: bool) -> str | None:
    """Translate one `/`-free piece of a pattern into regex source, or None when it can match nothing."""
    if last and segment == "*":
        # `dir/*` must not match "dir/" itself, so a lone trailing star needs one character at least.
        return "[^/]+"
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = segment.find("]", i + 1)
            if close == -1:
                return None
            char_class = _char_class(segment[i + 1 : close])
            if char_class is None:
                return None
            out.append(char_class)
            i = close + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _pattern_regex(body: str) -> str | None:
    """Build the whole-path regex source for a pattern body (no `!`, whitespace already handled)."""
    dir_only = body.endswith("/")
    if dir_only:
        body = body[:-1]
    anchored = "/" in body
    body = body.removeprefix("/")
    if not body:
        return None
    segments = body.split("/")
    prefix = "^" if anchored else "^(?:.*/)?"
    start = 0
    if len(segments) > 1 and segments[0] == "**":
        prefix, start = "^(?:.*/)?", 1
    out = [prefix]
    last = len(segments) - 1
    for index in range(start, len(segments)):
        segment = segments[index]
        if segment == "**" and index > start:
            # `a/**` is everything inside `a`; `a/**/b` allows zero or more directories between.
            out.append("/.+" if index == last else "(?:/[^/]+)*")
            continue
        piece = _segment_regex(segment, last=index == last)
        if piece is None:
            return None
        out.append(piece if index == start else "/" + piece)
    out.append(r"/\Z" if dir_only else r"/?\Z")
    return "".join(out)


def compile_rule(line: str) -> IgnoreRule | None:
    """Compile one pattern line; return None for a blank line, a comment, or a pattern that matches nothing."""
    pattern = line.removeprefix("\ufeff")
    if not pattern or pattern.isspace() or pattern.startswith("#"):
        return None
    if _INVALID_TRAILING_BACKSLASH.search(pattern):
        return None
    negative = pattern.startswith("!")
    body = (pattern[1:] if negative else pattern).removeprefix("\ufeff")
    trailing = _TRAILING_WHITESPACE.search(body)
    if trailing is not None:
        body = body[: trailing.start()] + (" " if trailing.group().startswith("\\") else "")
    body = _ESCAPED_WHITESPACE.sub(" ", body)
    source = _pattern_regex(body)
    if source is None:
        return None
    return IgnoreRule(pattern=line, negative=negative, regex=re.compile(source, _FLAGS))


def _check_path(path: str) -> None:
    """Refuse a path that is not relative to the root, as `ignore` does (it throws a RangeError)."""
    if not path or path.startswith("/") or any(part in {".", ".."} for part in path.split("/")):
        msg = f"expected a path relative to the assets root, without '.' or '..' parts, got {path!r}"
        raise ValueError(msg)


class IgnoreMatcher:
    """An ordered set of gitignore patterns, answering "is this path ignored?".

    Build it from pattern lines (`IgnoreMatcher(["/_headers", "*.map", "!keep.map"])`) or from the text of
    an ignore file (`IgnoreMatcher.from_text(...)`). Results for directories are cached, so testing every
    file of a large tree costs one pass over the rules per path.
    """

    __slots__ = ("_any_positive", "_dir_cache", "_rules")

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        """Compile `patterns` in order; blank lines and comments are skipped."""
        self._rules = tuple(rule for line in patterns if (rule := compile_rule(line)) is not None)
        self._dir_cache: dict[str, bool] = {}
        # A path no positive pattern matches is kept whatever the negations say; one combined regex
        # answers that for most paths in a single call.
        positive = [f"(?:{rule.regex.pattern})" for rule in self._rules if not rule.negative]
        self._any_positive = re.compile("|".join(positive), _FLAGS) if positive else None

    @classmethod
    def from_text(cls, text: str, *, base: Iterable[str] = ()) -> IgnoreMatcher:
        """Build a matcher from `base` patterns followed by each line of an ignore file's `text`."""
        return cls([*base, *_LINE_BREAK.split(text)])

    @property
    def rules(self) -> tuple[IgnoreRule, ...]:
        """The compiled rules, in the order they are applied (the last match wins)."""
        return self._rules

    def matches(self, path: str) -> bool:
        """Apply the rules to `path` alone, without looking at its parent directories.

        The last rule that matches decides. This is for a walker that never enters an ignored directory
        (so the parents are known to be kept); anyone else should call `ignores`.
        """
        if self._any_positive is None or self._any_positive.match(path) is None:
            return False
        for rule in reversed(self._rules):
            if rule.regex.match(path) is not None:
                return not rule.negative
        return False

    def _dir_ignored(self, dir_path: str) -> bool:
        """Whether a directory (`"a/b/"`) is ignored, assuming its parents have been checked."""
        cached = self._dir_cache.get(dir_path)
        if cached is None:
            cached = self._dir_cache[dir_path] = self.matches(dir_path)
        return cached

    def ignores(self, path: str) -> bool:
        """Return whether `path` (relative, `/`-separated, `"dir/"` for a directory) is ignored.

        A path is ignored when one of its parent directories is, or else when the last pattern that
        matches it is not a negation. Raises ValueError for an absolute path or one with `.`/`..` parts.
        """
        _check_path(path)
        end = path.find("/")
        while end != -1:
            parent = path[: end + 1]
            if self._dir_ignored(parent):
                return True
            if end == len(path) - 1:
                return False
            end = path.find("/", end + 1)
        return self.matches(path)
