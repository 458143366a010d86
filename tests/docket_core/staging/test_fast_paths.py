"""The staging fast paths: validating and storing bytes already in memory, and the store's folder cache.

A small download arrives as bytes (`FetchOutcome.data`) rather than a file, and staging checks and
stores those bytes without touching the file system; each test here pins that the fast path gives
exactly what the path-based one gives.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pypdf
import pytest
from PIL import Image

from docket_core.errors import FileErrorType
from docket_core.media.inspect import inspect_file
from docket_core.media.types import FileRejected
from docket_core.settings import DocketSettings
from docket_core.staging.ingest import stage_file
from docket_core.store import Store, blob_key
from tests.helpers import image_folder, jpeg_bytes

SETTINGS = DocketSettings()


def image(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 60, 10)).save(buffer, fmt)
    return buffer.getvalue()


def noisy_png() -> bytes:
    """A PNG whose pixel data spans most of the file, so cutting it short cuts the pixels."""
    pixels = np.random.default_rng(1).integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def xml_invoice(items: int = 3) -> bytes:
    return b"<?xml version='1.0'?><invoice>" + b"<item>paper</item>" * items + b"</invoice>"


def verdict(path: Path, *, data: bytes | None = None, kind: str = "images", settings: DocketSettings = SETTINGS, **kw: object) -> tuple:
    """What `inspect_file` says: the accepted media type, or the rejection's type and reason."""
    try:
        return ("accepted", inspect_file(path, batch_kind=kind, settings=settings, data=data, **kw))  # type: ignore[arg-type]
    except FileRejected as rejected:
        return ("rejected", rejected.error_type, rejected.reason)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TestInspectFromMemory:
    @pytest.mark.parametrize(
        ("name", "content", "kind", "media_type"),
        [
            ("a.jpg", image("JPEG"), "images", "image/jpeg"),
            ("a.png", image("PNG"), "images", "image/png"),
            ("a.gif", image("GIF"), "images", "image/gif"),
            ("a.webp", image("WEBP"), "images", "image/webp"),
            ("a.tif", image("TIFF"), "images", "image/tiff"),
            ("a.bmp", image("BMP"), "images", "image/bmp"),
            ("scan.jpg", image("JPEG"), "documents", "image/jpeg"),
            ("a.pdf", pdf(), "documents", "application/pdf"),
            ("a.xml", xml_invoice(), "documents", "application/xml"),
            ("a.xml", b"<invoice/>", "documents", "application/xml"),  # only the name makes it XML
        ],
    )
    def test_valid_content_gets_the_same_media_type_from_bytes_as_from_the_file(
        self, tmp_path: Path, name: str, content: bytes, kind: str, media_type: str
    ) -> None:
        path = tmp_path / name
        path.write_bytes(content)
        from_file = verdict(path, kind=kind)
        assert from_file == ("accepted", media_type)
        assert verdict(path, data=content, kind=kind) == from_file

    @pytest.mark.parametrize(
        ("name", "content", "kind", "error_type"),
        [
            ("empty.jpg", b"", "images", FileErrorType.INVALID_FILE_CONTENT),
            ("cut.jpg", jpeg_bytes(1)[:300], "images", FileErrorType.INVALID_FILE_CONTENT),
            ("no-end.jpg", jpeg_bytes(2)[:-2], "images", FileErrorType.INVALID_FILE_CONTENT),
            ("cut.png", noisy_png()[:2000], "images", FileErrorType.INVALID_FILE_CONTENT),
            ("fake.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "images", FileErrorType.INVALID_FILE_CONTENT),
            ("note.jpg", b"not an image, whatever the name says\n", "images", FileErrorType.UNSUPPORTED_FILE_TYPE),
            ("a.pdf", pdf(), "images", FileErrorType.UNSUPPORTED_FILE_TYPE),
            ("garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 8, "documents", FileErrorType.INVALID_FILE_CONTENT),
            ("broken.xml", b"<?xml version='1.0'?><invoice><item></invoice>", "documents", FileErrorType.INVALID_FILE_CONTENT),
            ("bomb.xml", b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'aaaa'>]><r>&a;</r>", "documents", FileErrorType.INVALID_FILE_CONTENT),
        ],
        ids=lambda value: value if isinstance(value, str) else None,
    )
    def test_bad_content_is_rejected_the_same_way_from_bytes_as_from_the_file(
        self, tmp_path: Path, name: str, content: bytes, kind: str, error_type: FileErrorType
    ) -> None:
        path = tmp_path / name
        path.write_bytes(content)
        from_file = verdict(path, kind=kind)
        assert from_file[:2] == ("rejected", error_type)
        assert verdict(path, data=content, kind=kind) == from_file

    def test_the_size_cap_applies_the_same_to_bytes_and_to_the_file(self, tmp_path: Path) -> None:
        content = jpeg_bytes(4)
        path = tmp_path / "a.jpg"
        path.write_bytes(content)
        tight = DocketSettings(max_image_bytes=len(content) - 1)
        from_file = verdict(path, settings=tight)
        assert from_file == (
            "rejected",
            FileErrorType.FILE_SIZE_LIMIT_EXCEEDED,
            f"file is {len(content)} bytes, the limit for image/jpeg is {len(content) - 1} bytes",
        )
        assert verdict(path, data=content, settings=tight) == from_file

    def test_a_larger_declared_size_counts_the_same_for_bytes(self, tmp_path: Path) -> None:
        content = jpeg_bytes(5)
        path = tmp_path / "a.jpg"
        path.write_bytes(content)
        settings = DocketSettings(max_image_bytes=10_000)
        from_file = verdict(path, settings=settings, declared_size=10_001)
        assert from_file[:2] == ("rejected", FileErrorType.FILE_SIZE_LIMIT_EXCEEDED)
        assert verdict(path, data=content, settings=settings, declared_size=10_001) == from_file

    def test_bytes_are_checked_without_the_path_existing(self, tmp_path: Path) -> None:
        # A download kept in memory never writes its destination; staging still passes that path.
        absent = tmp_path / "never-written"
        assert verdict(absent, data=jpeg_bytes(6)) == ("accepted", "image/jpeg")
        assert verdict(absent, data=b"<invoice/>", kind="documents", name="x.xml") == ("accepted", "application/xml")
        assert verdict(absent, data=jpeg_bytes(6)[:200])[:2] == ("rejected", FileErrorType.INVALID_FILE_CONTENT)
        assert not absent.exists()


class TestStageFromMemory:
    def test_bytes_are_stored_as_the_same_object_as_the_file(self, tmp_path: Path, store: Store) -> None:
        path = image_folder(tmp_path / "in", 1) / "img0000.jpg"
        content = path.read_bytes()
        other_store = Store(str(tmp_path / "other-store"))

        from_file = stage_file(path, "a.jpg", batch_kind="images", settings=SETTINGS, store=store)
        from_memory = stage_file(
            tmp_path / "never-written", "a.jpg", batch_kind="images", settings=SETTINGS, store=other_store, data=content
        )

        assert from_memory == from_file
        assert (from_file.status, from_file.sha256, from_file.size, from_file.media_type) == (
            "ingested", sha256(content), len(content), "image/jpeg",
        )
        key = blob_key(sha256(content))
        assert store.list("objects") == other_store.list("objects") == [key]
        assert store.read_bytes(key) == other_store.read_bytes(key) == content

    def test_a_file_too_big_to_read_at_once_is_streamed_into_the_same_object(self, tmp_path: Path, store: Store) -> None:
        # Past 16 MiB staging streams the file instead of reading it whole.
        content = xml_invoice(items=1_000_000)
        assert len(content) > 16 * 1024 * 1024
        path = tmp_path / "big.xml"
        path.write_bytes(content)
        other_store = Store(str(tmp_path / "other-store"))

        from_file = stage_file(path, "big.xml", batch_kind="documents", settings=SETTINGS, store=store)
        from_memory = stage_file(path, "big.xml", batch_kind="documents", settings=SETTINGS, store=other_store, data=content)

        assert from_memory == from_file
        assert (from_file.status, from_file.sha256, from_file.media_type) == ("ingested", sha256(content), "application/xml")
        key = blob_key(sha256(content))
        assert store.list("objects") == other_store.list("objects") == [key]
        assert sha256(store.read_bytes(key)) == sha256(other_store.read_bytes(key)) == sha256(content)

    def test_staging_the_same_bytes_again_keeps_the_one_object_untouched(self, tmp_path: Path, store: Store) -> None:
        path = image_folder(tmp_path / "in", 1) / "img0000.jpg"
        content = path.read_bytes()
        key = blob_key(sha256(content))

        first = stage_file(path, "a.jpg", batch_kind="images", settings=SETTINGS, store=store, data=content)
        stored = os.stat(store.path(key))
        again = [
            stage_file(path, "a.jpg", batch_kind="images", settings=SETTINGS, store=store, data=content),
            stage_file(path, "copy.jpg", batch_kind="images", settings=SETTINGS, store=store),
            stage_file(tmp_path / "gone", "other.jpg", batch_kind="images", settings=SETTINGS, store=store, data=content),
        ]

        assert {o.sha256 for o in again} == {first.sha256}
        assert store.list("objects") == [key]
        assert os.stat(store.path(key)).st_ino == stored.st_ino  # not rewritten
        assert store.read_bytes(key) == content

    def test_bad_bytes_fail_like_the_bad_file_and_store_nothing(self, tmp_path: Path, store: Store) -> None:
        content = jpeg_bytes(7)[:300]
        path = tmp_path / "cut.jpg"
        path.write_bytes(content)

        from_file = stage_file(path, "cut.jpg", batch_kind="images", settings=SETTINGS, store=store)
        from_memory = stage_file(path, "cut.jpg", batch_kind="images", settings=SETTINGS, store=store, data=content)

        assert from_memory == from_file
        assert (from_file.status, from_file.error_type, from_file.size, from_file.sha256) == (
            "failed", FileErrorType.INVALID_FILE_CONTENT, 300, None,
        )
        assert store.list("objects") == []


class TestStoreFolderCache:
    def test_many_objects_in_one_folder_create_it_once(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        made: list[str] = []
        real_makedirs = os.makedirs

        def makedirs(name: str, *args: object, **kwargs: object) -> None:
            made.append(os.fspath(name))
            real_makedirs(name, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "makedirs", makedirs)
        for i in range(50):
            store.put_bytes(f"objects/sha256/ab/ab{i:062d}", b"%d" % i)
            store.put_bytes(f"objects/sha256/cd/cd{i:062d}", b"%d" % i)

        # makedirs also calls itself for missing parents: count the folders asked for by name.
        assert made.count(store.path("objects/sha256/ab")) == 1
        assert made.count(store.path("objects/sha256/cd")) == 1
        assert len(made) == len(set(made))  # no folder asked for twice
        assert len(store.list("objects")) == 100
        assert store.read_bytes(f"objects/sha256/ab/ab{49:062d}") == b"49"

    @pytest.mark.parametrize("removed", ["objects/sha256/ab", "objects", "the store root"])
    @pytest.mark.parametrize("write", ["put_bytes", "put_file", "writer"])
    def test_a_write_after_its_folder_was_removed_makes_it_again(
        self, store: Store, tmp_path: Path, removed: str, write: str
    ) -> None:
        src = tmp_path / "src.bin"

        def put(target: Store, key: str, data: bytes) -> None:
            if write == "put_bytes":
                target.put_bytes(key, data)
            elif write == "put_file":
                src.write_bytes(data)
                target.put_file(src, key)
            else:
                with target.writer(key) as fh:
                    fh.write(data)

        put(store, "objects/sha256/ab/first", b"one")
        shutil.rmtree(store.root if removed == "the store root" else store.path(removed))

        put(store, "objects/sha256/ab/second", b"two")  # the folder is still in this store's cache
        put(Store(store.url), "objects/sha256/ab/third", b"three")  # a fresh store has no cache

        assert store.list("objects") == ["objects/sha256/ab/second", "objects/sha256/ab/third"]
        assert (store.read_bytes("objects/sha256/ab/second"), store.read_bytes("objects/sha256/ab/third")) == (b"two", b"three")
        # No temporary file is left behind by the retry.
        assert sorted(p.name for p in Path(store.path("objects/sha256/ab")).iterdir()) == ["second", "third"]
