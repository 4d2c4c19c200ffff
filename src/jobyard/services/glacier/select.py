"""Glacier Select: the S3 Select SQL subset over an uncompressed CSV archive, run by SQLite.

What Glacier Select accepts (the Glacier SQL reference): ``SELECT * | expr [[AS] name], ... FROM ARCHIVE |
OBJECT [[AS] alias] [WHERE condition]``; columns by position (``_1``, ``s._2``) or, with ``FileHeaderInfo``
USE, by header name (``s.id`` case-insensitive, ``s."First Name"`` exact); string and number literals,
``NULL``/``TRUE``/``FALSE``; ``= != <> < <= > >=``, ``AND OR NOT``, ``[NOT] LIKE ... [ESCAPE ...]``,
``[NOT] IN (...)``, ``[NOT] BETWEEN``, ``IS [NOT] NULL``, ``+ - * / % ||``, ``CASE``;
``CAST(x AS INT|INTEGER|FLOAT|DECIMAL|NUMERIC|STRING|BOOL|BOOLEAN|TIMESTAMP)``, ``UPPER``, ``LOWER``,
``TRIM([LEADING|TRAILING|BOTH [chars] FROM] s)``, ``CHAR_LENGTH``/``CHARACTER_LENGTH``,
``SUBSTRING(s FROM start [FOR length])`` or ``SUBSTRING(s, start[, length])``, ``COALESCE``, ``NULLIF``.
Refused, as on AWS: LIMIT (S3 Select only), aggregates, GROUP BY, ORDER BY, DISTINCT, joins, UNION and
subqueries.

The statement is checked and rewritten token by token into SQLite SQL: column references become the
columns of an in-memory table holding the records, CAST and the string functions become SQLite's or the
small strict functions registered here, and every other word must be one of the keywords above, so
nothing the caller writes reaches SQLite verbatim. SQLite then prepares the statement (at InitiateJob,
against an empty table, so SQL errors answer at once) and runs it over the records (when the job
completes). An authorizer that allows only reading that table and calling the registered functions, a
single statement, no attached databases and a time budget guard the engine.

CSV fields are strings until CAST, as in S3 Select. Where SQLite's typing differs from S3 Select's in
ways a query would notice, the rewrite keeps S3 Select's:

* a field compared with a number literal compares as numbers when the field is one (``s._3 > 100``): the
  literal carries the ``s3num`` collation, under which two numeric strings compare as numbers;
* CAST of a string that is not a number (or not a boolean, or not a timestamp) fails the query rather than
  giving SQLite's 0, and ``CAST(x AS INT) > '30'`` compares numbers (SQLite's CAST affinity);
* LIKE is case-sensitive, UPPER/LOWER are Unicode-aware and SUBSTRING treats a start before 1 as SQL
  does, not as an offset from the end;
* a projection that is a condition is written as ``true``/``false``.

Remaining differences, none observable in ordinary queries: arithmetic on a string that is not a number
treats it as 0 and division by zero gives NULL (S3 Select fails the query); a computed string (``UPPER(x)``,
``x || y``) compared with a number compares as SQLite does (any string is greater); ``IN (...)`` compares a
field with each number as text in the number's own form (``'4' IN (4)`` holds, ``'4' IN (4.0)`` does not);
a timestamp is kept as the text it was cast from, so timestamps compare as text.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterator, Union

EXPRESSION_MAX = 128_000      # characters (SelectParameters.Expression)
QUERY_SECONDS = 60.0          # wall-clock budget of one query run; past it the query fails
TABLE = "archive"
COLLATION = "s3num"

# Keywords passed to SQLite as they are.
_OPERATORS = {"AND", "OR", "NOT", "LIKE", "ESCAPE", "IN", "IS", "NULL", "TRUE", "FALSE", "BETWEEN",
              "CASE", "WHEN", "THEN", "ELSE", "END"}
# Structure words, valid only where the grammar puts them.
_STRUCTURE = {"SELECT", "FROM", "WHERE", "AS", "CAST", "FOR", "LEADING", "TRAILING", "BOTH"}
# SQL that Glacier Select refuses, and statements no SELECT may contain: named in the error.
_UNSUPPORTED = {"GROUP", "ORDER", "LIMIT", "OFFSET", "JOIN", "UNION", "INTERSECT", "EXCEPT", "DISTINCT",
                "HAVING", "WITH", "COUNT", "SUM", "AVG", "MIN", "MAX", "ATTACH", "DETACH", "PRAGMA",
                "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "VACUUM"}
_RESERVED = _OPERATORS | _STRUCTURE | _UNSUPPORTED
_COMPARISONS = {"=", "!=", "<>", "<", "<=", ">", ">="}
_CONDITION_WORDS = {"AND", "OR", "NOT", "LIKE", "IN", "IS", "BETWEEN"}

# S3 Select function -> the SQLite function it becomes (CAST, SUBSTRING and TRIM are rewritten apart).
_FUNCTIONS = {"UPPER": "s3_upper", "LOWER": "s3_lower", "CHAR_LENGTH": "length", "CHARACTER_LENGTH": "length",
              "COALESCE": "coalesce", "NULLIF": "nullif"}
# CAST target -> (strict conversion registered here, SQLite type whose affinity the result takes).
_CASTS = {"INT": ("s3_int", "INTEGER"), "INTEGER": ("s3_int", "INTEGER"), "FLOAT": ("s3_float", "REAL"),
          "DECIMAL": ("s3_float", "REAL"), "NUMERIC": ("s3_float", "REAL"), "STRING": (None, "TEXT"),
          "BOOL": ("s3_bool", None), "BOOLEAN": ("s3_bool", None), "TIMESTAMP": ("s3_timestamp", None)}
# What a prepared statement may call; everything else is denied by the authorizer.
_ENGINE_FUNCTIONS = {"s3_int", "s3_float", "s3_bool", "s3_timestamp", "s3_upper", "s3_lower", "s3_substring",
                     "length", "trim", "ltrim", "rtrim", "coalesce", "nullif", "like"}


class SelectError(Exception):
    """A query that cannot run: bad SQL (reported at InitiateJob) or bad data (the job fails)."""


# -- tokens ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    | '(?P<string>(?:[^']|'')*)'
    | "(?P<quoted>(?:[^"]|"")*)"
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><>|!=|<=|>=|\|\||[=<>+\-*/%(),.;])
    )""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str      # number, string, name (a quoted identifier), word, op
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops


def _tokens(expression: str) -> list[Token]:
    # One statement terminator is tolerated; any other ';' would chain a second statement.
    text = expression.rstrip()
    text = text[:-1] if text.endswith(";") else text
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if not text[position:].strip():
                break
            raise SelectError(f"Syntax error in the SQL expression at character {position + 1}: "
                              f"{text[position:position + 20].strip()!r}")
        position = match.end()
        if match.group("number") is not None:
            tokens.append(Token("number", match.group("number")))
        elif match.group("string") is not None:
            tokens.append(Token("string", match.group("string").replace("''", "'")))
        elif match.group("quoted") is not None:
            tokens.append(Token("name", match.group("quoted").replace('""', '"')))
        elif match.group("word") is not None:
            tokens.append(Token("word", match.group("word")))
        elif match.group("op") == ";":
            raise SelectError("The SQL expression must be a single SELECT statement: ';' is not allowed")
        else:
            tokens.append(Token("op", match.group("op")))
    if sum(t.is_op("(") for t in tokens) != sum(t.is_op(")") for t in tokens):
        raise SelectError("Syntax error in the SQL expression: unbalanced parentheses")
    return tokens


# -- the query ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A column reference: by position (``_3``) or by header name (exact when it was quoted)."""
    position: int | None = None
    name: str | None = None
    quoted: bool = False


