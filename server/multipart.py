"""GraphQL multipart requests (https://github.com/jaydenseric/graphql-multipart-request-spec):
how photos arrive, checked whole before any resolver runs.

A multipart/form-data POST to /graphql carries an `operations` field (the JSON operation,
with null where each file goes), a `map` field (JSON: which file part goes to which
variable path, e.g. `{"0": ["variables.input.photos.0"]}`) and the file parts. Every fault
of that shape is HTTP 400 with a JSON error (BAD_REQUEST), never a server error: a body
python-multipart cannot parse, a missing or non-text `operations` or `map`, a map that is
not an object of lists of paths, a path that leads nowhere, a map naming a part that is no
file.

CSRF: a browser sends a multipart/form-data POST from any site without asking (it is a
"simple" request in CORS terms), so such a request must show that it was not a plain form:
it must carry a header no form can set, `GraphQL-Require-Preflight` (any value; Apollo's
`Apollo-Require-Preflight` and `X-Apollo-Operation-Name` are accepted too) or
`Authorization`. Such headers make a browser ask first (CORS preflight), which this API does
not grant to other origins. (strawberry disables multipart uploads by default for this
reason and leaves the protection to the application: CVE-2024-47082.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cross_web import HTTPException
from starlette.datastructures import UploadFile
from strawberry.file_uploads.utils import replace_placeholders_with_files

#: Headers of which one marks a multipart request as sent by a script, not a form.
PREFLIGHT_HEADERS = ("graphql-require-preflight", "apollo-require-preflight",
                     "x-apollo-operation-name", "authorization")
CSRF_MESSAGE = ("a multipart request must carry the header `GraphQL-Require-Preflight: 1` "
                "(or an Authorization header): browsers refuse to send it from other sites, "
                "which is what protects residents from forged requests")
#: Most file parts one request may map (two mutations' photos and a little room).
MAX_FILES = 10


def preflighted(headers: Mapping[str, str]) -> bool:
    """Whether one of PREFLIGHT_HEADERS is present and not empty."""
    return any((headers.get(name) or "").strip() for name in PREFLIGHT_HEADERS)


async def read_multipart(request: Any, parse_json: Callable[[str], Any]) -> dict[str, Any]:
    """The operation of a multipart request, its files in place (strawberry's
    `parse_multipart`, made strict); `parse_json` decodes JSON text as the view does."""
    if not preflighted(request.headers):
        raise HTTPException(400, CSRF_MESSAGE)
    try:
        form = await request.get_form_data()
        fields = form.form
        operations, files_map = fields.get("operations"), fields.get("map")
    except HTTPException:
        raise
    except Exception:  # python-multipart's and starlette's refusals of a broken body
        raise HTTPException(400, "unable to parse the multipart body") from None
    if not isinstance(operations, str) or not isinstance(files_map, str):
        raise HTTPException(400, "a multipart request needs the text fields `operations` "
                            "(the GraphQL operation as JSON) and `map` (JSON)")
    operation = parse_json(operations)
    mapping = parse_json(files_map)
    files = _files(mapping, form.files)
    try:
        return replace_placeholders_with_files(operation, mapping, files)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        raise HTTPException(400, "a path in `map` does not lead to a null in `operations`: "
                            "e.g. {\"0\": [\"variables.input.photos.0\"]}") from None


def _files(mapping: dict[str, Any], parts: Any) -> dict[str, UploadFile]:
    """The file parts `mapping` names, each checked to be a file with paths of text."""
    if len(mapping) > MAX_FILES:
        raise HTTPException(400, f"at most {MAX_FILES} files in one request")
    files: dict[str, UploadFile] = {}
    for name, paths in mapping.items():
        if not isinstance(paths, list) or not paths or not all(
                isinstance(path, str) and path for path in paths):
            raise HTTPException(400, "each entry of `map` must be a list of variable paths, "
                                "e.g. [\"variables.input.photos.0\"]")
        part = parts.get(name)
        if not isinstance(part, UploadFile):
            raise HTTPException(400, f"`map` names the part {name!r}, which is not a file "
                                "of this request")
        files[name] = part
    return files
