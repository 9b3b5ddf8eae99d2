"""Tests for deployer._ignore: gitignore matching as the npm `ignore` package (v5.3) does it.

The expected values were checked against `ignore` 5.3.1 as bundled in wrangler 4.86.
"""

from __future__ import annotations

import pytest

from deployer._ignore import IgnoreMatcher, compile_rule

CASES = [
    # name patterns match at any depth
    pytest.param(["*.txt"], "a.txt", True, id="star-ext-top"),
    pytest.param(["*.txt"], "b/c/a.txt", True, id="star-ext-nested"),
    pytest.param(["*.txt"], "a.txt.bak", False, id="star-ext-is-anchored-at-end"),
    pytest.param(["*.TXT"], "a.txt", True, id="case-insensitive"),
    pytest.param(["foo"], "foo", True, id="name-top"),
    pytest.param(["foo"], "x/foo", True, id="name-nested"),
    pytest.param(["foo"], "foo/bar.js", True, id="name-matches-directory"),
    pytest.param(["foo"], "foobar", False, id="name-is-whole-segment"),
    pytest.param(["foo"], "barfoo", False, id="name-is-whole-segment-end"),
    # a slash anchors
    pytest.param(["/foo"], "foo", True, id="leading-slash-top"),
    pytest.param(["/foo"], "x/foo", False, id="leading-slash-anchors"),
    pytest.param(["a/b"], "a/b", True, id="inner-slash-top"),
    pytest.param(["a/b"], "x/a/b", False, id="inner-slash-anchors"),
    # trailing slash: directories only
    pytest.param(["foo/"], "foo/bar", True, id="dir-pattern-contents"),
    pytest.param(["foo/"], "x/foo/bar", True, id="dir-pattern-any-depth"),
    pytest.param(["foo/"], "foo", False, id="dir-pattern-not-a-file"),
    pytest.param(["/foo/"], "x/foo/bar", False, id="anchored-dir-pattern"),
    pytest.param(["node_modules/"], "pkg/node_modules/x/y.js", True, id="nested-node-modules"),
    # wildcards
    pytest.param(["f?o"], "foo", True, id="question-mark"),
    pytest.param(["f?o"], "fo", False, id="question-mark-needs-a-char"),
    pytest.param(["f?o"], "f/o", False, id="question-mark-not-slash"),
    pytest.param(["a*b"], "axxb", True, id="inner-star"),
    pytest.param(["a*b"], "a/b", False, id="star-not-slash"),
    pytest.param(["a/*"], "a/x", True, id="dir-star"),
    pytest.param(["a/*"], "a/x/y", True, id="dir-star-deeper-via-parent"),
    pytest.param(["a/*"], "a", False, id="dir-star-not-the-dir"),
    pytest.param(["*"], "x/y/z", True, id="lone-star-everything"),
    pytest.param(["/*"], "x/y", True, id="root-star-everything"),
    pytest.param([".*"], ".hidden", True, id="dotfiles"),
    pytest.param([".*"], "x/.git/HEAD", True, id="dot-directory"),
    pytest.param([".*"], "a.txt", False, id="dotfiles-not-others"),
    # globstars
    pytest.param(["**/b"], "b", True, id="leading-globstar-top"),
    pytest.param(["**/b"], "x/y/b", True, id="leading-globstar-deep"),
    pytest.param(["a/**/b"], "a/b", True, id="middle-globstar-zero-dirs"),
    pytest.param(["a/**/b"], "a/x/y/b", True, id="middle-globstar-many-dirs"),
    pytest.param(["a/**/b"], "x/a/b", False, id="middle-globstar-anchored"),
    pytest.param(["a/**"], "a/x/y", True, id="trailing-globstar"),
    pytest.param(["a/**"], "a", False, id="trailing-globstar-not-the-dir"),
    pytest.param(["docs/**/*.md"], "docs/a/b/readme.md", True, id="globstar-and-star"),
    # brackets
    pytest.param(["[ab]c"], "bc", True, id="class"),
    pytest.param(["[ab]c"], "cc", False, id="class-miss"),
    pytest.param(["[a-c]x"], "bx", True, id="range"),
    pytest.param(["[A-C]x"], "bx", True, id="range-case-insensitive"),
    pytest.param(["[!a]bc"], "!bc", True, id="bang-in-class-is-literal"),
    pytest.param(["[!a]bc"], "xbc", False, id="bang-in-class-is-no-negation"),
    pytest.param(["ab[cd"], "ab[cd", False, id="unclosed-bracket-matches-nothing"),
    # escapes, comments, whitespace
    pytest.param(["#hash.txt"], "#hash.txt", False, id="comment"),
    pytest.param(["\\#hash.txt"], "#hash.txt", True, id="escaped-hash"),
    pytest.param(["\\!important.txt"], "!important.txt", True, id="escaped-bang"),
    pytest.param(["a\\*b"], "a*b", True, id="escaped-star"),
    pytest.param(["file#1.txt"], "file#1.txt", True, id="inner-hash-literal"),
    pytest.param(["a  "], "a", True, id="trailing-spaces-dropped"),
    pytest.param(["a\\ "], "a ", True, id="escaped-trailing-space-kept"),
    pytest.param(["a\\ b.txt"], "a b.txt", True, id="escaped-inner-space"),
    pytest.param(["a\r"], "a", True, id="crlf-line"),
    pytest.param(["\ufeffa"], "a", True, id="bom-dropped"),
    pytest.param(["a\\"], "a", False, id="trailing-backslash-skipped"),
    pytest.param(["", "   "], "a", False, id="blank-lines"),
    pytest.param(["*^*"], "béëp/boo^p.txt", True, id="caret-literal-unicode"),
    # negation and order
    pytest.param(["!important.txt"], "important.txt", False, id="negation-alone"),
    pytest.param(["*.map", "!keep.map"], "keep.map", False, id="negation-after"),
    pytest.param(["*.map", "!keep.map"], "x/other.map", True, id="negation-only-its-match"),
    pytest.param(["!keep.map", "*.map"], "keep.map", True, id="last-match-wins"),
    pytest.param(["a/*", "!a/keep"], "a/keep", False, id="negation-inside-star-dir"),
    pytest.param(["a/", "!a/keep"], "a/keep", True, id="ignored-dir-cannot-be-reentered"),
    pytest.param(["a", "!a/b/"], "a/b/c", True, id="ignored-parent-wins-over-dir-negation"),
]


