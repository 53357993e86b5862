"""A small POSIX shell for scripted containers: what ``sh -c``/``bash -c`` scripts sent over exec use.

Supported: lists (``;``, newlines, ``&&``, ``||``, ``&`` runs in the foreground), pipelines, ``!``,
``{ ...; }`` and ``( ... )`` groups, ``if/elif/else/fi``, ``for ... in ...; do ...; done``,
``while``/``until``, single/double quotes and backslashes, ``$VAR``/``${VAR}``/``$?``/``$#``/``$1``..,
``~``, globs against the container's files, assignments, and redirections (``<``, ``>``, ``>>``,
``2>``, ``2>&1``, ``>&2``, ``&>``, ``/dev/null``, ``/dev/tcp/HOST/PORT``). Not supported, reported
as a syntax error with exit 2: command substitution, arithmetic, ``case``, functions, here-docs.
"""

from __future__ import annotations

import asyncio
import io
import posixpath
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .vfs import VFS, FsError

if TYPE_CHECKING:
    from .containers import Container

OPERATORS = ("&&", "||", ";;", ";", "&", "|", "(", ")", "\n")
RESERVED = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until", "{", "}", "!", "case"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
MAX_LOOP_ITERATIONS = 100_000


class ShellSyntaxError(Exception):
    pass


# --- streams -------------------------------------------------------------------------------------


