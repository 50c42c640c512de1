"""What is wrong with a request or a response, as data: one Violation (ResponseProblem) per problem."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match

from instancemock.world.text import LoneSurrogate


@dataclass(frozen=True, slots=True)
class Violation:
    location: str  # "body", "query", "path", "header", "cookie", "security", "request"
    field: str  # dotted path in the location; "" = all of it
    message: str
    status: int = 400

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class ResponseProblem:
    """One way a response breaks its operation, as data: what kind of problem, and where.

    `error` is the failed check as openapi-core words it; for a schema problem `path` points into
    the body and `message` is the schema's complaint there (both empty otherwise, `error` then
    being the whole story). `kind` is `status` (no response declared for it), `media-type`,
    `body` (missing or unreadable), `schema` or `header`; `name` is the header's name or the
    status. The drift report (core/drift.py) groups by kind and place; --strict prints
    `response_lines`.
    """

    error: str
    path: tuple[str | int, ...] = ()
    message: str = ""
    kind: str = "body"
    name: str = ""

    @property
    def where(self) -> str:
        """The place as one string: the dotted body path, or the header's name, or the status."""
        return ".".join(map(str, self.path)) if self.kind == "schema" else self.name

    def __str__(self) -> str:
        if not self.message:
            return self.error
        return f"{'.'.join(map(str, self.path)) or '(root)'}: {self.message}"


def response_lines(problems: Iterable[ResponseProblem]) -> list[str]:
    """One line per failed check, its schema problems joined: what --strict and the tests print."""
    lines: dict[str, list[str]] = {}
    for problem in problems:
        details = lines.setdefault(problem.error, [])
        if problem.message:
            details.append(str(problem))
    return [error + (": " + "; ".join(details) if details else "") for error, details in lines.items()]


def violations_from(errors: Iterable[Exception]) -> list[Violation]:
    """openapi-core's request errors as violations (`core/oracle.py`, which has imported it: its
    exceptions are imported here only then, not when the server starts)."""
    from openapi_core.deserializing.media_types.exceptions import MediaTypeDeserializeError
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
    from openapi_core.validation.request.exceptions import (
        MissingRequiredParameter,
        MissingRequiredRequestBody,
        ParameterValidationError,
        RequestBodyValidationError,
        SecurityValidationError,
    )

    found: list[Violation] = []
    for error in errors:
        cause = error.__cause__
        match error:
            case SecurityValidationError():
                found.append(Violation("security", "", "credentials are missing or invalid", 401))
            case MissingRequiredRequestBody():
                found.append(Violation("body", "", "a request body is required"))
            case RequestBodyValidationError() if isinstance(cause, MediaTypeNotFound):
                allowed = ", ".join(cause.availableMimetypes)
                message = f"content type {cause.mimetype or '(none)'!r} is not supported; use {allowed}"
                found.append(Violation("header", "Content-Type", message, 415))
            case RequestBodyValidationError() if isinstance(cause, MediaTypeDeserializeError):
                reason = cause.__context__
                if isinstance(reason, LoneSurrogate):
                    found.append(Violation("body", reason.path, surrogate_message(reason)))
                else:
                    found.append(Violation("body", "", f"the body is not valid {cause.mimetype}"))
            case RequestBodyValidationError():
                found += [Violation("body", f, m) for f, m in _schema_details(cause)] or [
                    Violation("body", "", str(cause or error))
                ]
            case MissingRequiredParameter(name=name, location=location):
                found.append(Violation(location, name, f"the {location} parameter {name!r} is required"))
            case ParameterValidationError(name=name, location=location):
                from openapi_core.casting.schemas.exceptions import CastError
                from openapi_core.deserializing.exceptions import DeserializeError

                details = [m for _, m in _schema_details(cause)]
                if isinstance(cause, CastError | DeserializeError) or not details:
                    details = [_cast_message(name, location, cause)]
                found += [Violation(location, name, m) for m in details]
            case _:
                found.append(Violation("request", "", str(error)))
    return found


def surrogate_message(reason: LoneSurrogate) -> str:
    return f"the text is not valid Unicode: a lone surrogate (\\u{reason.code:04x}) cannot be read as UTF-8"


