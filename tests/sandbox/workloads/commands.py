"""Commands every scripted container has: shell builtins and the coreutils, tar, unzip, grep, curl... subset.

Each command is ``async def name(proc: Proc) -> int`` and prints what GNU/Debian tools print for the
cases the collection meets (messages, exit codes), working on the container's in-memory files.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import hashlib
import io
import posixpath
import re
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterable
from urllib.parse import urlsplit

from .shell import CommandFn, ExitShell, Proc, Shell, read_all
from .vfs import DIR, FILE, LINK, VFS, FsError

# --- shell builtins ----------------------------------------------------------------------------------


async def cmd_true(proc: Proc) -> int:
    return 0


async def cmd_false(proc: Proc) -> int:
    return 1


async def cmd_exit(proc: Proc) -> int:
    value = proc.argv[1] if len(proc.argv) > 1 else str(proc.shell.status)
    if not value.lstrip("-").isdigit():
        await proc.err(f"{proc.shell.name}: exit: Illegal number: {value}\n")
        raise ExitShell(2)
    raise ExitShell(int(value) & 0xFF)


async def cmd_cd(proc: Proc) -> int:
    target = proc.argv[1] if len(proc.argv) > 1 else proc.shell.vars.get("HOME", "/root")
    path = proc.path(target)
    node = proc.fs.lookup(path)
    if node is None:
        await proc.err(f"{proc.shell.name}: cd: can't cd to {target}\n")
        return 2
    if not node.is_dir:
        await proc.err(f"{proc.shell.name}: cd: {target}: Not a directory\n")
        return 2
    proc.shell.cwd = path
    return 0


async def cmd_pwd(proc: Proc) -> int:
    await proc.out(proc.cwd + "\n")
    return 0


async def cmd_export(proc: Proc) -> int:
    for item in proc.argv[1:]:
        name, sep, value = item.partition("=")
        if sep:
            proc.shell.vars[name] = value
    return 0


async def cmd_unset(proc: Proc) -> int:
    for name in proc.argv[1:]:
        if not name.startswith("-"):
            proc.shell.vars.pop(name, None)
    return 0


async def cmd_set(proc: Proc) -> int:
    args = proc.argv[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-o", "+o") and index + 1 < len(args):
            if args[index + 1] == "pipefail":
                proc.shell.pipefail = arg == "-o"
            elif args[index + 1] == "errexit":
                proc.shell.errexit = arg == "-o"
            index += 2
            continue
        if arg == "--":
            proc.shell.args = args[index + 1 :]
            return 0
        if arg[:1] in "-+" and len(arg) > 1:
            if "e" in arg:
                proc.shell.errexit = arg[0] == "-"
            index += 1
            continue
        proc.shell.args = args[index:]
        return 0
    return 0


async def cmd_echo(proc: Proc) -> int:
    args = proc.argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] or (escapes and "E" not in args[0])
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stop = _escapes(text)
        newline = newline and not stop
    await proc.out(text + ("\n" if newline else ""))
    return 0


def _escapes(text: str) -> tuple[str, bool]:
    """Backslash escapes of ``echo -e``/``printf %b``; the flag says a ``\\c`` cut the output short."""
    out = []
    i = 0
    table = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "c":
                return "".join(out), True
            if nxt in table:
                out.append(table[nxt])
                i += 2
                continue
            if nxt == "0":
                digits = re.match(r"[0-7]{0,3}", text[i + 2 :]).group()  # type: ignore[union-attr]
                out.append(chr(int(digits or "0", 8)))
                i += 2 + len(digits)
                continue
        out.append(ch)
        i += 1
    return "".join(out), False


async def cmd_printf(proc: Proc) -> int:
    if len(proc.argv) < 2:
        return await proc.fail("usage: printf format [arg ...]", 2)
    fmt, args = proc.argv[1], proc.argv[2:]
    out: list[str] = []
    while True:
        consumed = 0

        def conversion(match: re.Match, args: list[str] = args) -> str:
            nonlocal consumed
            spec = match.group(0)
            if spec == "%%":
                return "%"
            value = args[consumed] if consumed < len(args) else ""
            consumed += 1
            kind = spec[-1]
            if kind == "b":
                return _escapes(value)[0]
            if kind in "di":
                try:
                    return (spec[:-1] + "d") % int(value or "0")
                except ValueError:
                    return "0"
            return (spec[:-1] + "s") % value

        text = re.sub(r"%[-+ 0#]*\d*(?:\.\d+)?[sdibc%]", conversion, fmt)
        out.append(_escapes(text)[0])
        args = args[consumed:]
        if not args or consumed == 0:
            break
    await proc.out("".join(out))
    return 0


async def cmd_test(proc: Proc) -> int:
    args = proc.argv[1:]
    if posixpath.basename(proc.argv[0]) == "[":
        if not args or args[-1] != "]":
            await proc.err("[: missing ]\n")
            return 2
        args = args[:-1]
    try:
        return 0 if _test(proc, args) else 1
    except ValueError as exc:
        await proc.err(f"{proc.shell.name}: test: {exc}\n")
        return 2


def _test(proc: Proc, args: list[str]) -> bool:
    if not args:
        return False
    if "-o" in args:
        index = args.index("-o")
        return _test(proc, args[:index]) or _test(proc, args[index + 1 :])
    if "-a" in args[1:]:
        index = args.index("-a", 1)
        return _test(proc, args[:index]) and _test(proc, args[index + 1 :])
    if args[0] == "!":
        return not _test(proc, args[1:])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, operand = args
        if op == "-n":
            return operand != ""
        if op == "-z":
            return operand == ""
        node = proc.fs.lookup(operand, proc.cwd, follow=op not in ("-L", "-h"))
        checks = {
            "-e": lambda: node is not None,
            "-f": lambda: node is not None and node.is_file,
            "-d": lambda: node is not None and node.is_dir,
            "-s": lambda: node is not None and (node.is_dir or node.size > 0),
            "-x": lambda: node is not None and node.executable,
            "-r": lambda: node is not None,
            "-w": lambda: node is not None,
            "-L": lambda: node is not None and node.kind == LINK,
            "-h": lambda: node is not None and node.kind == LINK,
        }
        if op not in checks:
            raise ValueError(f"{op}: unexpected operator")
        return checks[op]()
    if len(args) == 3:
        left, op, right = args
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        numeric = {"-eq": "__eq__", "-ne": "__ne__", "-lt": "__lt__", "-le": "__le__", "-gt": "__gt__", "-ge": "__ge__"}
        if op in numeric:
            try:
                return getattr(int(left), numeric[op])(int(right))
            except ValueError:
                bad = left if not left.lstrip("-").isdigit() else right
                raise ValueError(f"Illegal number: {bad}") from None
        raise ValueError(f"{op}: unexpected operator")
    raise ValueError("too many arguments")


async def cmd_command(proc: Proc) -> int:
    args = proc.argv[1:]
    if args[:1] == ["-v"]:
        status = 1
        for name in args[1:]:
            found = proc.container.locate(name, proc.shell)
            if found is not None:
                await proc.out(found + "\n")
                status = 0
        return status
    if not args:
        return 0
    handler = proc.container.resolve(args[0], proc.shell)
    if isinstance(handler, int):
        return await proc.shell._not_runnable(args[0], handler, proc.stderr)
    return await handler(Proc(args, proc.stdin, proc.stdout, proc.stderr, proc.shell))


async def cmd_sh(proc: Proc) -> int:
    """``sh``/``bash``: ``-c SCRIPT [NAME ARGS...]``, a script file, or a script on stdin."""
    name = "bash" if posixpath.basename(proc.argv[0]) == "bash" else "sh"
    args = proc.argv[1:]
    script: str | None = None
    errexit = pipefail = False
    while args and args[0].startswith(("-", "+")) and args[0] not in ("-", "--"):
        flag = args.pop(0)
        if flag in ("-o", "+o") and args:
            option = args.pop(0)
            pipefail = pipefail or (option == "pipefail" and flag == "-o")
            errexit = errexit or (option == "errexit" and flag == "-o")
            continue
        if "c" in flag:
            if not args:
                return await proc.fail("-c: option requires an argument", 2)
            script = args.pop(0)
        errexit = errexit or ("e" in flag and flag.startswith("-"))
    if args[:1] == ["--"]:
        args = args[1:]
    shell = Shell(proc.container, name=name, env=proc.shell.vars, cwd=proc.cwd)
    shell.errexit, shell.pipefail = errexit, pipefail
    if script is None:
        if args:
            path = args[0]
            try:
                script = proc.fs.read(path, proc.cwd).decode(errors="replace")
            except FsError:
                await proc.err(f"{name}: 0: cannot open {path}: No such file\n")
                return 127 if name == "sh" else 2
            shell.args = args[1:]
        else:
            script = (await proc.read_stdin()).decode(errors="replace")
    else:
        shell.args = args[1:]
    return await shell.run_script(script, proc.stdin, proc.stdout, proc.stderr)


async def run_script_file(proc: Proc, path: str) -> int:
    """An executable text file without a scripted behaviour: run it with this shell."""
    data = proc.fs.read(path)
    text = data.decode(errors="replace")
    first = text.split("\n", 1)[0]
    if first.startswith("#!") and not re.search(r"\b(sh|bash|dash|ash)\b", first):
        interpreter = first[2:].strip().split()[0] if first[2:].strip() else "?"
        await proc.err(
            f"{proc.shell.name}: {proc.argv[0]}: {interpreter}: bad interpreter: No such file or directory\n"
        )
        return 126
    shell = Shell(proc.container, name="bash" if "bash" in first else "sh", env=proc.shell.vars, cwd=proc.cwd)
    shell.args = proc.argv[1:]
    return await shell.run_script(text, proc.stdin, proc.stdout, proc.stderr)


async def cmd_sleep(proc: Proc) -> int:
    total = 0.0
    for arg in proc.argv[1:]:
        match = re.fullmatch(r"(\d+(?:\.\d*)?)([smhd]?)", arg)
        if not match:
            return await proc.fail(f"invalid time interval '{arg}'")
        total += float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    await asyncio.sleep(total)
    return 0


async def cmd_env(proc: Proc) -> int:
    await proc.out("".join(f"{key}={value}\n" for key, value in sorted(proc.shell.vars.items())))
    return 0


async def cmd_whoami(proc: Proc) -> int:
    await proc.out("root\n")
    return 0


async def cmd_id(proc: Proc) -> int:
    await proc.out("uid=0(root) gid=0(root) groups=0(root)\n")
    return 0


async def cmd_basename(proc: Proc) -> int:
    if len(proc.argv) < 2:
        return await proc.fail("missing operand")
    name = posixpath.basename(proc.argv[1].rstrip("/")) or "/"
    if len(proc.argv) > 2 and name.endswith(proc.argv[2]) and name != proc.argv[2]:
        name = name[: -len(proc.argv[2])]
    await proc.out(name + "\n")
    return 0


async def cmd_dirname(proc: Proc) -> int:
    if len(proc.argv) < 2:
        return await proc.fail("missing operand")
    await proc.out((posixpath.dirname(proc.argv[1].rstrip("/")) or ".") + "\n")
    return 0


async def cmd_date(proc: Proc) -> int:
    now = dt.datetime.now(dt.timezone.utc)
    formats = [arg[1:] for arg in proc.argv[1:] if arg.startswith("+")]
    text = now.strftime(formats[0]) if formats else now.strftime("%a %b %e %H:%M:%S UTC %Y")
    await proc.out(text + "\n")
    return 0


async def cmd_seq(proc: Proc) -> int:
    numbers = [int(arg) for arg in proc.argv[1:] if arg.lstrip("-").isdigit()]
    first, step, last = {1: (1, 1, numbers[0]), 2: (numbers[0], 1, numbers[-1])}.get(
        len(numbers), tuple(numbers[:3]) if len(numbers) >= 3 else (1, 1, 0)
    )
    if step == 0:
        return await proc.fail("invalid Zero increment value: '0'")
    await proc.out("".join(f"{n}\n" for n in range(first, last + (1 if step > 0 else -1), step)))
    return 0


# --- files ---------------------------------------------------------------------------------------------


def _flags(args: list[str], known: str) -> tuple[set[str], list[str], str | None]:
    """Short flags (bundled or not) until the first operand or ``--``; returns (flags, operands, bad flag)."""
    flags: set[str] = set()
    rest = list(args)
    while rest and rest[0].startswith("-") and rest[0] != "-":
        arg = rest.pop(0)
        if arg == "--":
            break
        if arg.startswith("--"):
            flags.add(arg)
            continue
        for letter in arg[1:]:
            if letter not in known:
                return flags, rest, letter
            flags.add(letter)
    return flags, rest, None


async def cmd_cat(proc: Proc) -> int:
    status = 0
    for name in proc.argv[1:] or ["-"]:
        if name == "-":
            await proc.out(await proc.read_stdin())
            continue
        try:
            await proc.out(proc.fs.read(name, proc.cwd))
        except FsError as exc:
            await proc.err(f"cat: {name}: {exc.reason}\n")
            status = 1
    return status


def _mode_string(kind: str, mode: int) -> str:
    letter = {DIR: "d", LINK: "l"}.get(kind, "-")
    bits = ""
    for shift in (6, 3, 0):
        part = (mode >> shift) & 7
        bits += ("r" if part & 4 else "-") + ("w" if part & 2 else "-") + ("x" if part & 1 else "-")
    return letter + bits


def _ls_time(mtime: float) -> str:
    moment = dt.datetime.fromtimestamp(mtime, dt.timezone.utc)
    return moment.strftime("%b ") + f"{moment.day:>2}" + moment.strftime(" %H:%M")


def _ls_line(name: str, node) -> str:
    links = 2 + sum(1 for child in node.children.values() if child.is_dir) if node.is_dir else 1
    suffix = f" -> {node.target}" if node.kind == LINK else ""
    return (
        f"{_mode_string(node.kind, node.mode)} {links} {node.owner} {node.group} {node.size:>5} "
        f"{_ls_time(node.mtime)} {name}{suffix}"
    )


async def cmd_ls(proc: Proc) -> int:
    flags, operands, bad = _flags(proc.argv[1:], "laA1dhRtrF")
    if bad:
        return await proc.fail(f"invalid option -- '{bad}'", 2)
    long, show_all, almost = "l" in flags, "a" in flags, "A" in flags
    status = 0
    targets = operands or ["."]
    files, dirs = [], []
    for target in targets:
        node = proc.fs.lookup(target, proc.cwd)
        if node is None:
            await proc.err(f"ls: cannot access '{target}': No such file or directory\n")
            status = 2
        elif node.is_dir and "d" not in flags:
            dirs.append((target, node))
        else:
            files.append((target, node))
    out: list[str] = [(_ls_line(name, node) if long else name) for name, node in files]
    for index, (target, node) in enumerate(dirs):
        if len(targets) > 1:
            if out or index:
                out.append("")
            out.append(f"{target}:")
        names = sorted(node.children)
        if not (show_all or almost):
            names = [name for name in names if not name.startswith(".")]
        entries = [(name, node.children[name]) for name in names]
        if show_all:
            entries = [(".", node), ("..", node), *entries]
        if long:
            blocks = sum((child.size + 1023) // 1024 for _, child in entries if not child.is_dir) + 4 * sum(
                1 for _, child in entries if child.is_dir
            )
            out.append(f"total {blocks}")
            out.extend(_ls_line(name, child) for name, child in entries)
        else:
            out.extend(name for name, _ in entries)
    if out:
        await proc.out("\n".join(out) + "\n")
    return status


async def cmd_mkdir(proc: Proc) -> int:
    args = proc.argv[1:]
    parents, mode, operands = False, 0o755, []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-p", "--parents"):
            parents = True
        elif arg == "-m" and index + 1 < len(args):
            mode = int(args[index + 1], 8)
            index += 1
        elif arg.startswith("-") and arg != "-" and set(arg[1:]) <= {"p", "v"}:
            parents = parents or "p" in arg
        else:
            operands.append(arg)
        index += 1
    if not operands:
        return await proc.fail("missing operand")
    status = 0
    for operand in operands:
        try:
            proc.fs.mkdir(operand, proc.cwd, parents=parents, mode=mode)
        except FsError as exc:
            await proc.err(f"mkdir: cannot create directory '{operand}': {exc.reason}\n")
            status = 1
    return status


def _apply_symbolic(mode: int, spec: str, is_dir: bool) -> int:
    for clause in spec.split(","):
        match = re.fullmatch(r"([ugoa]*)([-+=])([rwxXst]*)", clause)
        if not match:
            raise ValueError(spec)
        who, op, perms = match.groups()
        who = who or "a"
        bits = 0
        for perm in perms:
            value = {"r": 4, "w": 2, "x": 1, "X": 1 if (is_dir or mode & 0o111) else 0}.get(perm, 0)
            for person in "ugo" if "a" in who else who:
                bits |= value << {"u": 6, "g": 3, "o": 0}[person]
        if op == "+":
            mode |= bits
        elif op == "-":
            mode &= ~bits
        else:
            mask = 0
            for person in "ugo" if "a" in who else who:
                mask |= 7 << {"u": 6, "g": 3, "o": 0}[person]
            mode = (mode & ~mask) | bits
    return mode


def _targets(fs: VFS, path: str, cwd: str, recursive: bool) -> Iterable:
    if recursive and fs.is_dir(path, cwd):
        return [node for _, node in fs.walk(path, cwd)]
    return [fs.stat(path, cwd)]


async def cmd_chmod(proc: Proc) -> int:
    flags, operands, bad = _flags(proc.argv[1:], "Rfv")
    if bad and not re.fullmatch(r"[rwxXst]", bad):
        return await proc.fail(f"invalid option -- '{bad}'")
    if bad:  # chmod -x file: a mode, not a flag
        operands = [arg for arg in proc.argv[1:] if arg not in ("-R", "-f", "-v")]
    if len(operands) < 2:
        return await proc.fail(f"missing operand after '{operands[0]}'" if operands else "missing operand")
    spec, paths = operands[0], operands[1:]
    status = 0
    for path in paths:
        try:
            for node in _targets(proc.fs, path, proc.cwd, "R" in flags):
                if re.fullmatch(r"[0-7]{1,4}", spec):
                    node.mode = int(spec, 8)
                else:
                    node.mode = _apply_symbolic(node.mode, spec, node.is_dir)
        except FsError:
            await proc.err(f"chmod: cannot access '{path}': No such file or directory\n")
            status = 1
        except ValueError:
            return await proc.fail(f"invalid mode: '{spec}'")
    return status


async def cmd_chown(proc: Proc) -> int:
    flags, operands, bad = _flags(proc.argv[1:], "Rfvh")
    if bad:
        return await proc.fail(f"invalid option -- '{bad}'")
    if len(operands) < 2:
        return await proc.fail("missing operand")
    spec, paths = operands[0], operands[1:]
    owner, _, group = spec.partition(":")
    known = proc.container.users
    if owner and owner not in known and not owner.isdigit():
        return await proc.fail(f"invalid user: '{spec}'")
    if group and group not in known and not group.isdigit():
        return await proc.fail(f"invalid group: '{spec}'")
    status = 0
    for path in paths:
        try:
            for node in _targets(proc.fs, path, proc.cwd, "R" in flags):
                node.owner = owner or node.owner
                node.group = group or node.group
        except FsError:
            await proc.err(f"chown: cannot access '{path}': No such file or directory\n")
            status = 1
    return status


async def cmd_rm(proc: Proc) -> int:
    flags, operands, bad = _flags(proc.argv[1:], "rRfvdi")
    if bad:
        return await proc.fail(f"invalid option -- '{bad}'")
    recursive, force, verbose = (
        bool({"r", "R", "--recursive"} & flags),
        "f" in flags or "--force" in flags,
        "v" in flags,
    )
    if not operands and not force:
        return await proc.fail("missing operand")
    status = 0
    for operand in operands:
        path = proc.path(operand)
        node = proc.fs.lookup(path, follow=False)
        if node is None:
            if not force:
                await proc.err(f"rm: cannot remove '{operand}': No such file or directory\n")
                status = 1
            continue
        if node.is_dir and not recursive:
            await proc.err(f"rm: cannot remove '{operand}': Is a directory\n")
            status = 1
            continue
        if path == "/":
            await proc.err("rm: it is dangerous to operate recursively on '/'\n")
            status = 1
            continue
        if verbose:
            removed = [(p, n) for p, n in proc.fs.walk(path)] if node.is_dir else [(path, node)]
            lines = []
            for removed_path, removed_node in reversed(removed):
                shown = operand + removed_path[len(path) :]
                kind = "directory " if removed_node.is_dir else ""
                lines.append(f"removed {kind}'{shown}'\n")
            await proc.out("".join(lines))
        proc.fs.remove(path, recursive=True)
    return status


async def cmd_cp(proc: Proc) -> int:
    flags, operands, bad = _flags(proc.argv[1:], "rRfpavdTn")
    if bad:
        return await proc.fail(f"invalid option -- '{bad}'")
    recursive = bool({"r", "R", "a"} & flags)
    if len(operands) < 2:
        return await proc.fail(
            f"missing destination file operand after '{operands[0]}'" if operands else "missing file operand"
        )
    *sources, dest = operands
    if len(sources) > 1 and not proc.fs.is_dir(dest, proc.cwd):
        return await proc.fail(f"target '{dest}' is not a directory")
    status = 0
    for source in sources:
        node = proc.fs.lookup(source, proc.cwd)
        if node is None:
            await proc.err(f"cp: cannot stat '{source}': No such file or directory\n")
            status = 1
            continue
        if node.is_dir and not recursive:
            await proc.err(f"cp: -r not specified; omitting directory '{source}'\n")
            status = 1
            continue
        try:
            proc.fs.copy(source, dest, proc.cwd, recursive=recursive)
            if "v" in flags:
                await proc.out(f"'{source}' -> '{dest}'\n")
        except FsError as exc:
            await proc.err(f"cp: cannot create regular file '{dest}': {exc.reason}\n")
            status = 1
    return status


async def cmd_mv(proc: Proc) -> int:
    _, operands, bad = _flags(proc.argv[1:], "fvnT")
    if bad:
        return await proc.fail(f"invalid option -- '{bad}'")
    if len(operands) < 2:
        return await proc.fail("missing file operand")
    *sources, dest = operands
    status = 0
    for source in sources:
        try:
            proc.fs.move(source, dest, proc.cwd)
        except FsError as exc:
            await proc.err(f"mv: cannot move '{source}' to '{dest}': {exc.reason}\n")
            status = 1
    return status


async def cmd_touch(proc: Proc) -> int:
    status = 0
    for operand in [arg for arg in proc.argv[1:] if not arg.startswith("-")]:
        node = proc.fs.lookup(operand, proc.cwd)
        try:
            if node is None:
                proc.fs.write(operand, b"", proc.cwd)
            else:
                node.mtime = time.time()
        except FsError as exc:
            await proc.err(f"touch: cannot touch '{operand}': {exc.reason}\n")
            status = 1
    return status


async def cmd_sync(proc: Proc) -> int:
    return 0


async def cmd_tee(proc: Proc) -> int:
    append = "-a" in proc.argv[1:]
    names = [arg for arg in proc.argv[1:] if not arg.startswith("-")]
    data = await proc.read_stdin()
    status = 0
    for name in names:
        try:
            proc.fs.write(name, data, proc.cwd, append=append)
        except FsError as exc:
            await proc.err(f"tee: {name}: {exc.reason}\n")
            status = 1
    await proc.out(data)
    return status


async def cmd_head_tail(proc: Proc) -> int:
    tail = posixpath.basename(proc.argv[0]) == "tail"
    count, names, args = 10, [], proc.argv[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-n" and index + 1 < len(args):
            count = int(args[index + 1].lstrip("+-"))
            index += 1
        elif re.fullmatch(r"-n?\d+", arg):
            count = int(arg.lstrip("-n"))
        else:
            names.append(arg)
        index += 1
    data = b"".join([proc.fs.read(name, proc.cwd) for name in names]) if names else await proc.read_stdin()
    lines = data.splitlines(keepends=True)
    await proc.out(b"".join(lines[-count:] if tail and count else [] if tail else lines[:count]))
    return 0


async def cmd_wc(proc: Proc) -> int:
    flags, names, _ = _flags(proc.argv[1:], "lcwm")
    data = b"".join([proc.fs.read(name, proc.cwd) for name in names]) if names else await proc.read_stdin()
    counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data), "m": len(data.decode(errors="replace"))}
    wanted = [letter for letter in "lwcm" if letter in flags] or ["l", "w", "c"]
    text = " ".join(str(counts[letter]) for letter in wanted)
    await proc.out(text + (" " + " ".join(names) if names else "") + "\n")
    return 0


# --- checksums -----------------------------------------------------------------------------------------


def _checksum(algorithm: str) -> CommandFn:
    label = algorithm.upper().replace("SHA", "SHA")

    async def run(proc: Proc) -> int:
        name = posixpath.basename(proc.argv[0])
        flags, operands, bad = _flags(proc.argv[1:], "cbtw")
        if bad:
            return await proc.fail(f"invalid option -- '{bad}'")
        quiet = "--quiet" in flags
        status_only = "--status" in flags
        if "c" in flags or "--check" in flags:
            return await _check(proc, name, algorithm, operands or ["-"], quiet, status_only)
        status = 0
        for operand in operands or ["-"]:
            try:
                data = await proc.read_stdin() if operand == "-" else proc.fs.read(operand, proc.cwd)
            except FsError as exc:
                await proc.err(f"{name}: {operand}: {exc.reason}\n")
                status = 1
                continue
            await proc.out(f"{hashlib.new(algorithm, data).hexdigest()}  {operand}\n")
        return status

    run.__name__ = f"cmd_{algorithm}sum"
    run.__doc__ = f"{label.lower()}sum [-c] FILE..."
    return run


async def _check(proc: Proc, name: str, algorithm: str, lists: list[str], quiet: bool, status_only: bool) -> int:
    width = hashlib.new(algorithm).digest_size * 2
    mismatched = unreadable = 0
    formatted = False
    for listing in lists:
        try:
            text = (await proc.read_stdin() if listing == "-" else proc.fs.read(listing, proc.cwd)).decode(
                errors="replace"
            )
        except FsError as exc:
            await proc.err(f"{name}: {listing}: {exc.reason}\n")
            return 1
        for line in text.splitlines():
            match = re.fullmatch(rf"([0-9a-fA-F]{{{width}}}) [ *](.+)", line.strip()) or re.fullmatch(
                rf"{algorithm.upper()} \((.+)\) = ([0-9a-fA-F]{{{width}}})", line.strip()
            )
            if not match:
                continue
            formatted = True
            expected, file_name = match.groups() if match.re.pattern.startswith("(") else reversed(match.groups())
            try:
                data = proc.fs.read(file_name, proc.cwd)
            except FsError as exc:
                unreadable += 1
                await proc.err(f"{name}: {file_name}: {exc.reason}\n")
                if not status_only:
                    await proc.out(f"{file_name}: FAILED open or read\n")
                continue
            ok = hashlib.new(algorithm, data).hexdigest() == expected.lower()
            if not ok:
                mismatched += 1
            if not status_only and not (quiet and ok):
                await proc.out(f"{file_name}: {'OK' if ok else 'FAILED'}\n")
        if not formatted:
            await proc.err(f"{name}: {listing}: no properly formatted {algorithm.upper()} checksum lines found\n")
            return 1
    if unreadable and not status_only:
        plural = "files" if unreadable > 1 else "file"
        await proc.err(f"{name}: WARNING: {unreadable} listed {plural} could not be read\n")
    if mismatched and not status_only:
        plural = "checksums" if mismatched > 1 else "checksum"
        await proc.err(f"{name}: WARNING: {mismatched} computed {plural} did NOT match\n")
    return 1 if mismatched or unreadable else 0


# --- archives ----------------------------------------------------------------------------------------------


class _TarArgs:
    def __init__(self) -> None:
        self.mode: str | None = None
        self.archive: str | None = None
        self.directory: str | None = None
        self.gzip = self.verbose = self.touch = self.no_same_owner = False
        self.paths: list[str] = []


_TAR_LONG = {
    "--extract": ("mode", "x"),
    "--get": ("mode", "x"),
    "--create": ("mode", "c"),
    "--list": ("mode", "t"),
    "--gzip": ("gzip", True),
    "--gunzip": ("gzip", True),
    "--verbose": ("verbose", True),
    "--touch": ("touch", True),
    "--no-same-owner": ("no_same_owner", True),
}


def _parse_tar(args: list[str]) -> _TarArgs:
    parsed = _TarArgs()
    rest = list(args)
    if rest and not rest[0].startswith("-"):
        rest[0] = "-" + rest[0]  # old style: tar xf - ...
    pending: list[str] = []
    while rest:
        arg = rest.pop(0)
        if arg.startswith("--"):
            key, sep, value = arg.partition("=")
            if key in ("--file", "--directory"):
                value = value if sep else rest.pop(0)
                setattr(parsed, "archive" if key == "--file" else "directory", value)
            elif key in _TAR_LONG:
                field_name, field_value = _TAR_LONG[key]
                setattr(parsed, field_name, field_value)
            continue  # other long options (--warning=..., --overwrite, --no-same-permissions) change nothing here
        if arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            for index, letter in enumerate(letters):
                if letter in "xct":
                    parsed.mode = letter
                elif letter == "z":
                    parsed.gzip = True
                elif letter == "v":
                    parsed.verbose = True
                elif letter == "m":
                    parsed.touch = True
                elif letter == "o":
                    parsed.no_same_owner = True
                elif letter in "fC":
                    tail = letters[index + 1 :]
                    if tail:
                        pending.append(letter + tail)
                    else:
                        pending.append(letter)
                    break
                elif letter in "pPkU":
                    continue
                else:
                    raise ValueError(f"invalid option -- '{letter}'")
            for item in pending:
                letter, inline = item[0], item[1:]
                value = inline or (rest.pop(0) if rest else "")
                if not value:
                    raise ValueError(f"option requires an argument -- '{letter}'")
                if letter == "f":
                    parsed.archive = value
                else:
                    parsed.directory = value
            pending.clear()
            continue
        parsed.paths.append(arg)
    return parsed


async def _read_tar_stream(proc: Proc, gzip: bool) -> bytes:
    """Bytes of a tar archive from stdin, ending at its end-of-archive blocks (or EOF) like GNU tar."""
    if gzip:
        decompressor = zlib.decompressobj(wbits=47)
        out = bytearray()
        while not decompressor.eof:
            chunk = await proc.stdin.read(65536)
            if not chunk:
                break
            out.extend(decompressor.decompress(chunk))
        return bytes(out)
    buffer = bytearray()
    position = 0
    eof = False

    async def need(size: int) -> bool:
        nonlocal eof
        while len(buffer) < size and not eof:
            chunk = await proc.stdin.read(65536)
            if not chunk:
                eof = True
            buffer.extend(chunk)
        return len(buffer) >= size

    while await need(position + 512):
        block = bytes(buffer[position : position + 512])
        if block == bytes(512):
            if not await need(position + 1024) or bytes(buffer[position + 512 : position + 1024]) == bytes(512):
                break  # end of archive
            position += 512
            continue
        size = _tar_size(block)
        position += 512 + (size + 511) // 512 * 512
    return bytes(buffer)


def _tar_size(header: bytes) -> int:
    field = header[124:136]
    if field[0] & 0x80:  # base-256
        return int.from_bytes(field[1:], "big")
    text = field.rstrip(b"\0 ").strip() or b"0"
    try:
        return int(text, 8)
    except ValueError:
        return 0


async def cmd_tar(proc: Proc) -> int:
    try:
        args = _parse_tar(proc.argv[1:])
    except ValueError as exc:
        await proc.err(f"tar: {exc}\nTry 'tar --help' or 'tar --usage' for more information.\n")
        return 2
    if args.mode is None:
        await proc.err(
            "tar: You must specify one of the '-Acdtrux', '--delete' or '--test-label' options\n"
            "Try 'tar --help' or 'tar --usage' for more information.\n"
        )
        return 2
    cwd = proc.cwd
    if args.directory is not None:
        directory = proc.path(args.directory)
        if not proc.fs.is_dir(directory):
            await proc.err(
                f"tar: {args.directory}: Cannot open: No such file or directory\n"
                "tar: Error is not recoverable: exiting now\n"
            )
            return 2
        cwd = directory
    archive = args.archive or "-"
    if args.mode == "c":
        return await _tar_create(proc, args, cwd, archive)
    try:
        data = (
            await _read_tar_stream(proc, args.gzip)
            if archive == "-"
            else _maybe_gunzip(proc.fs.read(archive, proc.cwd), args.gzip)
        )
    except FsError as exc:
        await proc.err(f"tar: {archive}: Cannot open: {exc.reason}\ntar: Error is not recoverable: exiting now\n")
        return 2
    except zlib.error:
        await proc.err(
            "\ngzip: stdin: not in gzip format\ntar: Child returned status 1\n"
            "tar: Error is not recoverable: exiting now\n"
        )
        return 2
    if not data.strip(b"\0"):
        await proc.err(
            "tar: This does not look like a tar archive\ntar: Exiting with failure status due to previous errors\n"
        )
        return 2
    try:
        members = _tar_members(data)
    except tarfile.TarError:
        await proc.err(
            "tar: This does not look like a tar archive\ntar: Exiting with failure status due to previous errors\n"
        )
        return 2
    if args.mode == "t":
        await proc.out("".join(f"{member.name}{'/' if member.isdir() else ''}\n" for member, _ in members))
        return 0
    return await _tar_extract(proc, args, cwd, members)


def _maybe_gunzip(data: bytes, gzip: bool) -> bytes:
    return zlib.decompress(data, wbits=47) if gzip or data[:2] == b"\x1f\x8b" else data


def _tar_members(data: bytes) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    members = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive:
            content = None
            if member.isfile():
                extracted = archive.extractfile(member)
                content = extracted.read() if extracted else b""
            members.append((member, content))
    return members


async def _tar_extract(proc: Proc, args: _TarArgs, cwd: str, members: list) -> int:
    status = 0
    stored: dict[str, bytes] = {}
    for member, content in members:
        name = member.name
        while name.startswith(("/", "./")):
            name = name[1:] if name.startswith("/") else name[2:]
        if not name or name == ".":
            continue
        if ".." in name.split("/"):
            await proc.err(f"tar: {member.name}: Member name contains '..'\n")
            status = 2
            continue
        target = VFS.absolute(name, cwd)
        owner = None if args.no_same_owner else (member.uname or ("root" if member.uid == 0 else str(member.uid)))
        group = None if args.no_same_owner else (member.gname or ("root" if member.gid == 0 else str(member.gid)))
        try:
            parent = posixpath.dirname(target)
            if not proc.fs.is_dir(parent):
                proc.fs.mkdir(parent, parents=True)
            if member.isdir():
                node = proc.fs.lookup(target) or proc.fs.mkdir(target, parents=True)
                node.mode = member.mode & 0o7777
            elif member.issym():
                proc.fs.symlink(member.linkname, target, force=True)
                node = None
            elif member.islnk():
                linked = member.linkname.lstrip("/")
                node = proc.fs.write(target, stored.get(linked, b""), mode=member.mode & 0o7777)
            else:
                existing = proc.fs.lookup(target, follow=False)
                if existing is not None and existing.is_dir:
                    raise FsError("Cannot open: Is a directory", name)
                node = proc.fs.write(target, content or b"", mode=member.mode & 0o7777)
                stored[name] = content or b""
            if node is not None:
                node.owner = owner or node.owner
                node.group = group or node.group
                node.mtime = time.time() if args.touch else float(member.mtime)
        except FsError as exc:
            await proc.err(f"tar: {name}: {exc.reason}\n")
            status = 2
            continue
        if args.verbose:
            await proc.out(f"{member.name}{'/' if member.isdir() and not member.name.endswith('/') else ''}\n")
    if status:
        await proc.err("tar: Exiting with failure status due to previous errors\n")
    return status


async def _tar_create(proc: Proc, args: _TarArgs, cwd: str, archive: str) -> int:
    if not args.paths:
        await proc.err(
            "tar: Cowardly refusing to create an empty archive\n"
            "Try 'tar --help' or 'tar --usage' for more information.\n"
        )
        return 2
    buffer = io.BytesIO()
    status = 0
    warned = False
    with tarfile.open(fileobj=buffer, mode="w:gz" if args.gzip else "w:", format=tarfile.GNU_FORMAT) as out:
        for path in args.paths:
            if path.startswith("/") and not warned:
                await proc.err("tar: Removing leading `/' from member names\n")
                warned = True
            top = VFS.absolute(path, cwd)
            if proc.fs.lookup(top, follow=False) is None:
                await proc.err(f"tar: {path}: Cannot stat: No such file or directory\n")
                status = 2
                continue
            for absolute, node in proc.fs.walk(top):
                relative = path.rstrip("/") + absolute[len(top) :] if absolute != top else path.rstrip("/") or "/"
                info = tarfile.TarInfo(relative.lstrip("/") or ".")
                info.mode, info.mtime = node.mode, int(node.mtime)
                info.uname, info.gname = node.owner, node.group
                if node.kind == DIR:
                    info.type = tarfile.DIRTYPE
                    out.addfile(info)
                elif node.kind == LINK:
                    info.type, info.linkname = tarfile.SYMTYPE, node.target
                    out.addfile(info)
                else:
                    info.size = len(node.data)
                    out.addfile(info, io.BytesIO(node.data))
                if args.verbose:
                    await proc.err(info.name + ("/" if node.kind == DIR else "") + "\n")
    data = buffer.getvalue()
    if archive == "-":
        await proc.out(data)
    else:
        proc.fs.write(archive, data, proc.cwd)
    if status:
        await proc.err("tar: Exiting with failure status due to previous errors\n")
    return status


_NOT_A_ZIP = (
    "  End-of-central-directory signature not found.  Either this file is not\n"
    "  a zipfile, or it constitutes one disk of a multi-part archive.  In the\n"
    "  latter case the central directory and zipfile comment will be found on\n"
    "  the last disk(s) of this archive.\n"
)


async def cmd_unzip(proc: Proc) -> int:
    args = proc.argv[1:]
    overwrite, quiet, destination, zip_name = False, 0, None, None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-d" and index + 1 < len(args):
            destination = args[index + 1]
            index += 2
            continue
        if arg.startswith("-") and len(arg) > 1:
            overwrite = overwrite or "o" in arg
            quiet += arg.count("q")
        elif zip_name is None:
            zip_name = arg
        index += 1
    if zip_name is None:
        await proc.out(
            "UnZip 6.00 of 20 April 2009, by Debian. Original by Info-ZIP.\n\n"
            "Usage: unzip [-Z] [-opts[modifiers]] file[.zip] [list] [-x xlist] [-d exdir]\n"
        )
        return 0
    path = zip_name
    if not proc.fs.is_file(path, proc.cwd) and proc.fs.is_file(path + ".zip", proc.cwd):
        path = path + ".zip"
    if not proc.fs.is_file(path, proc.cwd):
        await proc.err(f"unzip:  cannot find or open {zip_name}, {zip_name}.zip or {zip_name}.ZIP.\n")
        return 9
    data = proc.fs.read(path, proc.cwd)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        if quiet < 2:
            await proc.out(f"Archive:  {zip_name}\n")
        await proc.err(
            _NOT_A_ZIP + f"unzip:  cannot find zipfile directory in one of {zip_name} or\n"
            f"        {zip_name}.zip, and cannot find {zip_name}.ZIP, period.\n"
        )
        return 9
    target = proc.path(destination) if destination else proc.cwd
    lines = [] if quiet else [f"Archive:  {zip_name}\n"]
    status = 0
    with archive:
        if destination and not proc.fs.is_dir(target):
            proc.fs.mkdir(target, parents=True)
            if not quiet:
                lines.append(f"   creating: {destination}/\n")
        for info in archive.infolist():
            name = info.filename
            if ".." in name.split("/") or name.startswith("/"):
                lines.append(f'warning:  skipped "../" path component(s) in {name}\n')
                status = 1
                continue
            shown = posixpath.join(destination, name) if destination else name
            absolute = VFS.absolute(name, target)
            unix_mode = (info.external_attr >> 16) & 0o7777
            try:
                if info.is_dir():
                    if not proc.fs.is_dir(absolute):
                        proc.fs.mkdir(absolute, parents=True, mode=unix_mode or 0o755)
                        if not quiet:
                            lines.append(f"   creating: {shown}\n")
                    continue
                parent = posixpath.dirname(absolute)
                if not proc.fs.is_dir(parent):
                    proc.fs.mkdir(parent, parents=True)
                if proc.fs.exists(absolute) and not overwrite:
                    continue  # no terminal to ask "replace?": unzip's answer is [N]one
                try:
                    content = archive.read(info)
                except (zipfile.BadZipFile, zlib.error):
                    lines.append(f"  error:  invalid compressed data to inflate {shown}\n")
                    status = 2
                    continue
                is_link = stat.S_ISLNK((info.external_attr >> 16) & 0o170000)
                if is_link:
                    proc.fs.symlink(content.decode(), absolute, force=True)
                    verb = "    linking"
                else:
                    proc.fs.write(absolute, content, mode=unix_mode or 0o644)
                    verb = "  inflating" if info.compress_type != zipfile.ZIP_STORED else " extracting"
                if not quiet:
                    lines.append(f"{verb}: {shown}  \n")
            except FsError as exc:
                lines.append(f"checkdir error:  cannot create {shown}\n                 {exc.reason}\n")
                status = 3
    await proc.out("".join(lines))
    return status


# --- text --------------------------------------------------------------------------------------------------


def basic_to_python(pattern: str, extended: bool) -> str:
    """A POSIX basic (or extended) regular expression in Python's syntax."""
    classes = {
        "[:digit:]": r"0-9",
        "[:alpha:]": r"a-zA-Z",
        "[:alnum:]": r"a-zA-Z0-9",
        "[:upper:]": r"A-Z",
        "[:lower:]": r"a-z",
        "[:space:]": r" \t\n\r\f\v",
        "[:blank:]": r" \t",
        "[:xdigit:]": r"0-9A-Fa-f",
        "[:punct:]": r"!-/:-@\[-`{-~",
    }
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "[":
            end = i + 1
            if end < len(pattern) and pattern[end] == "^":
                end += 1
            if end < len(pattern) and pattern[end] == "]":
                end += 1
            while end < len(pattern) and pattern[end] != "]":
                if pattern.startswith("[:", end):
                    close = pattern.find(":]", end)
                    end = close + 2 if close >= 0 else end + 1
                    continue
                end += 1
            body = pattern[i + 1 : end]
            for name, replacement in classes.items():
                body = body.replace(name, replacement)
            body = body.replace("\\", "\\\\")
            negated = body.startswith("^")
            body = ("^" if negated else "") + body[negated:].replace("[", r"\[")
            out.append("[" + body + "]")
            i = end + 1
            continue
        if extended:
            out.append(ch if ch != "\\" or i + 1 >= len(pattern) else pattern[i : i + 2])
            i += 2 if ch == "\\" and i + 1 < len(pattern) else 1
            continue
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(nxt if nxt in "+?|(){}" else "\\" + nxt)
            i += 2
            continue
        out.append("\\" + ch if ch in "+?|(){}" else ch)
        i += 1
    return "".join(out)


