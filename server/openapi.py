"""Build the OpenAPI 3.1 document of the query API from the named queries' headers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kg.namespaces import PREFIXES
from kg.plain_values import language_key
from kg.queries import (
    DATATYPE_TO_LEXICAL_FORM,
    FORMAT_PARAMETER,
    LANG_STRING,
    LANGUAGE_TAG,
    MAX_VALUE_LENGTH,
    NamedQuery,
    Parameter,
    compact_iri,
)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "A short title of the problem."},
        "detail": {"type": "string", "description": "What went wrong, naming the parameter if one is to blame."},
    },
}
# Records hold strings (IRIs, text), numbers, booleans or null (unbound); any JSON value may appear.
RECORD_VALUE_SCHEMA = {"type": ["string", "number", "integer", "boolean", "null"]}
LANGUAGE_KEY_DESCRIPTION = (
    "The language tag of {name}, present when {name} is text with one. Text missing in the requested "
    "language falls back to English, so this may differ from lang."
)
QUERY_DESCRIPTION_SCHEMA = {
    "type": "object",
    "required": ["name", "summary", "parameters", "variables", "url"],
    "properties": {
        "name": {"type": "string"},
        "summary": {"type": "string"},
        "summary_zh": {"type": "string"},
        "description": {"type": "string"},
        "description_zh": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "competency_questions": {"type": "array", "items": {"type": "integer"}},
        "parameters": {"type": "array", "items": {"type": "object"}},
        "variables": {"type": "array", "items": {"type": "string"}},
        "sparql": {"type": "string"},
        "url": {"type": "string"},
    },
}


def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


def parameter_schema(param: Parameter) -> dict:
    """Give the JSON Schema of one parameter's values."""
    if param.kind == "integer":
        schema: dict = {"type": "integer"}
        if param.minimum is not None:
            schema["minimum"] = param.minimum
        if param.maximum is not None:
            schema["maximum"] = param.maximum
        if param.default is not None:
            schema["default"] = int(param.default)
        return schema
    schema = {"type": "string", "maxLength": MAX_VALUE_LENGTH}
    if param.kind == "enum":
        schema = {"type": "string", "enum": list(param.values)}
    elif param.kind == "iri":
        schema["minLength"] = 1
    elif param.kind == "language":
        schema["pattern"] = _anchored(LANGUAGE_TAG.pattern)
    elif param.kind == "literal" and not param.lang:
        if param.datatype == LANG_STRING:
            schema["pattern"] = _anchored(r"[\s\S]*@" + LANGUAGE_TAG.pattern)
        elif param.datatype in DATATYPE_TO_LEXICAL_FORM:
            schema["pattern"] = _anchored(DATATYPE_TO_LEXICAL_FORM[param.datatype].pattern)
    if param.default is not None:
        schema["default"] = param.default
    return schema


def _example(param: Parameter) -> object:
    return int(param.example) if param.kind == "integer" else param.example


def _query_parameter(param: Parameter) -> dict:
    described = {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": f"A {param.describe()}."
        + (" Prefixed names use the prefixes listed in the API description." if param.kind in ("iri", "enum") else "")
        + (f" Must be an instance of {compact_iri(param.rdf_class)} (else 400)." if param.rdf_class else ""),
        "schema": parameter_schema(param),
    }
    if param.example is not None:
        described["example"] = _example(param)
    return described


def _format_parameter(media_type_to_format: Mapping[str, str]) -> dict:
    return {
        "name": FORMAT_PARAMETER,
        "in": "query",
        "required": False,
        "description": "Result format; overrides the Accept header. "
        + ", ".join(f"{fmt} = {media}" for media, fmt in media_type_to_format.items()),
        "schema": {"type": "string", "enum": list(media_type_to_format.values())},
    }


