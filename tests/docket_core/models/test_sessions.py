"""Where models come from and how they run: a URL fetched once into the worker's cache and verified,
one session per process and model reused by every chunk, and the execution provider setting."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import fsspec
import pytest

from docket_core.models.session import ModelError, execution_providers
from docket_core.models.tiny import write_detector
from tests.docket_core.models.builders import run, solid, workflow


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKET_ONNX_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


class TestModelLocation:
    def test_a_model_at_a_url_is_fetched_once_into_the_cache_under_its_checksum(self, tmp_path: Path, cache: Path) -> None:
        data = write_detector(tmp_path / "src.onnx").read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        url = f"memory://models-{uuid.uuid4().hex}/yolo.onnx"
        fs = fsspec.filesystem("memory")
        fs.pipe(url, data)
        steps = [{"name": "detect", "uses": "onnx-detect", "with": {"model": url, "sha256": digest}}]
        image = solid(tmp_path / "y.png", (160, 160), (255, 255, 0))
        assert run(workflow(tmp_path, steps), [image])["y.png"].datapoints["detect_count"] == 3
        assert (cache / f"{digest}.onnx").read_bytes() == data
        fs.rm(url)  # gone from the source: a new process would still find it in the cache by its sha256
        from docket_core.models import source

        source._resolved.clear()
        assert run(workflow(tmp_path, steps, workflow_id="again"), [image])["y.png"].datapoints["detect_count"] == 3

    def test_a_fetched_model_with_another_checksum_is_not_kept(self, tmp_path: Path, cache: Path) -> None:
        from docket_core.models.source import ModelSourceError

        url = f"memory://models-{uuid.uuid4().hex}/yolo.onnx"
        fsspec.filesystem("memory").pipe(url, write_detector(tmp_path / "src.onnx").read_bytes())
        steps = [{"name": "detect", "uses": "onnx-detect", "with": {"model": url, "sha256": "a" * 64}}]
        with pytest.raises(ModelSourceError, match="but the workflow pins aaaa"):
            run(workflow(tmp_path, steps), [solid(tmp_path / "y.png", (16, 16), (0, 0, 0))])
        assert not list(cache.glob("*"))

    def test_a_missing_model_file_is_named(self, tmp_path: Path) -> None:
        from docket_core.models.source import ModelSourceError

        steps = [{"name": "detect", "uses": "onnx-detect", "with": {"model": "nowhere.onnx"}}]
        with pytest.raises(ModelSourceError, match=r"model file '.*nowhere.onnx' does not exist"):
            run(workflow(tmp_path, steps), [solid(tmp_path / "y.png", (16, 16), (0, 0, 0))])


class TestSessions:
    def test_workflows_loaded_again_for_each_chunk_share_one_session_per_model(self, tmp_path: Path) -> None:
        write_detector(tmp_path / "m.onnx")
        steps = [{"name": "detect", "uses": "onnx-detect", "with": {"model": "m.onnx"}}]
        first, second = workflow(tmp_path, steps, workflow_id="a"), workflow(tmp_path, steps, workflow_id="b")
        session_a, info, _ = first.steps[0].fn.load()  # type: ignore[attr-defined]
        session_b, _, _ = second.steps[0].fn.load()  # type: ignore[attr-defined]
        assert session_a is session_b
        assert info.providers == ("CPUExecutionProvider",) and info.dynamic_batch and info.input_size(640) == (160, 160)
        assert info.metadata["names"] == "{0: 'red', 1: 'green', 2: 'blue'}"


class TestProviders:
    def test_cpu_is_the_default_and_always_the_last_resort(self) -> None:
        assert execution_providers(["cpu"]) == ["CPUExecutionProvider"]
        assert execution_providers(["auto"])[-1] == "CPUExecutionProvider"

    def test_a_provider_this_onnxruntime_lacks_is_refused_with_what_it_has_and_how_to_get_a_gpu_one(self) -> None:
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            pytest.skip("this machine has CUDA")
        with pytest.raises(ModelError, match=r"names 'cuda'.*install onnxruntime-gpu.*available: .*CPUExecutionProvider"):
            execution_providers(["cuda"])
