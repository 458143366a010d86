from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from docket_core.dag import DAGError
from docket_core.errors import InputError
from docket_core.workflows.model import FileContext, StepOutput
from docket_core.workflows.registry import Workflow, load_workflows


def first(ctx: FileContext) -> StepOutput:
    return StepOutput(datapoints={"a": 1})


def second(ctx: FileContext) -> StepOutput:
    return StepOutput(datapoints={"b": ctx.datapoints["a"] + 1})


class TestBuiltins:
    def test_the_three_built_in_workflows_are_listed_with_their_levels(self) -> None:
        found = load_workflows()
        assert {"image-metadata", "invoice-capture", "video-frames"} <= set(found)
        assert found["invoice-capture"].describe()["levels"] == [["extract"], ["checks"]]


class TestUserWorkflows:
    def test_a_yaml_file_adds_a_workflow_whose_steps_run_in_dag_order(self, tmp_path: Path) -> None:
        wf = tmp_path / "wf.yaml"
        wf.write_text(textwrap.dedent("""
            workflow_id: mine
            media: [images]
            fields: {a: int, b: int}
            steps:
              - {name: second, function: "tests.docket_core.test_workflows:second", run_after: [first]}
              - {name: first, function: "tests.docket_core.test_workflows:first"}
        """))
        mine = load_workflows([str(tmp_path)])["mine"]
        assert [[s.name for s in level] for level in mine.levels()] == [["first"], ["second"]]

    def test_a_python_module_adds_workflows(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        (tmp_path / "my_wfs.py").write_text(textwrap.dedent("""
            from docket_core.workflows.registry import Workflow
            from tests.docket_core.test_workflows import first
            WORKFLOWS = [Workflow.build("py-wf", [("first", first, ())], media=["documents"])]
        """))
        monkeypatch.syspath_prepend(str(tmp_path))
        assert "py-wf" in load_workflows(modules=["my_wfs"])
        sys.modules.pop("my_wfs", None)

    def test_a_cycle_is_refused_with_its_path(self) -> None:
        with pytest.raises(DAGError, match="a -> b -> a|b -> a -> b"):
            Workflow.build("cyc", [("a", first, ["b"]), ("b", second, ["a"])], media=["images"])

    def test_a_bad_function_path_says_the_expected_form(self, tmp_path: Path) -> None:
        wf = tmp_path / "bad.yaml"
        wf.write_text("workflow_id: bad\nsteps:\n  - {name: x, function: not_a_path}\n")
        with pytest.raises(InputError, match="expected a function as 'package.module:function', got 'not_a_path'"):
            load_workflows([str(wf)])