Piece = Union[str, Column]


@dataclass
class Query:
    projections: list[list[Piece]] | None    # None for SELECT *
    booleans: list[bool]                     # which projections are conditions (written true/false)
    where: list[Piece] | None

    @property
    def columns(self) -> list[Column]:
        pieces = [p for projection in self.projections or [] for p in projection] + (self.where or [])
        return list(dict.fromkeys(p for p in pieces if isinstance(p, Column)))

    def sql(self, positions: dict[Column, int]) -> str:
        """The SQLite statement, each column reference bound to the table column at its position."""
        def render(pieces: list[Piece]) -> str:
            return " ".join(_column_name(positions[p]) if isinstance(p, Column) else p for p in pieces)
        # Parenthesized, so that no leftover word can pass for an output name in SQLite's grammar.
        select = "rowid" if self.projections is None else ", ".join(f"({render(p)})" for p in self.projections)
        where = f" WHERE {render(self.where)}" if self.where is not None else ""
        return f"SELECT {select} FROM {TABLE}{where}"


def parse(expression: str) -> Query:
    """The query, checked and prepared by SQLite; a SelectError says what is wrong with it."""
    if not expression or not expression.strip():
        raise SelectError("The SQL expression is empty")
    if len(expression) > EXPRESSION_MAX:
        raise SelectError(f"The SQL expression is longer than {EXPRESSION_MAX} characters")
    try:
        query = _Translator(_tokens(expression)).query()
    except RecursionError:
        raise SelectError("The SQL expression is nested too deeply") from None
    _prepare(query)
    return query


