"""docket_core.samples: the generated sample set is real, repeatable, and carries what later stages test."""

from __future__ import annotations

import tarfile
from itertools import combinations
from pathlib import Path

import av
import imagehash
import numpy as np
import pytest
from PIL import Image

from docket_core.archive import Member, scan_archive
from docket_core.errors import FileErrorType
from docket_core.media.inspect import inspect_file
from docket_core.media.types import FileRejected
from docket_core.samples import (
    PRAGUE,
    SAMPLE_MAKE,
    make_evil_tar,
    make_tar,
    write_broken_files,
    write_sample_images,
    write_sample_videos,
)
from docket_core.settings import DocketSettings

SETTINGS = DocketSettings()


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def decimal_degrees(dms: tuple[float, float, float], ref: str) -> float:
    value = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    return -value if ref in ("S", "W") else value


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("images")
    return root, write_sample_images(root)


class TestSampleImages:
    def test_the_default_set_has_twelve_images_with_relative_names(self, images: tuple[Path, list[Path]]) -> None:
        root, paths = images
        names = [p.relative_to(root).as_posix() for p in paths]
        assert len(names) == 12
        assert names[:5] == ["img_00.jpg", "img_00_brighter.jpg", "img_00_smaller.jpg", "a/receipt.jpg", "b/receipt.jpg"]
        assert {Path(n).suffix for n in names} == {".jpg", ".png"}
        assert (root / "a/receipt.jpg").read_bytes() != (root / "b/receipt.jpg").read_bytes()

    def test_every_image_is_a_valid_image(self, images: tuple[Path, list[Path]]) -> None:
        _, paths = images
        assert [inspect_file(p, batch_kind="images", settings=SETTINGS) for p in paths] == [
            "image/png" if p.suffix == ".png" else "image/jpeg" for p in paths
        ]

    def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_bytes(self, tmp_path: Path) -> None:
        write_sample_images(tmp_path / "one", count=6, seed=4)
        write_sample_images(tmp_path / "two", count=6, seed=4)
        write_sample_images(tmp_path / "other", count=6, seed=5)
        assert tree(tmp_path / "one") == tree(tmp_path / "two")
        first, other = tree(tmp_path / "one"), tree(tmp_path / "other")
        assert all(first[name] != other[name] for name in first)

    def test_a_smaller_count_is_a_prefix_of_the_full_set(self, tmp_path: Path, images: tuple[Path, list[Path]]) -> None:
        root, _ = images
        paths = write_sample_images(tmp_path, count=2)
        assert [p.read_bytes() for p in paths] == [(root / "img_00.jpg").read_bytes(), (root / "img_00_brighter.jpg").read_bytes()]

    def test_jpegs_carry_exif_that_pillow_reads_back(self, images: tuple[Path, list[Path]]) -> None:
        root, _ = images
        with Image.open(root / "img_00.jpg") as image:
            exif = image.getexif()
        assert exif[0x010F] == SAMPLE_MAKE
        assert exif[0x0110].startswith("Sample Camera")
        assert exif[0x0112] == 1
        assert exif.get_ifd(0x8769)[0x9003] == "2024:05:01 10:00:00"
        gps = exif.get_ifd(0x8825)
        assert (gps[1], gps[3]) == ("N", "E")
        assert decimal_degrees(gps[2], gps[1]) == pytest.approx(PRAGUE[0], abs=1e-6)
        assert decimal_degrees(gps[4], gps[3]) == pytest.approx(PRAGUE[1], abs=1e-6)

    def test_orientation_and_gps_vary_across_the_set(self, images: tuple[Path, list[Path]]) -> None:
        _, paths = images
        exifs = []
        for path in paths:
            if path.suffix == ".jpg":
                with Image.open(path) as image:
                    exifs.append(image.getexif())
        assert {e[0x0112] for e in exifs} >= {1, 6}
        assert any(0x8825 not in e for e in exifs)
        assert len({e.get_ifd(0x8769)[0x9003] for e in exifs}) == len(exifs)

    def test_near_duplicates_are_close_and_distinct_scenes_are_far_by_perceptual_hash(
        self, images: tuple[Path, list[Path]]
    ) -> None:
        root, paths = images
        hashes = {}
        for path in paths:
            with Image.open(path) as image:
                hashes[path.relative_to(root).as_posix()] = imagehash.phash(image)
        near = ("img_00.jpg", "img_00_brighter.jpg", "img_00_smaller.jpg")
        for a, b in combinations(near, 2):
            assert hashes[a] - hashes[b] <= 6, (a, b)
        distinct = [n for n in hashes if n not in near[1:]]
        for a, b in combinations(distinct, 2):
            assert hashes[a] - hashes[b] >= 16, (a, b)

    def test_count_must_be_positive(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"count must be at least 1, got 0"):
            write_sample_images(tmp_path, count=0)


