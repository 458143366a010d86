"""`docket jobs ...` with a model step: a model that cannot run is refused before anything starts,
and the message keeps its shapes (brackets are text, not terminal markup)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from docket_core.models.tiny import write_classifier


class TestModelJobsCli:
    def test_a_workflow_whose_detector_is_a_classifier_is_refused_with_the_output_shape(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_classifier(tmp_path / "not-a-detector.onnx")
        (tmp_path / "wf.yaml").write_text(
            "workflow_id: det\nmedia: [images]\nsteps:\n  - {name: detect, uses: onnx-detect, with: {model: not-a-detector.onnx}}\n"
        )
        monkeypatch.setenv("DOCKET_WORKFLOW_PATHS", str(tmp_path / "wf.yaml"))
        result = CliRunner().invoke(app, ["jobs", "process-images-with-workflow", "-w", "det", "-b", "photos"])
        assert result.exit_code == 2
        assert "the model's outputs logits [batch, 3] match no supported detection layout" in " ".join(result.stderr.split())
