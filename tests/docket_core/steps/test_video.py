"""docket_core.steps.video: frame sampling and per-frame measures, on small videos made with PyAV."""

from __future__ import annotations

import wave
from pathlib import Path
import av
import numpy as np
import pytest
from PIL import Image

from docket_core.errors import InputError
from docket_core.steps.image.quality import measure_quality
from docket_core.steps.video import FIELDS, FRAME_FIELDS, VIDEO_STEPS, sample_frames
from docket_core.workflows.model import FileContext

SIZE = (160, 120)


def encoder() -> str:
    for name in ("libx264", "h264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
        except av.FFmpegError:
            continue
        return name
    pytest.skip("this PyAV build has no H.264 or MPEG-4 encoder")


def frame_pixels(index: int) -> np.ndarray:
    """Frame `index`: a dark bar sweeping right over mid gray, so frames differ from one another."""
    pixels = np.full((SIZE[1], SIZE[0], 3), 128, dtype=np.uint8)
    pixels[:, (index * 4) % SIZE[0] :, :] = 30
    return pixels


def make_video(path: Path, *, seconds: int = 3, rate: int = 10) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(encoder(), rate=rate)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for index in range(seconds * rate):
            frame = av.VideoFrame.from_ndarray(frame_pixels(index), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def context(path: Path) -> FileContext:
    return FileContext(path.name, "video/mp4", path)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4")


class TestSampleFrames:
    def test_three_seconds_at_ten_fps_sampled_at_one_fps_gives_three_frames(self, video: Path) -> None:
        output = sample_frames(context(video), max_fps=1.0)

        frames = output.datapoints["frames"]
        assert [row["timestamp_s"] for row in frames] == pytest.approx([0.0, 1.0, 2.0], abs=0.1)
        assert [row["frame_index"] for row in frames] == [0, 10, 20]
        assert output.messages == []

    def test_stream_properties_are_reported(self, video: Path) -> None:
        values = sample_frames(context(video)).datapoints

        assert values["duration_s"] == pytest.approx(3.0, abs=0.1)
        assert values["fps"] == pytest.approx(10.0)
        assert values["frame_count"] == 30
        assert (values["width"], values["height"]) == SIZE
        assert values["codec"] in ("h264", "mpeg4")

    def test_every_datapoint_and_frame_key_is_declared(self, video: Path) -> None:
        values = sample_frames(context(video)).datapoints

        assert set(values) == set(FIELDS)
        assert all(set(row) == set(FRAME_FIELDS) for row in values["frames"])
        assert [name for name, _, _ in VIDEO_STEPS] == ["frames"]

    def test_frames_are_measured_like_images(self, video: Path) -> None:
        rows = sample_frames(context(video)).datapoints["frames"]

        for row in rows:
            expected = measure_quality(Image.fromarray(frame_pixels(row["frame_index"])))
            assert (row["width"], row["height"]) == SIZE
            assert row["brightness"] == pytest.approx(expected.brightness, abs=0.02)
            assert len(row["phash"]) == 16
        assert rows[0]["brightness"] < rows[2]["brightness"]  # the dark bar has swept further right

    def test_a_higher_rate_keeps_more_frames_and_max_frames_caps_them(self, video: Path) -> None:
        assert len(sample_frames(context(video), max_fps=5.0).datapoints["frames"]) == 15

        capped = sample_frames(context(video), max_fps=5.0, max_frames=4)

        assert [row["frame_index"] for row in capped.datapoints["frames"]] == [0, 2, 4, 6]
        assert [(m.type, m.schema_id) for m in capped.messages] == [("info", "frames")]

    @pytest.mark.parametrize(("max_fps", "max_frames"), [(0.0, 10), (1.0, 0)])
    def test_limits_must_be_positive(self, video: Path, max_fps: float, max_frames: int) -> None:
        with pytest.raises(InputError, match=r"max_fps must be > 0 and max_frames >= 1"):
            sample_frames(context(video), max_fps=max_fps, max_frames=max_frames)

    def test_a_file_ffmpeg_cannot_open_is_an_input_error(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.mp4"
        path.write_bytes(b"\x00\x01 this is not a video " * 64)

        with pytest.raises(InputError, match=r"expected a video file FFmpeg can open, got 'notes.mp4'"):
            sample_frames(context(path))

    def test_a_file_without_a_video_stream_is_an_input_error(self, tmp_path: Path) -> None:
        path = tmp_path / "sound.wav"
        with wave.open(str(path), "wb") as sound:
            sound.setnchannels(1)
            sound.setsampwidth(2)
            sound.setframerate(8000)
            sound.writeframes(bytes(16000))

        with pytest.raises(InputError, match=r"expected a file with a video stream, got 'sound.wav'"):
            sample_frames(context(path))

    def test_a_truncated_video_gives_the_frames_before_the_cut_and_a_warning(self, tmp_path: Path) -> None:
        # Matroska, unlike MP4 (whose index usually sits at the end), still opens when its tail is lost.
        data = make_video(tmp_path / "whole.mkv").read_bytes()
        path = tmp_path / "cut.mkv"
        path.write_bytes(data[: len(data) // 2])

        output = sample_frames(context(path))

        assert 1 <= len(output.datapoints["frames"]) < 3
        assert [(m.type, m.schema_id) for m in output.messages] == [("warning", "frames")]
        assert "may be truncated" in output.messages[0].content

    def test_a_truncated_mp4_without_its_index_is_an_input_error(self, tmp_path: Path, video: Path) -> None:
        path = tmp_path / "cut.mp4"
        path.write_bytes(video.read_bytes()[: video.stat().st_size // 2])

        with pytest.raises(InputError, match=r"expected a video file FFmpeg can open"):
            sample_frames(context(path))