def _prepare(query: Query) -> None:
    """Compile the statement against an empty table: SQLite reports what its parser refuses."""
    columns = query.columns
    last = max((c.position for c in columns if c.position), default=0)
    positions, spare = {}, last
    for column in columns:
        if column.position:
            positions[column] = column.position
        else:          # header names are not known yet: any free column stands in for them
            spare += 1
            positions[column] = spare
    with _Engine(sorted(set(positions.values()))) as engine:
        for _ in engine.rows(query.sql(positions)):
            pass


class _Translator:
    """Checks an S3 Select statement and rewrites it, token by token, into SQLite SQL."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.alias: str | None = None

    def query(self) -> Query:
        tokens = self.tokens
        if not tokens or not tokens[0].is_word("SELECT"):
            first = tokens[0].text.upper() if tokens else ""
            if first in _UNSUPPORTED:
                raise SelectError(f"Unsupported SQL in Glacier Select: {first}")
            raise SelectError("The SQL expression must be a SELECT statement")
        end = _find(tokens, 1, len(tokens), lambda t: t.is_word("FROM"))
        if end is None:
            self._refuse_unsupported(tokens)
            raise SelectError("Syntax error in the SQL expression: expected FROM")
        position = self._source(end + 1)
        where = None
        if position < len(tokens):
            if not tokens[position].is_word("WHERE"):
                word = tokens[position].text.upper()
                if word in _UNSUPPORTED:
                    raise SelectError(f"Unsupported SQL in Glacier Select: {word}")
                raise SelectError(f"Syntax error in the SQL expression near {tokens[position].text!r}")
            if position + 1 == len(tokens):
                raise SelectError("Syntax error in the SQL expression: WHERE needs a condition")
            where = self.expression(tokens[position + 1:])
        projections, booleans = self.projections(tokens[1:end])
        return Query(projections, booleans, where)

    def _source(self, position: int) -> int:
        """FROM ARCHIVE | OBJECT [[AS] alias]: the position after it."""
        tokens = self.tokens
        if position >= len(tokens) or not tokens[position].is_word("ARCHIVE", "OBJECT"):
            found = tokens[position].text if position < len(tokens) else "nothing"
            raise SelectError(f"Syntax error in the SQL expression: FROM must name ARCHIVE or OBJECT, "
                              f"found {found!r}")
        position += 1
        named = position < len(tokens) and tokens[position].is_word("AS")
        position += named
        if position < len(tokens) and tokens[position].kind == "word" \
                and tokens[position].text.upper() not in _RESERVED:
            self.alias = tokens[position].text.lower()
            return position + 1
        if named:
            raise SelectError("Syntax error in the SQL expression: AS must be followed by an alias")
        return position

    def projections(self, tokens: list[Token]) -> tuple[list[list[Piece]] | None, list[bool]]:
        if not tokens:
            raise SelectError("Syntax error in the SQL expression: nothing to SELECT")
        if len(tokens) == 1 and tokens[0].is_op("*") or \
                len(tokens) == 3 and self._is_alias(tokens[0]) and tokens[1].is_op(".") and tokens[2].is_op("*"):
            return None, []
        projections, booleans = [], []
        for item in _split(tokens, ","):
            item = _without_output_name(item)
            if not item or len(item) == 1 and item[0].is_op("*"):
                raise SelectError("Syntax error in the SQL expression: an item of the SELECT list is empty or *")
            projections.append(self.expression(item))
            booleans.append(_is_condition(item))
        return projections, booleans

    def expression(self, tokens: list[Token]) -> list[Piece]:
        out: list[Piece] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if token.kind == "number":
                # The collation makes a field compared with this number compare as a number.
                out.append(f"{token.text} COLLATE {COLLATION}")
            elif token.kind == "string":
                out.append("'" + token.text.replace("'", "''") + "'")
            elif token.kind == "name":
                out.append(Column(name=token.text, quoted=True))
            elif token.kind == "op":
                if token.text == ".":
                    raise SelectError("Syntax error in the SQL expression near '.': only the FROM alias "
                                      "qualifies a column")
                out.append(token.text)
            elif self._is_alias(token) and following is not None and following.is_op("."):
                if i + 2 >= len(tokens) or tokens[i + 2].kind not in ("word", "name"):
                    raise SelectError(f"Syntax error in the SQL expression after {token.text}.")
                target = tokens[i + 2]
                out.append(_column(target.text) if target.kind == "word" else Column(name=target.text, quoted=True))
                i += 2
            elif following is not None and following.is_op("(") and token.text.upper() not in _OPERATORS:
                i = self.function(tokens, i, out)
            else:
                out.append(self.word(token))
            i += 1
        return out

    def word(self, token: Token) -> Piece:
        word = token.text.upper()
        if word in _UNSUPPORTED:
            raise SelectError(f"Unsupported SQL in Glacier Select: {word}")
        if word == "SELECT":
            raise SelectError("Unsupported SQL in Glacier Select: subqueries")
        if word in _OPERATORS:
            return word
        if word in _STRUCTURE:
            raise SelectError(f"Syntax error in the SQL expression near {token.text!r}")
        return _column(token.text)

    def function(self, tokens: list[Token], i: int, out: list[Piece]) -> int:
        """Rewrite the call at ``tokens[i]``; the position of its closing parenthesis."""
        name = tokens[i].text.upper()
        close = _closing(tokens, i + 1)
        arguments = tokens[i + 2:close]
        if name == "CAST":
            out.extend(self.cast(arguments))
        elif name == "SUBSTRING":
            out.extend(self.substring(arguments))
        elif name == "TRIM":
            out.extend(self.trim(arguments))
        elif name in _FUNCTIONS:
            out.extend([_FUNCTIONS[name], "("])
            for n, argument in enumerate(_split(arguments, ",")):
                if not argument:
                    raise SelectError(f"Syntax error in the SQL expression: empty argument of {name}")
                out.extend(([","] if n else []) + self.expression(argument))
            out.append(")")
        elif name in _UNSUPPORTED or name == "SELECT":
            raise SelectError(f"Unsupported SQL in Glacier Select: {name}")
        else:
            raise SelectError(f"Unsupported function: {tokens[i].text}")
        return close

    def cast(self, arguments: list[Token]) -> list[Piece]:
        split = _find_last(arguments, lambda t: t.is_word("AS"))
        if split is None or split == 0 or split != len(arguments) - 2:
            raise SelectError("Syntax error in the SQL expression: CAST needs (expression AS type)")
        target = arguments[-1].text.upper()
        if target not in _CASTS:
            raise SelectError(f"Unsupported CAST type: {arguments[-1].text}")
        convert, sqlite_type = _CASTS[target]
        value = self.expression(arguments[:split])
        if convert:
            value = [convert, "(", *value, ")"]
        # SQLite's own CAST gives the result the type's affinity, so CAST(x AS INT) > '30' compares numbers.
        return ["CAST", "(", *value, "AS", sqlite_type, ")"] if sqlite_type else value

    def substring(self, arguments: list[Token]) -> list[Piece]:
        keyword = _find(arguments, 0, len(arguments), lambda t: t.is_word("FROM"))
        if keyword is not None:            # SUBSTRING(s FROM start [FOR length])
            length_at = _find(arguments, keyword + 1, len(arguments), lambda t: t.is_word("FOR"))
            parts = [arguments[:keyword], arguments[keyword + 1:length_at]]
            if length_at is not None:
                parts.append(arguments[length_at + 1:])
        else:                              # SUBSTRING(s, start[, length])
            parts = _split(arguments, ",")
        if not 2 <= len(parts) <= 3 or not all(parts):
            raise SelectError("Syntax error in the SQL expression: SUBSTRING needs a string and a start")
        out: list[Piece] = ["s3_substring", "("]
        for n, part in enumerate(parts):
            out.extend(([","] if n else []) + self.expression(part))
        return out + [")"]

    def trim(self, arguments: list[Token]) -> list[Piece]:
        sqlite_function = "trim"
        if arguments and arguments[0].is_word("LEADING", "TRAILING", "BOTH"):
            sqlite_function = {"LEADING": "ltrim", "TRAILING": "rtrim", "BOTH": "trim"}[arguments[0].text.upper()]
            arguments = arguments[1:]
            if _find(arguments, 0, len(arguments), lambda t: t.is_word("FROM")) is None:
                raise SelectError("Syntax error in the SQL expression: TRIM(LEADING|TRAILING|BOTH ... FROM string)")
        keyword = _find(arguments, 0, len(arguments), lambda t: t.is_word("FROM"))
        characters, string = ([], arguments) if keyword is None else (arguments[:keyword], arguments[keyword + 1:])
        if not string:
            raise SelectError("Syntax error in the SQL expression: TRIM needs a string")
        out: list[Piece] = [sqlite_function, "(", *self.expression(string)]
        if characters:      # without them SQLite, like S3 Select, trims spaces
            out += [",", *self.expression(characters)]
        return out + [")"]

    def _is_alias(self, token: Token) -> bool:
        return self.alias is not None and token.kind == "word" and token.text.lower() == self.alias

    @staticmethod
    def _refuse_unsupported(tokens: list[Token]) -> None:
        for token in tokens:
            if token.kind == "word" and token.text.upper() in _UNSUPPORTED:
                raise SelectError(f"Unsupported SQL in Glacier Select: {token.text.upper()}")


def _column(word: str) -> Column:
    positional = re.fullmatch(r"_(\d+)", word)
    if positional is None:
        return Column(name=word)
    position = int(positional.group(1))
    if position < 1:
        raise SelectError(f"Invalid column: {word}. Columns are numbered from _1.")
    return Column(position=position)


def _column_name(position: int) -> str:
    return f'"_{position}"'


def _depths(tokens: list[Token], blocks: bool = False) -> Iterator[tuple[int, Token]]:
    """Each token with its nesting depth in parentheses (and CASE ... END when ``blocks``)."""
    depth = 0
    for token in tokens:
        if token.is_op(")") or blocks and token.is_word("END"):
            depth -= 1
        yield depth, token
        if token.is_op("(") or blocks and token.is_word("CASE"):
            depth += 1


def _find(tokens: list[Token], start: int, stop: int, wanted: Callable[[Token], bool]) -> int | None:
    """The first top-level token in ``tokens[start:stop]`` that is ``wanted``."""
    for offset, (depth, token) in enumerate(_depths(tokens[start:stop])):
        if depth == 0 and wanted(token):
            return start + offset
    return None


def _find_last(tokens: list[Token], wanted: Callable[[Token], bool]) -> int | None:
    found = None
    for index, (depth, token) in enumerate(_depths(tokens)):
        if depth == 0 and wanted(token):
            found = index
    return found


def _split(tokens: list[Token], separator: str) -> list[list[Token]]:
    parts, current = [], []
    for depth, token in _depths(tokens):
        if depth == 0 and token.is_op(separator):
            parts.append(current)
            current = []
        else:
            current.append(token)
    return parts + [current]


def _closing(tokens: list[Token], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        depth += tokens[index].is_op("(") - tokens[index].is_op(")")
        if depth == 0:
            return index
    raise SelectError("Syntax error in the SQL expression: unbalanced parentheses")


def _ends_operand(token: Token) -> bool:
    if token.kind == "word":
        return token.text.upper() not in _RESERVED or token.text.upper() in ("NULL", "TRUE", "FALSE", "END")
    return token.kind in ("number", "string", "name") or token.is_op(")")


def _without_output_name(item: list[Token]) -> list[Token]:
    """A SELECT item without its ``AS name`` or bare ``name``: CSV results have no header to show it."""
    if len(item) >= 2 and item[-2].is_word("AS") and item[-1].kind in ("word", "name"):
        return item[:-2]
    if len(item) >= 2 and _ends_operand(item[-2]) and (
            item[-1].kind == "name" or item[-1].kind == "word" and item[-1].text.upper() not in _RESERVED):
        return item[:-1]
    return item


def _is_condition(item: list[Token]) -> bool:
    """Whether a SELECT item is a condition, whose SQLite 1/0 is written as true/false."""
    while item and item[0].is_op("(") and _closing(item, 0) == len(item) - 1:
        item = item[1:-1]
    if len(item) == 1 and item[0].is_word("TRUE", "FALSE"):
        return True
    if item and item[0].is_word("CAST") and len(item) >= 4 and item[-2].is_word("BOOL", "BOOLEAN") \
            and _closing(item, 1) == len(item) - 1:
        return True
    # Comparisons and logic bind more loosely than anything else: at the top level they make the result.
    return any(depth == 0 and (token.kind == "op" and token.text in _COMPARISONS
                               or token.kind == "word" and token.text.upper() in _CONDITION_WORDS)
               for depth, token in _depths(item, blocks=True))


# -- the engine -------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
# W3C date and time formats as S3 Select reads them: a year, month or day may end in T; a time needs an offset.
_TIMESTAMP = re.compile(r"(?P<year>\d{4})(?:T|-(?P<month>\d{2})(?:T|-(?P<day>\d{2})(?:T(?:(?:[01]\d|2[0-3]):[0-5]\d"
                        r"(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?)?)?)?")


def _number(value):
    """A field or value as a number, or None when it is not one."""
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        if _NUMBER.fullmatch(text):
            return float(text)
    return None


def _compare_as_numbers(a: str, b: str) -> int:
    """The ``s3num`` collation: numbers when both strings are numbers, otherwise the strings."""
    na, nb = _number(a), _number(b)
    if na is None or nb is None:
        na, nb = a, b
    return (na > nb) - (na < nb)


def _to_int(value):
    if value is None:
        return None
    number = _number(value)
    if number is None:
        raise SelectError(f"Cannot cast {value!r} to INT")
    result = int(number)
    if not -2 ** 63 <= result < 2 ** 63:
        raise SelectError(f"Cannot cast {value!r} to INT: out of range")
    return result


def _to_float(value):
    if value is None:
        return None
    number = _number(value)
    if number is None:
        raise SelectError(f"Cannot cast {value!r} to FLOAT")
    return float(number)


def _to_bool(value):
    if value is None:
        return None
    if isinstance(value, int) and value in (0, 1):      # SQLite's booleans
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return int(text == "true")
    raise SelectError(f"Cannot cast {value!r} to BOOL")


def _to_timestamp(value):
    if value is None:
        return None
    text = _string(value).strip()
    shape = _TIMESTAMP.fullmatch(text)
    try:
        if shape is None:
            raise ValueError
        date(int(shape["year"]), int(shape["month"] or 1), int(shape["day"] or 1))
    except ValueError:
        raise SelectError(f"Cannot cast {value!r} to TIMESTAMP") from None
    return text


def _string(value) -> str:
    return value if isinstance(value, str) else str(value)


def _substring(value, start, length=None):
    """SQL's SUBSTRING: a start before 1 shortens the result rather than counting from the end."""
    if value is None or start is None:
        return None
    text, first = _string(value), _to_int(start)
    begin = max(first - 1, 0)
    if length is None:
        return text[begin:]
    end = first - 1 + _to_int(length)
    return text[begin:max(end, begin)]


