"""A container's filesystem in memory: directories, files, symlinks, modes and owners.

Paths are POSIX; every call takes an absolute path or one relative to ``cwd``. Errors carry the
errno text a shell prints (``No such file or directory``, ``Is a directory`` ...), so command
implementations can format messages the way coreutils does. Permissions are recorded, not enforced
(exec runs as root), except that running a file needs an execute bit.
"""

from __future__ import annotations

import fnmatch
import posixpath
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

DIR, FILE, LINK = "dir", "file", "link"
MAX_LINK_DEPTH = 16

ENOENT = "No such file or directory"
EISDIR = "Is a directory"
ENOTDIR = "Not a directory"
EEXIST = "File exists"
ENOTEMPTY = "Directory not empty"
ELOOP = "Too many levels of symbolic links"
EBUSY = "Device or resource busy"


class FsError(Exception):
    def __init__(self, reason: str, path: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.reason = reason
        self.path = path


@dataclass
class Node:
    kind: str
    mode: int
    owner: str = "root"
    group: str = "root"
    mtime: float = field(default_factory=time.time)
    data: bytes = b""
    target: str = ""  # symlinks
    children: dict[str, Node] = field(default_factory=dict)

    @property
    def is_dir(self) -> bool:
        return self.kind == DIR

    @property
    def is_file(self) -> bool:
        return self.kind == FILE

    @property
    def size(self) -> int:
        if self.kind == FILE:
            return len(self.data)
        if self.kind == LINK:
            return len(self.target)
        return 4096

    @property
    def executable(self) -> bool:
        return bool(self.mode & 0o111)


class VFS:
    """One container's files. Not thread-safe: it lives on the server's loop like the store."""

    def __init__(self) -> None:
        self.root = Node(DIR, 0o755)

    # --- paths ------------------------------------------------------------------------------------

    @staticmethod
    def absolute(path: str, cwd: str = "/") -> str:
        """``path`` made absolute against ``cwd`` and normalized (``..`` at the root stays at the root)."""
        joined = path if path.startswith("/") else posixpath.join(cwd or "/", path)
        normal = posixpath.normpath(joined)
        return "/" + normal.lstrip("/") if normal != "/" else "/"

    def _walk(self, path: str, follow_last: bool, depth: int = 0) -> tuple[Node | None, Node | None, str]:
        """(parent dir node, node or None, name) for an absolute normalized path, following symlinks."""
        if depth > MAX_LINK_DEPTH:
            raise FsError(ELOOP, path)
        if path == "/":
            return None, self.root, ""
        parts = path.strip("/").split("/")
        current = self.root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if not current.is_dir:
                raise FsError(ENOTDIR, path)
            child = current.children.get(part)
            if child is not None and child.kind == LINK and (not last or follow_last):
                base = "/" + "/".join(parts[:index])
                target = self.absolute(child.target, base)
                rest = "/".join(parts[index + 1 :])
                resolved = self.absolute(rest, target) if rest else target
                return self._walk(resolved, follow_last, depth + 1)
            if last:
                return current, child, part
            if child is None:
                raise FsError(ENOENT, path)
            current = child
        raise AssertionError("unreachable")

    def lookup(self, path: str, cwd: str = "/", follow: bool = True) -> Node | None:
        try:
            return self._walk(self.absolute(path, cwd), follow)[1]
        except FsError:
            return None

    def stat(self, path: str, cwd: str = "/", follow: bool = True) -> Node:
        node = self.lookup(path, cwd, follow)
        if node is None:
            raise FsError(ENOENT, path)
        return node

    def exists(self, path: str, cwd: str = "/") -> bool:
        return self.lookup(path, cwd) is not None

    def is_dir(self, path: str, cwd: str = "/") -> bool:
        node = self.lookup(path, cwd)
        return node is not None and node.is_dir

    def is_file(self, path: str, cwd: str = "/") -> bool:
        node = self.lookup(path, cwd)
        return node is not None and node.is_file

    # --- reading -----------------------------------------------------------------------------------

    def read(self, path: str, cwd: str = "/") -> bytes:
        node = self.stat(path, cwd)
        if node.is_dir:
            raise FsError(EISDIR, path)
        return node.data

    def listdir(self, path: str, cwd: str = "/") -> list[str]:
        node = self.stat(path, cwd)
        if not node.is_dir:
            raise FsError(ENOTDIR, path)
        return sorted(node.children)

    def walk(self, path: str, cwd: str = "/") -> Iterator[tuple[str, Node]]:
        """``(absolute path, node)`` for ``path`` and everything under it, parents first, names sorted."""
        top = self.absolute(path, cwd)
        node = self.stat(top, follow=False)
        stack = [(top, node)]
        while stack:
            current, entry = stack.pop()
            yield current, entry
            if entry.is_dir:
                for name in sorted(entry.children, reverse=True):
                    stack.append((posixpath.join(current, name), entry.children[name]))

    def glob(self, pattern: str, cwd: str = "/") -> list[str]:
        """Matches of a shell pattern, sorted, in the spelling of the pattern (relative stays relative)."""
        absolute = pattern.startswith("/")
        parts = [part for part in pattern.split("/") if part]
        base = "/" if absolute else cwd
        found = [""]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following: list[str] = []
            for prefix in found:
                directory = self.absolute(prefix or ".", base) if prefix or not absolute else "/"
                if not any(ch in part for ch in "*?["):
                    candidate = posixpath.join(prefix, part) if prefix else part
                    if self.lookup(candidate, base) is not None:
                        following.append(candidate)
                    continue
                node = self.lookup(directory)
                if node is None or not node.is_dir:
                    continue
                for name in sorted(node.children):
                    if name.startswith(".") and not part.startswith("."):
                        continue
                    if fnmatch.fnmatchcase(name, part):
                        child = posixpath.join(prefix, name) if prefix else name
                        if last or self.is_dir(child, base):
                            following.append(child)
            found = following
        return sorted(("/" + match if absolute else match) for match in found)

    # --- writing -----------------------------------------------------------------------------------

    def mkdir(
        self,
        path: str,
        cwd: str = "/",
        *,
        parents: bool = False,
        mode: int = 0o755,
        owner: str = "root",
        group: str = "root",
    ) -> Node:
        target = self.absolute(path, cwd)
        if parents:
            current = "/"
            node = self.root
            for part in target.strip("/").split("/") if target != "/" else []:
                current = posixpath.join(current, part)
                existing = self.lookup(current)
                if existing is None:
                    node = self._add(current, Node(DIR, mode, owner, group))
                elif not existing.is_dir:
                    raise FsError(ENOTDIR if current != target else EEXIST, current)
                else:
                    node = existing
            return node
        _, node, _ = self._walk(target, True)
        if node is not None:
            raise FsError(EEXIST, path)
        return self._add(target, Node(DIR, mode, owner, group))

    def write(
        self,
        path: str,
        data: bytes,
        cwd: str = "/",
        *,
        append: bool = False,
        mode: int | None = None,
        owner: str | None = None,
        group: str | None = None,
    ) -> Node:
        target = self.absolute(path, cwd)
        parent, node, _ = self._walk(target, True)
        if parent is None and node is not None:
            raise FsError(EISDIR, path)
        if node is not None:
            if node.is_dir:
                raise FsError(EISDIR, path)
            node.data = node.data + data if append else data
            node.mtime = time.time()
            if mode is not None:
                node.mode = mode
            node.owner = owner or node.owner
            node.group = group or node.group
            return node
        return self._add(
            target, Node(FILE, 0o644 if mode is None else mode, owner or "root", group or "root", data=data)
        )

    def symlink(self, target: str, path: str, cwd: str = "/", *, force: bool = False) -> Node:
        absolute = self.absolute(path, cwd)
        parent, node, name = self._walk(absolute, False)
        if node is not None:
            if not force or node.is_dir:
                raise FsError(EEXIST, path)
            assert parent is not None
            del parent.children[name]
        return self._add(absolute, Node(LINK, 0o777, target=target))

    def _add(self, absolute: str, node: Node) -> Node:
        parent_path, name = posixpath.split(absolute)
        parent = self.lookup(parent_path)
        if parent is None:
            raise FsError(ENOENT, absolute)
        if not parent.is_dir:
            raise FsError(ENOTDIR, absolute)
        parent.children[name] = node
        parent.mtime = time.time()
        return node

    def remove(self, path: str, cwd: str = "/", *, recursive: bool = False) -> None:
        target = self.absolute(path, cwd)
        if target == "/":
            raise FsError(EBUSY, path)
        parent, node, name = self._walk(target, False)
        if node is None or parent is None:
            raise FsError(ENOENT, path)
        if node.is_dir and not recursive:
            raise FsError(EISDIR, path)
        del parent.children[name]

    def rmdir(self, path: str, cwd: str = "/") -> None:
        node = self.stat(path, cwd, follow=False)
        if not node.is_dir:
            raise FsError(ENOTDIR, path)
        if node.children:
            raise FsError(ENOTEMPTY, path)
        self.remove(path, cwd, recursive=True)

    def copy(self, source: str, dest: str, cwd: str = "/", *, recursive: bool = False) -> None:
        """``cp [-r] source dest``: into ``dest`` when it is a directory, else as ``dest``."""
        node = self.stat(source, cwd)
        dest_node = self.lookup(dest, cwd)
        target = self.absolute(dest, cwd)
        if dest_node is not None and dest_node.is_dir:
            target = posixpath.join(target, posixpath.basename(self.absolute(source, cwd)))
        if node.is_dir:
            if not recursive:
                raise FsError("-r not specified; omitting directory", source)
            source_abs = self.absolute(source, cwd)
            if target == source_abs or target.startswith(source_abs + "/"):
                raise FsError("cannot copy a directory into itself", source)
            for path, entry in list(self.walk(source_abs)):
                relative = posixpath.relpath(path, source_abs)
                destination = self.absolute(relative, target) if relative != "." else target
                if entry.is_dir:
                    if not self.is_dir(destination):
                        self.mkdir(destination, mode=entry.mode, owner=entry.owner, group=entry.group)
                elif entry.kind == LINK:
                    self.symlink(entry.target, destination, force=True)
                else:
                    self.write(destination, entry.data, mode=entry.mode)
            return
        self.write(target, node.data, mode=node.mode)

    def move(self, source: str, dest: str, cwd: str = "/") -> None:
        source_abs = self.absolute(source, cwd)
        parent, node, name = self._walk(source_abs, False)
        if node is None or parent is None:
            raise FsError(ENOENT, source)
        target = self.absolute(dest, cwd)
        dest_node = self.lookup(target)
        if dest_node is not None and dest_node.is_dir:
            target = posixpath.join(target, name)
        if target == source_abs:
            return
        if target.startswith(source_abs + "/"):
            raise FsError("cannot move a directory into itself", source)
        existing = self.lookup(target, follow=False)
        if existing is not None and existing.is_dir and node.is_dir and existing.children:
            raise FsError(ENOTEMPTY, dest)
        del parent.children[name]
        new_parent, new_name = posixpath.split(target)
        holder = self.lookup(new_parent)
        if holder is None or not holder.is_dir:
            parent.children[name] = node
            raise FsError(ENOENT, dest)
        holder.children[new_name] = node

    def chmod(self, path: str, mode: int, cwd: str = "/") -> None:
        self.stat(path, cwd).mode = mode & 0o7777

    def chown(self, path: str, owner: str | None, group: str | None, cwd: str = "/") -> None:
        node = self.stat(path, cwd)
        if owner:
            node.owner = owner
        if group:
            node.group = group
