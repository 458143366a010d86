"""Annotation content: the tree of captured data, as plain dicts exactly as Rossum's hooks send it.

The content is a list of sections. A section holds datapoints and multivalues; a multivalue holds either
datapoints (a simple list) or tuples (the rows of a table), and a tuple holds datapoints (its cells).
Every node has an integer `id`, a `schema_id` and a `category` (`section`, `datapoint`, `multivalue`,
`tuple`); a datapoint has `content: {"value": ..., ...}`, the others have `children`.

`apply_operations` applies the `replace`, `remove` and `add` operations of a hook response. It never
changes its input: it returns a changed copy and the ids of what changed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from docket_core.errors import DocketError, InputError

__all__ = [
    "CATEGORIES",
    "ContentError",
    "IdAllocator",
    "OperationError",
    "apply_operations",
    "find_by_schema_id",
    "index_content",
    "iter_nodes",
    "max_id",
]

Node = dict[str, Any]
CATEGORIES = frozenset({"section", "datapoint", "multivalue", "tuple"})
_CONTAINERS = frozenset({"section", "multivalue", "tuple"})
# Keys a `replace` may repeat but must not change: they are the node's identity, not its data.
_IDENTITY_KEYS = ("id", "schema_id", "category", "url")


class ContentError(InputError):
    """Raised when an annotation content tree is malformed: a node without an integer id or a schema_id,
    a duplicate id, an unknown category."""


class OperationError(InputError):
    """Raised when a hook's operation cannot apply to the content: an unknown id, a `replace` of a
    non-datapoint, an `add` to a non-multivalue, a malformed operation."""


def iter_nodes(content: Iterable[Node]) -> Iterator[Node]:
    """Every node of the tree, parents before their children, in document order."""
    stack = list(reversed(list(content)))
    while stack:
        node = stack.pop()
        yield node
        children = node.get("children") if isinstance(node, dict) else None
        if children:
            stack.extend(reversed(children))


def index_content(content: Iterable[Node]) -> dict[int, Node]:
    """The nodes of the tree by id; the values are the nodes themselves, not copies.

    Raises `ContentError` for a node that is not a dict, lacks an integer id, has an unknown category,
    or repeats an id.
    """
    return _index(content)[0]


def find_by_schema_id(content: Iterable[Node], schema_id: str) -> list[Node]:
    """Every node with this `schema_id`, in document order (the nodes themselves, not copies)."""
    return [node for node in iter_nodes(content) if node.get("schema_id") == schema_id]


def max_id(content: Iterable[Node]) -> int:
    """The highest node id in the tree, 0 when it is empty."""
    return max(index_content(content), default=0)


class IdAllocator:
    """Hands out increasing integer ids for new nodes: `IdAllocator.above(content)()`.

    Share one allocator across every level of a plan, so an id removed by one level is never given to a
    row added by a later one.
    """

    def __init__(self, start: int) -> None:
        self._next = start

    @classmethod
    def above(cls, *contents: Iterable[Node]) -> IdAllocator:
        """An allocator whose first id is above every id of the given content trees."""
        return cls(max((max_id(c) for c in contents), default=0) + 1)

    def __call__(self) -> int:
        value = self._next
        self._next += 1
        return value


def apply_operations(
    content: Iterable[Node],
    operations: Iterable[Mapping[str, Any]],
    *,
    id_allocator: Callable[[], int] | None = None,
    multivalue_children: Mapping[str, str] | None = None,
) -> tuple[list[Node], set[int]]:
    """Apply a hook's operations in order to a copy of `content`.

    - `{"op": "replace", "id": dp, "value": {"content": {"value": ...}, ...}}` updates a datapoint: keys
      of `value.content` update its content, other keys (`hidden`, `options`, `validation_sources`...)
      are set on it. A changed `value` drops a stale `normalized_value` unless one is given with it.
    - `{"op": "remove", "id": node}` removes a row (a tuple, with its cells) or an item of a multivalue.
    - `{"op": "add", "id": multivalue, "value": [...]}` adds to a multivalue. For a table, `value` is
      either the cells of one new row (`[{"schema_id": ..., "content": {...}}, ...]`, as in Rossum's
      example) or rows given as tuples (`[{"schema_id": row, "children": [cells]}]`); for a simple
      multivalue, each item is a new datapoint. New nodes get fresh ids from `id_allocator`.

    Args:
        content: the content tree; it is not changed.
        operations: the operations, applied in order, each on the result of the previous.
        id_allocator: gives ids for added nodes; ids already in the tree are skipped. Defaults to
            counting up from the highest id of `content`.
        multivalue_children: the `schema_id` of each multivalue's child in the queue schema (a row for
            a table, a datapoint for a simple multivalue), by the multivalue's `schema_id`. Needed only
            to add to a multivalue that had no child to learn it from.

    Returns:
        The new content and the ids changed: a replaced datapoint; for a remove, the multivalue that
        lost the row; for an add, the multivalue, the new row and its cells (as Rossum reports them in
        `updated_datapoints`).

    Raises:
        OperationError: for the first operation that cannot apply, saying which and why.
    """
    new_content = copy.deepcopy(list(content))
    index, parents = _index(new_content)
    used = set(index)
    allocate = id_allocator or IdAllocator(max(used, default=0) + 1)
    # What a multivalue holds, learned before anything changes, so a table emptied by a `remove` can
    # still take a row; what the content shows wins over the hint.
    child_schemas: dict[str, tuple[str, str | None]] = {
        parent: (child, None) for parent, child in (multivalue_children or {}).items()
    }
    for node in index.values():
        if node["category"] == "multivalue" and node.get("children"):
            first = node["children"][0]
            child_schemas[node["schema_id"]] = (first["schema_id"], first["category"])

    def fresh_id() -> int:
        for _ in range(len(used) + 1):
            candidate = allocate()
            if not isinstance(candidate, int) or isinstance(candidate, bool):
                raise TypeError(f"id_allocator must return int ids, got {candidate!r}")
            if candidate not in used:
                used.add(candidate)
                return candidate
        raise DocketError(f"id_allocator returned only ids already in the content ({len(used) + 1} tries)")

    def register(node: Node, parent: Node) -> None:
        parents[node["id"]] = parent
        for sub in iter_nodes([node]):
            index[sub["id"]] = sub
            for child in sub.get("children") or []:
                parents[child["id"]] = sub

    changed: set[int] = set()
    for position, operation in enumerate(operations):
        if not isinstance(operation, Mapping):
            raise OperationError(f"operations[{position}] must be an object, got {operation!r}")
        kind = operation.get("op")
        where = f"operations[{position}] ({kind})"
        if kind not in ("replace", "remove", "add"):
            raise OperationError(f"operations[{position}] must have op 'replace', 'remove' or 'add', got {kind!r}")
        target_id = _operation_id(operation, where)
        target = index.get(target_id)
        if target is None:
            raise OperationError(
                f"{where} targets id {target_id}, which is not in the annotation content; "
                "send the id of an existing node"
            )
        if kind == "replace":
            _replace(target, operation.get("value"), where)
            changed.add(target_id)
        elif kind == "remove":
            parent = parents.get(target_id)
            if parent is None or parent["category"] != "multivalue":
                raise OperationError(
                    f"{where} can remove only a row or an item of a multivalue, "
                    f"got {target['category']} {target_id} ({target['schema_id']!r})"
                )
            parent["children"] = [child for child in parent["children"] if child["id"] != target_id]
            for node in iter_nodes([target]):
                index.pop(node["id"], None)
                parents.pop(node["id"], None)
            changed.add(parent["id"])
        else:
            if target["category"] != "multivalue":
                raise OperationError(
                    f"{where} can add only to a multivalue, got {target['category']} {target_id} "
                    f"({target['schema_id']!r})"
                )
            for node in _new_nodes(target, operation.get("value"), child_schemas, fresh_id, where):
                target.setdefault("children", []).append(node)
                register(node, target)
                changed.update(n["id"] for n in iter_nodes([node]))
            changed.add(target_id)
    return new_content, changed


def _index(content: Iterable[Node]) -> tuple[dict[int, Node], dict[int, Node | None]]:
    index: dict[int, Node] = {}
    parents: dict[int, Node | None] = {}
    stack: list[tuple[Any, Node | None]] = [(node, None) for node in reversed(list(content))]
    while stack:
        node, parent = stack.pop()
        if not isinstance(node, dict):
            raise ContentError(f"content nodes must be objects, got {node!r}")
        node_id = node.get("id")
        if not isinstance(node_id, int) or isinstance(node_id, bool):
            raise ContentError(f"every content node needs an integer id, got {node_id!r} in {_brief(node)}")
        if node.get("category") not in CATEGORIES:
            raise ContentError(
                f"content node {node_id} must have category one of {sorted(CATEGORIES)}, "
                f"got {node.get('category')!r}"
            )
        if not isinstance(node.get("schema_id"), str):
            raise ContentError(f"content node {node_id} needs a string schema_id, got {node.get('schema_id')!r}")
        if node_id in index:
            raise ContentError(f"content node id {node_id} appears twice; ids must be unique")
        index[node_id] = node
        parents[node_id] = parent
        stack.extend((child, node) for child in reversed(node.get("children") or []))
    return index, parents


def _brief(node: Mapping[str, Any]) -> str:
    return repr({k: node[k] for k in ("schema_id", "category") if k in node})


def _operation_id(operation: Mapping[str, Any], where: str) -> int:
    raw = operation.get("id")
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise OperationError(f"{where} needs the integer id of a node, got {raw!r}")


def _replace(node: Node, value: Any, where: str) -> None:
    if node["category"] != "datapoint":
        raise OperationError(
            f"{where} can replace only a datapoint, got {node['category']} {node['id']} ({node['schema_id']!r})"
        )
    if not isinstance(value, Mapping):
        raise OperationError(f"{where} needs value to be an object like {{'content': {{'value': ...}}}}, got {value!r}")
    for key, item in value.items():
        if key in _IDENTITY_KEYS:
            if key in node and item != node[key]:
                raise OperationError(
                    f"{where} must not change {key} of datapoint {node['id']} ({node[key]!r} to {item!r})"
                )
        elif key == "children":
            raise OperationError(f"{where}: datapoint {node['id']} cannot have children")
        elif key == "content":
            if not isinstance(item, Mapping):
                raise OperationError(f"{where} needs value.content to be an object, got {item!r}")
            current = node.get("content")
            current = dict(current) if isinstance(current, Mapping) else {}
            if "value" in item and item["value"] != current.get("value") and "normalized_value" not in item:
                # The normalized value derives from the value; a stale one would disagree with it.
                current.pop("normalized_value", None)
            current.update(copy.deepcopy(dict(item)))
            node["content"] = current
        else:
            node[key] = copy.deepcopy(item)


def _new_nodes(
    multivalue: Node,
    value: Any,
    child_schemas: Mapping[str, tuple[str, str | None]],
    fresh_id: Callable[[], int],
    where: str,
) -> list[Node]:
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(item, Mapping) for item in value):
        raise OperationError(f"{where} needs value to be a non-empty list of objects, got {value!r}")
    given_rows = [item for item in value if item.get("category") == "tuple" or "children" in item]
    if given_rows and len(given_rows) != len(value):
        raise OperationError(f"{where} mixes rows (with children) and cells in one value; send one kind")
    known = child_schemas.get(multivalue["schema_id"])
    if given_rows:
        if known is not None and known[1] == "datapoint":
            raise OperationError(
                f"{where}: multivalue {multivalue['id']} ({multivalue['schema_id']!r}) holds datapoints, not rows; "
                "send the datapoints themselves"
            )
        rows = []
        for row in given_rows:
            node: Node = {"id": fresh_id(), "schema_id": _schema_id(row, where), "category": "tuple"}
            node["children"] = [_new_datapoint(cell, fresh_id, where) for cell in row.get("children") or []]
            rows.append(node)
        return rows
    if known is None:
        raise OperationError(
            f"{where}: multivalue {multivalue['id']} ({multivalue['schema_id']!r}) has no child to tell whether "
            "it holds rows or datapoints; send rows as {'schema_id': <row schema_id>, 'children': [cells]}, "
            "or pass multivalue_children from the queue schema"
        )
    child_schema, child_category = known
    item_schemas = {item.get("schema_id") for item in value}
    if child_category == "datapoint" or (child_category is None and item_schemas == {child_schema}):
        return [_new_datapoint(item, fresh_id, where) for item in value]
    # A table: the items are the cells of one new row (Rossum's form); the row id comes first so ids
    # read top-down like the tree.
    row: Node = {"id": fresh_id(), "schema_id": child_schema, "category": "tuple"}
    row["children"] = [_new_datapoint(item, fresh_id, where) for item in value]
    return [row]


def _schema_id(spec: Mapping[str, Any], where: str) -> str:
    schema_id = spec.get("schema_id")
    if not isinstance(schema_id, str) or not schema_id:
        raise OperationError(f"{where} needs a schema_id for each added node, got {schema_id!r} in {dict(spec)!r}")
    return schema_id


def _new_datapoint(spec: Any, fresh_id: Callable[[], int], where: str) -> Node:
    if not isinstance(spec, Mapping):
        raise OperationError(f"{where} needs each added cell to be an object, got {spec!r}")
    if spec.get("category", "datapoint") != "datapoint" or "children" in spec:
        raise OperationError(f"{where} can add only datapoints as cells, got {_brief(spec)}")
    content = spec.get("content", {"value": ""})
    if not isinstance(content, Mapping):
        raise OperationError(f"{where} needs content of an added datapoint to be an object, got {content!r}")
    node: Node = {"id": fresh_id(), "schema_id": _schema_id(spec, where), "category": "datapoint"}
    node["content"] = copy.deepcopy(dict(content))
    for key, item in spec.items():
        if key not in node and key not in ("url",):
            node[key] = copy.deepcopy(item)
    return node
