"""The permission layer's table covers the schema: every field that answers a Node, a
connection or personal data has a rule in schema.common.permissions.RULES, and every rule
names a field that exists."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import introspection_from_schema

from schema.common.permissions import NODE_KINDS, RULES, Personal, Who

#: Field names that carry personal data (phones, residents' words, contacts, recipients,
#: places people live, secrets of a session), wherever they appear.
PERSONAL = frozenset({
    "phone", "contactPhone", "contactName", "recipient", "description", "resolution",
    "comment", "body", "note", "detail", "address", "matchedAddress", "location",
    "accessToken", "refreshToken", "sentTo", "surveyToken", "photos", "photoLocation",
})
#: Types whose fields are the plumbing of a list; the rule is on the field that answers it.
PLUMBING = ("Edge", "Connection", "PageInfo")


def _named(kind: dict[str, Any]) -> dict[str, Any]:
    while kind.get("ofType"):
        kind = kind["ofType"]
    return kind


def _guarded_fields(schema: Any) -> list[tuple[str, str, str]]:
    """(type, field, why it needs a rule) for every field that needs one."""
    types: list[dict[str, Any]] = introspection_from_schema(
        schema._schema)["__schema"]["types"]  # type: ignore[assignment]
    nodes = {t["name"] for t in types
             if any(i["name"] == "Node" for i in t.get("interfaces") or [])} | {"Node"}
    needing = []
    for kind in types:
        if kind["kind"] != "OBJECT" or kind["name"].startswith("__") or any(
                kind["name"].endswith(p) for p in PLUMBING):
            continue
        for field in kind["fields"] or []:
            named = _named(field["type"])["name"]
            if named in nodes:
                needing.append((kind["name"], field["name"], f"answers {named}"))
            elif named.endswith("Connection"):
                needing.append((kind["name"], field["name"], "answers a connection"))
            elif field["name"] in PERSONAL:
                needing.append((kind["name"], field["name"], "personal data"))
            elif kind["name"] in ("Query", "Mutation", "Subscription"):
                needing.append((kind["name"], field["name"], "a root field"))
    return needing


def test_every_node_connection_personal_and_root_field_has_a_rule(gql_schema: Any) -> None:
    missing = [f"{t}.{f} ({why})" for t, f, why in _guarded_fields(gql_schema)
               if f"{t}.{f}" not in RULES]
    assert not missing, "fields without a rule in schema.common.permissions.RULES: " + \
        ", ".join(missing)


def test_every_rule_names_a_field_of_the_schema(gql_schema: Any) -> None:
    fields = {f"{name}.{field}" for name, kind in gql_schema._schema.type_map.items()
              if hasattr(kind, "fields") for field in kind.fields}
    assert set(RULES) - fields == set()


def test_every_node_type_has_a_kind(gql_schema: Any) -> None:
    nodes = {t.name for t in gql_schema._schema.get_possible_types(
        gql_schema._schema.get_type("Node"))}
    assert nodes == set(NODE_KINDS)


@pytest.mark.parametrize("key", sorted(k for k, r in RULES.items() if r.personal
                                        is Personal.WHOLE))
def test_a_requests_private_part_is_blank_unless_whole(key: str) -> None:
    assert key.startswith("ServiceRequest.")


def test_mutations_that_change_rows_need_a_caller(gql_schema: Any) -> None:
    anonymous = {k for k, r in RULES.items() if k.startswith("Mutation.") and r.who is Who.ANYONE}
    assert anonymous == {"Mutation.submitServiceRequest", "Mutation.submitSurveyResponse",
                         "Mutation.signInWithPassword", "Mutation.requestSignInCode",
                         "Mutation.signInWithCode", "Mutation.refreshSession",
                         "Mutation.signOut",
                         "Mutation.objectToCandidate",  # open to anyone (organisation.graphql)
                         # the resident, by their request's tracking code (issue 13)
                         "Mutation.replyToServiceRequest", "Mutation.stopServiceRequestNotices"}
