"""docket_core.media: sniffing, the acceptance table, size caps and full decoding, on real files."""

from __future__ import annotations

import io
import os
import pickle
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np
import pypdf
import pytest
from PIL import Image, ImageFile

from docket_core.errors import DocketError, FileErrorType
from docket_core.media import (
    ACCEPTED,
    IMAGE_TYPES,
    VIDEO_TYPES,
    FileRejected,
    inspect_file,
    max_bytes_for,
    sniff_media_type,
)
from docket_core.samples import write_broken_files, write_sample_videos
from docket_core.settings import MiB, DocketSettings

SETTINGS = DocketSettings()
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP",
                  "image/tiff": "TIFF", "image/bmp": "BMP"}  # fmt: skip
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
            "image/tiff": ".tif", "image/bmp": ".bmp"}  # fmt: skip


def image_bytes(media_type: str, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, PILLOW_FORMATS[media_type])
    return buffer.getvalue()


def write_image(tmp_path: Path, media_type: str, name: str | None = None) -> Path:
    path = tmp_path / (name or f"picture{SUFFIXES[media_type]}")
    path.write_bytes(image_bytes(media_type))
    return path


def pdf_bytes(pages: int = 1, *, user_password: str | None = None, owner_password: str | None = None) -> bytes:
    writer = pypdf.PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    if user_password is not None:
        writer.encrypt(user_password=user_password, owner_password=owner_password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def write_video(path: Path, *, container: str, codec: str, frames: int = 5) -> Path:
    with av.open(str(path), mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for n in range(frames):
            pixels = np.full((48, 64, 3), n * 40, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_audio_only_mp4(path: Path) -> Path:
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44100)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for n in range(10):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, n * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def rejection(path: Path, kind: str = "images", settings: DocketSettings = SETTINGS, **kwargs: object) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        inspect_file(path, batch_kind=kind, settings=settings, **kwargs)  # type: ignore[arg-type]
    return caught.value


class TestSniffMediaType:
    @pytest.mark.parametrize(
        ("head", "expected"),
        [
            (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
            (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
            (b"GIF89a\x01\x00\x01\x00", "image/gif"),
            (b"GIF87a\x01\x00\x01\x00", "image/gif"),
            (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
            (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
            (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
            (b"BM\x36\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00", "image/bmp"),
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "application/pdf"),
            (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
            (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "video/quicktime"),
            (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video/webm"),
            (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska", "video/x-matroska"),
            (b"RIFF\x00\x10\x00\x00AVI LIST", "video/x-msvideo"),
            (b'<?xml version="1.0" encoding="UTF-8"?><Invoice/>', "application/xml"),
        ],
    )
    def test_magic_bytes_name_the_type(self, head: bytes, expected: str) -> None:
        assert sniff_media_type(head, "upload.bin") == expected

    def test_bytes_win_over_a_misleading_extension(self) -> None:
        assert sniff_media_type(image_bytes("image/png")[:64], "photo.jpg") == "image/png"
        assert sniff_media_type(b"%PDF-1.4\n", "scan.jpg") == "application/pdf"

    def test_an_extension_alone_names_nothing(self) -> None:
        assert sniff_media_type(b"hello, this is plain text", "photo.jpg") is None
        assert sniff_media_type(b"", "photo.jpg") is None

    def test_xml_without_declaration_needs_the_xml_extension(self) -> None:
        head = b"  \n<Invoice xmlns='urn:x'/>"
        assert sniff_media_type(head, "invoice.xml") == "application/xml"
        assert sniff_media_type(head, "INVOICE.XML") == "application/xml"
        assert sniff_media_type(head, "invoice.txt") is None

    def test_xml_after_a_byte_order_mark_is_xml(self) -> None:
        assert sniff_media_type(b"\xef\xbb\xbf<?xml version='1.0'?><a/>", "x") == "application/xml"
        utf16 = "\ufeff<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16-le")
        assert sniff_media_type(utf16, "x") == "application/xml"

    def test_svg_is_named_as_svg_not_as_an_xml_document(self) -> None:
        assert sniff_media_type(b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "a") == "image/svg+xml"

    def test_matroska_without_a_readable_doctype_falls_back_on_the_extension(self) -> None:
        head = b"\x1a\x45\xdf\xa3\x01\x00\x00\x00\x00\x00\x00\x1f"
        assert sniff_media_type(head, "clip.webm") == "video/webm"
        assert sniff_media_type(head, "clip.mkv") == "video/x-matroska"

    def test_heic_and_zip_are_named_so_rejections_can_say_what_they_are(self) -> None:
        assert sniff_media_type(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "a.heic") == "image/heic"
        assert sniff_media_type(b"PK\x03\x04\x14\x00", "a.docx") == "application/zip"


class TestAcceptanceTable:
    def test_each_kind_accepts_exactly_its_types(self) -> None:
        assert ACCEPTED["images"] == IMAGE_TYPES
        assert ACCEPTED["videos"] == VIDEO_TYPES
        assert ACCEPTED["documents"] == IMAGE_TYPES | {"application/pdf", "application/xml"}

    @pytest.mark.parametrize("media_type", sorted(PILLOW_FORMATS))
    def test_every_image_type_is_accepted_by_image_and_document_batches(self, tmp_path: Path, media_type: str) -> None:
        path = write_image(tmp_path, media_type)
        assert inspect_file(path, batch_kind="images", settings=SETTINGS) == media_type
        assert inspect_file(path, batch_kind="documents", settings=SETTINGS) == media_type
        assert rejection(path, "videos").error_type == FileErrorType.UNSUPPORTED_FILE_TYPE

    def test_a_pdf_is_a_document_only(self, tmp_path: Path) -> None:
        path = tmp_path / "invoice.pdf"
        path.write_bytes(pdf_bytes())
        assert inspect_file(path, batch_kind="documents", settings=SETTINGS) == "application/pdf"
        for kind in ("images", "videos"):
            with pytest.raises(FileRejected, match=rf"content is application/pdf; an? {kind} batch accepts"):
                inspect_file(path, batch_kind=kind, settings=SETTINGS)

    def test_an_xml_invoice_is_a_document_only(self, tmp_path: Path) -> None:
        path = tmp_path / "invoice.xml"
        path.write_bytes(b"<?xml version='1.0' encoding='UTF-8'?>\n<Invoice><ID>42</ID></Invoice>\n")
        assert inspect_file(path, batch_kind="documents", settings=SETTINGS) == "application/xml"
        assert rejection(path, "images").error_type == FileErrorType.UNSUPPORTED_FILE_TYPE

    def test_xml_from_a_temporary_file_uses_the_name_given_for_sniffing(self, tmp_path: Path) -> None:
        path = tmp_path / "download-17"
        path.write_bytes(b"<Invoice><ID>42</ID></Invoice>")
        assert rejection(path, "documents").error_type == FileErrorType.UNSUPPORTED_FILE_TYPE
        assert inspect_file(path, batch_kind="documents", settings=SETTINGS, name="a/inv.xml") == "application/xml"

    @pytest.mark.parametrize(
        ("name", "container", "codec", "expected"),
        [
            ("clip.mp4", "mp4", "mpeg4", "video/mp4"),
            ("clip.mov", "mov", "mpeg4", "video/quicktime"),
            ("clip.mkv", "matroska", "mpeg4", "video/x-matroska"),
            ("clip.webm", "webm", "libvpx", "video/webm"),
            ("clip.avi", "avi", "mpeg4", "video/x-msvideo"),
        ],
    )
    def test_every_video_type_is_accepted_by_video_batches_only(
        self, tmp_path: Path, name: str, container: str, codec: str, expected: str
    ) -> None:
        if codec not in av.codecs_available:
            pytest.skip(f"this PyAV build has no {codec} encoder")
        path = write_video(tmp_path / name, container=container, codec=codec)
        assert inspect_file(path, batch_kind="videos", settings=SETTINGS) == expected
        assert rejection(path, "images").error_type == FileErrorType.UNSUPPORTED_FILE_TYPE
        assert rejection(path, "documents").error_type == FileErrorType.UNSUPPORTED_FILE_TYPE

    def test_the_sample_clip_is_a_valid_mp4(self, tmp_path: Path) -> None:
        [clip] = write_sample_videos(tmp_path, seconds=0.5)
        assert inspect_file(clip, batch_kind="videos", settings=SETTINGS) == "video/mp4"

    def test_an_unknown_type_is_unsupported_and_the_reason_lists_what_is_accepted(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.jpg"
        path.write_text("shopping list: milk, bread\n")
        with pytest.raises(
            FileRejected,
            match=r"content is not a recognised file type \(named \.jpg\).*an images batch accepts image/bmp, image/gif",
        ) as caught:
            inspect_file(path, batch_kind="images", settings=SETTINGS)
        assert caught.value.error_type == FileErrorType.UNSUPPORTED_FILE_TYPE

    def test_a_known_but_unaccepted_type_is_named_in_the_reason(self, tmp_path: Path) -> None:
        path = tmp_path / "photo.heic"
        path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100))
        with pytest.raises(FileRejected, match=r"content is image/heic; an images batch accepts"):
            inspect_file(path, batch_kind="images", settings=SETTINGS)


class TestSizeCaps:
    def test_the_cap_follows_the_media_type(self) -> None:
        settings = DocketSettings(max_image_bytes=1, max_document_bytes=2, max_video_bytes=3)
        assert max_bytes_for("image/png", settings) == 1
        assert max_bytes_for("application/pdf", settings) == 2
        assert max_bytes_for("application/xml", settings) == 2
        assert max_bytes_for("video/webm", settings) == 3

    def test_an_image_over_its_cap_is_rejected_with_both_sizes(self, tmp_path: Path) -> None:
        path = write_image(tmp_path, "image/png")
        settings = DocketSettings(max_image_bytes=1000)
        with pytest.raises(FileRejected, match=r"file is [\d.]+ KiB, the limit for image/png is 1000 bytes") as caught:
            inspect_file(path, batch_kind="images", settings=settings)
        assert caught.value.error_type == FileErrorType.FILE_SIZE_LIMIT_EXCEEDED

    def test_sizes_read_in_mebibytes_at_the_default_cap(self, tmp_path: Path) -> None:
        path = tmp_path / "big.jpg"
        with open(path, "wb") as fh:  # sparse: the size check must come before any decoding
            fh.write(image_bytes("image/jpeg"))
            fh.truncate(int(25.3 * MiB))
        with pytest.raises(FileRejected, match=r"^file-size-limit-exceeded: file is 25\.3 MiB, the limit for image/jpeg is 20 MiB$"):
            inspect_file(path, batch_kind="images", settings=SETTINGS)

    def test_a_size_just_over_the_cap_shows_exact_bytes(self, tmp_path: Path) -> None:
        path = tmp_path / "edge.jpg"
        with open(path, "wb") as fh:
            fh.write(image_bytes("image/jpeg"))
            fh.truncate(20 * MiB + 1)
        with pytest.raises(FileRejected, match=r"file is 20971521 bytes, the limit for image/jpeg is 20971520 bytes"):
            inspect_file(path, batch_kind="images", settings=SETTINGS)

    def test_a_larger_declared_size_counts(self, tmp_path: Path) -> None:
        path = write_image(tmp_path, "image/png")
        settings = DocketSettings(max_image_bytes=100_000)
        assert inspect_file(path, batch_kind="images", settings=settings) == "image/png"
        assert rejection(path, settings=settings, declared_size=200_000).error_type == FileErrorType.FILE_SIZE_LIMIT_EXCEEDED

    def test_documents_and_videos_have_their_own_caps(self, tmp_path: Path) -> None:
        pdf = tmp_path / "a.pdf"
        pdf.write_bytes(pdf_bytes())
        with pytest.raises(FileRejected, match=r"the limit for application/pdf is 10 bytes"):
            inspect_file(pdf, batch_kind="documents", settings=DocketSettings(max_document_bytes=10))
        clip = write_video(tmp_path / "c.mp4", container="mp4", codec="mpeg4")
        with pytest.raises(FileRejected, match=r"the limit for video/mp4 is 10 bytes"):
            inspect_file(clip, batch_kind="videos", settings=DocketSettings(max_video_bytes=10))

    def test_a_scanned_image_in_a_documents_batch_has_the_image_cap(self, tmp_path: Path) -> None:
        path = write_image(tmp_path, "image/png")
        settings = DocketSettings(max_image_bytes=1000, max_document_bytes=10 * MiB)
        assert rejection(path, "documents", settings=settings).error_type == FileErrorType.FILE_SIZE_LIMIT_EXCEEDED

    def test_too_many_pixels_is_a_size_limit_not_a_warning(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = write_image(tmp_path, "image/png")  # 64x48 = 3072 pixels
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # over the limit: Pillow warns
        with pytest.raises(FileRejected, match=r"too many pixels to decode safely") as caught:
            inspect_file(path, batch_kind="images", settings=SETTINGS)
        assert caught.value.error_type == FileErrorType.FILE_SIZE_LIMIT_EXCEEDED
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # over twice the limit: Pillow raises
        assert rejection(path).error_type == FileErrorType.FILE_SIZE_LIMIT_EXCEEDED


class TestInvalidContent:
    def test_an_empty_file_is_invalid(self, tmp_path: Path) -> None:
        path = tmp_path / "empty.pdf"
        path.touch()
        with pytest.raises(FileRejected, match=r"^invalid-file-content: file is empty$"):
            inspect_file(path, batch_kind="documents", settings=SETTINGS)

    @pytest.mark.parametrize("media_type", ["image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff"])
    def test_a_truncated_image_is_invalid(self, tmp_path: Path, media_type: str) -> None:
        data = image_bytes(media_type)
        path = tmp_path / f"cut{SUFFIXES[media_type]}"
        path.write_bytes(data[: len(data) * 2 // 3])
        reject = rejection(path)
        assert reject.error_type == FileErrorType.INVALID_FILE_CONTENT
        assert PILLOW_FORMATS[media_type] in reject.reason

    def test_a_jpeg_missing_only_its_end_marker_is_invalid(self, tmp_path: Path) -> None:
        path = tmp_path / "cut.jpg"
        path.write_bytes(image_bytes("image/jpeg")[:-2])
        with pytest.raises(FileRejected, match=r"JPEG image does not decode: image file is truncated"):
            inspect_file(path, batch_kind="images", settings=SETTINGS)

    @pytest.mark.parametrize("cut", [12, 20])
    def test_a_png_missing_its_end_chunk_is_invalid_and_one_with_bytes_after_it_is_not(self, tmp_path: Path, cut: int) -> None:
        whole = image_bytes("image/png")
        path = tmp_path / "cut.png"
        path.write_bytes(whole[:-cut])
        with pytest.raises(FileRejected, match=r"PNG image is truncated: its IEND chunk is missing"):
            inspect_file(path, batch_kind="images", settings=SETTINGS)
        path.write_bytes(whole + b"\n")  # some tools append a newline or a signature after IEND
        assert inspect_file(path, batch_kind="images", settings=SETTINGS) == "image/png"

    def test_an_image_header_over_garbage_is_invalid(self, tmp_path: Path) -> None:
        path = tmp_path / "fake.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
        assert rejection(path).error_type == FileErrorType.INVALID_FILE_CONTENT

    def test_loading_truncated_images_is_refused_as_a_setting(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
        with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
            inspect_file(write_image(tmp_path, "image/jpeg"), batch_kind="images", settings=SETTINGS)

    def test_a_pdf_header_over_garbage_is_invalid(self, tmp_path: Path) -> None:
        [garbage] = [p for p in write_broken_files(tmp_path) if p.name == "garbage.pdf"]
        with pytest.raises(FileRejected, match=r"^invalid-file-content: PDF does not open"):
            inspect_file(garbage, batch_kind="documents", settings=SETTINGS)

    def test_a_pdf_without_pages_is_invalid(self, tmp_path: Path) -> None:
        path = tmp_path / "blank.pdf"
        path.write_bytes(pdf_bytes(pages=0))
        with pytest.raises(FileRejected, match=r"PDF has no pages"):
            inspect_file(path, batch_kind="documents", settings=SETTINGS)

    def test_a_password_protected_pdf_is_invalid(self, tmp_path: Path) -> None:
        path = tmp_path / "locked.pdf"
        path.write_bytes(pdf_bytes(user_password="secret", owner_password="owner"))
        with pytest.raises(FileRejected, match=r"PDF is encrypted with a password"):
            inspect_file(path, batch_kind="documents", settings=SETTINGS)

    def test_a_pdf_encrypted_with_an_empty_user_password_opens(self, tmp_path: Path) -> None:
        path = tmp_path / "restricted.pdf"
        path.write_bytes(pdf_bytes(user_password="", owner_password="owner"))
        assert inspect_file(path, batch_kind="documents", settings=SETTINGS) == "application/pdf"

    def test_malformed_xml_is_invalid_with_its_position(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.xml"
        path.write_bytes(b"<?xml version='1.0'?>\n<Invoice><ID>42</Invoice>")
        with pytest.raises(FileRejected, match=r"XML does not parse: mismatched tag at line 2, column"):
            inspect_file(path, batch_kind="documents", settings=SETTINGS)

    def test_xml_with_a_doctype_is_refused_before_any_entity_expands(self, tmp_path: Path) -> None:
        laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
        path = tmp_path / "laughs.xml"
        path.write_text(f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY l0 "lol">{laughs}]><x>&l9;</x>')
        with pytest.raises(FileRejected, match=r"XML must not contain a <!DOCTYPE>") as caught:
            inspect_file(path, batch_kind="documents", settings=SETTINGS)
        assert caught.value.error_type == FileErrorType.INVALID_FILE_CONTENT

    def test_xml_with_an_external_entity_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "xxe.xml"
        path.write_text('<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>')
        assert rejection(path, "documents").error_type == FileErrorType.INVALID_FILE_CONTENT

    def test_a_video_without_a_video_stream_is_invalid(self, tmp_path: Path) -> None:
        path = write_audio_only_mp4(tmp_path / "song.mp4")
        with pytest.raises(FileRejected, match=r"video/mp4 file has no video stream"):
            inspect_file(path, batch_kind="videos", settings=SETTINGS)

    def test_a_truncated_video_is_invalid(self, tmp_path: Path) -> None:
        clip = write_video(tmp_path / "clip.mp4", container="mp4", codec="mpeg4")
        cut = tmp_path / "cut.mp4"
        cut.write_bytes(clip.read_bytes()[:200])
        with pytest.raises(FileRejected, match=r"^invalid-file-content: video does not open"):
            inspect_file(cut, batch_kind="videos", settings=SETTINGS)

    def test_the_broken_samples_fail_as_documented(self, tmp_path: Path) -> None:
        found = {p.name: rejection(p).error_type for p in write_broken_files(tmp_path) if p.suffix == ".jpg"}
        assert found == {
            "truncated.jpg": FileErrorType.INVALID_FILE_CONTENT,
            "text.jpg": FileErrorType.UNSUPPORTED_FILE_TYPE,
            "empty.jpg": FileErrorType.INVALID_FILE_CONTENT,
        }


class TestFileRejected:
    def test_it_is_a_docket_error_carrying_type_and_reason(self) -> None:
        error = FileRejected(FileErrorType.UNSUPPORTED_FILE_TYPE, "content is text")
        assert isinstance(error, DocketError)
        assert isinstance(error, ValueError)
        assert (error.error_type, error.reason) == (FileErrorType.UNSUPPORTED_FILE_TYPE, "content is text")
        assert str(error) == "unsupported-file-type: content is text"

    def test_it_survives_pickling(self) -> None:
        copy = pickle.loads(pickle.dumps(FileRejected(FileErrorType.INVALID_FILE_CONTENT, "cut short")))
        assert (copy.error_type, copy.reason) == (FileErrorType.INVALID_FILE_CONTENT, "cut short")


class TestConcurrency:
    def test_threads_validating_images_leave_warning_filters_as_they_were(self, tmp_path: Path) -> None:
        paths = [write_image(tmp_path, t, name=f"{i}{SUFFIXES[t]}") for i, t in enumerate(sorted(PILLOW_FORMATS) * 10)]
        broken = [p for p in write_broken_files(tmp_path / "broken") if p.suffix == ".jpg"]
        before = list(warnings.filters)

        def check(path: Path) -> str:
            try:
                return inspect_file(path, batch_kind="images", settings=SETTINGS)
            except FileRejected as rejected:
                return rejected.error_type.value

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(check, (paths + broken) * 3))
        assert results[: len(paths)] == [sniff_media_type(p.read_bytes()[:64], p.name) for p in paths]
        assert warnings.filters == before


SAMPLE_DATA = os.environ.get("DOCKET_SAMPLE_DATA")


@pytest.mark.skipif(not SAMPLE_DATA, reason="set DOCKET_SAMPLE_DATA to the third-party sample folder to run")
class TestThirdPartySamples:
    def test_real_camera_jpegs_are_valid_and_odd_ones_fail_only_as_rejections(self) -> None:
        root = Path(SAMPLE_DATA or "") / "images-exif" / "jpg"
        jpegs = sorted(root.rglob("*.jpg"))
        assert jpegs, f"no JPEGs under {root}"
        for path in jpegs:
            if "invalid" in path.relative_to(root).parts:
                try:
                    inspect_file(path, batch_kind="images", settings=SETTINGS)
                except FileRejected:
                    pass  # these are allowed to fail, but only as a typed rejection
            else:
                assert inspect_file(path, batch_kind="images", settings=SETTINGS) == "image/jpeg", path

    def test_real_e_invoice_pdfs_are_valid_documents(self) -> None:
        root = Path(SAMPLE_DATA or "")
        pdfs = sorted([*(root / "zugferd-dev").rglob("*.pdf"), *(root / "facturx-akretion").rglob("*.pdf")])
        assert pdfs, f"no PDFs under {root}"
        for path in pdfs:
            assert inspect_file(path, batch_kind="documents", settings=SETTINGS) == "application/pdf", path
