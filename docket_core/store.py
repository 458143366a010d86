"""The object store: staged bytes, job outputs and exports, over any fsspec filesystem.

Keys are `/`-separated paths relative to the store root. Writes are atomic: a reader sees the whole
object or nothing (local folders: write a temporary sibling, fsync, rename; object stores: one put).
Staged files are content-addressed (`objects/sha256/ab/abcdef...`), so names from outside never
become paths in the store and the same bytes are stored once.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

__all__ = ["Store", "blob_key", "local_blob", "open_store"]

# Temporary names must not collide between threads, processes, and machines sharing a store folder:
# a random prefix per import, the process id (forks keep the prefix) and a counter. Cheaper than a
# uuid4 per file, which reads the system's random source every time.
_TMP_PREFIX = uuid.uuid4().hex[:12]
_tmp_numbers = itertools.count()


def blob_key(sha256: str) -> str:
    """Where the bytes with this sha256 live in the store."""
    return f"objects/sha256/{sha256[:2]}/{sha256}"


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"store key must be a relative path without '.', '..' or empty parts, got {key!r}")
    return key


class Store:
    """A folder-like view of an fsspec filesystem rooted at `url`."""

    def __init__(self, url: str, *, fsync: bool = False, **storage_options: Any) -> None:
        self.url = url
        # Rename alone already hides half-written files from readers and survives a killed process;
        # fsync adds survival of a power cut at a large cost per small file, so it is opt-in.
        self.fsync = fsync
        self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.root = root.rstrip("/")
        self.is_local = isinstance(self.fs, LocalFileSystem)
        # Folders this process has made or seen under the root: staging writes thousands of blobs
        # into 256 folders, and asking the filesystem for each one again costs a system call per file.
        self._folders: set[str] = set()
        if self.is_local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> str:
        """The filesystem path of `key` (for fsspec-aware readers such as pyarrow and DuckDB)."""
        return posixpath.join(self.root, _check_key(key))

    def uri(self, key: str) -> str:
        """A URL for `key` that tools outside Docket can open."""
        path = self.path(key)
        if self.is_local:
            return path
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{path.lstrip('/')}" if protocol != "memory" else f"memory://{path}"

    def exists(self, key: str) -> bool:
        if self.is_local:  # what fsspec's local exists() does, without its stat-to-dict overhead
            return os.path.exists(self.path(key))
        return self.fs.exists(self.path(key))

    def size(self, key: str) -> int:
        return int(self.fs.size(self.path(key)))

    def read_bytes(self, key: str) -> bytes:
        return self.fs.cat_file(self.path(key))

    @contextmanager
    def open(self, key: str, mode: str = "rb") -> Iterator[IO[bytes]]:
        if "r" not in mode:
            raise ValueError("Store.open is for reading; write with put_bytes, put_file or writer()")
        with self.fs.open(self.path(key), mode) as fh:
            yield fh

    def list(self, prefix: str) -> list[str]:
        """Keys below `prefix` (recursive), sorted."""
        base = self.path(prefix.rstrip("/"))
        if not self.fs.exists(base):
            return []
        found = self.fs.find(base)
        return sorted(posixpath.relpath(p, self.root) for p in found)

    def delete(self, key: str) -> None:
        path = self.path(key)
        if self.fs.exists(path):
            self.fs.rm(path)

    # --- atomic writes -------------------------------------------------------------------------
    def put_bytes(self, key: str, data: bytes) -> None:
        if self.is_local:
            with self._local_atomic(key) as fh:
                fh.write(data)
        else:
            self.fs.pipe_file(self.path(key), data)

    def put_file(self, local_path: str | os.PathLike[str], key: str) -> None:
        if self.is_local:
            with self._local_atomic(key) as fh, open(local_path, "rb") as src:
                shutil.copyfileobj(src, fh, 1024 * 1024)
        else:
            self.fs.put_file(os.fspath(local_path), self.path(key))

    @contextmanager
    def writer(self, key: str) -> Iterator[IO[bytes]]:
        """A binary file to write `key` through; it appears only when the block exits cleanly."""
        if self.is_local:
            with self._local_atomic(key) as fh:
                yield fh
            return
        with tempfile.NamedTemporaryFile(prefix="docket-", suffix=".part") as tmp:
            yield tmp
            tmp.flush()
            self.fs.put_file(tmp.name, self.path(key))

    @contextmanager
    def _local_atomic(self, key: str) -> Iterator[IO[bytes]]:
        final = self.path(key)
        folder, filename = posixpath.split(final)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        tmp = f"{folder}/.{filename}.{_TMP_PREFIX}{os.getpid()}-{next(_tmp_numbers)}.part"
        try:
            with _create(tmp, folder) as fh:
                yield fh
                if self.fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def _create(path: str, folder: str) -> IO[bytes]:
    try:
        return open(path, "wb")
    except FileNotFoundError:  # the folder was removed since this process made it: make it again
        os.makedirs(folder, exist_ok=True)
        return open(path, "wb")


def open_store(url: str, **storage_options: Any) -> Store:
    return Store(url, **storage_options)


@contextmanager
def local_blob(store: Store, sha256: str) -> Iterator[Path]:
    """A local path holding the blob: the stored file itself on a local store, else a temporary copy
    (for steps whose libraries want a file name)."""
    key = blob_key(sha256)
    if store.is_local:
        yield Path(store.path(key))
        return
    with tempfile.NamedTemporaryFile(prefix="docket-blob-") as tmp:
        with store.open(key) as src:
            while chunk := src.read(1024 * 1024):
                tmp.write(chunk)
        tmp.flush()
        yield Path(tmp.name)