class Reader(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class Writer(Protocol):
    async def write(self, data: bytes) -> None: ...


class BytesReader:
    """stdin from bytes already in hand (a pipe's upstream output, a ``< file`` redirection)."""

    def __init__(self, data: bytes = b"") -> None:
        self._buffer = io.BytesIO(data)

    async def read(self, n: int = -1) -> bytes:
        return self._buffer.read(n if n >= 0 else None)


class BufferWriter:
    def __init__(self) -> None:
        self.buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self.buffer.extend(data)


class NullWriter:
    async def write(self, data: bytes) -> None:
        return None


class FileWriter:
    """``> file`` / ``>> file``: the file is created (or truncated) when the redirection opens."""

    def __init__(self, fs: VFS, path: str) -> None:
        self.fs = fs
        self.path = path

    async def write(self, data: bytes) -> None:
        self.fs.write(self.path, data, append=True)


async def read_all(reader: Reader) -> bytes:
    chunks = []
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


# --- tokens ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A piece of a word: literal text, or a parameter to expand; ``quoted`` stops globbing and splitting."""

    text: str
    quoted: bool
    var: bool = False


@dataclass(frozen=True)
class Word:
    parts: tuple[Part, ...]

    @property
    def plain(self) -> str | None:
        """The word's text when it is a bare literal (reserved words and names are recognized only so)."""
        if len(self.parts) == 1 and not self.parts[0].quoted and not self.parts[0].var:
            return self.parts[0].text
        return None

    def literal(self) -> str:
        return "".join(part.text if not part.var else "$" + part.text for part in self.parts)


@dataclass(frozen=True)
class Op:
    text: str


@dataclass(frozen=True)
class Redir:
    op: str  # < > >> <& >& &>
    fd: int  # the redirected descriptor
    target: Word | None = None  # None for dup (the digit is in ``dup``)
    dup: int | None = None


Token = Word | Op | Redir


def tokenize(script: str) -> list[Token]:
    """Split ``script`` into words, operators and redirections, keeping what was quoted."""
    tokens: list[Token] = []
    i, n = 0, len(script)
    parts: list[Part] = []
    literal: list[str] = []
    in_word = False

    def flush_literal(quoted: bool = False) -> None:
        if literal:
            parts.append(Part("".join(literal), quoted))
            literal.clear()

    def end_word() -> None:
        nonlocal in_word
        flush_literal()
        if in_word:
            tokens.append(Word(tuple(parts)))
        parts.clear()
        in_word = False

    def read_var(j: int, quoted: bool) -> int:
        """Parse a parameter after ``$`` at ``j``; returns the index after it."""
        if j < n and script[j] == "{":
            end = script.find("}", j)
            if end < 0:
                raise ShellSyntaxError("bad substitution: missing }")
            name = script[j + 1 : end]
            if not (_NAME.fullmatch(name) or name.isdigit() or name in ("?", "#", "$", "@", "*")):
                raise ShellSyntaxError(f"${{{name}}}: bad substitution")
            parts.append(Part(name, quoted, var=True))
            return end + 1
        if j < n and script[j] in "?#$@*0123456789":
            parts.append(Part(script[j], quoted, var=True))
            return j + 1
        match = _NAME.match(script, j)
        if match:
            parts.append(Part(match.group(), quoted, var=True))
            return match.end()
        if j < n and script[j] == "(":
            raise ShellSyntaxError("command substitution $(...) is not supported")
        literal.append("$")
        return j

    while i < n:
        ch = script[i]
        if ch == "\\" and i + 1 < n:
            if script[i + 1] == "\n":
                i += 2
                continue
            flush_literal()
            parts.append(Part(script[i + 1], True))
            in_word = True
            i += 2
            continue
        if ch == "'":
            end = script.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unterminated quoted string")
            flush_literal()
            parts.append(Part(script[i + 1 : end], True))
            in_word = True
            i = end + 1
            continue
        if ch == '"':
            flush_literal()
            in_word = True
            i += 1
            while True:
                if i >= n:
                    raise ShellSyntaxError("unterminated quoted string")
                c = script[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and script[i + 1] in '"\\$`\n':
                    if script[i + 1] != "\n":
                        literal.append(script[i + 1])
                    i += 2
                    continue
                if c == "$":
                    flush_literal(True)
                    i = read_var(i + 1, True)
                    continue
                if c == "`":
                    raise ShellSyntaxError("command substitution `...` is not supported")
                literal.append(c)
                i += 1
            flush_literal(True)
            continue
        if ch == "$":
            flush_literal()
            in_word = True
            i = read_var(i + 1, False)
            continue
        if ch == "`":
            raise ShellSyntaxError("command substitution `...` is not supported")
        if ch in " \t":
            end_word()
            i += 1
            continue
        if ch == "#" and not in_word:
            end = script.find("\n", i)
            i = n if end < 0 else end
            continue
        # redirections, with an optional descriptor number written right before them
        if ch in "<>" or (ch == "&" and script.startswith("&>", i)):
            fd = None
            if in_word and not parts and literal and "".join(literal).isdigit():
                fd = int("".join(literal))
                literal.clear()
                in_word = False
            end_word()
            i = _read_redirection(script, i, fd, tokens)
            continue
        op = next((op for op in OPERATORS if script.startswith(op, i)), None)
        if op is not None:
            end_word()
            if op == ";;":
                raise ShellSyntaxError("case statements are not supported")
            if op == "(" and i + 1 < n and script[i + 1] == "(":
                raise ShellSyntaxError("arithmetic (( )) is not supported")
            tokens.append(Op(op))
            i += len(op)
            continue
        literal.append(ch)
        in_word = True
        i += 1
    end_word()
    return tokens


def _read_redirection(script: str, i: int, fd: int | None, tokens: list[Token]) -> int:
    for op in ("&>>", "&>", ">>", ">&", "<&", "<<", ">|", "<>", ">", "<"):
        if script.startswith(op, i):
            break
    if op == "<<":
        raise ShellSyntaxError("here-documents are not supported")
    i += len(op)
    if op in (">&", "<&"):
        j = i
        while j < len(script) and script[j] in " \t":
            j += 1
        k = j
        while k < len(script) and script[k].isdigit():
            k += 1
        if k > j and (k == len(script) or script[k] in " \t\n;&|)"):
            tokens.append(Redir(op, fd if fd is not None else (1 if op == ">&" else 0), dup=int(script[j:k])))
            return k
        if op == ">&" and fd is None:
            op = "&>"  # >&file is &>file
        else:
            raise ShellSyntaxError(f"{op}: bad file descriptor")
    default_fd = 0 if op in ("<", "<>") else 1
    tokens.append(Redir(op if op != ">|" else ">", fd if fd is not None else default_fd))
    return i


# --- syntax tree -----------------------------------------------------------------------------------


@dataclass
class Simple:
    assignments: list[tuple[str, Word]]
    words: list[Word]
    redirections: list[Redir]


@dataclass
class Group:
    body: CommandList
    subshell: bool
    redirections: list[Redir] = field(default_factory=list)


@dataclass
class If:
    branches: list[tuple[CommandList, CommandList]]
    otherwise: CommandList | None
    redirections: list[Redir] = field(default_factory=list)


@dataclass
class For:
    name: str
    items: list[Word] | None
    body: CommandList
    redirections: list[Redir] = field(default_factory=list)


@dataclass
class While:
    condition: CommandList
    body: CommandList
    until: bool
    redirections: list[Redir] = field(default_factory=list)


Command = Simple | Group | If | For | While


@dataclass
class Pipeline:
    commands: list[Command]
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]]