class _Engine:
    """An in-memory SQLite database holding the records, locked down before any query runs."""

    def __init__(self, positions: list[int], rows: list[tuple] = ()):
        self.failures: list[SelectError] = []
        self.deadline = 0.0
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        try:
            self._define()
            self._load(positions, rows)
            self._lock()
        except BaseException:
            self.db.close()
            raise

    def __enter__(self) -> "_Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.db.close()

    def _define(self) -> None:
        def strict(function):
            def call(*args):
                try:
                    return function(*args)
                except SelectError as error:
                    self.failures.append(error)
                    raise
            return call
        for name, function, arity in (("s3_int", _to_int, 1), ("s3_float", _to_float, 1),
                                      ("s3_bool", _to_bool, 1), ("s3_timestamp", _to_timestamp, 1),
                                      ("s3_substring", _substring, 2), ("s3_substring", _substring, 3),
                                      ("s3_upper", lambda v: None if v is None else _string(v).upper(), 1),
                                      ("s3_lower", lambda v: None if v is None else _string(v).lower(), 1)):
            self.db.create_function(name, arity, strict(function))
        self.db.create_collation(COLLATION, _compare_as_numbers)
        self.db.execute("PRAGMA case_sensitive_like = ON")

    def _load(self, positions: list[int], rows: list[tuple]) -> None:
        """The table: rowid is the record's number, ``"_N"`` its field N, for the fields the query uses."""
        names = [_column_name(p) for p in positions]
        self.db.execute(f"CREATE TABLE {TABLE} ({', '.join(n + ' TEXT' for n in names or ['_'])})")
        self.db.execute("BEGIN")
        self.db.executemany(f"INSERT INTO {TABLE} ({', '.join(['rowid', *names])}) "
                            f"VALUES ({', '.join('?' * (1 + len(names)))})", rows)
        self.db.execute("COMMIT")

    def _lock(self) -> None:
        self.db.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        self.db.set_authorizer(_authorize)
        self.db.set_progress_handler(lambda: time.monotonic() > self.deadline, 1000)

    def rows(self, sql: str) -> Iterator[tuple]:
        # One statement: the tokenizer refuses ';' and sqlite3 refuses to run more than one statement.
        self.deadline = time.monotonic() + QUERY_SECONDS
        try:
            cursor = self.db.execute(sql)
            yield from cursor
        except sqlite3.Error as error:
            if self.failures:
                raise self.failures[0] from None
            if time.monotonic() > self.deadline:
                raise SelectError(f"The query ran longer than {QUERY_SECONDS:g} seconds") from None
            raise SelectError(f"Invalid SQL expression: {error}") from None


