"""Storage's wire form of an instance (Newtonsoft with null values ignored) and its self links."""

from __future__ import annotations

from typing import Any

from instancemock.core.encoding import dumps
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


Variant = tuple[str, bool, bool]  # (origin, strip_deleted_data, include_data): what else a wire form depends on

# How many documents' wire forms `WireForms` keeps, and how many variants (mostly origins) of each:
# at ~2 KB a form, a client paging through a 100,000-instance world holds at most ~40 MB here.
WIRE_LIMIT = 20_000
VARIANT_LIMIT = 4


class WireForms:
    """Each stored instance's Storage form, encoded once: the query assembles its page from these.

    Rendering (`storage_view` and the encoder) was two thirds of a Storage query's handler time,
    and a stored document never changes in place (instances.py: copy, change, put), so its wire
    form is a function of the document object and the variant. Entries hold their document, so
    the `id` they are filed under cannot be reused while they exist, and are checked by identity
    on every read; the owning index (index.py) also forgets a document the moment the store
    replaces or deletes it. Oldest entries make way beyond `WIRE_LIMIT` documents.
    """

    def __init__(self, limit: int = WIRE_LIMIT) -> None:
        self.limit = limit
        self._forms: dict[int, tuple[Document, dict[Variant, bytes]]] = {}

    def encoded(self, doc: Document, origin: str, *, strip_deleted_data: bool, include_data: bool) -> bytes:
        """`dumps(storage_view(doc, origin, ...))` with links, from the cache when it has it."""
        found = self._forms.get(id(doc))
        if found is None or found[0] is not doc:
            if len(self._forms) >= self.limit:
                del self._forms[next(iter(self._forms))]
            found = self._forms[id(doc)] = (doc, {})
        variants = found[1]
        variant = (origin, strip_deleted_data, include_data)
        encoded = variants.get(variant)
        if encoded is None:
            if len(variants) >= VARIANT_LIMIT:  # a client cycling through Host headers
                variants.clear()
            view = storage_view(doc, origin, strip_deleted_data=strip_deleted_data, include_data=include_data)
            encoded = variants[variant] = dumps(view)
        return encoded

    def page(self, docs: list[Document], origin: str, *, strip_deleted_data: bool, include_data: bool) -> list[bytes]:
        """`encoded` of each document, in one loop (a query's page: the calls were a tenth of it)."""
        forms, variant = self._forms, (origin, strip_deleted_data, include_data)
        found: list[bytes] = []
        for doc in docs:
            kept = forms.get(id(doc))
            encoded = kept[1].get(variant) if kept is not None and kept[0] is doc else None
            if encoded is None:
                encoded = self.encoded(doc, origin, strip_deleted_data=strip_deleted_data, include_data=include_data)
            found.append(encoded)
        return found

    def forget(self, doc: Document) -> None:
        """`doc` is no longer stored: drop its forms (and the reference that keeps it alive)."""
        found = self._forms.get(id(doc))
        if found is not None and found[0] is doc:
            del self._forms[id(doc)]

    def __len__(self) -> int:
        return len(self._forms)
