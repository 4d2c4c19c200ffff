"""Glacier Select: the S3 Select SQL subset over an uncompressed CSV archive.

Supported, as the Glacier Select guide describes it: ``SELECT * | expr [AS name], ... FROM archive [[AS]
alias] [WHERE condition]``; columns by position (``_1``, ``s._2``) or, with ``FileHeaderInfo`` USE, by
header name (``s.Id``, ``"First Name"``); string and number literals, ``NULL``/``TRUE``/``FALSE``;
``= != <> < <= > >=``, ``AND OR NOT``, ``LIKE``, ``IN (...)``, ``BETWEEN``, ``IS [NOT] NULL``,
``+ - * / % ||``; ``CAST(x AS INT|INTEGER|FLOAT|DECIMAL|STRING|BOOL|BOOLEAN)``, ``UPPER``, ``LOWER``,
``TRIM``, ``CHAR_LENGTH``/``CHARACTER_LENGTH``, ``SUBSTRING(s, start[, length])``. Not supported, as on
AWS: aggregates, GROUP BY, JOIN, DISTINCT, UNION, ORDER BY, LIMIT. CSV fields are strings; a comparison
of a string with a number compares numbers when the string is one (``WHERE s._3 > 100``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any, Callable

EXPRESSION_MAX = 128 * 1024


class SelectError(Exception):
    """A query that cannot run: bad SQL (reported at InitiateJob) or bad data (the job fails)."""


# -- tokens ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>\d+\.\d*|\.\d+|\d+)
    | '(?P<string>(?:[^']|'')*)'
    | "(?P<quoted>(?:[^"]|"")*)"
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><>|!=|<=|>=|\|\||[=<>+\-*/%(),.])
    )""", re.VERBOSE)

_KEYWORDS = {"SELECT", "FROM", "WHERE", "AS", "AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL", "TRUE", "FALSE",
             "BETWEEN", "CAST", "ESCAPE"}
_UNSUPPORTED = {"GROUP", "ORDER", "LIMIT", "JOIN", "UNION", "DISTINCT", "HAVING", "COUNT", "SUM", "AVG", "MIN",
                "MAX"}


@dataclass
class Token:
    kind: str      # number, string, name (a quoted identifier), word, op, end
    text: str


def _tokens(expression: str) -> list[Token]:
    tokens, position = [], 0
    text = expression.rstrip().rstrip(";")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise SelectError(f"Syntax error in the SQL expression at character {position + 1}: "
                              f"{text[position:position + 20]!r}")
        position = match.end()
        if match.group("number") is not None:
            tokens.append(Token("number", match.group("number")))
        elif match.group("string") is not None:
            tokens.append(Token("string", match.group("string").replace("''", "'")))
        elif match.group("quoted") is not None:
            tokens.append(Token("name", match.group("quoted").replace('""', '"')))
        elif match.group("word") is not None:
            word = match.group("word")
            if word.upper() in _UNSUPPORTED:
                raise SelectError(f"Unsupported SQL in Glacier Select: {word.upper()}")
            tokens.append(Token("word", word))
        else:
            tokens.append(Token("op", match.group("op")))
    tokens.append(Token("end", ""))
    return tokens


# -- the query ------------------------------------------------------------------------------------------

Expr = Callable[["Record"], Any]


class Record:
    """One CSV record as a query sees it: fields by position and, with a header, by name."""

    __slots__ = ("fields", "header")

    def __init__(self, fields: list[str], header: dict[str, int] | None):
        self.fields, self.header = fields, header


@dataclass
class Query:
    columns: list[Expr] | None     # None for SELECT *
    where: Expr | None
    uses_names: bool               # refers to columns by header name


