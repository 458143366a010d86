"""Safe XML for e-invoices: parse with expat into a tree of local names, refusing any DTD.

A document type declaration is refused before any of it is read, so entity expansion (billion laughs)
and external entities (XXE) cannot happen: e-invoices never need a DTD.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from docket_core.deadline import check_deadline
from docket_core.errors import InputError

__all__ = ["parse_tree", "root_name"]

_XML_BLOCK = 1024 * 1024  # bytes parsed between two checks of the deadline


class _Refused(Exception):
    """Raised inside expat callbacks to stop parsing at a construct Docket does not accept."""


def _refuse_doctype(name: str, *_: Any) -> None:
    raise _Refused(
        f"XML declares a document type ({name!r}); e-invoices never need a DTD and Docket refuses "
        "DTDs and entity declarations (XXE, entity expansion). Remove the <!DOCTYPE ...> block"
    )


def _refuse_entity(name: str, *_: Any) -> None:
    raise _Refused(f"XML declares the entity {name!r}; Docket refuses DTDs and entity declarations")


def _local(name: str) -> str:
    # expat gives "namespace-uri local-name" with namespace_separator=" ".
    return name.rpartition(" ")[2]


def parse_tree(data: bytes) -> tuple[str, Element]:
    """Parse `data` into a tree of local names; return the root's namespace and the root.

    Raises:
        InputError: When the XML is not well-formed or declares a DTD or entities.
    """
    builder = TreeBuilder()
    root_ns: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if not root_ns:
            root_ns.append(name.rpartition(" ")[0])
        builder.start(_local(name), {_local(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        builder.end(_local(name))

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        # In blocks, so a job's per-file time budget is checked while a large document is parsed.
        view = memoryview(data)
        for start in range(0, len(view), _XML_BLOCK):
            check_deadline()
            parser.Parse(view[start : start + _XML_BLOCK], False)
        parser.Parse(b"", True)
    except _Refused as e:
        raise InputError(str(e)) from None
    except expat.ExpatError as e:
        raise InputError(f"expected a well-formed XML e-invoice, got an XML syntax error: {e}") from e
    return root_ns[0], builder.close()


def root_name(head: bytes) -> tuple[str, str] | None:
    """`(namespace, local name)` of the root element at the start of a document (its first bytes).

    None when `head` holds no root element start, is not well-formed up to it, or declares a DTD or
    entities; never raises for a bad document.
    """
    found: list[str] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        found.append(name)
        raise _Refused("root found")

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = start
    try:
        parser.Parse(head, False)
    except (_Refused, expat.ExpatError):
        pass
    if not found:
        return None
    ns, _, tag = found[0].rpartition(" ")
    return ns, tag