def _authorize(action: int, first, second, database, trigger) -> int:
    """Reading the records and calling the known functions; nothing else (no ATTACH, PRAGMA, writes)."""
    if action == sqlite3.SQLITE_SELECT:
        return sqlite3.SQLITE_OK
    # A table read without a column (rowid only) comes with no database name.
    if action == sqlite3.SQLITE_READ and first == TABLE and database in ("main", None):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and second in _ENGINE_FUNCTIONS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


# -- running it over CSV ----------------------------------------------------------------------------------

def run(query: Query, data: bytes, input_csv: dict, output_csv: dict) -> bytes:
    """The query's result over the CSV ``data``, serialized as ``output_csv`` says."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SelectError("The archive is not UTF-8 encoded CSV") from None
    header_info = (input_csv.get("FileHeaderInfo") or "NONE").upper()
    records = _read_csv(text, input_csv)
    comment = input_csv.get("Comments")
    if comment:
        records = [fields for fields in records if not fields[0].startswith(comment)]
    header = records.pop(0) if header_info in ("USE", "IGNORE") and records else None
    positions = _bind(query.columns, header if header_info == "USE" else None)
    wanted = sorted(set(positions.values()))
    rows = [(number, *(fields[p - 1] if p <= len(fields) else None for p in wanted))
            for number, fields in enumerate(records, start=1)]
    out = io.StringIO()
    writer = csv.writer(out, **_dialect(output_csv, writing=True))
    with _Engine(wanted, rows) as engine:
        for row in engine.rows(query.sql(positions)):
            if query.projections is None:
                writer.writerow(records[row[0] - 1])
            else:
                writer.writerow([_output(value, boolean) for value, boolean in zip(row, query.booleans)])
    return out.getvalue().encode()


def _bind(columns: list[Column], header: list[str] | None) -> dict[Column, int]:
    """Each column reference's position; names are looked up in the header."""
    positions = {}
    for column in columns:
        if column.position:
            positions[column] = column.position
            continue
        if header is None:
            raise SelectError(f"The column {column.name} is named in the query but FileHeaderInfo is not USE")
        matches = [i for i, name in enumerate(header, start=1)
                   if (name == column.name if column.quoted else name.lower() == column.name.lower())]
        if not matches:
            raise SelectError(f"The column {column.name} is not in the CSV header")
        positions[column] = matches[0]
    return positions


