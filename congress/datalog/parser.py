"""Lexer and recursive-descent parser for the Congress Datalog dialect.

Grammar (doc/policy-language.md §2)::

    prog        := statement* EOF
    statement   := formula (';' | '.')?
    formula     := literal_list ':-' literal_list | atom | ('insert'|'delete') '[' rule ']'
    literal     := ['not' | 'NOT' | '!'] (atom | modal '[' atom ']')
    atom        := relation ['(' [param (',' param)*] ')']
    param       := term | (ID | INT) '=' term
    term        := INT | FLOAT | STRING | ID (a variable)
    relation    := ID (':' ID)* ['+' | '-']

Errors are :class:`LexError` / :class:`ParseError` with the message shape clients of
OpenStack Congress match on,
``Lex failure.\\nline:L,col:C  <msg>`` / ``Parse failure.\\nline:L,col:C  <msg>`` (line 1-based,
column 0-based) and ``position=(L, C)``. AST-level problems (positional argument after a named one,
a column given twice) are :class:`CompileError` ``Compiler found errors:<msg>``.

Deliberate improvements over OpenStack Congress's parser (doc/policy-language.md §1): escapes in
strings are decoded (raw ``r"..."`` strings keep backslashes), triple-quoted strings work,
``0x``/``0o``/``0b`` integers and negative numbers are constants, and a trailing ``#``/``//``
comment needs no newline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from congress.datalog.ast import (
    FLOAT,
    INTEGER,
    STRING,
    Constant,
    Event,
    Literal,
    Rule,
    Statement,
    Term,
    Variable,
)
from congress.exceptions import CompileError, LexError, ParseError

# token kinds
ID, INT, FLT, STR, PUNCT, EOF = "ID", "INT", "FLOAT", "STRING", "PUNCT", "EOF"

_WS = re.compile(r"[ \t\r\f\v]+")
_ID = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*")
_ID_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.")
_ID_CHARS = _ID_START | set("0123456789")
_DIGITS = set("0123456789")
_STRING_PREFIXES = {"r", "u", "b", "br", "rb", "ur"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0",
            "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
NEGATIONS = {"not", "NOT"}
MODALS = {"execute", "insert", "delete"}
#: words the grammar reserves: never a table or variable name
KEYWORDS = NEGATIONS | MODALS


@dataclass(slots=True)
class Token:
    kind: str
    text: str
    value: object
    line: int
    col: int

    def describe(self) -> str:
        return "<EOF>" if self.kind == EOF else repr(self.text)


def _lex_error(line: int, col: int, msg: str) -> LexError:
    return LexError(f"Lex failure.\nline:{line},col:{col}  {msg}", position=(line, col))


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, dropping whitespace and comments."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    line, line_start = 1, 0

    while i < n:
        c = text[i]
        col = i - line_start
        if c == "\n":
            line += 1
            line_start = i + 1
            i += 1
            continue
        if c in " \t\r\f\v":
            i = _WS.match(text, i).end()
            continue
        if c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise _lex_error(line, col, "unterminated comment")
            chunk = text[i:j + 2]
            nl = chunk.count("\n")
            if nl:
                line += nl
                line_start = i + chunk.rfind("\n") + 1
            i = j + 2
            continue
        # strings, possibly prefixed
        prefix_end = i
        if c in "rRuUbB":
            while prefix_end < n and prefix_end - i < 2 and text[prefix_end] in "rRuUbB":
                prefix_end += 1
        if (c in "'\"" or prefix_end > i) and prefix_end < n and text[prefix_end] in "'\"" and \
                text[i:prefix_end].lower() in _STRING_PREFIXES | {""}:
            value, end, lines, last_nl = _lex_string(text, i, prefix_end, line, col)
            tokens.append(Token(STR, text[i:end], value, line, col))
            if lines:
                line += lines
                line_start = last_nl + 1
            i = end
            continue
        if c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            tok, i = _lex_number(text, i, line, col)
            tokens.append(tok)
            continue
        if c in _ID_START:
            j = _ID.match(text, i).end()
            word = text[i:j]
            if word == ".":
                tokens.append(Token(PUNCT, ".", ".", line, col))
            elif word.endswith(".") and (j >= n or text[j] in " \t\r\n\f\v#/"):
                # "p." at the end of a statement: identifier then terminator
                tokens.append(Token(ID, word[:-1], word[:-1], line, col))
                tokens.append(Token(PUNCT, ".", ".", line, col + len(word) - 1))
            else:
                tokens.append(Token(ID, word, word, line, col))
            i = j
            continue
        if text.startswith(":-", i):
            tokens.append(Token(PUNCT, ":-", ":-", line, col))
            i += 2
            continue
        if c in ",()[]=:;+-!":
            tokens.append(Token(PUNCT, c, c, line, col))
            i += 1
            continue
        raise _lex_error(line, col, f"no viable alternative at character {c!r}")
    tokens.append(Token(EOF, "", None, line, i - line_start))
    return tokens


def _lex_string(text: str, start: int, quote_at: int, line: int, col: int):
    prefix = text[start:quote_at].lower()
    raw = "r" in prefix
    q = text[quote_at]
    triple = text.startswith(q * 3, quote_at)
    delim = q * 3 if triple else q
    i = quote_at + len(delim)
    n = len(text)
    out: list[str] = []
    lines = 0
    last_nl = -1
    while True:
        if i >= n:
            raise _lex_error(line, col, "unterminated string literal")
        ch = text[i]
        if text.startswith(delim, i):
            i += len(delim)
            break
        if ch == "\n":
            if not triple:
                raise _lex_error(line, col, "unterminated string literal (newline in string)")
            lines += 1
            last_nl = i
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if raw:
                out.append(ch + nxt)
            elif nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt == "u" and i + 6 <= n:
                try:
                    out.append(chr(int(text[i + 2:i + 6], 16)))
                except ValueError:
                    raise _lex_error(line, col, "bad \\u escape in string") from None
                i += 6
                continue
            else:
                out.append(ch + nxt)
            if nxt == "\n":
                lines += 1
                last_nl = i + 1
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out), i, lines, last_nl


def _lex_number(text: str, i: int, line: int, col: int) -> tuple[Token, int]:
    n = len(text)
    start = i
    if text[i] == "0" and i + 1 < n and text[i + 1] in "xXoObB":
        j = i + 2
        while j < n and (text[j].isalnum() or text[j] == "_"):
            j += 1
        word = text[start:j]
        try:
            value = int(word, 0)
        except ValueError:
            raise _lex_error(line, col, f"malformed integer {word!r}") from None
        return Token(INT, word, value, line, col), j
    j = i
    while j < n and text[j] in _DIGITS:
        j += 1
    if j - i > 1 and text[i] == "0" and text[i:j].strip("0") and \
            not (j < n and text[j] in ".eE"):
        # INT is [1-9][0-9]* | 0+ as OpenStack Congress lexed it: "007" is "00" then "7", which
        # never parses
        digits = text[i:j].lstrip("0")
        at = col + (j - i) - len(digits)
        raise ParseError(f"Parse failure.\nline:{line},col:{at}  extraneous input {digits!r} "
                         "(an integer may not have leading zeros)", position=(line, at))
    is_float = False
    if j < n and text[j] == ".":
        # "1." is a float unless the dot starts an identifier-ish continuation ("1.foo")
        k = j + 1
        while k < n and text[k] in _DIGITS:
            k += 1
        if k < n and text[k] in _ID_START - {"e", "E"} and k == j + 1:
            pass  # "1.x": leave the dot alone
        else:
            is_float = True
            j = k
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and text[k] in _DIGITS:
            while k < n and text[k] in _DIGITS:
                k += 1
            is_float = True
            j = k
    word = text[start:j]
    if j < n and text[j] in _ID_START - {"."}:
        raise _lex_error(line, col, f"malformed number {text[start:j + 1]!r}")
    if is_float:
        return Token(FLT, word, float(word), line, col), j
    try:
        value = int(word)
    except ValueError:       # longer than Python converts (sys.get_int_max_str_digits)
        raise _lex_error(line, col, f"integer literal too long ({len(word)} digits)") from None
    return Token(INT, word, value, line, col), j


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    # ------------------------------------------------------------ helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def is_punct(self, text: str, tok: Token | None = None) -> bool:
        tok = tok or self.tok
        return tok.kind == PUNCT and tok.text == text

    def error(self, msg: str, tok: Token | None = None) -> ParseError:
        tok = tok or self.tok
        return ParseError(f"Parse failure.\nline:{tok.line},col:{tok.col}  {msg}",
                          position=(tok.line, tok.col))

    def expect(self, text: str, context: str) -> Token:
        if not self.is_punct(text):
            raise self.error(
                f"mismatched input {self.tok.describe()} expecting '{text}' {context}")
        tok = self.tok
        self.i += 1
        return tok

    # ------------------------------------------------------------ grammar
    def program(self) -> list[Statement | Event]:
        out: list[Statement | Event] = []
        while self.tok.kind != EOF:
            if self.is_punct(";") or self.is_punct("."):
                raise self.error(f"extraneous input {self.tok.describe()} expecting a statement")
            out.append(self.statement())
            if self.is_punct(";") or self.is_punct("."):
                self.i += 1
        return out

    def statement(self) -> Statement | Event:
        tok = self.tok
        if tok.kind == ID and tok.text in ("insert", "delete") and \
                self.is_punct("[", self.peek()) and self._bracket_holds_rule():
            return self.event()
        heads = self.literal_list()
        if self.is_punct(":-"):
            self.i += 1
            body = self.literal_list()
            return Rule(tuple(heads), tuple(body), position=heads[0].position)
        if len(heads) > 1:
            raise self.error("mismatched input ',' expecting ':-'", tok=self._comma_after(tok))
        head = heads[0]
        if head.negated:
            raise self.error("a negated literal is not a statement; expecting ':-'",
                             tok=tok)
        return head

    def _comma_after(self, start: Token) -> Token:
        for t in self.tokens[self.tokens.index(start):]:
            if t.kind == PUNCT and t.text == ",":
                return t
        return self.tok

    def _bracket_holds_rule(self) -> bool:
        depth = 0
        for t in self.tokens[self.i + 1:]:
            if t.kind == PUNCT and t.text in "([":
                depth += 1
            elif t.kind == PUNCT and t.text in ")]":
                depth -= 1
                if depth == 0:
                    return False
            elif t.kind == PUNCT and t.text == ":-" and depth == 1:
                return True
            elif t.kind == EOF:
                return False
        return False

    def event(self) -> Event:
        modal = self.tok.text
        self.i += 2  # modal and '['
        heads = self.literal_list()
        self.expect(":-", "in event")
        body = self.literal_list()
        target = None
        if self.is_punct(";") or self.is_punct("."):
            self.i += 1
            if self.tok.kind != STR:
                raise self.error(f"mismatched input {self.tok.describe()} expecting STRING")
            target = self.tok.value
            self.i += 1
        self.expect("]", "closing event")
        rule = Rule(tuple(heads), tuple(body), position=heads[0].position)
        return Event(rule, insert=(modal == "insert"), target=target)  # type: ignore[arg-type]

    def literal_list(self) -> list[Literal]:
        lits = [self.literal()]
        while self.is_punct(","):
            self.i += 1
            lits.append(self.literal())
        return lits

    def literal(self) -> Literal:
        tok = self.tok
        negated = False
        if self.is_punct("!") or (tok.kind == ID and tok.text in NEGATIONS
                                  and self.peek().kind == ID):
            negated = True
            self.i += 1
        lit = self.modal_atom()
        if negated:
            lit = lit.negate()
            object.__setattr__(lit, "position", (tok.line, tok.col))
        return lit

    def modal_atom(self) -> Literal:
        tok = self.tok
        if tok.kind == ID and self.is_punct("[", self.peek()):
            if tok.text not in MODALS:
                raise self.error(f"mismatched input '[' after {tok.describe()}; a modal must be "
                                 "execute, insert or delete", tok=self.peek())
            self.i += 2
            atom = self.atom()
            self.expect("]", "closing modal")
            return replace(atom, modal=tok.text, position=(tok.line, tok.col))
        return self.atom()

    def atom(self) -> Literal:
        tok = self.tok
        if tok.kind != ID or tok.text in KEYWORDS:
            raise self.error(f"no viable alternative at input {tok.describe()}")
        parts = [tok.text]
        self.i += 1
        while self.is_punct(":") and self.peek().kind == ID and self.peek().text not in KEYWORDS:
            self.i += 1
            parts.append(self.tok.text)
            self.i += 1
        if self.is_punct(":"):
            raise self.error(f"mismatched input {self.peek().describe()} expecting ID")
        if (self.is_punct("+") or self.is_punct("-")) and \
                self.peek().kind in (PUNCT, EOF, ID):
            parts[-1] += self.tok.text
            self.i += 1
        service = parts[0] if len(parts) > 1 else None
        table = ":".join(parts[1:]) if len(parts) > 1 else parts[0]
        args: list[Term] = []
        named: list[tuple[str | int, Term]] = []
        if self.is_punct("("):
            self.i += 1
            if not self.is_punct(")"):
                self.param(args, named, table)
                while self.is_punct(","):
                    self.i += 1
                    self.param(args, named, table)
            self.expect(")", "closing argument list")
        lit = Literal(table, tuple(args), service=service, named=tuple(named),
                      position=(tok.line, tok.col))
        self._check_named(lit, tok)
        return lit

    def param(self, args: list[Term], named: list, table: str) -> None:
        tok = self.tok
        if tok.kind in (ID, INT) and self.is_punct("=", self.peek()):
            self.i += 2
            named.append((tok.value if tok.kind == INT else tok.text, self.term()))
            return
        term = self.term()
        if named:
            self._positional_after_named = (table, tok)
        args.append(term)

    _positional_after_named: tuple[str, Token] | None = None

    def _check_named(self, lit: Literal, tok: Token) -> None:
        # worded, and the atom written, as OpenStack Congress's compiler did (clients match the
        # text)
        table = lit.tablename()
        named = [f"{c}={t}" for c, t in lit.named]
        written = f"{table}({','.join([str(a) for a in lit.args] + named)})"
        errors = []
        if self._positional_after_named is not None:
            self._positional_after_named = None
            errors.append(f"Atom {table}({','.join(named)}) has a positional parameter after "
                          "a reference parameter")
        seen: set = set()
        for col, _ in lit.named:
            what = "number" if isinstance(col, int) else "name"
            if col in seen:
                errors.append(f"In atom {written} two values for column {what} {col} "
                              "were provided")
            seen.add(col)
            if isinstance(col, int) and col < len(lit.args):
                errors.append(f"In atom {written} column number {col} is already provided by "
                              "position arguments.")
        if errors:
            raise CompileError("Compiler found errors:" + "\n".join(errors),
                               position=(tok.line, tok.col))

    def term(self) -> Term:
        tok = self.tok
        pos = (tok.line, tok.col)
        if tok.kind == ID and tok.text not in KEYWORDS:
            self.i += 1
            return Variable(tok.text, position=pos)
        if tok.kind == INT:
            self.i += 1
            return Constant(tok.value, INTEGER, position=pos)  # type: ignore[arg-type]
        if tok.kind == FLT:
            self.i += 1
            return Constant(tok.value, FLOAT, position=pos)  # type: ignore[arg-type]
        if tok.kind == STR:
            self.i += 1
            return Constant(tok.value, STRING, position=pos)  # type: ignore[arg-type]
        if self.is_punct("-") and self.peek().kind in (INT, FLT):
            num = self.peek()
            self.i += 2
            kind = INTEGER if num.kind == INT else FLOAT
            return Constant(-num.value, kind, position=pos)  # type: ignore[operator]
        raise self.error(f"no viable alternative at input {tok.describe()}")


def parse(text: str) -> list[Statement | Event]:
    """Parse policy text into statements (rules, atoms/facts and events)."""
    return _Parser(text).program()


def parse_statements(text: str) -> list[Statement]:
    """Parse, rejecting ``insert[...]``/``delete[...]`` events (not accepted by the API)."""
    out: list[Statement] = []
    for stmt in parse(text):
        if isinstance(stmt, Event):
            raise CompileError(f"Compiler found errors:Events are not permitted here: {stmt}")
        out.append(stmt)
    return out


def parse_one(text: str) -> Statement:
    """Exactly one statement (the rules API); see the API for the error codes it maps to."""
    from congress.exceptions import EmptyRuleError, MultipleRulesError
    stmts = parse_statements(text)
    if not stmts:
        raise EmptyRuleError("Empty string passed. Not a valid rule")
    if len(stmts) > 1:
        raise MultipleRulesError("Received multiple rules: " + "; ".join(str(s) for s in stmts))
    return stmts[0]


def parse_atom(text: str) -> Literal:
    """A single positive or negated literal (queries)."""
    p = _Parser(text)
    lit = p.literal()
    if p.is_punct(";") or p.is_punct("."):
        p.i += 1
    if p.tok.kind != EOF:
        raise p.error(f"extraneous input {p.tok.describe()} expecting <EOF>")
    return lit
