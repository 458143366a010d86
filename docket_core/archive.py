"""Reading tar bundles safely: list what can be staged, refuse what could escape, stream the bytes.

Nothing here calls `TarFile.extract` or `extractall`: a member's bytes are copied from
`TarFile.extractfile`, which only serves regular files, to a path Docket chose. Links, devices and
FIFOs are reported as unsafe instead of being created, and names are checked before they are used.

A header can declare any size (a 10 KB sparse member may expand to a terabyte): with a size limit,
a member whose declared size is over it is refused before a byte of it is copied, and copying
counts bytes and stops at the limit whatever the header said.
"""

from __future__ import annotations

import lzma
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from docket_core.errors import FileErrorType, InputError
from docket_core.media.sniff import SNIFF_BYTES, sniff_media_type
from docket_core.names import normalize_name

__all__ = ["Member", "RejectedMember", "extract_member", "iter_extracted", "scan_archive"]

_TAR_KINDS = ".tar, .tar.gz, .tar.bz2 or .tar.xz"
_COPY_CHUNK = 1024 * 1024
# Directories are skipped without counting, but a bundle of nothing but directory entries must not
# keep the scan busy forever either.
_ENTRIES_PER_MEMBER = 20
# What reading a corrupt or truncated bundle raises: tarfile's own errors and those it lets through
# from the decompressors (gzip's and bz2's are OSErrors). Only reads are guarded with these, so a
# full disk while writing a member is not mistaken for a corrupt bundle.
_CORRUPT = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError)


@dataclass(frozen=True)
class Member:
    """A regular file in a bundle that may be staged.

    Attributes:
        name: the normalized name it gets in the batch (see `docket_core.names.normalize_name`).
        size: its size in bytes, from the tar header.
        tar_name: its name exactly as stored in the bundle, to find it again.
    """

    name: str
    size: int
    tar_name: str


@dataclass(frozen=True)
class RejectedMember:
    """A bundle entry that will not be staged, with the typed reason.

    `name` is its normalized name when it has a valid one (a member refused for its size), else None.
    """

    tar_name: str
    error_type: FileErrorType
    reason: str
    name: str | None = None


def scan_archive(path: Path, *, max_members: int, max_member_bytes: int | None = None) -> list[Member | RejectedMember]:
    """List a tar bundle's entries in archive order: files to stage and entries refused one by one.

    Directories are skipped. Symlinks, hardlinks, devices, FIFOs and names that are absolute or
    contain `..` are `UNSAFE_ARCHIVE_MEMBER`; other unusable names are `INVALID_FILE_NAME`; a second
    entry with the same normalized name is `DUPLICATE_FILE_NAME`; a file whose header declares more
    than `max_member_bytes` is `FILE_SIZE_LIMIT_EXCEEDED` (nothing is read of it). The result is the
    same for the same bundle, so callers may slice it into shards by position.

    Raises:
        InputError: the file is not a (plain, gzip, bzip2 or xz) tar archive; it is corrupt or
            truncated (a cut-short upload refuses the whole bundle); or it holds more than
            `max_members` entries other than directories (counting stops at the first one over).
    """
    entries: list[Member | RejectedMember] = []
    seen: dict[str, str] = {}
    counted = 0
    scanned = 0
    with _open_tar(path, "r:*") as tar:
        for info in _entries(tar, path):
            scanned += 1
            if scanned > max(1000, max_members * _ENTRIES_PER_MEMBER):
                raise InputError(
                    f"bundle has more than {scanned - 1} entries, at most {max_members} files are allowed; split it"
                )
            if info.isdir():
                continue
            counted += 1
            if counted > max_members:
                raise InputError(
                    f"bundle has more than {max_members} files, at most {max_members} are allowed; "
                    f"split it into bundles of at most {max_members} files"
                )
            entry = _classify(info, seen)
            if isinstance(entry, Member) and max_member_bytes is not None and entry.size > max_member_bytes:
                entry = _too_large(entry, entry.size, max_member_bytes, "declares")
            entries.append(entry)
    return entries


def _too_large(member: Member, size: int, limit: int, verb: str) -> RejectedMember:
    reason = f"bundle entry {verb} {size} bytes, the limit for a file of this batch is {limit} bytes"
    return RejectedMember(member.tar_name, FileErrorType.FILE_SIZE_LIMIT_EXCEEDED, reason, member.name)


def _classify(info: tarfile.TarInfo, seen: dict[str, str]) -> Member | RejectedMember:
    raw = info.name

    def rejected(error_type: FileErrorType, reason: str) -> RejectedMember:
        return RejectedMember(tar_name=raw, error_type=error_type, reason=reason)

    unsafe = FileErrorType.UNSAFE_ARCHIVE_MEMBER
    if info.issym():
        return rejected(unsafe, f"bundle entries must be regular files, got a symlink to {info.linkname!r}")
    if info.islnk():
        return rejected(unsafe, f"bundle entries must be regular files, got a hardlink to {info.linkname!r}")
    if info.ischr() or info.isblk():
        return rejected(unsafe, "bundle entries must be regular files, got a device")
    if info.isfifo():
        return rejected(unsafe, "bundle entries must be regular files, got a FIFO")
    if not info.isreg():
        return rejected(unsafe, f"bundle entries must be regular files, got tar entry type {info.type!r}")
    slashed = raw.replace("\\", "/")
    if slashed.startswith("/") or (len(slashed) > 2 and slashed[1] == ":" and slashed[2] == "/"):
        return rejected(unsafe, f"bundle entry names must be relative, got absolute {raw!r}")
    if ".." in slashed.split("/"):
        return rejected(unsafe, f"bundle entry names must not contain '..', got {raw!r}")
    try:
        raw.encode("utf-8")
        name = normalize_name(raw)
    except UnicodeEncodeError:
        # tarfile decodes names with surrogateescape: a lone surrogate means the bytes were not UTF-8.
        return rejected(FileErrorType.INVALID_FILE_NAME, f"file name must be UTF-8, got {raw!r}")
    except InputError as exc:
        return rejected(FileErrorType.INVALID_FILE_NAME, str(exc))
    if name in seen:
        earlier = seen[name]
        return rejected(FileErrorType.DUPLICATE_FILE_NAME, f"an earlier entry {earlier!r} has the same name {name!r}")
    seen[name] = raw
    return Member(name=name, size=info.size, tar_name=raw)


def extract_member(path: Path, member: Member, dest: Path) -> None:
    """Copy one member's bytes to `dest` (created or overwritten); links are never followed.

    Reads the bundle up to the member; to get many members use `iter_extracted`, which reads it once.

    Raises:
        InputError: the member is not a regular file in this bundle, or the bundle is corrupt.
    """
    with _open_tar(path, "r:*") as tar:
        for info in _entries(tar, path):
            if info.name == member.tar_name and info.isreg():
                _copy_out(tar, info, dest, path, None)
                return
    raise InputError(f"expected a regular file {member.tar_name!r} in bundle {path.name!r}, found none")


def iter_extracted(
    path: Path, members: Iterable[Member], workdir: Path, *, max_bytes: int | None = None
) -> Iterator[tuple[Member, Path | RejectedMember]]:
    """Yield `(member, temporary path)` for each wanted member, in archive order, in one pass.

    The bundle is read as a stream (a compressed one is decompressed once) and reading stops after
    the last wanted member. Each temporary file keeps the member's extension and is deleted when
    the consumer asks for the next one or stops; the consumer may move it away first.

    With `max_bytes`, a member larger than that, by its header here or by the bytes it turns out
    to hold, is yielded with a `FILE_SIZE_LIMIT_EXCEEDED` rejection instead of a path: it is not
    copied beyond `max_bytes`, and what was copied is deleted at once.

    Raises:
        InputError: the bundle is corrupt, or some members were not found in it.
    """
    pending = {m.tar_name: m for m in members}
    if not pending:
        return
    with _open_tar(path, "r|*") as tar:
        for info in _entries(tar, path):
            member = pending.get(info.name)
            if member is None or not info.isreg():
                continue
            del pending[info.name]
            if max_bytes is not None and info.size > max_bytes:
                yield member, _too_large(member, info.size, max_bytes, "declares")
                if not pending:
                    return
                continue
            fd, tmp = tempfile.mkstemp(dir=workdir, prefix="member-", suffix=_safe_suffix(member.name))
            os.close(fd)
            temp = Path(tmp)
            try:
                try:
                    _copy_out(tar, info, temp, path, max_bytes)
                except _OverLimit:
                    temp.unlink(missing_ok=True)
                    assert max_bytes is not None
                    yield member, _too_large(member, max_bytes + 1, max_bytes, "holds at least")
                else:
                    yield member, temp
            finally:
                temp.unlink(missing_ok=True)
            if not pending:
                return
    missing = ", ".join(repr(name) for name in sorted(pending)[:5])
    raise InputError(f"expected {len(pending)} more regular file(s) in bundle {path.name!r}, missing {missing}")


def _corrupt(path: Path, exc: BaseException) -> InputError:
    return InputError(f"expected a readable tar archive, got a corrupt or truncated one ({path.name!r}: {exc})")


def _entries(tar: tarfile.TarFile, path: Path) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            info = tar.next()
        except _CORRUPT as exc:
            raise _corrupt(path, exc) from exc
        if info is None:
            return
        yield info


class _OverLimit(Exception):
    """Raised by `_copy_out` when a member holds more bytes than allowed."""


def _copy_out(tar: tarfile.TarFile, info: tarfile.TarInfo, dest: Path, path: Path, max_bytes: int | None) -> None:
    source = tar.extractfile(info)
    if source is None:  # only regular files reach here; tarfile returns None for anything else
        raise InputError(f"expected a regular file, got tar entry {info.name!r} of type {info.type!r}")
    written = 0
    with source, open(dest, "wb") as out:
        while True:
            step = _COPY_CHUNK if max_bytes is None else min(_COPY_CHUNK, max_bytes + 1 - written)
            try:
                chunk = source.read(step)
            except _CORRUPT as exc:
                raise _corrupt(path, exc) from exc
            if not chunk:
                return
            written += len(chunk)
            if max_bytes is not None and written > max_bytes:
                raise _OverLimit  # counted, whatever the header said: never more than max_bytes on disk
            out.write(chunk)


def _safe_suffix(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    return suffix if len(suffix) <= 16 and suffix.isascii() and suffix[1:].isalnum() else ""


def _open_tar(path: Path, mode: str) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode)  # type: ignore[call-overload]
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
        kind = sniff_media_type(head, path.name)
        got = f"{kind} content" if kind else f"something else ({exc})"
        if not head:
            got = "an empty file"
        raise InputError(f"expected a tar archive ({_TAR_KINDS}), got {path.name!r}: {got}") from exc