@pytest.mark.parametrize(("patterns", "path", "expected"), CASES)
def test_ignores(patterns: list[str], path: str, expected: bool) -> None:
    """A path is ignored exactly when `ignore` 5.3 ignores it."""
    assert IgnoreMatcher(patterns).ignores(path) is expected


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("", id="empty"),
        pytest.param("/abs/x", id="absolute"),
        pytest.param("./x", id="dot"),
        pytest.param("a/../x", id="dotdot"),
    ],
)
def test_ignores_rejects_non_relative_paths(path: str) -> None:
    """A path that is not relative to the root raises ValueError."""
    with pytest.raises(ValueError, match="relative"):
        IgnoreMatcher(["*"]).ignores(path)


def test_directory_path_with_trailing_slash() -> None:
    """A path ending in `/` is tested as a directory."""
    matcher = IgnoreMatcher(["build/"])
    assert matcher.ignores("build/")
    assert not matcher.ignores("build")


def test_matches_does_not_look_at_parents() -> None:
    """`matches` applies the rules to the path alone, unlike `ignores`."""
    matcher = IgnoreMatcher(["a/"])
    assert not matcher.matches("a/b.txt")
    assert matcher.ignores("a/b.txt")


def test_from_text_puts_base_patterns_first() -> None:
    """File lines come after the base patterns, so a file line can negate a base pattern."""
    matcher = IgnoreMatcher.from_text("!_headers\r\n*.map\r\n", base=["/_headers"])
    assert not matcher.ignores("_headers")
    assert matcher.ignores("x/y.map")


def test_from_text_splits_crlf_lines() -> None:
    """An ignore file with CRLF line ends yields one rule per line and no stray carriage returns."""
    matcher = IgnoreMatcher.from_text("dist/\r\n# note\r\n\r\n*.log\r\n")
    assert [rule.pattern for rule in matcher.rules] == ["dist/", "*.log"]
    assert matcher.ignores("src/dist/app.js")


@pytest.mark.parametrize(
    ("line", "negative"),
    [
        pytest.param("*.map", False, id="plain"),
        pytest.param("!*.map", True, id="negated"),
        pytest.param("\\!x", False, id="escaped-bang"),
    ],
)
def test_compile_rule_negation(line: str, negative: bool) -> None:
    """`compile_rule` records whether a line negates."""
    rule = compile_rule(line)
    assert rule is not None
    assert rule.negative is negative
    assert rule.pattern == line


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("", id="empty"),
        pytest.param(" \t", id="whitespace"),
        pytest.param("# comment", id="comment"),
        pytest.param("trailing\\", id="lone-trailing-backslash"),
        pytest.param("/", id="only-slash"),
        pytest.param("[z", id="unclosed-bracket"),
    ],
)
def test_compile_rule_skips(line: str) -> None:
    """Blank lines, comments and patterns that can match nothing compile to None."""
    assert compile_rule(line) is None


def test_rule_matches_whole_path() -> None:
    """An `IgnoreRule` matches a whole path, not a substring of it."""
    rule = compile_rule("a/b")
    assert rule is not None
    assert rule.matches("a/b")
    assert not rule.matches("a/bc")
    assert not rule.matches("x/a/b")
