"""How `deployer._sql.split_statements` reads SQL: statements, their text, line and span, and each word with the
depth of parentheses it is at (what the data guard's rules and the error finder read)."""

from __future__ import annotations

from deployer._sql import split_statements


def texts(sql: str) -> list[str]:
    return [statement.text for statement in split_statements(sql)]


def words(sql: str) -> list[tuple[str, int, bool]]:
    (statement,) = split_statements(sql)
    return [(word.text, word.depth, word.quoted) for word in statement.words]


def test_statements_follow_each_other_without_a_space_and_keep_their_spans() -> None:
    statements = split_statements("SELECT 1;SELECT 2\n;  SELECT 3   ;")
    assert [s.text for s in statements] == ["SELECT 1", "SELECT 2", "SELECT 3"]
    assert [s.span for s in statements] == [(0, 9), (9, 19), (19, 33)]
    assert [s.line for s in statements] == [1, 1, 2]


def test_a_statement_that_starts_with_a_parenthesis_keeps_it() -> None:
    assert texts("  (SELECT 1) UNION (SELECT 2);") == ["(SELECT 1) UNION (SELECT 2)"]


def test_words_carry_the_depth_of_parentheses_they_are_at() -> None:
    assert words("SELECT (a, (b)), c") == [
        ("SELECT", 0, False),
        ("A", 1, False),
        ("B", 2, False),
        ("C", 0, False),
    ]
    _, second = split_statements("SELECT (a;SELECT b")  # a semicolon ends the statement, and its depth
    assert [(w.text, w.depth) for w in second.words] == [("SELECT", 0), ("B", 0)]
    assert words("SELECT a)) , b") == [("SELECT", 0, False), ("A", 0, False), ("B", 0, False)]


def test_string_literals_are_not_words_but_quoted_names_are() -> None:
    assert words("INSERT INTO t VALUES ('DROP', \"Col\", `x`, [y])") == [
        ("INSERT", 0, False),
        ("INTO", 0, False),
        ("T", 0, False),
        ("VALUES", 0, False),
        ("Col", 1, True),
        ("x", 1, True),
        ("y", 1, True),
    ]


def test_a_word_does_not_start_inside_a_number_or_after_an_underscore_it_does_not_own() -> None:
    assert words("SELECT 2abc, 1_def") == [("SELECT", 0, False)]


def test_comments_are_skipped_wherever_they_are() -> None:
    sql = "SELECT 1;\nSELECT 2; -- two; not a statement\nSELECT 3 /* a; */;SELECT 4 /**/;SELECT 5 /* b */;SELECT 6"
    assert texts(sql) == ["SELECT 1", "SELECT 2", "SELECT 3 /* a; */", "SELECT 4 /**/", "SELECT 5 /* b */", "SELECT 6"]
    assert texts("SELECT 1 /* a */;SELECT 2") == ["SELECT 1 /* a */", "SELECT 2"]
    assert texts("SELECT 1; /* never closed; SELECT 2;") == ["SELECT 1"]
    assert texts("SELECT 1; -- the last line") == ["SELECT 1"]


def test_a_comment_right_after_code_ends_where_its_own_end_is() -> None:
    assert words("SELECT a*/*b*/c") == [("SELECT", 0, False), ("A", 0, False), ("C", 0, False)]


def test_a_closing_parenthesis_takes_one_level_off() -> None:
    assert words("SELECT ((a), b)") == [("SELECT", 0, False), ("A", 2, False), ("B", 1, False)]


def test_a_statement_without_a_single_word_is_not_one() -> None:
    assert texts("SELECT 1; ( ) ; 'only a string';") == ["SELECT 1"]