def _output(value, boolean: bool) -> str:
    if value is None:
        return ""
    if boolean:
        return "true" if value else "false"
    return str(value)


def _read_csv(text: str, settings: dict) -> list[list[str]]:
    delimiter = settings.get("RecordDelimiter") or "\n"
    lines = text.splitlines(keepends=True) if delimiter in ("\n", "\r\n") else text.split(delimiter)
    try:
        return [row for row in csv.reader(lines, **_dialect(settings, writing=False)) if row]
    except csv.Error as error:
        raise SelectError(f"The archive is not valid CSV: {error}") from None


def check_csv_settings(settings: dict) -> None:
    """Refuse serialization settings no CSV reader or writer could use (at InitiateJob)."""
    _dialect(settings, writing=True)


def _dialect(settings: dict, writing: bool) -> dict:
    quote = settings.get("QuoteCharacter") or '"'
    escape = settings.get("QuoteEscapeCharacter")
    for name, value in (("FieldDelimiter", settings.get("FieldDelimiter") or ","), ("QuoteCharacter", quote),
                        ("QuoteEscapeCharacter", escape or quote), ("Comments", settings.get("Comments") or "#")):
        if len(value) != 1:
            raise SelectError(f"Invalid {name}: {value!r}. It must be a single character.")
    dialect = {"delimiter": settings.get("FieldDelimiter") or ",", "quotechar": quote,
               "doublequote": not escape or escape == quote,
               "escapechar": escape if escape and escape != quote else None}
    if writing:
        dialect["lineterminator"] = settings.get("RecordDelimiter") or "\n"
        always = (settings.get("QuoteFields") or "ASNEEDED").upper() == "ALWAYS"
        dialect["quoting"] = csv.QUOTE_ALL if always else csv.QUOTE_MINIMAL
    return dialect
