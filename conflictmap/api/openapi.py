"""The OpenAPI 3 document, built from the same parameter declarations the views validate with
(conflictmap.api.params.ENDPOINTS), so the description cannot drift from the behaviour."""

from __future__ import annotations

from typing import Any

from conflictmap.api.params import ENDPOINTS, Endpoint, Mode

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "parameter"],
    "properties": {
        "error": {"type": "string", "description": "What is wrong, in words."},
        "parameter": {
            "type": "string",
            "nullable": True,
            "description": "Name of the bad parameter (null when no parameter is at fault).",
        },
    },
}


def _named(mode: Mode) -> str:
    return " and ".join(f"`{n}`" for n in mode.required)


def _fold_modes(endpoint: Endpoint, parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parameters of `endpoint`'s modes as one required query object, exploded (each property
    its own query parameter, as clients send them), that is oneOf the modes: so the document says
    which go together (zones: `date`, or `from` and `to`), and generated requests are valid."""
    by_name = {p["name"]: p for p in parameters}
    in_modes = {n for m in endpoint.modes for n in m.names}
    branches = [
        {
            "type": "object",
            "title": mode.title,
            "required": list(mode.required),
            "properties": {
                n: {**by_name[n]["schema"], "description": by_name[n]["description"]}
                for n in mode.names
            },
            "additionalProperties": False,
        }
        for mode in endpoint.modes
    ]
    said = "; or ".join(
        f"{_named(m)} ({m.title}" + (f"; with {', '.join(m.optional)}" if m.optional else "") + ")"
        for m in endpoint.modes
    )
    mode = {
        "name": "mode",
        "in": "query",
        "required": True,
        "style": "form",
        "explode": True,
        "description": f"Not a parameter itself: its properties are. Give exactly one of {said}.",
        "schema": {"oneOf": branches},
    }
    return [mode] + [p for p in parameters if p["name"] not in in_modes]


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for endpoint in ENDPOINTS.values():
        description = endpoint.description
        rules = list(endpoint.rules)
        parameters = [p.openapi() for p in endpoint.params]
        if endpoint.period:
            first, last = endpoint.period
            limit = f"at most {endpoint.max_days} days from `{first}` to `{last}`, both counted"
            rules[:0] = [f"{first} <= {last}", limit]
            for parameter in parameters:
                if parameter["name"] == last:
                    parameter["description"] += f" The period is {limit}."
        if endpoint.modes:
            parameters = _fold_modes(endpoint, parameters)
            rules.insert(0, "exactly one of " + " or ".join(_named(m) for m in endpoint.modes))
        if rules:
            description += (" " if description else "") + "Rules: " + "; ".join(rules)
        content: dict[str, Any] = {endpoint.media_type: {"schema": {}}}
        if any(p.name == "format" and "csv" in p.choices for p in endpoint.params):
            content["text/csv"] = {"schema": {"type": "string"}}
        paths[endpoint.path] = {
            "get": {
                "operationId": endpoint.name,
                "summary": endpoint.summary,
                "description": description.strip(),
                "parameters": parameters,
                "responses": {
                    "200": {"description": "OK", "content": content},
                    "304": {"description": "Not modified (If-None-Match matched the ETag)."},
                    "400": {
                        "description": "Bad parameter",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                    "429": {
                        "description": "Too many requests from this address (RATE_LIMIT); "
                        "Retry-After says in how many seconds to try again.",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                    "503": {
                        "description": "The query took longer than PUBLIC_STATEMENT_TIMEOUT "
                        "and was stopped: ask for less, or try again later.",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                    **{
                        code: {
                            "description": text,
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                        for code, text in endpoint.errors
                    },
                },
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "conflictmap API",
            "version": "1",
            "description": (
                "Territory, front lines and events of the war in Syria. Published data only "
                "unless signed in with the view permission (then drafts and retracted records "
                "too, marked by their status). See docs/api.md for property names and precision."
            ),
        },
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }
