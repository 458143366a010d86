"""docket_core.archive: scanning, refusing unsafe entries, and streaming members out of real bundles."""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from docket_core.archive import Member, RejectedMember, extract_member, iter_extracted, scan_archive
from docket_core.errors import FileErrorType, InputError
from docket_core.samples import make_evil_tar, make_tar
from tests.hostile import MiB, sparse_tar, targz_of_zeros, written_bytes

FILES = {"a/one.jpg": b"first" * 100, "b/one.jpg": b"second" * 100, "three.png": b"third" * 1000}
SUFFIXES = [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"]


def raw_tar(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    """A plain tar written with tarfile directly, for names `make_tar` would not produce."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


class TestScanArchive:
    @pytest.mark.parametrize("suffix", SUFFIXES)
    def test_every_tar_compression_lists_its_files_in_archive_order(self, tmp_path: Path, suffix: str) -> None:
        bundle = make_tar(tmp_path / f"bundle{suffix}", FILES)
        assert scan_archive(bundle, max_members=10) == [
            Member(name=name, size=len(data), tar_name=name) for name, data in FILES.items()
        ]

    def test_names_are_normalized_and_the_tar_name_kept(self, tmp_path: Path) -> None:
        bundle = raw_tar(tmp_path / "b.tar", [("./photos//x.jpg", b"x"), ("caf\u0065\u0301.jpg", b"y")])
        assert scan_archive(bundle, max_members=10) == [
            Member(name="photos/x.jpg", size=1, tar_name="./photos//x.jpg"),
            Member(name="caf\u00e9.jpg", size=1, tar_name="caf\u0065\u0301.jpg"),
        ]

    def test_the_evil_bundle_yields_one_file_and_a_typed_refusal_for_each_trap(self, tmp_path: Path) -> None:
        entries = scan_archive(make_evil_tar(tmp_path / "evil.tar"), max_members=10)
        members = [e for e in entries if isinstance(e, Member)]
        refused = {e.tar_name: e for e in entries if isinstance(e, RejectedMember)}
        assert [m.name for m in members] == ["photos/good.jpg"]
        assert set(refused) == {"../escape.jpg", "/etc/x.jpg", "link.jpg", "hard.jpg", "pipe.jpg", "null.jpg"}
        assert {e.error_type for e in refused.values()} == {FileErrorType.UNSAFE_ARCHIVE_MEMBER}
        assert "'..'" in refused["../escape.jpg"].reason
        assert "absolute" in refused["/etc/x.jpg"].reason
        assert "symlink to '/etc/passwd'" in refused["link.jpg"].reason
        assert "hardlink to 'photos/good.jpg'" in refused["hard.jpg"].reason
        assert "FIFO" in refused["pipe.jpg"].reason
        assert "device" in refused["null.jpg"].reason

    def test_a_block_device_and_a_windows_absolute_name_are_unsafe(self, tmp_path: Path) -> None:
        bundle = tmp_path / "b.tar"
        with tarfile.open(bundle, "w") as tar:
            device = tarfile.TarInfo("disk.jpg")
            device.type = tarfile.BLKTYPE
            tar.addfile(device)
            windows = tarfile.TarInfo("C:/Windows/x.jpg")
            windows.size = 1
            tar.addfile(windows, io.BytesIO(b"x"))
        entries = scan_archive(bundle, max_members=10)
        assert [(e.tar_name, e.error_type) for e in entries if isinstance(e, RejectedMember)] == [
            ("disk.jpg", FileErrorType.UNSAFE_ARCHIVE_MEMBER),
            ("C:/Windows/x.jpg", FileErrorType.UNSAFE_ARCHIVE_MEMBER),
        ]

    def test_a_name_normalize_name_refuses_is_an_invalid_file_name(self, tmp_path: Path) -> None:
        bundle = raw_tar(tmp_path / "b.tar", [("bad\x07name.jpg", b"x"), ("x" * 1100 + ".jpg", b"y")])
        entries = scan_archive(bundle, max_members=10)
        assert [e.error_type for e in entries] == [FileErrorType.INVALID_FILE_NAME] * 2
        assert "control characters" in entries[0].reason  # type: ignore[union-attr]

    def test_a_name_that_is_not_utf8_is_an_invalid_file_name(self, tmp_path: Path) -> None:
        bundle = tmp_path / "b.tar"
        with tarfile.open(bundle, "w", format=tarfile.USTAR_FORMAT, encoding="latin-1") as tar:
            info = tarfile.TarInfo("caf\u00e9.jpg")  # stored as the single latin-1 byte 0xE9
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        [entry] = scan_archive(bundle, max_members=10)
        assert isinstance(entry, RejectedMember)
        assert entry.error_type == FileErrorType.INVALID_FILE_NAME
        assert "UTF-8" in entry.reason

    def test_a_second_entry_with_the_same_normalized_name_is_a_duplicate(self, tmp_path: Path) -> None:
        bundle = raw_tar(tmp_path / "b.tar", [("a.jpg", b"1"), ("./a.jpg", b"2")])
        first, second = scan_archive(bundle, max_members=10)
        assert first == Member(name="a.jpg", size=1, tar_name="a.jpg")
        assert second == RejectedMember(
            tar_name="./a.jpg",
            error_type=FileErrorType.DUPLICATE_FILE_NAME,
            reason="an earlier entry 'a.jpg' has the same name 'a.jpg'",
        )

    def test_directories_are_skipped_without_counting(self, tmp_path: Path) -> None:
        bundle = tmp_path / "b.tar"
        with tarfile.open(bundle, "w") as tar:
            for folder in ("a", "a/b", "c"):
                info = tarfile.TarInfo(folder)
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            info = tarfile.TarInfo("a/b/x.jpg")
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        assert scan_archive(bundle, max_members=1) == [Member(name="a/b/x.jpg", size=1, tar_name="a/b/x.jpg")]

    def test_more_files_than_allowed_refuses_the_whole_bundle(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar", {f"f{i}.jpg": b"x" for i in range(4)})
        assert len(scan_archive(bundle, max_members=4)) == 4
        with pytest.raises(InputError, match=r"^bundle has more than 3 files, at most 3 are allowed; split it"):
            scan_archive(bundle, max_members=3)

    def test_refused_entries_count_towards_the_limit(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match=r"more than 5 files"):
            scan_archive(make_evil_tar(tmp_path / "evil.tar"), max_members=5)

    def test_counting_stops_at_the_limit_without_reading_the_rest(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar.gz", {f"f{i}.jpg": os.urandom(2000) for i in range(50)})
        cut = tmp_path / "cut.tar.gz"
        cut.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
        with pytest.raises(InputError, match=r"corrupt or truncated"):
            scan_archive(cut, max_members=100)
        with pytest.raises(InputError, match=r"more than 3 files"):
            scan_archive(cut, max_members=3)

    @pytest.mark.parametrize(
        ("content", "got"),
        [
            (b"just some text, not a bundle\n" * 40, "something else"),
            (b"PK\x03\x04" + bytes(600), "application/zip content"),
            (b"", "an empty file"),
        ],
    )
    def test_something_that_is_not_a_tar_is_refused_whole(self, tmp_path: Path, content: bytes, got: str) -> None:
        path = tmp_path / "upload.tar"
        path.write_bytes(content)
        with pytest.raises(InputError, match=rf"^expected a tar archive \(\.tar, \.tar\.gz, .*\), got 'upload.tar': {got}"):
            scan_archive(path, max_members=10)

    @pytest.mark.parametrize("suffix", [".tar", ".tar.xz"])
    def test_a_bundle_cut_short_is_refused_whole(self, tmp_path: Path, suffix: str) -> None:
        bundle = make_tar(tmp_path / f"b{suffix}", {"a.jpg": b"a" * 600, "b.jpg": os.urandom(50_000)})
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(bundle.read_bytes()[: bundle.stat().st_size - 20_000])
        with pytest.raises(InputError, match=rf"^expected a readable tar archive, got a corrupt or truncated one \('cut{suffix}'"):
            scan_archive(cut, max_members=10)


class TestExtractMember:
    @pytest.mark.parametrize("suffix", [".tar", ".tar.xz"])
    def test_it_writes_the_member_bytes_to_dest(self, tmp_path: Path, suffix: str) -> None:
        bundle = make_tar(tmp_path / f"b{suffix}", FILES)
        member = scan_archive(bundle, max_members=10)[1]
        dest = tmp_path / "out.bin"
        extract_member(bundle, member, dest)  # type: ignore[arg-type]
        assert dest.read_bytes() == FILES["b/one.jpg"]

    def test_a_link_is_never_followed_even_when_asked_for_by_name(self, tmp_path: Path) -> None:
        bundle = make_evil_tar(tmp_path / "evil.tar")
        dest = tmp_path / "out.bin"
        for tar_name in ("link.jpg", "hard.jpg"):
            with pytest.raises(InputError, match=rf"expected a regular file '{tar_name}' in bundle 'evil.tar', found none"):
                extract_member(bundle, Member(name=tar_name, size=0, tar_name=tar_name), dest)
        assert not dest.exists()

    def test_the_good_member_of_the_evil_bundle_extracts(self, tmp_path: Path) -> None:
        bundle = make_evil_tar(tmp_path / "evil.tar")
        [good] = [e for e in scan_archive(bundle, max_members=10) if isinstance(e, Member)]
        extract_member(bundle, good, tmp_path / "good.jpg")
        assert (tmp_path / "good.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
        assert not (tmp_path / "escape.jpg").exists()


class TestIterExtracted:
    def test_members_arrive_in_archive_order_with_their_bytes(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar.bz2", FILES)
        members = [e for e in scan_archive(bundle, max_members=10) if isinstance(e, Member)]
        workdir = tmp_path / "work"
        workdir.mkdir()
        seen = [(m.name, p.read_bytes(), p.suffix) for m, p in iter_extracted(bundle, reversed(members), workdir)]
        assert seen == [(name, data, Path(name).suffix) for name, data in FILES.items()]

    def test_each_temporary_file_is_deleted_when_the_consumer_moves_on_or_stops(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar.gz", FILES)
        members = [e for e in scan_archive(bundle, max_members=10) if isinstance(e, Member)]
        workdir = tmp_path / "work"
        workdir.mkdir()
        stream = iter_extracted(bundle, members, workdir)
        _, first = next(stream)
        assert first.parent == workdir and first.exists()
        _, second = next(stream)
        assert not first.exists() and second.exists()
        stream.close()
        assert list(workdir.iterdir()) == []

    def test_a_temporary_file_the_consumer_moved_away_is_fine(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar", FILES)
        members = [e for e in scan_archive(bundle, max_members=10) if isinstance(e, Member)]
        kept = tmp_path / "kept"
        kept.mkdir()
        for member, path in iter_extracted(bundle, members, tmp_path):
            path.rename(kept / member.name.replace("/", "_"))
        assert sorted(p.name for p in kept.iterdir()) == ["a_one.jpg", "b_one.jpg", "three.png"]

    def test_a_compressed_bundle_is_read_in_one_forward_pass(self, tmp_path: Path) -> None:
        # A FIFO can be read once, front to back, and never seeked: it proves a single pass.
        bundle = make_tar(tmp_path / "b.tar.gz", FILES)
        members = [e for e in scan_archive(bundle, max_members=10) if isinstance(e, Member)]
        fifo = tmp_path / "bundle.tar.gz"
        bundle.rename(tmp_path / "real.tar.gz")
        os.mkfifo(fifo)

        def feed() -> None:
            with open(fifo, "wb") as pipe:
                pipe.write((tmp_path / "real.tar.gz").read_bytes())

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        got = {m.name: p.read_bytes() for m, p in iter_extracted(fifo, members, tmp_path)}
        feeder.join(timeout=10)
        assert got == FILES

    def test_reading_stops_after_the_last_wanted_member(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar.gz", {"first.jpg": b"1" * 100, **{f"f{i}": os.urandom(3000) for i in range(30)}})
        [first, *_] = scan_archive(bundle, max_members=100)
        cut = tmp_path / "cut.tar.gz"
        cut.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
        assert [m.name for m, _ in iter_extracted(cut, [first], tmp_path)] == ["first.jpg"]  # type: ignore[list-item]

    def test_a_corrupt_bundle_raises_an_input_error(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar.gz", {f"f{i}": os.urandom(3000) for i in range(30)})
        members = [e for e in scan_archive(bundle, max_members=100) if isinstance(e, Member)]
        cut = tmp_path / "cut.tar.gz"
        cut.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
        with pytest.raises(InputError, match=r"corrupt or truncated one \('cut.tar.gz'"):
            list(iter_extracted(cut, members, tmp_path))

    def test_members_missing_from_the_bundle_are_reported(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar", FILES)
        ghost = Member(name="ghost.jpg", size=1, tar_name="ghost.jpg")
        with pytest.raises(InputError, match=r"expected 1 more regular file\(s\) in bundle 'b.tar', missing 'ghost.jpg'"):
            list(iter_extracted(bundle, [ghost], tmp_path))

    def test_nothing_wanted_reads_nothing(self, tmp_path: Path) -> None:
        assert list(iter_extracted(tmp_path / "does-not-exist.tar", [], tmp_path)) == []


class TestDeclaredAndActualSizes:
    """A header may declare any size; nothing over the limit is copied (issue 11, item 2)."""

    def test_a_sparse_member_declaring_a_gib_is_refused_by_its_header(self, tmp_path: Path) -> None:
        bundle = tmp_path / "sparse.tar"
        bundle.write_bytes(sparse_tar("big.jpg", 1 << 30))
        assert bundle.stat().st_size == 10240
        [refused] = scan_archive(bundle, max_members=10, max_member_bytes=MiB)
        assert refused == RejectedMember(
            "big.jpg", FileErrorType.FILE_SIZE_LIMIT_EXCEEDED,
            "bundle entry declares 1073741824 bytes, the limit for a file of this batch is 1048576 bytes", "big.jpg",
        )  # fmt: skip
        assert scan_archive(bundle, max_members=10) == [Member("big.jpg", 1 << 30, "big.jpg")]  # no limit: as before

    def test_extracting_checks_the_header_again_and_writes_nothing(self, tmp_path: Path) -> None:
        bundle = tmp_path / "sparse.tar"
        bundle.write_bytes(sparse_tar("big.jpg", 1 << 30))
        believed = Member("big.jpg", 10, "big.jpg")  # what a stale or tampered scan said
        workdir = tmp_path / "work"
        workdir.mkdir()
        before = written_bytes()
        [(member, got)] = list(iter_extracted(bundle, [believed], workdir, max_bytes=MiB))
        assert member == believed and isinstance(got, RejectedMember)
        assert got.error_type == FileErrorType.FILE_SIZE_LIMIT_EXCEEDED and "declares 1073741824 bytes" in got.reason
        assert written_bytes() - before < MiB
        assert list(workdir.iterdir()) == []

    def test_a_targz_of_zeros_far_over_the_cap_is_refused_and_never_written(self, tmp_path: Path) -> None:
        bundle = tmp_path / "zeros.tar.gz"
        bundle.write_bytes(targz_of_zeros("zeros.jpg", 64))
        assert bundle.stat().st_size < 80 * 1024
        [refused] = scan_archive(bundle, max_members=10, max_member_bytes=MiB)
        assert (refused.error_type, refused.name) == (FileErrorType.FILE_SIZE_LIMIT_EXCEEDED, "zeros.jpg")
        workdir = tmp_path / "work"
        workdir.mkdir()
        before = written_bytes()
        [(_, got)] = list(iter_extracted(bundle, [Member("zeros.jpg", 1, "zeros.jpg")], workdir, max_bytes=MiB))
        assert isinstance(got, RejectedMember) and "declares 67108864 bytes" in got.reason
        assert written_bytes() - before < MiB and list(workdir.iterdir()) == []

    def test_a_member_over_the_limit_is_refused_alone_and_the_next_one_extracts(self, tmp_path: Path) -> None:
        bundle = make_tar(tmp_path / "b.tar.gz", {"a.jpg": b"a" * (3 * MiB), "b.jpg": b"b" * 100})
        members = [e for e in scan_archive(bundle, max_members=10) if isinstance(e, Member)]
        workdir = tmp_path / "work"
        workdir.mkdir()
        before = written_bytes()
        got = [(m.name, p if isinstance(p, RejectedMember) else p.read_bytes())
               for m, p in iter_extracted(bundle, members, workdir, max_bytes=MiB)]  # fmt: skip
        assert written_bytes() - before < MiB
        assert got[0][0] == "a.jpg" and isinstance(got[0][1], RejectedMember)
        assert got[1] == ("b.jpg", b"b" * 100)
        assert list(workdir.iterdir()) == []
