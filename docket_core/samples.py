"""Docket's own sample files: images with EXIF, short videos, broken files and tar bundles.

Everything here is generated at demo time, no third-party content, so no attribution needed. The
same arguments give the same bytes, so tests and demos can rely on what the files contain:

- `write_sample_images`: JPEGs with EXIF (make, model, time taken, orientation, and GPS for some; the
  first is taken in Prague, `PRAGUE`) and PNGs; two near-duplicates of the first image (brighter,
  smaller) for near-duplicate detection; and `a/receipt.jpg` beside `b/receipt.jpg`, two different
  images with the same base name, to show that names are relative paths.
- `write_sample_videos`: small MP4 clips (H.264 when this PyAV build has an encoder, else MPEG-4 part 2).
- `write_broken_files`: one file for each way a file fails validation.
- `make_tar` and `make_evil_tar`: bundles, including one with every kind of unsafe entry.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from PIL import Image, ImageDraw, TiffImagePlugin

__all__ = [
    "PRAGUE",
    "SAMPLE_MAKE",
    "make_evil_tar",
    "make_tar",
    "write_broken_files",
    "write_sample_images",
    "write_sample_videos",
]

SAMPLE_MAKE = "Docket"
"""The EXIF Make of every generated JPEG."""

PRAGUE = (50.0875, 14.4214)
"""Latitude and longitude (north, east) in the GPS EXIF of the first sample image."""

_PLACES = [PRAGUE, (49.1951, 16.6068), (48.2082, 16.3738)]  # Prague, Brno, Vienna
_ORIENTATIONS = [1, 1, 3, 6, 8]
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_FIXED_MTIME = 1_700_000_000  # tar entries get a fixed time, so bundles are byte-for-byte repeatable


@dataclass(frozen=True)
class _Plan:
    name: str
    scene: int  # which generated scene; near-duplicates share the scene of their original
    variant: str = "original"  # "original", "brighter" or "smaller"
    orientation: int = 1
    place: tuple[float, float] | None = None


def _plans(count: int) -> list[_Plan]:
    plans = [
        _Plan("img_00.jpg", scene=0, place=PRAGUE),
        _Plan("img_00_brighter.jpg", scene=0, variant="brighter", place=PRAGUE),
        _Plan("img_00_smaller.jpg", scene=0, variant="smaller", place=PRAGUE),
        _Plan("a/receipt.jpg", scene=1, orientation=6),
        _Plan("b/receipt.jpg", scene=2, place=_PLACES[1]),
    ]
    index = len(plans)
    while len(plans) < count:
        scene = index - 2
        if index % 3 == 2:
            plans.append(_Plan(f"img_{index:02d}.png", scene=scene))
        else:
            place = _PLACES[index % len(_PLACES)] if index % 2 == 0 else None
            orientation = _ORIENTATIONS[index % len(_ORIENTATIONS)]
            plans.append(_Plan(f"img_{index:02d}.jpg", scene=scene, orientation=orientation, place=place))
        index += 1
    return plans[:count]


def write_sample_images(dest: Path, count: int = 12, *, seed: int = 0) -> list[Path]:
    """Write `count` generated images under `dest` and return their paths, in a fixed order.

    With `count` of 5 or more the set holds the near-duplicates and the `a/` and `b/` pair described
    in the module docstring; each further image is a distinct scene. Images are at most 320x240, so
    a dozen take a fraction of a second.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    paths = []
    for i, plan in enumerate(_plans(count)):
        image = _scene(np.random.default_rng([seed, plan.scene]))
        if plan.variant == "brighter":
            image = Image.fromarray(np.clip(np.asarray(image, dtype=np.int16) + 18, 0, 255).astype(np.uint8))
        elif plan.variant == "smaller":
            image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)
        path = dest / plan.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".png":
            image.save(path, "PNG", optimize=False)
        else:
            image.save(path, "JPEG", quality=88, exif=_exif(plan, i))
        paths.append(path)
    return paths