async def cmd_grep(proc: Proc) -> int:
    args = proc.argv[1:]
    options: set[str] = set()
    patterns: list[str] = []
    files: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-e" and index + 1 < len(args):
            patterns.append(args[index + 1])
            index += 2
            continue
        if arg == "--":
            files.extend(args[index + 1 :])
            break
        if arg.startswith("-") and len(arg) > 1 and not files and not (patterns and arg == "-"):
            for letter in arg[1:]:
                if letter not in "qvicnEFwxhHsol":
                    await proc.err(f"grep: invalid option -- '{letter}'\nUsage: grep [OPTION]... PATTERNS [FILE]...\n")
                    return 2
                options.add(letter)
        elif not patterns:
            patterns.append(arg)
        else:
            files.append(arg)
        index += 1
    if not patterns:
        await proc.err("Usage: grep [OPTION]... PATTERNS [FILE]...\n")
        return 2
    flags = re.IGNORECASE if "i" in options else 0
    expressions = []
    for pattern in [line for text in patterns for line in text.split("\n")]:
        source = re.escape(pattern) if "F" in options else basic_to_python(pattern, "E" in options)
        if "w" in options:
            source = rf"\b(?:{source})\b"
        if "x" in options:
            source = rf"(?:{source})\Z"
        try:
            expressions.append(re.compile(source, flags))
        except re.error as exc:
            await proc.err(f"grep: {exc}\n")
            return 2
    sources: list[tuple[str, bytes | None]] = []
    for name in files or ["-"]:
        if name == "-":
            sources.append(("(standard input)", await proc.read_stdin()))
            continue
        try:
            sources.append((name, proc.fs.read(name, proc.cwd)))
        except FsError as exc:
            if "s" not in options:
                await proc.err(f"grep: {name}: {exc.reason}\n")
            sources.append((name, None))
    show_names = ("H" in options or len(files) > 1) and "h" not in options
    matched_any, errors, out = False, False, []
    for name, data in sources:
        if data is None:
            errors = True
            continue
        count = 0
        for number, line in enumerate(data.decode(errors="replace").splitlines(), 1):
            hit = any(expression.search(line) for expression in expressions)
            if hit == ("v" in options):
                continue
            count += 1
            matched_any = True
            if "q" in options:
                return 0
            if "c" in options or "l" in options:
                continue
            prefix = (f"{name}:" if show_names else "") + (f"{number}:" if "n" in options else "")
            if "o" in options and "v" not in options:
                out.extend(prefix + m.group(0) for e in expressions for m in e.finditer(line) if m.group(0))
            else:
                out.append(prefix + line)
        if "c" in options:
            out.append((f"{name}:" if show_names else "") + str(count))
        if "l" in options and count:
            out.append(name)
    if out:
        await proc.out("\n".join(out) + "\n")
    if errors and not matched_any:
        return 2
    return 0 if matched_any else 1