def parse(expression: str) -> Query:
    if not expression or not expression.strip():
        raise SelectError("The SQL expression is empty")
    if len(expression.encode()) > EXPRESSION_MAX:
        raise SelectError("The SQL expression is longer than 128 KB")
    return _Parser(_tokens(expression)).query()


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens, self.index = tokens, 0
        self.alias: str | None = None
        self.uses_names = False

    # helpers
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def is_word(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token.kind == "word" and token.text.upper() in words

    def accept_word(self, *words: str) -> bool:
        if self.is_word(*words):
            self.index += 1
            return True
        return False

    def expect_word(self, word: str) -> None:
        if not self.accept_word(word):
            raise SelectError(f"Syntax error in the SQL expression: expected {word}, found {self.peek().text!r}")

    def accept_op(self, *ops: str) -> str | None:
        token = self.peek()
        if token.kind == "op" and token.text in ops:
            self.index += 1
            return token.text
        return None

    def expect_op(self, op: str) -> None:
        if not self.accept_op(op):
            raise SelectError(f"Syntax error in the SQL expression: expected {op!r}, found {self.peek().text!r}")

    # grammar
    def query(self) -> Query:
        self.expect_word("SELECT")
        # The alias comes after FROM but projections may use it: find it first.
        self.alias = self._find_alias()
        columns = None
        if not self.accept_op("*"):
            columns = [self.projection()]
            while self.accept_op(","):
                columns.append(self.projection())
        self.expect_word("FROM")
        source = self.take()
        if source.kind not in ("word", "name") or source.text.lower() not in ("archive", "s3object"):
            raise SelectError(f"Syntax error in the SQL expression: FROM must name archive, found {source.text!r}")
        if self.accept_word("AS") or (self.peek().kind == "word" and not self.is_word("WHERE")):
            self.take()
        where = None
        if self.accept_word("WHERE"):
            where = self.expression()
        if self.peek().kind != "end":
            raise SelectError(f"Syntax error in the SQL expression near {self.peek().text!r}")
        return Query(columns, where, self.uses_names)

    def _find_alias(self) -> str | None:
        for i, token in enumerate(self.tokens):
            if token.kind == "word" and token.text.upper() == "FROM":
                following = self.tokens[i + 2:i + 4]
                if following and following[0].kind == "word" and following[0].text.upper() == "AS":
                    following = following[1:]
                if following and following[0].kind == "word" and following[0].text.upper() not in _KEYWORDS:
                    return following[0].text.lower()
                return None
        return None

    def projection(self) -> Expr:
        value = self.expression()
        if self.accept_word("AS"):
            self.take()   # output names do not appear in CSV results
        return value

    def expression(self) -> Expr:
        left = self.conjunction()
        while self.accept_word("OR"):
            right = self.conjunction()
            left = (lambda a, b: lambda r: _or(a(r), lambda: b(r)))(left, right)
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.accept_word("AND"):
            right = self.negation()
            left = (lambda a, b: lambda r: _and(a(r), lambda: b(r)))(left, right)
        return left

    def negation(self) -> Expr:
        if self.accept_word("NOT"):
            inner = self.negation()
            return lambda r: None if (v := _truth(inner(r))) is None else not v
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.additive()
        op = self.accept_op("=", "!=", "<>", "<", "<=", ">", ">=")
        if op:
            right = self.additive()
            return lambda r: _compare(op, left(r), right(r))
        if self.accept_word("IS"):
            negate = self.accept_word("NOT")
            self.expect_word("NULL")
            return lambda r: (left(r) is None) != negate
        negate = self.accept_word("NOT")
        if self.accept_word("LIKE"):
            pattern = self.additive()
            escape = None
            if self.accept_word("ESCAPE"):
                escape = self.additive()
            test = lambda r: _like(left(r), pattern(r), escape(r) if escape else None)  # noqa: E731
        elif self.accept_word("IN"):
            self.expect_op("(")
            options = [self.expression()]
            while self.accept_op(","):
                options.append(self.expression())
            self.expect_op(")")
            test = lambda r: _in(left(r), [o(r) for o in options])  # noqa: E731
        elif self.accept_word("BETWEEN"):
            low = self.additive()
            self.expect_word("AND")
            high = self.additive()
            test = lambda r: _and(_compare(">=", left(r), low(r)),  # noqa: E731
                                  lambda: _compare("<=", left(r), high(r)))
        else:
            if negate:
                raise SelectError("Syntax error in the SQL expression: NOT must be followed by LIKE, IN or BETWEEN")
            return left
        if negate:
            return lambda r: None if (v := test(r)) is None else not v
        return test

    def additive(self) -> Expr:
        left = self.multiplicative()
        while op := self.accept_op("+", "-", "||"):
            right = self.multiplicative()
            left = (lambda o, a, b: lambda r: _arithmetic(o, a(r), b(r)))(op, left, right)
        return left

    def multiplicative(self) -> Expr:
        left = self.unary()
        while op := self.accept_op("*", "/", "%"):
            right = self.unary()
            left = (lambda o, a, b: lambda r: _arithmetic(o, a(r), b(r)))(op, left, right)
        return left

    def unary(self) -> Expr:
        if self.accept_op("-"):
            inner = self.unary()
            return lambda r: _arithmetic("-", 0, inner(r))
        return self.primary()

    def primary(self) -> Expr:
        token = self.take()
        if token.kind == "number":
            value = float(token.text) if "." in token.text else int(token.text)
            return lambda r: value
        if token.kind == "string":
            return lambda r: token.text
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect_op(")")
            return inner
        if token.kind == "name":
            return self.column(token.text, quoted=True)
        if token.kind == "word":
            word = token.text.upper()
            if word == "NULL":
                return lambda r: None
            if word in ("TRUE", "FALSE"):
                return lambda r: word == "TRUE"
            if word == "CAST":
                return self.cast()
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.function(word)
            if self.peek().kind == "op" and self.peek().text == "." and token.text.lower() == self.alias:
                self.take()
                column = self.take()
                if column.kind not in ("word", "name"):
                    raise SelectError(f"Syntax error in the SQL expression after {token.text}.")
                return self.column(column.text, quoted=column.kind == "name")
            if word in _KEYWORDS:
                raise SelectError(f"Syntax error in the SQL expression near {token.text!r}")
            return self.column(token.text, quoted=False)
        raise SelectError(f"Syntax error in the SQL expression near {token.text!r}")

    def column(self, name: str, quoted: bool) -> Expr:
        positional = re.fullmatch(r"_(\d+)", name)
        if positional and not quoted:
            index = int(positional.group(1)) - 1
            if index < 0:
                raise SelectError(f"Invalid column: {name}")
            return lambda r: r.fields[index] if index < len(r.fields) else None
        self.uses_names = True
        key = name if quoted else name.lower()

        def value(record: Record):
            header = record.header or {}
            position = header.get(key) if quoted else header.get(("lower", key))
            if position is None:
                raise SelectError(f"The column {name} is not in the CSV header")
            return record.fields[position] if position < len(record.fields) else None
        return value

    def cast(self) -> Expr:
        self.expect_op("(")
        inner = self.expression()
        self.expect_word("AS")
        target = self.take().text.upper()
        self.expect_op(")")
        converters = {"INT": _to_int, "INTEGER": _to_int, "FLOAT": _to_float, "DECIMAL": _to_float,
                      "STRING": _to_string, "BOOL": _to_bool, "BOOLEAN": _to_bool}
        if target not in converters:
            raise SelectError(f"Unsupported CAST type: {target}")
        convert = converters[target]
        return lambda r: None if (v := inner(r)) is None else convert(v)

    def function(self, name: str) -> Expr:
        self.expect_op("(")
        args = [self.expression()]
        while self.accept_op(","):
            args.append(self.expression())
        self.expect_op(")")
        functions = {"UPPER": (1, lambda s: _to_string(s).upper()), "LOWER": (1, lambda s: _to_string(s).lower()),
                     "TRIM": (1, lambda s: _to_string(s).strip()), "CHAR_LENGTH": (1, lambda s: len(_to_string(s))),
                     "CHARACTER_LENGTH": (1, lambda s: len(_to_string(s))), "SUBSTRING": (3, _substring)}
        if name not in functions:
            raise SelectError(f"Unsupported function: {name}")
        most, fn = functions[name]
        if not 1 <= len(args) <= most or (name == "SUBSTRING" and len(args) < 2):
            raise SelectError(f"Wrong number of arguments for {name}")

        def call(record: Record):
            values = [a(record) for a in args]
            return None if any(v is None for v in values) else fn(*values)
        return call


# -- values -------------------------------------------------------------------------------------------------

def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        text = value.strip()
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    except (ValueError, AttributeError):
        return None


def _to_int(value) -> int:
    number = _number(value)
    if number is None:
        raise SelectError(f"Cannot cast {value!r} to INT")
    return int(number)


def _to_float(value) -> float:
    number = _number(value)
    if number is None:
        raise SelectError(f"Cannot cast {value!r} to FLOAT")
    return float(number)


def _to_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise SelectError(f"Cannot cast {value!r} to BOOL")


def _to_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _substring(text, start, length=None):
    text, start = _to_string(text), _to_int(start)
    begin = max(start - 1, 0)
    if length is None:
        return text[begin:]
    end = start - 1 + _to_int(length)
    return text[begin:max(end, begin)]


def _truth(value):
    if value is None or isinstance(value, bool):
        return value
    raise SelectError(f"A condition must be true or false, not {value!r}")


def _and(a, later: Callable[[], Any]):
    """Three-valued AND; the right side is evaluated only when the left does not decide (so ``x <> '' AND
    CAST(x AS INT) > 3`` skips the cast of empty fields)."""
    a = _truth(a)
    if a is False:
        return False
    b = _truth(later())
    if b is False:
        return False
    return None if a is None or b is None else True


def _or(a, later: Callable[[], Any]):
    a = _truth(a)
    if a is True:
        return True
    b = _truth(later())
    if b is True:
        return True
    return None if a is None or b is None else False


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _comparable(a, b):
    if _is_number(a) or _is_number(b):
        na, nb = _number(a), _number(b)
        if na is not None and nb is not None:
            return na, nb
    return _to_string(a), _to_string(b)


def _compare(op: str, a, b):
    if a is None or b is None:
        return None
    a, b = _comparable(a, b)
    return {"=": a == b, "!=": a != b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _in(value, options):
    if value is None:
        return None
    return any(_compare("=", value, option) for option in options if option is not None)


def _like(value, pattern, escape):
    if value is None or pattern is None:
        return None
    regex, chars, i = [], _to_string(pattern), 0
    while i < len(chars):
        ch = chars[i]
        if escape and ch == escape and i + 1 < len(chars):
            regex.append(re.escape(chars[i + 1]))
            i += 2
            continue
        regex.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.fullmatch("".join(regex), _to_string(value), re.DOTALL) is not None


def _arithmetic(op: str, a, b):
    if a is None or b is None:
        return None
    if op == "||":
        return _to_string(a) + _to_string(b)
    na, nb = _number(a), _number(b)
    if na is None or nb is None:
        raise SelectError(f"Cannot compute {a!r} {op} {b!r}")
    if op in ("/", "%") and nb == 0:
        raise SelectError("Division by zero")
    if op == "/":
        return na // nb if isinstance(na, int) and isinstance(nb, int) else na / nb
    return {"+": na + nb, "-": na - nb, "*": na * nb, "%": na % nb}[op]


def _output(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- running it over CSV ----------------------------------------------------------------------------------

def run(query: Query, data: bytes, input_csv: dict, output_csv: dict) -> bytes:
    """The query's result over the CSV ``data``, serialized as ``output_csv`` says."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SelectError("The archive is not UTF-8 encoded CSV") from None
    header_info = (input_csv.get("FileHeaderInfo") or "NONE").upper()
    if query.uses_names and header_info != "USE":
        raise SelectError("Columns are named in the query but FileHeaderInfo is not USE")
    comment = input_csv.get("Comments")
    records = _read_csv(text, input_csv)
    header = None
    if header_info in ("USE", "IGNORE") and records:
        names = records.pop(0)
        if header_info == "USE":
            header = {}
            for position, name in enumerate(names):
                header.setdefault(name, position)
                header.setdefault(("lower", name.lower()), position)
    out = io.StringIO()
    writer = csv.writer(out, **_dialect(output_csv, writing=True))
    for fields in records:
        if comment and fields and fields[0].startswith(comment):
            continue
        record = Record(fields, header)
        if query.where is not None and _truth(query.where(record)) is not True:
            continue
        writer.writerow(fields if query.columns is None else [_output(c(record)) for c in query.columns])
    return out.getvalue().encode()


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
