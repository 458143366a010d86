from __future__ import annotations

from pathlib import Path

import pytest

from docket_core.store import Store, blob_key


class TestKeys:
    @pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/./b", ""])
    def test_keys_that_could_escape_the_root_are_refused(self, store: Store, key: str) -> None:
        with pytest.raises(ValueError, match="store key must be a relative path"):
            store.path(key)

    def test_blobs_are_addressed_by_their_sha256(self) -> None:
        assert blob_key("ab" + "0" * 62) == "objects/sha256/ab/ab" + "0" * 62


class TestAtomicWrites:
    def test_bytes_written_read_back_the_same(self, store: Store) -> None:
        store.put_bytes("a/b.bin", b"hello")
        assert store.read_bytes("a/b.bin") == b"hello"
        assert store.list("a") == ["a/b.bin"]

    def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(self, store: Store) -> None:
        with pytest.raises(RuntimeError):
            with store.writer("out/part.parquet") as fh:
                fh.write(b"half")
                raise RuntimeError("crash mid-write")
        assert not store.exists("out/part.parquet")
        assert list(Path(store.root).rglob("*")) == [Path(store.root) / "out"]

    def test_a_write_replaces_the_old_object_whole(self, store: Store) -> None:
        store.put_bytes("k", b"old")
        with store.writer("k") as fh:
            fh.write(b"new")
            assert store.read_bytes("k") == b"old"  # readers see the old object until the write ends
        assert store.read_bytes("k") == b"new"

    def test_the_memory_filesystem_works_the_same(self, memory_store: Store, tmp_path: Path) -> None:
        src = tmp_path / "f.bin"
        src.write_bytes(b"x" * 10)
        memory_store.put_file(src, "objects/x")
        with memory_store.writer("parts/p1") as fh:
            fh.write(b"abc")
        assert memory_store.read_bytes("objects/x") == b"x" * 10
        assert memory_store.read_bytes("parts/p1") == b"abc"
        assert memory_store.list("parts") == ["parts/p1"]


class TestLocalBlob:
    @pytest.mark.parametrize("where", ["folder", "memory"])
    def test_a_blob_is_a_readable_local_file_wherever_the_store_is(self, store: Store, where: str) -> None:
        import hashlib
        import uuid

        from docket_core.store import local_blob

        target = store if where == "folder" else Store(f"memory://docket-test-{uuid.uuid4().hex}")
        data = b"%PDF-1.7 not really" * 1000
        digest = hashlib.sha256(data).hexdigest()
        target.put_bytes(blob_key(digest), data)
        with local_blob(target, digest) as path:
            assert path.read_bytes() == data
            kept = path
        assert kept.exists() == (where == "folder")  # a temporary copy is gone afterwards; the stored file stays