# --- processes and network -------------------------------------------------------------------------------


async def cmd_ps(proc: Proc) -> int:
    rows = ["UID          PID    PPID  C STIME TTY          TIME CMD"]
    for pid, (user, command) in enumerate(proc.container.process_table(), 1):
        rows.append(f"{user:<8} {pid:>7} {0 if pid == 1 else 1:>7}  0 00:00 ?        00:00:00 {command}")
    await proc.out("\n".join(rows) + "\n")
    return 0


async def cmd_curl(proc: Proc) -> int:
    args = proc.argv[1:]
    silent = show_error = fail = include = head = False
    output = method = None
    data: str | None = None
    url = None
    index = 0
    takes_value = {
        "-o",
        "--output",
        "-X",
        "--request",
        "-H",
        "--header",
        "-d",
        "--data",
        "--data-raw",
        "-m",
        "--max-time",
        "--connect-timeout",
        "-w",
        "--write-out",
        "-u",
        "--user",
        "-A",
        "--user-agent",
        "--retry",
        "--retry-delay",
        "--cacert",
        "-e",
        "--referer",
    }
    while index < len(args):
        arg = args[index]
        if arg in takes_value:
            value = args[index + 1] if index + 1 < len(args) else ""
            if arg in ("-o", "--output"):
                output = value
            elif arg in ("-X", "--request"):
                method = value
            elif arg in ("-d", "--data", "--data-raw"):
                data = value
            index += 2
            continue
        if arg.startswith("--"):
            silent = silent or arg == "--silent"
            show_error = show_error or arg == "--show-error"
            fail = fail or arg == "--fail"
            include = include or arg == "--include"
            head = head or arg == "--head"
        elif arg.startswith("-") and len(arg) > 1:
            letters = arg[1:]
            silent = silent or "s" in letters
            show_error = show_error or "S" in letters
            fail = fail or "f" in letters
            include = include or "i" in letters
            head = head or "I" in letters
            if letters.endswith("o") and index + 1 < len(args):
                output = args[index + 1]
                index += 1
        else:
            url = arg
        index += 1

    async def error(code: int, message: str) -> int:
        if not silent or show_error:
            await proc.err(f"curl: ({code}) {message}\n")
        return code

    if url is None:
        await proc.err("curl: try 'curl --help' or 'curl --manual' for more information\n")
        return 2
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme not in ("http", "https"):
        return await error(1, f'Protocol "{parts.scheme}" not supported')
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not proc.container.is_local_host(host):
        return await error(6, f"Could not resolve host: {host}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    answer = proc.container.http_request(
        port, "HEAD" if head else (method or ("POST" if data is not None else "GET")), path, data
    )
    if answer is None:
        return await error(7, f"Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server")
    status, body = answer
    if fail and status >= 400:
        return await error(22, f"The requested URL returned error: {status}")
    payload = body if isinstance(body, bytes) else body.encode()
    if include or head:
        payload = f"HTTP/1.1 {status}\r\ncontent-length: {len(payload)}\r\n\r\n".encode() + (b"" if head else payload)
    if output and output != "-":
        proc.fs.write(output, payload, proc.cwd)
    else:
        await proc.out(payload)
    return 0


