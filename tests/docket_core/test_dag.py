from __future__ import annotations

import pickle
import re

import pytest

from docket_core.dag import DAGError, describe_levels, edges, plan_levels, to_mermaid, validate_dag
from docket_core.errors import InputError

# DAG shapes, as `{name: predecessors}`.
CHAIN = {"a": set(), "b": {"a"}, "c": {"b"}}
DIAMOND = {"top": set(), "left": {"top"}, "right": {"top"}, "bottom": {"left", "right"}}
WIDE = {f"w{i:02d}": set() for i in range(12)} | {"sink": {f"w{i:02d}" for i in range(12)}}
CYCLE = {"a": {"c"}, "b": {"a"}, "c": {"b"}, "d": set()}
UNKNOWN = {"a": set(), "b": {"a", "x"}}
SELF_LOOP = {"a": {"a"}, "b": {"a"}}
MANY_PROBLEMS = {"a": {"a"}, "b": {"ghost"}, "c": {"d"}, "d": {"c"}, "e": {"f"}, "f": {"e"}}


@pytest.fixture(params=["chain", "diamond", "wide"])
def valid_shape(request: pytest.FixtureRequest) -> dict[str, set[str]]:
    return {"chain": CHAIN, "diamond": DIAMOND, "wide": WIDE}[request.param]


class TestPlanLevels:
    def test_a_chain_runs_one_at_a_time(self) -> None:
        assert plan_levels(CHAIN) == [["a"], ["b"], ["c"]]

    def test_a_diamond_runs_its_two_sides_together(self) -> None:
        assert plan_levels(DIAMOND) == [["top"], ["left", "right"], ["bottom"]]

    def test_a_wide_level_holds_every_independent_name_sorted(self) -> None:
        assert plan_levels(WIDE) == [[f"w{i:02d}" for i in range(12)], ["sink"]]

    def test_level_order_does_not_depend_on_insertion_order(self) -> None:
        reversed_diamond = {name: list(reversed(sorted(DIAMOND[name]))) for name in reversed(list(DIAMOND))}
        assert plan_levels(reversed_diamond) == plan_levels(DIAMOND)

    def test_every_name_comes_after_its_predecessors(self, valid_shape: dict[str, set[str]]) -> None:
        position = {name: i for i, level in enumerate(plan_levels(valid_shape)) for name in level}
        assert sorted(position) == sorted(valid_shape)
        for name, predecessors in valid_shape.items():
            assert all(position[p] < position[name] for p in predecessors)

    def test_an_empty_spec_has_no_levels(self) -> None:
        assert plan_levels({}) == []


class TestValidateDag:
    def test_a_valid_spec_comes_back_normalized_and_sorted(self) -> None:
        assert validate_dag({"b": ["a"], "a": []}) == {"a": frozenset(), "b": frozenset({"a"})}

    def test_a_cycle_is_reported_as_its_path(self) -> None:
        with pytest.raises(DAGError, match=re.escape("cycle among extensions: a -> b -> c -> a")):
            plan_levels(CYCLE)

    def test_an_unknown_predecessor_is_named_with_its_context(self) -> None:
        with pytest.raises(DAGError, match="extension 'b' on queue 'q1' runs after unknown 'x'"):
            validate_dag(UNKNOWN, context="on queue 'q1'")

    def test_the_wording_follows_what_the_names_are(self) -> None:
        with pytest.raises(DAGError, match="step 'b' in workflow 'ocr' runs after unknown 'x'"):
            validate_dag(UNKNOWN, what="step", context="in workflow 'ocr'")

    def test_a_self_loop_is_reported(self) -> None:
        with pytest.raises(DAGError, match="extension 'a' runs after itself"):
            validate_dag(SELF_LOOP)

    def test_a_string_of_predecessors_is_not_split_into_characters(self) -> None:
        with pytest.raises(DAGError, match="got the string 'ab'"):
            validate_dag({"ab": set(), "c": "ab"})

    def test_every_problem_is_reported_at_once_one_per_line(self) -> None:
        with pytest.raises(DAGError) as caught:
            validate_dag(MANY_PROBLEMS)
        problems = caught.value.problems
        assert len(problems) == 4
        assert str(caught.value).splitlines() == problems
        assert "extension 'a' runs after itself" in problems[0]
        assert "extension 'b' runs after unknown 'ghost'" in problems[1]
        assert problems[2].startswith("cycle among extensions: c -> d -> c")
        assert problems[3].startswith("cycle among extensions: e -> f -> e")

    def test_the_error_is_an_input_error_and_a_value_error(self) -> None:
        with pytest.raises(DAGError) as caught:
            validate_dag(CYCLE)
        assert isinstance(caught.value, InputError)
        assert isinstance(caught.value, ValueError)

    def test_the_error_survives_pickling_with_its_problems(self) -> None:
        with pytest.raises(DAGError) as caught:
            validate_dag(MANY_PROBLEMS)
        copy = pickle.loads(pickle.dumps(caught.value))
        assert copy.problems == caught.value.problems
        assert str(copy) == str(caught.value)


class TestRendering:
    def test_edges_are_sorted_predecessor_successor_pairs(self) -> None:
        assert edges(DIAMOND) == [("left", "bottom"), ("right", "bottom"), ("top", "left"), ("top", "right")]

    def test_mermaid_output_contains_every_edge(self, valid_shape: dict[str, set[str]]) -> None:
        text = to_mermaid(valid_shape)
        assert text.startswith("flowchart LR\n")
        ids = {label: node for node, label in re.findall(r'^\s+(n\d+)\["([^"]*)"\]$', text, re.MULTILINE)}
        assert sorted(ids) == sorted(valid_shape)
        arrows = set(re.findall(r"^\s+(n\d+) --> (n\d+)$", text, re.MULTILINE))
        assert arrows == {(ids[a], ids[b]) for a, b in edges(valid_shape)}

    def test_mermaid_groups_nodes_by_level_under_a_title(self) -> None:
        text = to_mermaid(CHAIN, title='queue "q1" / annotation_content')
        assert text.startswith('---\ntitle: "queue \\"q1\\" / annotation_content"\n---\nflowchart LR\n')
        assert [int(n) for n in re.findall(r"subgraph level_(\d+)", text)] == [1, 2, 3]

    def test_mermaid_escapes_quotes_in_names(self) -> None:
        assert '["say #quot;hi#quot;"]' in to_mermaid({'say "hi"': set()})

    def test_describe_levels_names_each_levels_predecessors(self) -> None:
        assert describe_levels(DIAMOND).splitlines() == [
            "level 1: top",
            "level 2: left (after top), right (after top)",
            "level 3: bottom (after left, right)",
        ]

    def test_rendering_validates_first(self) -> None:
        with pytest.raises(DAGError, match="cycle"):
            to_mermaid(CYCLE)