class TestSampleVideos:
    def test_clips_are_small_real_mp4s_with_moving_content(self, tmp_path: Path) -> None:
        clips = write_sample_videos(tmp_path, count=2, seconds=1.0, fps=10)
        assert [c.name for c in clips] == ["clip_00.mp4", "clip_01.mp4"]
        expected_codec = "h264" if "libx264" in av.codecs_available else "mpeg4"
        for clip in clips:
            assert inspect_file(clip, batch_kind="videos", settings=SETTINGS) == "video/mp4"
            with av.open(str(clip)) as container:
                stream = container.streams.video[0]
                assert (stream.codec_context.name, stream.width, stream.height) == (expected_codec, 160, 120)
                frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            assert len(frames) == 10
            assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 10

    def test_the_same_arguments_give_the_same_bytes(self, tmp_path: Path) -> None:
        [one] = write_sample_videos(tmp_path / "one", seconds=0.5)
        [two] = write_sample_videos(tmp_path / "two", seconds=0.5)
        assert one.read_bytes() == two.read_bytes()


class TestBrokenFiles:
    def test_each_broken_file_fails_with_its_documented_type(self, tmp_path: Path) -> None:
        outcomes = {}
        for path in write_broken_files(tmp_path):
            kind = "documents" if path.suffix == ".pdf" else "images"
            with pytest.raises(FileRejected) as caught:
                inspect_file(path, batch_kind=kind, settings=SETTINGS)
            outcomes[path.name] = caught.value.error_type
        assert outcomes == {
            "truncated.jpg": FileErrorType.INVALID_FILE_CONTENT,
            "text.jpg": FileErrorType.UNSUPPORTED_FILE_TYPE,
            "empty.jpg": FileErrorType.INVALID_FILE_CONTENT,
            "garbage.pdf": FileErrorType.INVALID_FILE_CONTENT,
        }


class TestMakeTar:
    @pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"])
    def test_bytes_become_entries_and_the_bundle_repeats_exactly(self, tmp_path: Path, suffix: str) -> None:
        files = {"a/x.jpg": b"x" * 10, "y.png": b"y" * 20}
        one = make_tar(tmp_path / f"one{suffix}", files)
        two = make_tar(tmp_path / f"two{suffix}", files)
        assert one.read_bytes() == two.read_bytes()
        with tarfile.open(one) as tar:
            assert {m.name: tar.extractfile(m).read() for m in tar.getmembers()} == files  # type: ignore[union-attr]

    def test_files_are_named_relative_to_base_or_by_their_bare_name(self, tmp_path: Path, images: tuple[Path, list[Path]]) -> None:
        root, paths = images
        with_base = make_tar(tmp_path / "base.tar", paths[3:5], base=root)
        without = make_tar(tmp_path / "bare.tar", paths[:2])
        assert [m.name for m in scan_archive(with_base, max_members=10)] == ["a/receipt.jpg", "b/receipt.jpg"]  # type: ignore[union-attr]
        assert [m.name for m in scan_archive(without, max_members=10)] == ["img_00.jpg", "img_00_brighter.jpg"]  # type: ignore[union-attr]

    def test_an_unknown_bundle_suffix_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"bundle name must end in \.tar.*got 'b.zip'"):
            make_tar(tmp_path / "b.zip", {"a": b"a"})

    def test_the_evil_tar_holds_every_trap_it_documents(self, tmp_path: Path) -> None:
        bundle = make_evil_tar(tmp_path / "evil.tar")
        with tarfile.open(bundle) as tar:
            kinds = {m.name: m.type for m in tar.getmembers()}
        assert kinds == {
            "photos": tarfile.DIRTYPE,
            "../escape.jpg": tarfile.REGTYPE,
            "/etc/x.jpg": tarfile.REGTYPE,
            "link.jpg": tarfile.SYMTYPE,
            "photos/good.jpg": tarfile.REGTYPE,
            "hard.jpg": tarfile.LNKTYPE,
            "pipe.jpg": tarfile.FIFOTYPE,
            "null.jpg": tarfile.CHRTYPE,
        }
        [good] = [e for e in scan_archive(bundle, max_members=10) if isinstance(e, Member)]
        assert good.name == "photos/good.jpg"