@dataclass
class CommandList:
    items: list[AndOr]


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def is_op(self, text: str) -> bool:
        token = self.peek()
        return isinstance(token, Op) and token.text == text

    def is_word(self, text: str) -> bool:
        token = self.peek()
        return isinstance(token, Word) and token.plain == text

    def skip_newlines(self) -> None:
        while self.is_op("\n"):
            self.pos += 1

    def expect_word(self, text: str) -> None:
        self.skip_newlines()
        if not self.is_word(text):
            found = self.peek()
            shown = "end of file" if found is None else _describe(found)
            raise ShellSyntaxError(f'"{shown}" unexpected (expecting "{text}")')
        self.pos += 1

    def parse_program(self) -> CommandList:
        body = self.parse_list(terminators=())
        if self.peek() is not None:
            raise ShellSyntaxError(f'"{_describe(self.peek())}" unexpected')
        return body

    def parse_list(self, terminators: tuple[str, ...]) -> CommandList:
        items: list[AndOr] = []
        while True:
            self.skip_newlines()
            if self.is_op(";") and not items:
                raise ShellSyntaxError('";" unexpected')
            token = self.peek()
            if token is None or self.is_op(")") or (isinstance(token, Word) and token.plain in terminators):
                break
            items.append(self.parse_and_or())
            if self.is_op(";") or self.is_op("&") or self.is_op("\n"):
                self.pos += 1
                continue
            break
        return CommandList(items)

    def parse_and_or(self) -> AndOr:
        first = self.parse_pipeline()
        rest = []
        while self.is_op("&&") or self.is_op("||"):
            op = self.take().text  # type: ignore[union-attr]
            self.skip_newlines()
            rest.append((op, self.parse_pipeline()))
        return AndOr(first, rest)

    def parse_pipeline(self) -> Pipeline:
        negate = False
        if self.is_word("!"):
            self.pos += 1
            negate = True
        commands = [self.parse_command()]
        while self.is_op("|"):
            self.pos += 1
            self.skip_newlines()
            commands.append(self.parse_command())
        return Pipeline(commands, negate)

    def parse_command(self) -> Command:
        token = self.peek()
        if token is None:
            raise ShellSyntaxError('"end of file" unexpected')
        if isinstance(token, Op):
            if token.text == "(":
                self.pos += 1
                body = self.parse_list(terminators=())
                if not self.is_op(")"):
                    raise ShellSyntaxError('"end of file" unexpected (expecting ")")')
                self.pos += 1
                return self.with_redirections(Group(body, subshell=True))
            raise ShellSyntaxError(f'"{token.text.strip() or "newline"}" unexpected')
        if isinstance(token, Word):
            keyword = token.plain
            if keyword == "{":
                self.pos += 1
                body = self.parse_list(terminators=("}",))
                self.expect_word("}")
                return self.with_redirections(Group(body, subshell=False))
            if keyword == "if":
                return self.with_redirections(self.parse_if())
            if keyword == "for":
                return self.with_redirections(self.parse_for())
            if keyword in ("while", "until"):
                self.pos += 1
                condition = self.parse_list(terminators=("do",))
                self.expect_word("do")
                body = self.parse_list(terminators=("done",))
                self.expect_word("done")
                return self.with_redirections(While(condition, body, until=keyword == "until"))
            if keyword == "case":
                raise ShellSyntaxError("case statements are not supported")
            if keyword in ("then", "elif", "else", "fi", "do", "done", "}", "in"):
                raise ShellSyntaxError(f'"{keyword}" unexpected')
        return self.parse_simple()

    def with_redirections(self, command: Command) -> Command:
        while isinstance(self.peek(), Redir):
            redirection = self.take()
            command.redirections.append(self.complete_redirection(redirection))  # type: ignore[arg-type,union-attr]
        token = self.peek()
        if isinstance(token, Word) and token.plain not in ("}", "fi", "done", "then", "else", "elif", "do"):
            raise ShellSyntaxError(f'"{token.literal()}" unexpected')
        return command

    def complete_redirection(self, redirection: Redir) -> Redir:
        if redirection.dup is not None:
            return redirection
        target = self.peek()
        if not isinstance(target, Word):
            raise ShellSyntaxError('"newline" unexpected (expecting word)')
        self.pos += 1
        return Redir(redirection.op, redirection.fd, target)

    def parse_if(self) -> If:
        self.pos += 1
        branches = []
        condition = self.parse_list(terminators=("then",))
        self.expect_word("then")
        body = self.parse_list(terminators=("elif", "else", "fi"))
        branches.append((condition, body))
        otherwise = None
        while True:
            self.skip_newlines()
            if self.is_word("elif"):
                self.pos += 1
                condition = self.parse_list(terminators=("then",))
                self.expect_word("then")
                body = self.parse_list(terminators=("elif", "else", "fi"))
                branches.append((condition, body))
                continue
            if self.is_word("else"):
                self.pos += 1
                otherwise = self.parse_list(terminators=("fi",))
            self.expect_word("fi")
            return If(branches, otherwise)

    def parse_for(self) -> For:
        self.pos += 1
        name_token = self.peek()
        if not isinstance(name_token, Word) or not name_token.plain or not _NAME.fullmatch(name_token.plain):
            raise ShellSyntaxError("bad for loop variable")
        self.pos += 1
        items = None
        self.skip_newlines()
        if self.is_word("in"):
            self.pos += 1
            items = []
            while isinstance(self.peek(), Word) and not self.is_word("do"):
                items.append(self.take())  # type: ignore[arg-type]
        if self.is_op(";") or self.is_op("\n"):
            self.pos += 1
        self.expect_word("do")
        body = self.parse_list(terminators=("done",))
        self.expect_word("done")
        return For(name_token.plain, items, body)

    def parse_simple(self) -> Simple:
        assignments: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirections: list[Redir] = []
        while True:
            token = self.peek()
            if isinstance(token, Redir):
                self.pos += 1
                redirections.append(self.complete_redirection(token))
                continue
            if not isinstance(token, Word):
                break
            if not words:
                assignment = _as_assignment(token)
                if assignment is not None:
                    assignments.append(assignment)
                    self.pos += 1
                    continue
            words.append(token)
            self.pos += 1
        if not words and not assignments and not redirections:
            token = self.peek()
            raise ShellSyntaxError(f'"{_describe(token) if token is not None else "end of file"}" unexpected')
        return Simple(assignments, words, redirections)


