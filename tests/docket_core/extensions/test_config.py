"""Extension configuration: what a save refuses (all problems at once), and which extensions an event runs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from docket_core.errors import InputError
from docket_core.extensions.config import ExtensionConfigError, ExtensionSpec, check_configuration, normalize_event, plan_for


def ext(name: str, *, queues: Any = None, type_: str = "function", events: tuple[str, ...] = ("initialize",), **more: Any) -> ExtensionSpec:
    data: dict[str, Any] = {"name": name, "type": type_, "queues": queues if queues is not None else ["q"], **more}
    if type_ == "function":
        data.setdefault("function", "pkg.mod:fn")
    else:
        data.setdefault("url", "https://hooks.example.com/" + name)
    if type_ != "connector":
        data["events"] = list(events)
    return ExtensionSpec.model_validate(data)


class TestSpec:
    def test_events_may_be_given_by_action_alone(self) -> None:
        assert ext("a", events=("initialize", "email")).events == ("annotation_content.initialize", "email.received")

    def test_an_unknown_event_lists_the_known_ones(self) -> None:
        with pytest.raises(ValidationError, match=r"event must be one of \[.*annotation_content.updated"):
            ext("a", events=("created",))

    def test_queues_as_a_list_share_run_after_and_as_a_mapping_order_per_queue(self) -> None:
        assert ext("c", queues=["q1", "q2"], run_after=["a"]).queues == {"q1": ("a",), "q2": ("a",)}
        assert ext("c", queues={"q1": ["a"], "q2": {"run_after": ["b"]}}).queues == {"q1": ("a",), "q2": ("b",)}

    def test_a_webhook_needs_an_http_url_and_a_function_an_import_path(self) -> None:
        with pytest.raises(ValidationError, match="needs url starting with http:// or https://, got 'ftp://x'"):
            ext("w", type_="webhook", url="ftp://x")
        with pytest.raises(ValidationError, match="needs function as 'package.module:function', got 'nocolon'"):
            ext("f", function="nocolon")

    def test_a_connector_takes_no_events(self) -> None:
        with pytest.raises(ValidationError, match="connector 'c' takes no events"):
            ExtensionSpec(name="c", type="connector", url="https://c.example.com", events=["initialize"])

    def test_the_secret_is_never_shown(self) -> None:
        shown = ext("w", type_="webhook", secret="hunter2").public()
        assert "hunter2" not in repr(shown) and shown["has_secret"] is True

    def test_normalize_event_refuses_an_ambiguous_name(self) -> None:
        with pytest.raises(InputError, match="event must be one of"):
            normalize_event("annotation_content")


class TestCheckConfiguration:
    def test_a_cycle_is_refused_with_its_path(self) -> None:
        specs = [ext("a", queues={"q": ["c"]}), ext("b", queues={"q": ["a"]}), ext("c", queues={"q": ["b"]})]
        with pytest.raises(ExtensionConfigError, match=r"cycle among extensions on queue 'q': a -> b -> c -> a; remove one of these run_after edges"):
            check_configuration(specs, ["q"])

    def test_an_unknown_name_is_refused_naming_it_and_the_known_ones(self) -> None:
        with pytest.raises(ExtensionConfigError, match=r"extension 'b' on queue 'q' runs after unknown 'ghost' \(known: 'a', 'b'\)"):
            check_configuration([ext("a"), ext("b", queues={"q": ["ghost"]})], ["q"])

    def test_a_name_on_another_queue_is_unknown_on_this_one(self) -> None:
        with pytest.raises(ExtensionConfigError, match="runs after unknown 'a'"):
            check_configuration([ext("a", queues=["other"]), ext("b", queues={"q": ["a"]})], ["q", "other"])

    def test_one_extension_follows_different_predecessors_on_different_queues(self) -> None:
        specs = [ext("a", queues=["q1", "q2"]), ext("b", queues=["q1", "q2"]), ext("c", queues={"q1": ["a"], "q2": ["b"]})]
        check_configuration(specs, ["q1", "q2"])
        assert plan_for(specs, "q1", "initialize").edges() == [("a", "c")]
        assert plan_for(specs, "q2", "initialize").edges() == [("b", "c")]

    def test_ordering_a_connector_either_way_is_refused(self) -> None:
        specs = [ext("conn", type_="connector", queues={"q": ["a"]}), ext("a"), ext("b", queues={"q": ["conn"]})]
        with pytest.raises(ExtensionConfigError) as info:
            check_configuration(specs, ["q"])
        assert info.value.problems == [
            "extension 'b' on queue 'q' runs after connector 'conn': connectors are never ordered (make it a webhook to order it)",
            "connector 'conn' on queue 'q' cannot run after a: connectors are never ordered (make it a webhook to order it)",
        ]

    def test_two_connectors_on_a_queue_are_refused(self) -> None:
        with pytest.raises(ExtensionConfigError, match=r"queue 'q' has 2 connectors \(c1, c2\); a queue takes at most one"):
            check_configuration([ext("c1", type_="connector"), ext("c2", type_="connector")], ["q"])

    def test_an_unknown_queue_is_refused(self) -> None:
        with pytest.raises(ExtensionConfigError, match=r"extension 'a' is on unknown queue 'nope' \(queues: q; create it first\)"):
            check_configuration([ext("a", queues=["nope"])], ["q"])

    def test_every_problem_is_reported_at_once(self) -> None:
        specs = [ext("a", queues={"q": ["a"]}), ext("b", queues={"q": ["zz"]}), ext("c", queues=["nope"])]
        with pytest.raises(ExtensionConfigError) as info:
            check_configuration(specs, ["q"])
        assert len(info.value.problems) == 3


class TestPlanFor:
    def test_only_active_extensions_of_the_queue_listening_to_the_event_run(self) -> None:
        specs = [
            ext("a"), ext("b", active=False), ext("c", events=("updated",)), ext("d", queues=["other"]),
            ext("e", queues={"q": ["a", "b", "c"]}),
        ]  # fmt: skip
        plan = plan_for(specs, "q", "initialize")
        assert plan.levels == (("a",), ("e",))
        assert plan.edges() == [("a", "e")]  # edges to b and c order nothing here

    def test_levels_are_sorted_by_name(self) -> None:
        specs = [ext("zeta"), ext("alpha"), ext("mid", queues={"q": ["zeta", "alpha"]})]
        assert plan_for(specs, "q", "initialize").levels == (("alpha", "zeta"), ("mid",))

    def test_the_connector_runs_after_the_levels_for_validate_and_save_only(self) -> None:
        specs = [ext("a"), ext("conn", type_="connector")]
        assert plan_for(specs, "q", "initialize").connector == "conn"
        assert plan_for(specs, "q", "export").connector == "conn"
        assert plan_for(specs, "q", "confirm").connector is None
        assert "then connector conn (validate; never ordered)" in plan_for(specs, "q", "updated").describe()

    def test_the_mermaid_graph_has_a_subgraph_per_level_and_an_edge_per_run_after(self) -> None:
        specs = [ext("a"), ext("b"), ext("c", queues={"q": ["a", "b"]})]
        mermaid = plan_for(specs, "q", "initialize").mermaid()
        assert 'subgraph level_1 ["level 1"]' in mermaid and mermaid.count("-->") == 2
        assert 'title: "q: annotation_content.initialize"' in mermaid
