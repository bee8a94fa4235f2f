"""Look-ahead: which fields a query asks for below the field being resolved, so that a hot
read sends the SQL that answers just that (PostGraphile's look-ahead, at the size we need).

The answer is computed once per field of a parsed document and kept with it (documents are
cached by query text, schema.common.limits), so a query asked again costs a dictionary look-up.
Fragments and inline fragments are merged; a field under a directive (@include, @skip) counts as
asked, which errs towards reading more.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from schema.common.context import Info

#: Per field node of a cached document (by identity: a node's own hash walks its whole
#: subtree), the node, kept so that its id stays its own, and the names asked within it.
#: Emptied when it holds MAX_NODES, so a stream of unique queries cannot grow it.
_ASKED: dict[int, tuple[FieldNode, frozenset[str]]] = {}
MAX_NODES = 4096


def asked_within(info: Info) -> frozenset[str]:
    """The names of every field the query asks for anywhere inside the field being resolved,
    at any depth: for `coverage(point: $p) { building { id grid { boundary } } }`, {"building",
    "id", "grid", "boundary"}. What a hot read needs to know to read a column only when some
    part of the answer shows it."""
    raw: Any = info._raw_info  # strawberry's Info has no public field nodes
    node: FieldNode = raw.field_nodes[0]
    kept = _ASKED.get(id(node))
    if kept is None or kept[0] is not node:
        if len(_ASKED) >= MAX_NODES:
            _ASKED.clear()
        kept = (node, _names(raw.field_nodes, raw.fragments))
        _ASKED[id(node)] = kept
    return kept[1]


def _names(nodes: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]
           ) -> frozenset[str]:
    names: set[str] = set()
    pending = _fields(nodes, fragments)
    while pending:
        field = pending.pop()
        names.add(field.name.value)
        pending.extend(_fields([field], fragments))
    return frozenset(names)


def _fields(nodes: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]
            ) -> list[FieldNode]:
    """The fields selected directly inside `nodes`, fragments spread."""
    out: list[FieldNode] = []
    pending: list[SelectionSetNode] = [n.selection_set for n in nodes if n.selection_set]
    seen: set[str] = set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                out.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return out