def _cast_message(name: str, location: str, cause: BaseException | None) -> str:
    from openapi_core.casting.schemas.exceptions import CastError

    if isinstance(cause, CastError):
        return f"the {location} parameter {name!r} must be of type {cause.type}, got {cause.value!r}"
    return f"the {location} parameter {name!r} is invalid" + (f": {cause}" if cause else "")


def _schema_details(cause: BaseException | None) -> Iterator[tuple[str, str]]:
    from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

    if isinstance(cause, InvalidSchemaValue):
        yield from schema_details(cause.schema_errors)  # type: ignore[arg-type]


def schema_details(errors: Iterable[SchemaError]) -> Iterator[tuple[str, str]]:
    """(dotted field, message) per problem jsonschema found; a missing property is named as the field."""
    for path, message in schema_places(errors):
        yield ".".join(map(str, path)), message


def schema_places(errors: Iterable[SchemaError]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """`schema_details` with each field as its path of keys and indexes.

    jsonschema reports each missing property as its own error, each naming the whole `required`
    list: a missing property is yielded once, however many errors name it.
    """
    named: set[tuple[str | int, ...]] = set()
    for error in _leaves(errors):
        path = tuple(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]  # type: ignore[union-attr]
            for name in missing:
                field = (*path, str(name))
                if field not in named:
                    named.add(field)
                    yield field, f"{name!r} is required"
            continue
        yield path, error.message


def _leaves(errors: Iterable[SchemaError]) -> Iterator[SchemaError]:
    """The specific errors under oneOf/anyOf, rather than 'is not valid under any of the given schemas'.

    Of the branches, the one whose type fits the value speaks: `""` for a nullable date-time
    breaks the date-time branch's format, and that is the problem, not "is not of type 'null'".
    """
    for error in errors:
        if (
            error.validator == "not"
            and isinstance(error.validator_value, dict)
            and "description" in error.validator_value
        ):
            yield _restated(error, str(error.validator_value["description"]))  # the spec says what it forbids
            continue
        if not error.context:
            yield error
            continue
        fitting = _fitting_branches(error.context)
        absent = [e for e in fitting if e.validator == "required" and not e.relative_path]
        if fitting and len(absent) == len(fitting) and len({e.relative_schema_path[0] for e in absent}) > 1:
            sent: Any = error.instance
            required: list[Any] = [n for e in absent for n in e.validator_value]  # type: ignore[union-attr]
            names = sorted({str(n) for n in required if n not in sent})
            said = error.schema.get("description") if isinstance(error.schema, dict) else None
            yield _restated(error, str(said or f"one of {', '.join(repr(n) for n in names)} is required"))
            continue
        if fitting:
            yield from _leaves([best_match(fitting)])
            continue
        types = [
            t
            for e in error.context
            if e.validator == "type" and not e.relative_path
            for t in (e.validator_value if isinstance(e.validator_value, list) else [e.validator_value])
        ]
        yield _restated(error, f"{error.instance!r} is not of type {', '.join(repr(t) for t in types)}", "type")


def _restated(error: SchemaError, message: str, validator: str | None = None) -> SchemaError:
    """`error` with a message that says what is wrong in the words a client understands."""
    kind = validator or str(error.validator)
    return SchemaError(message, validator=kind, path=error.absolute_path, instance=error.instance)


def _fitting_branches(context: list[SchemaError]) -> list[SchemaError]:
    """The errors of the oneOf/anyOf branches whose type the value has (none: it has no branch's type).

    `notification: {requestedSendTime: ""}` against `oneOf: [Notification, {type: "null"}]` fails
    both branches; the useful message is Notification's (`'' is not a 'date-time'`), not
    `... is not of type 'null'`, which the shallowest-error rule of `best_match` would pick.
    """
    by_branch: dict[Any, list[SchemaError]] = {}
    for error in context:
        by_branch.setdefault(error.relative_schema_path[0] if error.relative_schema_path else None, []).append(error)
    wrong_type = {
        branch
        for branch, found in by_branch.items()
        if any(e.validator == "type" and not e.relative_path for e in found)
    }
    return [e for branch, found in by_branch.items() if branch not in wrong_type for e in found]
