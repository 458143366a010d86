"""docket_core.steps.image: properties, EXIF, quality and near-duplicate groups, on real files under tmp_path."""

from __future__ import annotations

import json
import os
import random
import struct
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, TiffImagePlugin

from docket_core.errors import InputError
from docket_core.steps.image import (
    FIELDS,
    IMAGE_BATCH_STEPS,
    IMAGE_STEPS,
    group_near_duplicates,
    image_quality,
    read_exif,
    read_image_properties,
)
from docket_core.steps.image.quality import BLURRY_BELOW, measure_quality
from docket_core.workflows.model import FileContext, Message

R = TiffImagePlugin.IFDRational
EXIF_FIELDS = ("captured_at", "camera_make", "camera_model", "orientation", "gps_latitude", "gps_longitude")
PYTHON_TYPES = {"int": int, "float": float, "string": str, "timestamp": datetime}


def photo(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A synthetic photo: smooth colour fields, hard-edged shapes and sensor-like noise."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        w, h = rng.integers(20, 160, 2)
        draw.rectangle((int(x), int(y), int(x + w), int(y + h)), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 8, (size[1], size[0], 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def camera_exif(*, lat_ref: str = "N", lon_ref: str = "W", orientation: int = 6) -> Image.Exif:
    """EXIF as a camera writes it: 50.0875 N/S, 14.4206 W/E, taken 2024-05-17 14:03:22."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D Mark IV"
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2024:05:17 14:03:22"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = lat_ref, (R(50), R(5), R(15))
    gps[3], gps[4] = lon_ref, (R(14), R(25), R(1416, 100))
    return exif


def patched(exif: Image.Exif, old: tuple[str, tuple[int, ...]], new: tuple[str, tuple[int, ...]]) -> bytes:
    """EXIF bytes with one packed value replaced, to write the malformed files real cameras write."""
    data = exif.tobytes()
    order = ">" if data[6:8] == b"MM" else "<"
    before, after = struct.pack(order + old[0], *old[1]), struct.pack(order + new[0], *new[1])
    assert data.count(before) == 1, "the value to patch must occur exactly once"
    return data.replace(before, after)


def save(image: Image.Image, path: Path, **params: Any) -> Path:
    image.save(path, **params)
    return path


def context(path: Path, **datapoints: Any) -> FileContext:
    media_type = {".png": "image/png"}.get(path.suffix, "image/jpeg")
    return FileContext(path.name, media_type, path, datapoints)


def run_workflow(path: Path) -> tuple[dict[str, Any], list[Message]]:
    """All `IMAGE_STEPS` in order, each seeing its predecessors' datapoints."""
    datapoints: dict[str, Any] = {}
    messages: list[Message] = []
    for _name, step, _run_after in IMAGE_STEPS:
        output = step(context(path, **datapoints))
        datapoints.update(output.datapoints)
        messages.extend(output.messages)
    return datapoints, messages


def hashed(named_paths: Iterable[tuple[str, Path]]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, image_quality(context(path)).datapoints) for name, path in named_paths]


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


class TestImageWorkflow:
    def test_every_datapoint_is_declared_with_its_type(self, tmp_path: Path) -> None:
        path = save(photo(1), tmp_path / "a.jpg", exif=camera_exif())
        datapoints, _ = run_workflow(path)
        copy = save(photo(1), tmp_path / "b.jpg")
        datapoints.update(group_near_duplicates(hashed([("a", path), ("b", copy)]))["a"])

        assert set(datapoints) == set(FIELDS)
        for schema_id, value in datapoints.items():
            assert isinstance(value, PYTHON_TYPES[FIELDS[schema_id]]), schema_id

    def test_steps_run_after_known_steps_only(self) -> None:
        names = [name for name, _, _ in IMAGE_STEPS]
        assert names == ["properties", "exif", "quality"]
        for index, (_, _, run_after) in enumerate(IMAGE_STEPS):
            assert set(run_after) <= set(names[:index])
        assert IMAGE_BATCH_STEPS == [group_near_duplicates]

    def test_a_file_that_is_not_an_image_is_an_input_error(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.jpg"
        path.write_text("not an image")
        for _, step, _ in IMAGE_STEPS:
            with pytest.raises(InputError, match=r"expected an image file Pillow can read, got 'notes.jpg'"):
                step(context(path))


    def test_a_huge_image_is_a_warning_and_a_far_too_huge_one_an_input_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = save(photo(1), tmp_path / "big.jpg")  # 307,200 pixels
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000)

        output = read_image_properties(context(path))

        assert [m.type for m in output.messages] == ["warning"]
        assert output.messages[0].content.startswith("Pillow: Image size (307200 pixels) exceeds limit")

        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
        with pytest.raises(InputError, match=r"got 'big.jpg': Image size \(307200 pixels\) exceeds limit"):
            read_image_properties(context(path))

    def test_steps_on_threads_keep_their_own_messages_and_leave_warning_filters_alone(self, tmp_path: Path) -> None:
        data = camera_exif().tobytes()
        clean = [save(photo(1, (64, 48)), tmp_path / f"clean{i}.jpg", exif=data) for i in range(8)]
        cut = [save(photo(1, (64, 48)), tmp_path / f"cut{i}.jpg", exif=data[: len(data) // 2]) for i in range(8)]
        filters = list(warnings.filters)

        paths = (clean + cut) * 4
        with ThreadPoolExecutor(max_workers=8) as pool:
            outputs = list(pool.map(lambda path: read_exif(context(path)), paths))

        assert [bool(output.messages) for output in outputs] == [path in cut for path in paths]
        assert warnings.filters == filters


class TestReadImageProperties:
    @pytest.mark.parametrize(
        ("mode", "suffix", "expected_format"),
        [("RGB", ".jpg", "JPEG"), ("L", ".jpg", "JPEG"), ("RGBA", ".png", "PNG"), ("P", ".png", "PNG")],
    )
    def test_dimensions_format_and_mode_are_read_from_the_header(
        self, tmp_path: Path, mode: str, suffix: str, expected_format: str
    ) -> None:
        path = save(photo(1, (300, 200)).convert(mode), tmp_path / f"image{suffix}")

        output = read_image_properties(context(path))

        assert output.datapoints == {"width": 300, "height": 200, "format": expected_format, "color_mode": mode}
        assert output.messages == []


class TestReadExif:
    def test_camera_fields_come_back_exactly(self, tmp_path: Path) -> None:
        path = save(photo(1), tmp_path / "camera.jpg", exif=camera_exif())

        output = read_exif(context(path))

        values = output.datapoints
        assert values["captured_at"] == datetime(2024, 5, 17, 14, 3, 22)
        assert values["captured_at"].tzinfo is None
        assert (values["camera_make"], values["camera_model"], values["orientation"]) == (
            "Canon",
            "Canon EOS 5D Mark IV",
            6,
        )
        assert values["gps_latitude"] == pytest.approx(50.0875, abs=1e-4)
        assert values["gps_longitude"] == pytest.approx(-14.4206, abs=1e-4)
        assert output.messages == []

    @pytest.mark.parametrize(("lat_ref", "lon_ref", "signs"), [("N", "E", (1, 1)), ("S", "W", (-1, -1))])
    def test_southern_and_western_coordinates_are_negative(
        self, tmp_path: Path, lat_ref: str, lon_ref: str, signs: tuple[int, int]
    ) -> None:
        path = save(photo(1), tmp_path / "gps.jpg", exif=camera_exif(lat_ref=lat_ref, lon_ref=lon_ref))

        values = read_exif(context(path)).datapoints

        assert values["gps_latitude"] == pytest.approx(signs[0] * 50.0875, abs=1e-4)
        assert values["gps_longitude"] == pytest.approx(signs[1] * 14.4206, abs=1e-4)

    def test_date_time_is_the_fallback_when_date_time_original_is_missing(self, tmp_path: Path) -> None:
        exif = Image.Exif()
        exif[0x0132] = "2019:12:31 23:59:58"
        path = save(photo(1), tmp_path / "edited.jpg", exif=exif)

        assert read_exif(context(path)).datapoints["captured_at"] == datetime(2019, 12, 31, 23, 59, 58)

    def test_a_png_without_exif_gives_empty_fields_and_no_messages(self, tmp_path: Path) -> None:
        path = save(photo(1), tmp_path / "plain.png")

        output = read_exif(context(path))

        assert output.datapoints == dict.fromkeys(EXIF_FIELDS)
        assert output.messages == []

    def test_a_zero_denominator_in_gps_is_a_warning_and_no_latitude(self, tmp_path: Path) -> None:
        data = patched(camera_exif(), ("LL", (15, 1)), ("LL", (15, 0)))
        path = save(photo(1), tmp_path / "zero.jpg", exif=data)

        output = read_exif(context(path))

        assert output.datapoints["gps_latitude"] is None
        assert output.datapoints["gps_longitude"] == pytest.approx(-14.4206, abs=1e-4)
        problems = {m.schema_id: m for m in output.messages}
        assert problems["gps_latitude"].type == "warning"
        assert "zero denominator" in problems["gps_latitude"].content

    @pytest.mark.parametrize("orientation", [0, 9])
    def test_an_orientation_outside_one_to_eight_is_a_warning(self, tmp_path: Path, orientation: int) -> None:
        path = save(photo(1), tmp_path / "odd.jpg", exif=camera_exif(orientation=orientation))

        output = read_exif(context(path))

        assert output.datapoints["orientation"] is None
        assert [(m.type, m.schema_id) for m in output.messages] == [("warning", "orientation")]
        assert f"expected EXIF Orientation 1..8, got {orientation}" in output.messages[0].content

    def test_an_unreadable_date_is_a_warning_and_the_other_date_is_used(self, tmp_path: Path) -> None:
        exif = Image.Exif()
        exif[0x0132] = "2019:12:31 23:59:58"
        exif.get_ifd(0x8769)[0x9003] = "yesterday noon"
        path = save(photo(1), tmp_path / "date.jpg", exif=exif)

        output = read_exif(context(path))

        assert output.datapoints["captured_at"] == datetime(2019, 12, 31, 23, 59, 58)
        assert [m.schema_id for m in output.messages] == ["captured_at"]
        assert "'yesterday noon'" in output.messages[0].content

    def test_placeholder_dates_mean_no_date(self, tmp_path: Path) -> None:
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
        path = save(photo(1), tmp_path / "unset.jpg", exif=exif)

        output = read_exif(context(path))

        assert output.datapoints["captured_at"] is None
        assert output.messages == []

    def test_a_block_that_is_not_exif_is_a_warning(self, tmp_path: Path) -> None:
        path = save(photo(1), tmp_path / "garbage.jpg", exif=b"Exif\x00\x00" + b"garbage!" * 10)

        output = read_exif(context(path))

        assert output.datapoints == dict.fromkeys(EXIF_FIELDS)
        assert [m.type for m in output.messages] == ["warning"]
        assert "holds no readable tags" in output.messages[0].content

    def test_a_truncated_block_keeps_what_was_readable_and_reports_pillows_warnings(self, tmp_path: Path) -> None:
        data = camera_exif().tobytes()
        path = save(photo(1), tmp_path / "cut.jpg", exif=data[: len(data) // 2])

        output = read_exif(context(path))  # pytest turns any warning that escapes into an error

        assert output.datapoints["camera_make"] == "Canon"
        assert output.datapoints["gps_latitude"] is None
        assert output.messages
        assert all(m.type == "warning" and m.content.startswith("Pillow: ") for m in output.messages)

    def test_a_directory_pointer_of_the_wrong_type_is_a_warning(self, tmp_path: Path) -> None:
        # Like tests/30-type_error.jpg of exif-samples: the Exif IFD pointer stored as ASCII text.
        data = patched(camera_exif(), ("HHL", (0x8769, 4, 1)), ("HHL", (0x8769, 2, 4)))
        path = save(photo(1), tmp_path / "pointer.jpg", exif=data)

        output = read_exif(context(path))

        assert output.datapoints["captured_at"] is None
        assert output.datapoints["camera_make"] == "Canon"
        assert len(output.messages) == 1
        assert "EXIF directory pointer 0x8769 should be an offset, got str" in output.messages[0].content

    def test_a_missing_hemisphere_is_a_warning_not_a_guess(self, tmp_path: Path) -> None:
        exif = camera_exif()
        del exif.get_ifd(0x8825)[1]
        path = save(photo(1), tmp_path / "noref.jpg", exif=exif)

        output = read_exif(context(path))

        assert output.datapoints["gps_latitude"] is None
        assert "expected EXIF GPSLatitudeRef 'N' or 'S', got None" in output.messages[0].content


class TestImageQuality:
    def test_a_blurred_copy_scores_lower_sharpness_and_is_flagged(self, tmp_path: Path) -> None:
        sharp = save(photo(1), tmp_path / "sharp.jpg", quality=90)
        blurred = save(photo(1).filter(ImageFilter.GaussianBlur(3)), tmp_path / "blurred.jpg", quality=90)

        sharp_output, blurred_output = image_quality(context(sharp)), image_quality(context(blurred))

        assert sharp_output.datapoints["sharpness"] > BLURRY_BELOW > blurred_output.datapoints["sharpness"]
        assert sharp_output.messages == []
        assert [(m.type, m.schema_id) for m in blurred_output.messages] == [("warning", "sharpness")]
        assert blurred_output.messages[0].content.startswith("image looks blurry")

    @pytest.mark.parametrize(("towards", "word"), [("black", "dark"), ("white", "bright")])
    def test_very_dark_and_very_bright_images_are_flagged(self, tmp_path: Path, towards: str, word: str) -> None:
        faded = Image.blend(photo(1), Image.new("RGB", (640, 480), towards), 0.85)
        path = save(faded, tmp_path / f"{word}.jpg")

        output = image_quality(context(path))

        brightness = [(m.type, m.content.split(":")[0]) for m in output.messages if m.schema_id == "brightness"]
        assert brightness == [("warning", f"image is very {word}")]

    def test_brightness_is_mean_luma_from_zero_to_one(self, tmp_path: Path) -> None:
        gray = save(Image.new("RGB", (64, 48), (128, 128, 128)), tmp_path / "gray.png")

        output = image_quality(context(gray))

        assert output.datapoints["brightness"] == pytest.approx(128 / 255, abs=1e-3)
        assert output.datapoints["sharpness"] == 0.0
        assert len(output.datapoints["phash"]) == 16

    def test_sixteen_bit_and_transparent_palette_images_are_measured_without_warnings(self, tmp_path: Path) -> None:
        deep = save(Image.fromarray(np.full((48, 64), 32768, dtype=np.uint16)), tmp_path / "deep.png")
        palette = photo(1, (64, 48)).convert("P")
        palette.info["transparency"] = bytes([0] * 255 + [255])
        clear = save(palette, tmp_path / "palette.png")

        assert image_quality(context(deep)).datapoints["brightness"] == pytest.approx(0.5, abs=0.01)
        assert image_quality(context(clear)).datapoints["phash"] is not None

    def test_tiny_images_have_no_sharpness(self) -> None:
        assert measure_quality(Image.new("L", (2, 2))).sharpness is None

    def test_the_hash_is_taken_of_the_upright_image(self, tmp_path: Path) -> None:
        upright = save(photo(1), tmp_path / "upright.jpg")
        # Orientation 6 says "rotate 90 degrees clockwise to view": the pixels are stored turned left.
        turned = save(photo(1).transpose(Image.Transpose.ROTATE_90), tmp_path / "turned.jpg", exif=camera_exif())

        upright_hash = image_quality(context(upright)).datapoints["phash"]
        turned_datapoints, _ = run_workflow(turned)

        assert hamming(upright_hash, turned_datapoints["phash"]) <= 4
        assert hamming(upright_hash, image_quality(context(turned)).datapoints["phash"]) > 4

    def test_a_truncated_jpeg_is_an_error_message_not_an_exception(self, tmp_path: Path) -> None:
        data = save(photo(1), tmp_path / "whole.jpg").read_bytes()
        path = tmp_path / "cut.jpg"
        path.write_bytes(data[: len(data) // 2])

        output = image_quality(context(path))

        assert output.datapoints == {"phash": None, "sharpness": None, "brightness": None}
        assert [m.type for m in output.messages] == ["error"]
        assert "could not decode the image pixels" in output.messages[0].content


class TestGroupNearDuplicates:
    def test_brightened_and_resized_copies_share_a_group_and_a_different_photo_does_not(
        self, tmp_path: Path
    ) -> None:
        original = photo(1)
        files = [
            ("a-original.jpg", save(original, tmp_path / "a.jpg")),
            ("b-brighter.jpg", save(ImageEnhance.Brightness(original).enhance(1.3), tmp_path / "b.jpg")),
            ("c-smaller.png", save(original.resize((320, 240), Image.Resampling.LANCZOS), tmp_path / "c.png")),
            ("d-other.jpg", save(photo(2), tmp_path / "d.jpg")),
        ]

        groups = group_near_duplicates(hashed(files))

        copies = ("a-original.jpg", "b-brighter.jpg", "c-smaller.png")
        assert groups == {name: {"near_duplicate_group": 0} for name in copies}

    def test_groups_are_transitive_and_numbered_by_their_first_name(self) -> None:
        a = 0
        b = a ^ 0b1111  # 4 bits from a
        c = b ^ 0b1111_0000  # 4 bits from b, 8 from a
        far = (1 << 64) - 1
        items = [
            ("z1", {"phash": f"{far:016x}"}),
            ("m2", {"phash": f"{c:016x}"}),
            ("z2", {"phash": f"{far ^ 1:016x}"}),
            ("m1", {"phash": f"{a:016x}"}),
            ("m3", {"phash": f"{b:016x}"}),
            ("lonely", {"phash": "00000000ffffffff"}),
        ]

        groups = group_near_duplicates(items)

        assert groups == {
            "m1": {"near_duplicate_group": 0},
            "m2": {"near_duplicate_group": 0},
            "m3": {"near_duplicate_group": 0},
            "z1": {"near_duplicate_group": 1},
            "z2": {"near_duplicate_group": 1},
        }

    def test_files_without_a_usable_hash_are_left_out(self) -> None:
        items = [
            ("a", {"phash": "ffffffffffffffff"}),
            ("b", {"phash": "ffffffffffffffff"}),
            ("c", {"phash": None}),
            ("d", {}),
            ("e", {"phash": "not-hex-at-all!!"}),
            ("f", {"phash": "ffff"}),
        ]

        assert group_near_duplicates(items) == {"a": {"near_duplicate_group": 0}, "b": {"near_duplicate_group": 0}}

    @pytest.mark.parametrize("max_distance", [-1, 64])
    def test_a_distance_outside_the_hash_is_rejected(self, max_distance: int) -> None:
        with pytest.raises(InputError, match=r"max_distance must be within 0\.\.63"):
            group_near_duplicates([], max_distance=max_distance)

    def test_100000_hashes_are_grouped_without_comparing_all_pairs(self, monkeypatch: pytest.MonkeyPatch) -> None:
        rng = random.Random(7)
        hashes = [rng.getrandbits(64) for _ in range(100_000)]
        for i in range(0, 200, 2):  # plant 100 pairs, 3 bits apart
            hashes[i + 1] = hashes[i] ^ (0b111 << rng.randrange(61))
        comparisons = 0
        bitwise_count = np.bitwise_count

        def counting(values: np.ndarray) -> np.ndarray:
            nonlocal comparisons
            comparisons += values.size
            return bitwise_count(values)

        monkeypatch.setattr(np, "bitwise_count", counting)

        groups = group_near_duplicates((f"f{i:06d}", {"phash": f"{h:016x}"}) for i, h in enumerate(hashes))

        assert len(groups) == 200
        assert {groups[f"f{i:06d}"]["near_duplicate_group"] for i in range(0, 200, 2)} == set(range(100))
        assert comparisons < 100_000 * 100  # all pairs would be 5e9; banding needs a few million at most

    def test_it_agrees_with_comparing_all_pairs_on_clustered_hashes(self) -> None:
        rng = random.Random(3)
        for max_distance in (0, 3, 4, 9):
            centres = [rng.getrandbits(64) for _ in range(4)]
            hashes = []
            for _ in range(60):
                value = rng.choice(centres)
                for bit in rng.sample(range(64), rng.randrange(0, 7)):
                    value ^= 1 << bit
                hashes.append(value)
            names = [f"n{i:02d}" for i in range(len(hashes))]

            expected = _all_pairs_groups(names, hashes, max_distance)
            items = [(name, {"phash": f"{value:016x}"}) for name, value in zip(names, hashes, strict=True)]
            actual = group_near_duplicates(items, max_distance=max_distance)

            assert actual == expected, max_distance


def _all_pairs_groups(names: list[str], hashes: list[int], max_distance: int) -> dict[str, dict[str, int]]:
    component = list(range(len(hashes)))
    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            if (hashes[i] ^ hashes[j]).bit_count() <= max_distance:
                old, new = component[j], component[i]
                component = [new if c == old else c for c in component]
    ids: dict[int, int] = {}
    result = {}
    for index in sorted(range(len(names)), key=names.__getitem__):
        if component.count(component[index]) > 1:
            result[names[index]] = {"near_duplicate_group": ids.setdefault(component[index], len(ids))}
    return result


SAMPLE_DATA = os.environ.get("DOCKET_SAMPLE_DATA")


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[dict[str, Any], list[Message]]]:
    """Every step run on every exif-samples JPEG: reaching a test means no step raised on any file."""
    root = Path(SAMPLE_DATA or "") / "images-exif"
    paths = sorted(p for p in (root / "jpg").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    assert len(paths) > 80, f"expected the exif-samples JPEGs under {root}"
    return {p.relative_to(root).as_posix(): run_workflow(p) for p in paths}


@pytest.mark.skipif(not SAMPLE_DATA, reason="set DOCKET_SAMPLE_DATA to the third-party sample folder to run")
class TestThirdPartySamples:
    """ianare/exif-samples: real camera JPEGs, including malformed EXIF (see its README)."""

    def test_make_model_orientation_and_date_match_the_summary(self, results: dict[str, Any]) -> None:
        summary_path = Path(SAMPLE_DATA or "") / "images-exif" / "exif_summary.pillow.jsonl"
        summary = [json.loads(line) for line in summary_path.read_text().splitlines()]
        assert {row["file"] for row in summary} == set(results)
        for row in summary:
            values, _ = results[row["file"]]
            # The summary keeps Pillow's raw text; the step strips the padding cameras write.
            make, model = ((text or "").strip(" \x00") or None for text in (row["make"], row["model"]))
            expected = (make, model, row["orientation"])
            assert (values["camera_make"], values["camera_model"], values["orientation"]) == expected, row["file"]
            if row["datetime_original"]:
                assert values["captured_at"] == datetime.strptime(row["datetime_original"], "%Y:%m:%d %H:%M:%S")

    def test_the_gps_samples_have_a_position(self, results: dict[str, Any]) -> None:
        gps = {name: values for name, (values, _) in results.items() if name.startswith("jpg/gps/")}
        assert len(gps) == 9
        for name, values in gps.items():
            # Nikon COOLPIX P6000 samples, taken near Arezzo, Italy.
            assert 43.4 < values["gps_latitude"] < 43.5 and 11.8 < values["gps_longitude"] < 11.9, name

    def test_malformed_files_give_messages_not_exceptions(self, results: dict[str, Any]) -> None:
        # The Exif IFD pointer stored as ASCII is the one defect Pillow would otherwise hide.
        _, messages = results["jpg/tests/30-type_error.jpg"]
        assert any("EXIF directory pointer 0x8769" in m.content for m in messages)
        for name, (values, _) in results.items():
            assert values["phash"] is not None and values["width"] > 0, name

    def test_the_eight_orientations_of_one_photo_are_one_group(self, results: dict[str, Any]) -> None:
        groups = group_near_duplicates((name, values) for name, (values, _) in results.items())
        for shape in ("landscape", "portrait"):
            names = [f"jpg/orientation/{shape}_{n}.jpg" for n in range(1, 9)]
            members = {groups.get(name, {}).get("near_duplicate_group") for name in names}
            assert len(members) == 1 and None not in members, shape