def _scene(rng: np.random.Generator) -> Image.Image:
    """A gradient, a few filled shapes and noise: different enough per seed for perceptual hashes."""
    width, height = (320, 240) if rng.random() < 0.7 else (240, 320)
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xs * np.cos(angle) + ys * np.sin(angle)) / (width + height)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    start, end = rng.integers(0, 256, size=3), rng.integers(0, 256, size=3)
    pixels = start + ramp[..., None] * (end - start)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 8))):
        x0, y0 = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 40))
        x1, y1 = x0 + int(rng.integers(30, width // 2)), y0 + int(rng.integers(30, height // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=colour)
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, 6, size=(height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _exif(plan: _Plan, index: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = SAMPLE_MAKE  # Make
    exif[0x0110] = f"Sample Camera {1 + plan.scene % 3}"  # Model
    exif[0x0112] = plan.orientation  # Orientation
    exif[0x0131] = "docket_core.samples"  # Software
    taken = f"2024:05:{1 + plan.scene % 28:02d} 10:{index % 60:02d}:00"
    exif[0x0132] = taken  # DateTime
    exif_ifd = exif.get_ifd(_EXIF_IFD)
    exif_ifd[0x9000] = b"0232"  # ExifVersion
    exif_ifd[0x9003] = taken  # DateTimeOriginal
    if plan.place is not None:
        lat, lon = plan.place
        gps = exif.get_ifd(_GPS_IFD)
        gps[0x0000] = b"\x02\x03\x00\x00"  # GPSVersionID
        gps[0x0001] = "N" if lat >= 0 else "S"
        gps[0x0002] = _dms(abs(lat))
        gps[0x0003] = "E" if lon >= 0 else "W"
        gps[0x0004] = _dms(abs(lon))
    return exif


def _dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    """Degrees, minutes and hundredths of seconds as EXIF rationals (50.0875 -> 50/1, 5/1, 1500/100)."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    centiseconds = round(((value - degrees) * 60 - minutes) * 6000)
    rational = TiffImagePlugin.IFDRational
    return (rational(degrees, 1), rational(minutes, 1), rational(centiseconds, 100))


def write_sample_videos(dest: Path, count: int = 1, *, seconds: float = 2.0, fps: int = 10) -> list[Path]:
    """Write `count` 160x120 MP4 clips (`clip_00.mp4`, ...) of a square crossing a gradient."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    frames = max(1, round(seconds * fps))
    dest.mkdir(parents=True, exist_ok=True)
    width, height, side = 160, 120, 24
    xs = np.linspace(0, 255, width, dtype=np.float32)
    paths = []
    for index in range(count):
        path = dest / f"clip_{index:02d}.mp4"
        colour = np.array([(60 * index) % 256, 200, 255 - (40 * index) % 256], dtype=np.uint8)
        with av.open(str(path), mode="w", format="mp4") as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            if codec == "libx264":
                stream.options = {"preset": "ultrafast"}
            for n in range(frames):
                frame = np.empty((height, width, 3), dtype=np.uint8)
                frame[..., 0] = xs[None, :]
                frame[..., 1] = (xs[::-1] * n / frames)[None, :]
                frame[..., 2] = 96
                x = (n * (width - side)) // max(1, frames - 1)
                y = (height - side) // 2 + int(20 * np.sin(n / 3))
                frame[y : y + side, x : x + side] = colour
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        paths.append(path)
    return paths


def write_broken_files(dest: Path) -> list[Path]:
    """Write files that fail validation: `truncated.jpg`, `text.jpg`, `empty.jpg`, `garbage.pdf`.

    In an images batch the first three fail as invalid content, unsupported type and invalid
    content (empty); in a documents batch `garbage.pdf` fails as invalid content.
    """
    dest.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    _scene(np.random.default_rng([7, 7])).save(buffer, "JPEG", quality=85)
    jpeg = buffer.getvalue()
    garbage = np.random.default_rng(13).integers(0, 256, size=2048, dtype=np.uint8).tobytes()
    contents = {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "text.jpg": b"This is a note someone saved with a .jpg name; it is not an image.\n",
        "empty.jpg": b"",
        "garbage.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + garbage,
    }
    paths = []
    for name, data in contents.items():
        path = dest / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def make_tar(dest: Path, files: dict[str, bytes] | list[Path], *, base: Path | None = None) -> Path:
    """Write a tar bundle at `dest`, compressed as its name says (.tar, .tar.gz/.tgz, .tar.bz2, .tar.xz).

    `files` maps entry names to bytes, or lists files stored under their path relative to `base`
    (their bare name without it). Entries get fixed times and owners, so the bundle is repeatable.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _tar_writer(dest) as tar:
        if isinstance(files, dict):
            for name, data in files.items():
                tar.addfile(_entry(name, size=len(data)), io.BytesIO(data))
        else:
            for path in files:
                arcname = path.relative_to(base).as_posix() if base is not None else path.name
                data = path.read_bytes()
                tar.addfile(_entry(arcname, size=len(data)), io.BytesIO(data))
    return dest


def make_evil_tar(dest: Path) -> Path:
    """Write a bundle of entries Docket must refuse, plus a directory and one good image.

    Entries in order: `photos/` (a directory, skipped), `../escape.jpg`, `/etc/x.jpg`, `link.jpg`
    (symlink to /etc/passwd), `photos/good.jpg` (the only file to stage), `hard.jpg` (hardlink to
    it), `pipe.jpg` (a FIFO) and `null.jpg` (a character device).
    """
    buffer = io.BytesIO()
    _scene(np.random.default_rng([3, 3])).save(buffer, "JPEG", quality=85)
    jpeg = buffer.getvalue()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _tar_writer(dest) as tar:
        tar.addfile(_entry("photos", kind=tarfile.DIRTYPE))
        tar.addfile(_entry("../escape.jpg", size=len(jpeg)), io.BytesIO(jpeg))
        tar.addfile(_entry("/etc/x.jpg", size=len(jpeg)), io.BytesIO(jpeg))
        tar.addfile(_entry("link.jpg", kind=tarfile.SYMTYPE, linkname="/etc/passwd"))
        tar.addfile(_entry("photos/good.jpg", size=len(jpeg)), io.BytesIO(jpeg))
        tar.addfile(_entry("hard.jpg", kind=tarfile.LNKTYPE, linkname="photos/good.jpg"))
        tar.addfile(_entry("pipe.jpg", kind=tarfile.FIFOTYPE))
        tar.addfile(_entry("null.jpg", kind=tarfile.CHRTYPE, devmajor=1, devminor=3))
    return dest


def _entry(name: str, *, size: int = 0, kind: bytes = tarfile.REGTYPE, **fields: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime = size, kind, _FIXED_MTIME
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    for key, value in fields.items():
        setattr(info, key, value)
    return info


@contextmanager
def _tar_writer(dest: Path) -> Iterator[tarfile.TarFile]:
    """A tar writer; compression chosen by name, with a zero gzip timestamp so bytes repeat."""
    name = dest.name.lower()
    with open(dest, "wb") as raw:
        stream: BinaryIO
        if name.endswith((".tar.gz", ".tgz")):
            stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        elif name.endswith((".tar.bz2", ".tbz2")):
            stream = bz2.BZ2File(raw, mode="wb")
        elif name.endswith((".tar.xz", ".txz")):
            stream = lzma.LZMAFile(raw, mode="wb")
        elif name.endswith(".tar"):
            stream = raw
        else:
            raise ValueError(f"bundle name must end in .tar, .tar.gz, .tgz, .tar.bz2 or .tar.xz, got {dest.name!r}")
        with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as tar:
            yield tar
        if stream is not raw:
            stream.close()