def _describe(token: Token) -> str:
    if isinstance(token, Op):
        return "newline" if token.text == "\n" else token.text
    if isinstance(token, Word):
        return token.literal()
    return token.op


def _as_assignment(word: Word) -> tuple[str, Word] | None:
    first = word.parts[0] if word.parts else None
    if first is None or first.quoted or first.var:
        return None
    match = _ASSIGNMENT.match(first.text)
    if not match:
        return None
    rest = first.text[match.end() :]
    value_parts = ((Part(rest, False),) if rest else ()) + word.parts[1:]
    return match.group(1), Word(value_parts)


def parse(script: str) -> CommandList:
    return _Parser(tokenize(script)).parse_program()


# --- running ---------------------------------------------------------------------------------------


class ExitShell(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class Proc:
    """One running command: what a command implementation gets."""

    argv: list[str]
    stdin: Reader
    stdout: Writer
    stderr: Writer
    shell: Shell

    @property
    def fs(self) -> VFS:
        return self.shell.fs

    @property
    def cwd(self) -> str:
        return self.shell.cwd

    @property
    def container(self) -> Container:
        return self.shell.container

    def path(self, value: str) -> str:
        return VFS.absolute(value, self.shell.cwd)

    async def out(self, text: str | bytes) -> None:
        await self.stdout.write(text.encode() if isinstance(text, str) else text)

    async def err(self, text: str | bytes) -> None:
        await self.stderr.write(text.encode() if isinstance(text, str) else text)

    async def fail(self, message: str, status: int = 1) -> int:
        """Print ``<command>: <message>`` to stderr and return ``status``."""
        await self.err(f"{posixpath.basename(self.argv[0])}: {message}\n")
        return status

    async def read_stdin(self) -> bytes:
        return await read_all(self.stdin)


CommandFn = Callable[[Proc], Awaitable[int]]


class Shell:
    """Runs a parsed script in a container: variables, cwd, ``$?`` and options live here."""

    def __init__(
        self,
        container: Container,
        *,
        name: str = "sh",
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.container = container
        self.name = name
        self.vars: dict[str, str] = dict(env if env is not None else container.env)
        self.cwd = cwd or container.workdir
        self.args = list(args or [])
        self.status = 0
        self.errexit = False
        self.pipefail = False

    @property
    def fs(self) -> VFS:
        return self.container.fs

    def fork(self) -> Shell:
        """A subshell: same container, copied variables and cwd."""
        child = Shell(self.container, name=self.name, env=self.vars, cwd=self.cwd, args=self.args)
        child.status, child.errexit, child.pipefail = self.status, self.errexit, self.pipefail
        return child

    async def run_script(self, script: str, stdin: Reader, stdout: Writer, stderr: Writer) -> int:
        try:
            program = parse(script)
        except ShellSyntaxError as exc:
            await stderr.write(f"{self.name}: syntax error: {exc}\n".encode())
            return 2
        try:
            return await self.run_list(program, stdin, stdout, stderr)
        except ExitShell as done:
            return done.status

    async def run_list(self, body: CommandList, stdin: Reader, stdout: Writer, stderr: Writer) -> int:
        status = 0
        for item in body.items:
            status = await self.run_and_or(item, stdin, stdout, stderr)
            if self.errexit and status != 0 and not item.rest:
                raise ExitShell(status)
        return status

    async def run_and_or(self, item: AndOr, stdin: Reader, stdout: Writer, stderr: Writer) -> int:
        status = await self.run_pipeline(item.first, stdin, stdout, stderr)
        for op, pipeline in item.rest:
            if (op == "&&") == (status == 0):
                status = await self.run_pipeline(pipeline, stdin, stdout, stderr)
        self.status = status
        return status

    async def run_pipeline(self, pipeline: Pipeline, stdin: Reader, stdout: Writer, stderr: Writer) -> int:
        source: Reader = stdin
        statuses = []
        for index, command in enumerate(pipeline.commands):
            last = index == len(pipeline.commands) - 1
            sink: Writer = stdout if last else BufferWriter()
            shell = self if len(pipeline.commands) == 1 else self.fork()
            try:
                statuses.append(await shell.run_command(command, source, sink, stderr))
            except ExitShell as done:
                if len(pipeline.commands) == 1:
                    raise
                statuses.append(done.status)  # exit in a pipeline ends that part only
            if not last:
                source = BytesReader(bytes(sink.buffer))  # type: ignore[union-attr]
        status = statuses[-1]
        if self.pipefail:
            status = next((code for code in reversed(statuses) if code != 0), 0)
        if pipeline.negate:
            status = 0 if status != 0 else 1
        self.status = status
        return status

    async def run_command(self, command: Command, stdin: Reader, stdout: Writer, stderr: Writer) -> int:
        streams = await self.open_redirections(command.redirections, stdin, stdout, stderr)
        if streams is None:
            return 1
        stdin, stdout, stderr = streams
        if isinstance(command, Simple):
            return await self.run_simple(command, stdin, stdout, stderr)
        if isinstance(command, Group):
            if command.subshell:
                try:
                    return await self.fork().run_list(command.body, stdin, stdout, stderr)
                except ExitShell as done:
                    return done.status
            return await self.run_list(command.body, stdin, stdout, stderr)
        if isinstance(command, If):
            for condition, body in command.branches:
                if await self.run_condition(condition, stdin, stdout, stderr) == 0:
                    return await self.run_list(body, stdin, stdout, stderr)
            if command.otherwise is not None:
                return await self.run_list(command.otherwise, stdin, stdout, stderr)
            return 0
        if isinstance(command, For):
            items = (
                self.args if command.items is None else [field for word in command.items for field in self.expand(word)]
            )
            status = 0
            for item in items:
                self.vars[command.name] = item
                status = await self.run_list(command.body, stdin, stdout, stderr)
            return status
        if isinstance(command, While):
            status = 0
            for _ in range(MAX_LOOP_ITERATIONS):
                outcome = await self.run_condition(command.condition, stdin, stdout, stderr)
                if (outcome == 0) == command.until:
                    return status
                status = await self.run_list(command.body, stdin, stdout, stderr)
                await asyncio.sleep(0)
            await stderr.write(f"{self.name}: loop ran {MAX_LOOP_ITERATIONS} times; stopped\n".encode())
            return 1
        raise AssertionError(f"unknown command node {command!r}")

    async def run_condition(self, body: CommandList, stdin: Reader, stdout: Writer, stderr: Writer) -> int:
        errexit, self.errexit = self.errexit, False  # -e does not apply to conditions
        try:
            return await self.run_list(body, stdin, stdout, stderr)
        finally:
            self.errexit = errexit

    async def run_simple(self, command: Simple, stdin: Reader, stdout: Writer, stderr: Writer) -> int:
        argv = [field for word in command.words for field in self.expand(word)]
        values = {name: self.expand_single(word) for name, word in command.assignments}
        if not argv:
            self.vars.update(values)
            return 0
        proc = Proc(argv, stdin, stdout, stderr, self)
        handler = self.container.resolve(argv[0], self)
        if isinstance(handler, int):
            return await self._not_runnable(argv[0], handler, stderr)
        saved = {name: self.vars.get(name) for name in values}
        self.vars.update(values)
        try:
            return await handler(proc)
        except FsError as exc:
            await stderr.write(f"{posixpath.basename(argv[0])}: {exc.path}: {exc.reason}\n".encode())
            return 1
        finally:
            for name, value in saved.items():
                if value is None:
                    self.vars.pop(name, None)
                else:
                    self.vars[name] = value

    async def _not_runnable(self, name: str, status: int, stderr: Writer) -> int:
        if status == 127:
            text = (
                f"{self.name}: line 1: {name}: command not found" if self.name == "bash" else f"sh: {name}: not found"
            )
        else:
            text = f"{self.name}: {name}: Permission denied"
        await stderr.write((text + "\n").encode())
        return status

    async def open_redirections(
        self, redirections: list[Redir], stdin: Reader, stdout: Writer, stderr: Writer
    ) -> tuple[Reader, Writer, Writer] | None:
        table: dict[int, Reader | Writer] = {0: stdin, 1: stdout, 2: stderr}
        for redirection in redirections:
            if redirection.dup is not None:
                if redirection.dup not in table:
                    await stderr.write(f"{self.name}: {redirection.dup}: Bad file descriptor\n".encode())
                    return None
                table[redirection.fd] = table[redirection.dup]
                continue
            assert redirection.target is not None
            target = self.expand_single(redirection.target)
            path = VFS.absolute(target, self.cwd)
            try:
                if redirection.op in ("<", "<>"):
                    table[redirection.fd] = await self._open_input(target, path)
                else:
                    writer = self._open_output(path, append=redirection.op in (">>", "&>>"))
                    table[redirection.fd] = writer
                    if redirection.op in ("&>", "&>>"):
                        table[2] = writer
            except FsError as exc:
                await table[2].write(f"{self.name}: {target}: {exc.reason}\n".encode())  # type: ignore[union-attr]
                return None
        return table[0], table[1], table[2]  # type: ignore[return-value]

    async def _open_input(self, target: str, path: str) -> Reader:
        if path == "/dev/null":
            return BytesReader()
        if path.startswith("/dev/tcp/"):
            host, _, port = path[len("/dev/tcp/") :].partition("/")
            if not port.isdigit() or not self.container.tcp_open(host, int(port)):
                raise FsError("Connection refused", target)
            return BytesReader()
        return BytesReader(self.fs.read(path))

    def _open_output(self, path: str, append: bool) -> Writer:
        if path == "/dev/null":
            return NullWriter()
        if path in ("/dev/stdout", "/dev/stderr"):
            return NullWriter()
        if not append or not self.fs.exists(path):
            self.fs.write(path, b"")
        return FileWriter(self.fs, path)

    # --- expansion ---------------------------------------------------------------------------------

    def parameter(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "#":
            return str(len(self.args))
        if name == "$":
            return "1"
        if name in ("@", "*"):
            return " ".join(self.args)
        if name == "0":
            return self.name
        if name.isdigit():
            index = int(name) - 1
            return self.args[index] if index < len(self.args) else ""
        return self.vars.get(name, "")

    def expand(self, word: Word) -> list[str]:
        """Fields of a word: parameters expanded, unquoted expansions split, unquoted globs matched."""
        fields: list[list[tuple[str, bool]]] = [[]]
        for index, part in enumerate(word.parts):
            text = self.parameter(part.text) if part.var else part.text
            if index == 0 and not part.quoted and not part.var and (text == "~" or text.startswith("~/")):
                text = self.vars.get("HOME", "/root") + text[1:]
            if part.var and not part.quoted:
                pieces = text.split()
                if not pieces:
                    continue
                if text[:1].isspace() and fields[-1]:
                    fields.append([])
                for number, piece in enumerate(pieces):
                    if number:
                        fields.append([])
                    fields[-1].append((piece, True))
                if text[-1:].isspace():
                    fields.append([])
                continue
            fields[-1].append((text, part.quoted or part.var))
        result: list[str] = []
        for pieces in fields:
            if not pieces:
                continue
            text = "".join(piece for piece, _ in pieces)
            if any(not quoted and any(ch in piece for ch in "*?[") for piece, quoted in pieces):
                pattern = "".join(piece if not quoted else _glob_escape(piece) for piece, quoted in pieces)
                matches = self.fs.glob(pattern, self.cwd)
                if matches:
                    result.extend(matches)
                    continue
            result.append(text)
        if not result and all(part.quoted for part in word.parts):
            return [""]
        return result

    def expand_single(self, word: Word) -> str:
        """A word where no splitting happens (assignments, redirection targets)."""
        out = []
        for index, part in enumerate(word.parts):
            text = self.parameter(part.text) if part.var else part.text
            if index == 0 and not part.quoted and not part.var and (text == "~" or text.startswith("~/")):
                text = self.vars.get("HOME", "/root") + text[1:]
            out.append(text)
        return "".join(out)


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