def _result_content(query: NamedQuery, media_type_to_format: Mapping[str, str]) -> dict:
    properties: dict = {name: RECORD_VALUE_SCHEMA for name in query.variables}
    for name in query.variables:
        properties[language_key(name)] = {"type": "string", "description": LANGUAGE_KEY_DESCRIPTION.format(name=name)}
    record = {"type": "object", "properties": properties, "additionalProperties": False}
    content = {}
    for media_type in media_type_to_format:
        if media_type == "application/json":
            content[media_type] = {"schema": {"type": "array", "items": record}}
        elif media_type == "application/sparql-results+json":
            content[media_type] = {"schema": {"type": "object", "required": ["head", "results"]}}
        else:
            content[media_type] = {"schema": {"type": "string"}}
    return content


def _error_responses(*statuses: str) -> dict:
    titles = {
        "400": "A parameter is missing, unknown, of the wrong type or not allowed; `detail` names it.",
        "406": "The Accept header allows none of the result formats.",
        "415": "The body is not JSON.",
    }
    return {
        status: {"description": titles[status], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for status in statuses
    }


def _operations(query: NamedQuery, media_type_to_format: Mapping[str, str]) -> dict:
    description = (
        f"{query.description}\n\n{query.summary_zh}：{query.description_zh}\n\n"
        + (f"Competency question(s): {', '.join(map(str, query.competency_questions))}.\n\n" if query.competency_questions else "")
        + f"```sparql\n{query.text.strip()}\n```"
    )
    ok = {
        "description": "The solutions: a list of records (one object per row) or the chosen format.",
        "headers": {
            "ETag": {"schema": {"type": "string"}, "description": "Changes when the dataset or the query changes."},
            "Cache-Control": {"schema": {"type": "string"}},
        },
        "content": _result_content(query, media_type_to_format),
    }
    common = {"tags": list(query.tags) or ["queries"], "summary": query.summary, "description": description}
    body_properties = {param.name: parameter_schema(param) for param in query.parameters}
    body_properties[FORMAT_PARAMETER] = _format_parameter(media_type_to_format)["schema"]
    return {
        "get": {
            **common,
            "operationId": query.name,
            "parameters": [_query_parameter(p) for p in query.parameters] + [_format_parameter(media_type_to_format)],
            "responses": {"200": ok, "304": {"description": "Not modified: the copy named by If-None-Match is current."}}
            | _error_responses("400", "406"),
        },
        "post": {
            **common,
            "operationId": f"{query.name}_post",
            "parameters": [_format_parameter(media_type_to_format)],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": body_properties,
                            "required": [p.name for p in query.parameters if p.required],
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "responses": {"200": ok} | _error_responses("400", "406", "415"),
        },
    }


def build_openapi(queries: Iterable[NamedQuery], server_url: str, media_type_to_format: Mapping[str, str]) -> dict:
    """Describe every named query as a GET and a POST operation, plus the listing."""
    queries = list(queries)
    paths: dict = {
        "/api/queries": {
            "get": {
                "operationId": "listQueries",
                "tags": ["library"],
                "summary": "List the named queries with their parameters",
                "responses": {
                    "200": {
                        "description": "One description per named query.",
                        "content": {
                            "application/json": {
                                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/QueryDescription"}}
                            }
                        },
                    }
                },
            }
        }
    }
    for query in queries:
        paths[f"/api/queries/{query.name}"] = _operations(query, media_type_to_format)
    prefixes = "\n".join(f"- `{name}:` = `{iri}`" for name, iri in PREFIXES.items())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CoproKG query API",
            "version": "1",
            "summary": "Named SPARQL queries over the CoproKG knowledge graph of elderly-care coproduction.",
            "description": "Each operation runs one named query. Parameters are bound as typed RDF terms "
            "(never spliced into the query text); a bad value is a 400 naming the parameter. "
            "Results are a JSON list of records by default, or CSV, TSV or SPARQL results by Accept or `format`. "
            "Text is given in the language `lang` asks for, else in English; a record says the language of "
            "each text value under `NAME@lang` (SPARQL results carry it as `xml:lang`; CSV and TSV do not).\n\n"
            f"IRI values may be full IRIs or prefixed names with these prefixes:\n{prefixes}",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": t} for t in sorted({"library"} | {t for q in queries for t in q.tags or ("queries",)})],
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA, "QueryDescription": QUERY_DESCRIPTION_SCHEMA}},
    }
