"""Reading SQL text the way SQLite splits it: statements with their line numbers, and their words.

This is not a parser. It knows what SQLite's tokenizer knows about where a statement ends and what is not
code: `'strings'`, `"quoted"`, `` `quoted` `` and `[quoted]` identifiers, `-- line` and `/* block */` comments,
and `CREATE TRIGGER … BEGIN … END;` bodies (whose inner `;` do not end the statement). The rules over it
(`deployer.data_guard`) look only at words outside strings and comments, with their parenthesis depth, so
`UPDATE t SET x = (SELECT y FROM u WHERE …)` is known to have no `WHERE` of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Statement", "Word", "split_statements", "statement_for_error"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}


@dataclass(frozen=True, slots=True)
class Word:
    """A bare word or a quoted identifier outside strings and comments; `text` is upper-cased when bare."""

    text: str
    depth: int  # parentheses around it
    quoted: bool = False

    @property
    def name(self) -> str:
        """The word as an SQL name: quoted identifiers keep their case, bare words compare case-blind."""
        return self.text if self.quoted else self.text.lower()


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a file: its text (without the final `;`), the line it starts on, its words."""

    text: str
    line: int
    words: tuple[Word, ...]
    span: tuple[int, int]  # where the statement is in the file's text, its `;` included

    def starts_with(self, *keywords: str) -> bool:
        """Whether the statement's first words are `keywords` (upper case), e.g. `("DROP", "TABLE")`."""
        head = [word.text for word in self.words[: len(keywords)] if not word.quoted]
        return head == list(keywords)

    def has(self, keyword: str, *, depth: int | None = 0) -> bool:
        """Whether the bare word `keyword` occurs (at parenthesis `depth`; None: at any depth)."""
        return any(not w.quoted and w.text == keyword and (depth is None or w.depth == depth) for w in self.words)

    def after(self, *keywords: str) -> str | None:
        """The name that follows the words `keywords` (skipping `IF [NOT] EXISTS`), lower-cased unless quoted."""
        texts = [w.text if not w.quoted else "" for w in self.words]
        for start in range(len(texts)):
            if tuple(texts[start : start + len(keywords)]) == keywords:
                rest = list(self.words[start + len(keywords) :])
                while rest and not rest[0].quoted and rest[0].text in {"IF", "NOT", "EXISTS"}:
                    rest.pop(0)
                return rest[0].name if rest else None
        return None  # (a keyword's text is never "": a quoted identifier cannot be taken for one)


def split_statements(sql: str) -> list[Statement]:
    """The statements of `sql` in order, each with the line its first word is on; empty ones are dropped."""
    statements: list[Statement] = []
    words: list[Word] = []
    start = 0
    first: int | None = None  # where the statement's first code is
    depth = 0
    in_trigger = False
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in _QUOTES:
            end = sql.find(_QUOTES[ch], i + 1)
            end = n if end < 0 else end  # an unclosed quote runs to the end
            if ch != "'":
                words.append(Word(sql[i + 1 : end], depth, quoted=True))
            first = i if first is None else first
            i = end + 1
            continue
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        match = _WORD.match(sql, i)
        if match and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            word = match.group().upper()
            words.append(Word(word, depth))
            first = i if first is None else first
            if word == "TRIGGER" and len(words) <= 4 and words[0].text == "CREATE":
                in_trigger = True
            elif in_trigger and word == "END":
                in_trigger = False
            i = match.end()
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch == ";" and not in_trigger:
            _close(statements, sql, (start, i + 1), first, words)
            words, start, first, depth = [], i + 1, None, 0
            i += 1
            continue
        if not ch.isspace():
            first = i if first is None else first
        i += 1
    _close(statements, sql, (start, n), first, words)
    return statements


def _close(statements: list[Statement], sql: str, span: tuple[int, int], first: int | None, words: list[Word]) -> None:
    if first is not None and words:
        text = sql[first : span[1]].strip().removesuffix(";").rstrip()
        statements.append(Statement(text, _line_of(sql, first), tuple(words), span))


def _line_of(sql: str, index: int) -> int:
    return sql.count("\n", 0, index) + 1


# SQLite's messages that name the thing they failed on (D1 passes them on: `<message>: SQLITE_ERROR`), and
# the statements that can fail that way (None: any); a constraint fails in a statement that writes rows.
_NAMED_IN_ERROR: tuple[tuple[re.Pattern[str], tuple[str, ...] | None], ...] = (
    (re.compile(r'near "(?P<name>[^"]+)"'), None),
    (re.compile(r"no such (?:table|column|index|view|trigger): (?:\w+\.)?(?P<name>[\w$]+)"), None),
    (re.compile(r"duplicate column name: (?P<name>[\w$]+)"), None),
    (re.compile(r"(?:table|index|view|trigger) [\"`]?(?P<name>[\w$]+)[\"`]? already exists"), None),
    (
        re.compile(r"(?:UNIQUE|NOT NULL|CHECK|FOREIGN KEY|PRIMARY KEY) constraint failed: (?P<name>[\w$]+)"),
        ("INSERT", "UPDATE", "REPLACE"),
    ),
)


def statement_for_error(statements: tuple[Statement, ...] | list[Statement], message: str) -> Statement | None:
    """The statement SQLite's `message` is about: the first one holding the name or token the message quotes
    (`near "FROM"`, `no such table: items`, `duplicate column name: done`, …), or None."""
    for pattern, verbs in _NAMED_IN_ERROR:
        match = pattern.search(message)
        if match is None:
            continue
        name = match["name"]
        token = re.compile(
            rf"(?<![\w$]){re.escape(name)}(?![\w$])" if re.fullmatch(r"[\w$]+", name) else re.escape(name),
            re.IGNORECASE,
        )
        for statement in statements:
            if (verbs is None or statement.words[0].text in verbs) and token.search(statement.text):
                return statement
    return None