# --- the table ------------------------------------------------------------------------------------------------

# Shell builtins: found before anything on PATH, and they act on the shell itself.
BUILTINS: dict[str, CommandFn] = {
    ":": cmd_true,
    "true": cmd_true,
    "false": cmd_false,
    "exit": cmd_exit,
    "cd": cmd_cd,
    "pwd": cmd_pwd,
    "export": cmd_export,
    "unset": cmd_unset,
    "set": cmd_set,
    "echo": cmd_echo,
    "printf": cmd_printf,
    "test": cmd_test,
    "[": cmd_test,
    "command": cmd_command,
}

# Programs every scripted container has in /bin and /usr/bin.
PROGRAMS: dict[str, CommandFn] = {
    "sh": cmd_sh,
    "bash": cmd_sh,
    "true": cmd_true,
    "false": cmd_false,
    "echo": cmd_echo,
    "printf": cmd_printf,
    "test": cmd_test,
    "[": cmd_test,
    "cat": cmd_cat,
    "ls": cmd_ls,
    "mkdir": cmd_mkdir,
    "chmod": cmd_chmod,
    "chown": cmd_chown,
    "rm": cmd_rm,
    "cp": cmd_cp,
    "mv": cmd_mv,
    "touch": cmd_touch,
    "sync": cmd_sync,
    "tee": cmd_tee,
    "head": cmd_head_tail,
    "tail": cmd_head_tail,
    "wc": cmd_wc,
    "sleep": cmd_sleep,
    "env": cmd_env,
    "printenv": cmd_env,
    "whoami": cmd_whoami,
    "id": cmd_id,
    "basename": cmd_basename,
    "dirname": cmd_dirname,
    "date": cmd_date,
    "seq": cmd_seq,
    "pwd": cmd_pwd,
    "sha384sum": _checksum("sha384"),
    "sha256sum": _checksum("sha256"),
    "sha512sum": _checksum("sha512"),
    "md5sum": _checksum("md5"),
    "tar": cmd_tar,
    "unzip": cmd_unzip,
    "grep": cmd_grep,
    "ps": cmd_ps,
    "curl": cmd_curl,
}

# Where PROGRAMS live in the base image (``/bin/ls`` runs ``ls``).
PROGRAM_DIRS = ("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin")


def matches_glob(value: str, pattern: str | None) -> bool:
    return pattern is None or fnmatch.fnmatchcase(value, pattern)


async def drain(proc: Proc) -> bytes:
    return await read_all(proc.stdin)


__all__ = ["BUILTINS", "FILE", "PROGRAMS", "PROGRAM_DIRS", "basic_to_python", "run_script_file"]
