"""Storage's wire form of an instance (Newtonsoft with null values ignored) and its self links."""

from __future__ import annotations

from typing import Any

from instancemock.platforms.altinn.domain.instances import guid_of, is_hard_deleted_element, party_of
from instancemock.world.store import Document

STORAGE_PATH = "/altinn/storage/api/v1/instances"


def storage_base(origin: str) -> str:
    """`{scheme}://{host}/altinn/storage/api/v1/instances` of the host the client used."""
    return origin + STORAGE_PATH


def platform_link(origin: str, party_id: str | int, guid: str) -> str:
    return f"{storage_base(origin)}/{party_id}/{guid}"


def omit_nulls(value: Any) -> Any:
    """Drop null members (recursively) and private `_` members: Storage never writes `null`."""
    if isinstance(value, dict):
        # scalars are taken as they are, without a call each: most members of an instance are
        return {
            k: omit_nulls(v) if isinstance(v, (dict, list)) else v
            for k, v in value.items()
            if v is not None and k[:1] != "_"
        }
    if isinstance(value, list):
        return [omit_nulls(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def storage_view(
    doc: Document,
    origin: str,
    *,
    links: bool = True,
    strip_deleted_data: bool = False,
    include_data: bool = True,
) -> dict[str, Any]:
    """The instance as Storage answers it.

    `links`: set `selfLinks.platform` on the instance and its data elements (Storage does so on
    GET, POST, query, complete, readstatus and substatus, not on the other writes).
    `strip_deleted_data`: drop hard-deleted data elements (for callers other than the app owner).
    """
    view = omit_nulls(doc)
    party, guid = party_of(doc), guid_of(doc)
    elements = (view.get("data") or []) if include_data else []
    if strip_deleted_data:
        elements = [e for e in elements if not is_hard_deleted_element(e)]
    if links:
        base = platform_link(origin, party, guid)
        view["selfLinks"] = {**(view.get("selfLinks") or {}), "platform": base}
        elements = [
            {**e, "selfLinks": {**(e.get("selfLinks") or {}), "platform": f"{base}/data/{e['id']}"}} for e in elements
        ]
    view["data"] = elements
    if isinstance(view.get("status"), dict):
        view["status"] = _ordered(view["status"], STATUS_ORDER)
    return _ordered(view, ORDER)


ORDER = (
    "id", "instanceOwner", "appId", "org", "selfLinks", "dueBefore", "visibleAfter", "process", "status",
    "completeConfirmations", "data", "presentationTexts", "dataValues",
    "created", "createdBy", "lastChanged", "lastChangedBy",
)  # fmt: skip


STATUS_ORDER = (
    "isArchived", "archived", "isSoftDeleted", "softDeleted", "isHardDeleted", "hardDeleted", "readStatus",
    "substatus",
)  # fmt: skip


def _ordered(view: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """Members in the model's declaration order (`Instance.cs`, ...), as Newtonsoft writes them."""
    ordered = {name: view[name] for name in order if name in view}
    if len(ordered) < len(view):  # members the model does not name come last, in the order they had
        ordered.update((name, value) for name, value in view.items() if name not in ordered)
    return ordered
