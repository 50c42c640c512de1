"""Every spec is valid OpenAPI 3.1 and every example in it validates against its own schema.

The example check matters because the server answers from these examples where no stateful
handler exists, and `--strict` would turn a wrong example into a 500.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPECS = Path(__file__).resolve().parents[2] / "openapi"
NAMES = ["kianda", "barium", "altinn-storage", "altinn-app", "admin"]


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / f"{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", NAMES)
def test_spec_is_valid_openapi_31(name: str) -> None:
    spec = load(name)
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def media_examples(spec: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(where, JSON pointer to the schema, example) for every example of every body."""
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            base = f"/paths/{_escape(path)}/{method}"
            bodies = [("request", op.get("requestBody", {}), f"{base}/requestBody")]
            bodies += [(f"response {code}", resp, f"{base}/responses/{code}") for code, resp in op["responses"].items()]
            for label, body, pointer in bodies:
                if "$ref" in body:
                    pointer = body["$ref"].removeprefix("#")
                body = resolve(spec, body)
                for media_type, media in body.get("content", {}).items():
                    if "schema" not in media or media_type.startswith(("multipart/", "image/")):
                        continue
                    where = f"{method.upper()} {path} {label} {media_type}"
                    schema_at = f"{pointer}/content/{_escape(media_type)}/schema"
                    if "example" in media:
                        yield where, schema_at, media["example"]
                    for ex_name, ex in media.get("examples", {}).items():
                        ex = resolve(spec, ex)
                        if "value" in ex:
                            yield f"{where} example {ex_name}", schema_at, ex["value"]


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


@pytest.mark.parametrize("name", NAMES)
def test_every_example_matches_its_schema(name: str) -> None:
    spec = load(name)
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:spec", resource)
    found = list(media_examples(spec))
    assert found, f"{name}.yaml has no examples"
    problems = []
    for where, pointer, example in found:
        validator = Draft202012Validator({"$ref": f"urn:spec#{pointer}"}, registry=registry)
        problems += [f"{where}: {e.message} at {list(e.absolute_path)}" for e in validator.iter_errors(example)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_every_operation_has_an_id_an_example_and_a_default_error(name: str) -> None:
    spec = load(name)
    missing = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "put", "post", "patch", "delete", "head", "options"}:
                continue
            if "operationId" not in op:
                missing.append(f"{method} {path}: operationId")
            if "default" not in op["responses"]:
                missing.append(f"{method} {path}: default response")
            success = [code for code in op["responses"] if str(code).startswith("2")]
            if not success:
                missing.append(f"{method} {path}: a 2xx response")
            for code, response in op["responses"].items():
                for media_type, media in resolve(spec, response).get("content", {}).items():
                    if media_type.startswith("image/"):
                        continue
                    if "example" not in media and "examples" not in media:
                        missing.append(f"{method} {path} {code} {media_type}: example")
    assert not missing, "\n".join(missing)
