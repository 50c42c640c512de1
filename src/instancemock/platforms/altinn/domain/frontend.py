"""What an app serves its front end, made from the app's fixture entry: metadata, layouts, texts.

A real app ships these as files (`App/config/applicationmetadata.json`, `App/ui/<set>/layouts`,
`App/config/texts/resource.<lang>.json`, `App/models/*.schema.json`); the mock writes them from
the app's data types and process so that app-frontend-react can show and run any fixture app:
each data task with form data gets a layout set (bound to its first form data type) with one
page: a header, an input per data model field of each form data type of the task, a file upload
per attachment data type of the task, and a submit button. Confirmation and feedback tasks need
no layout (the front end draws them itself). [I] Signing and payment tasks get no layout set, so
the front end cannot show them (it needs app-specific signing components there).
"""

from __future__ import annotations

from typing import Any

from instancemock.platforms.altinn.domain.data import REF_DATA_AS_PDF
from instancemock.platforms.altinn.domain.forms import is_form
from instancemock.platforms.altinn.domain.world import App, Party, Task

# app-frontend-react refuses apps older than 8.0.0.108 and turns on the `/validate` and
# attachment APIs the mock serves from 8.5.0.141 and 8.5.0.153 (its versions.ts).
ALTINN_NUGET_VERSION = "8.9.0.225"
LANGUAGES = ("nb", "en")
DEFAULT_FIELDS = ("navn", "beskrivelse")
PAGE = "Side1"
# Register's PartyType numbers (app-lib serialises the enum as a number).
PARTY_TYPES = {"person": 1, "organisation": 2, "selfIdentified": 3, "subUnit": 4, "bankruptcyEstate": 5}
PARTY_TYPES_ALLOWED = ("bankruptcyEstate", "organisation", "person", "subUnit")
UNIT_PARTY_TYPES = {"BEDR": "subUnit", "AAFY": "subUnit", "KBO": "bankruptcyEstate"}
# DataType members Storage's model has (anything else in a fixture entry is the mock's own).
DATA_TYPE_FIELDS = (
    "id", "description", "allowedContentTypes", "allowedContributors", "actionRequiredToRead",
    "actionRequiredToWrite", "appLogic", "taskId", "maxSize", "maxCount", "minCount", "grouping",
    "enablePdfCreation", "enableFileScan", "validationErrorOnPendingFileScan", "enabledFileAnalysers",
    "enabledFileValidators", "allowedKeysForUserDefinedMetadata",
)  # fmt: skip
APP_LOGIC_FIELDS = (
    "autoCreate", "classRef", "schemaRef", "allowAnonymousOnStateless", "autoDeleteOnProcessEnd",
    "disallowUserCreate", "disallowUserDelete",
)  # fmt: skip


def title_of(app: App) -> str:
    return str(app.metadata.get("title") or app.name)


def application_metadata(app: App) -> dict[str, Any]:
    """`applicationmetadata.json` as app-lib serves it (System.Text.Json, camelCase)."""
    meta = app.metadata
    allowed = meta.get("partyTypesAllowed") or {}
    document: dict[str, Any] = {
        "id": app.app_id,
        "org": app.org,
        "title": {language: title_of(app) for language in LANGUAGES},
        "dataTypes": [_data_type(t) for t in app.data_types],
        "partyTypesAllowed": {
            k: bool(allowed.get(k)) for k in ("bankruptcyEstate", "organisation", "person", "subUnit")
        },
        "autoDeleteOnProcessEnd": False,
        "preventInstanceDeletionForDays": meta.get("preventInstanceDeletionForDays"),
        "onEntry": {"show": "new-instance"},
        "copyInstanceSettings": {
            "enabled": bool((meta.get("copyInstanceSettings") or {}).get("enabled")),
            "excludedDataTypes": list((meta.get("copyInstanceSettings") or {}).get("excludedDataTypes") or []),
            "excludedDataFields": [],
            "includeAttachments": False,
        },
        "disallowUserInstantiation": False,
        "features": {},
        "altinnNugetVersion": ALTINN_NUGET_VERSION,
        "externalApiIds": [],
    }
    if meta.get("apiScopes"):
        document["apiScopes"] = meta["apiScopes"]
    return document


def _data_type(entry: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": entry["id"],
        "allowedContentTypes": list(entry.get("allowedContentTypes") or []),
        "maxSize": entry.get("maxSize"),
        "maxCount": int(entry.get("maxCount", 1)),
        "minCount": int(entry.get("minCount", 1)),
        "enablePdfCreation": is_form(entry),
        "enableFileScan": bool(entry.get("enableFileScan")),
        "validationErrorOnPendingFileScan": False,
        "enabledFileAnalysers": [],
        "enabledFileValidators": [],
    }
    view |= {k: entry[k] for k in DATA_TYPE_FIELDS if k in entry and k not in view}
    if entry.get("appLogic"):
        view["appLogic"] = {k: v for k, v in entry["appLogic"].items() if k in APP_LOGIC_FIELDS}
    return view


# --- layouts ---------------------------------------------------------------------------------


def _types_of(app: App, task: Task) -> list[dict[str, Any]]:
    return [t for t in app.data_types if t.get("taskId") == task.element_id and t.get("id") != REF_DATA_AS_PDF]


def layout_sets(app: App) -> dict[str, Any]:
    """`layout-sets.json`: one set per data task that has form data, named by the task."""
    sets = []
    for task in app.tasks:
        forms = [t for t in _types_of(app, task) if is_form(t)]
        if task.task_type == "data" and forms:
            sets.append({"id": task.element_id, "dataType": forms[0]["id"], "tasks": [task.element_id]})
    return {"sets": sets}


def layout_set(app: App, set_id: str) -> Task | None:
    """The task a layout set belongs to (None: the app has no such set)."""
    ids = {s["id"] for s in layout_sets(app)["sets"]}
    return app.task(set_id) if set_id in ids else None


def fields_of(data_type: dict[str, Any]) -> list[str]:
    return [str(f) for f in data_type.get("fields") or DEFAULT_FIELDS]


def layouts(app: App, task: Task) -> dict[str, Any]:
    """The set's pages: `{page: {data: {layout: [components]}}}`."""
    types = _types_of(app, task)
    forms = [t for t in types if is_form(t)]
    main = forms[0]["id"] if forms else None
    components: list[dict[str, Any]] = [
        {"id": "title", "type": "Header", "size": "L", "textResourceBindings": {"title": "appName"}}
    ]
    for data_type in forms:
        for field in fields_of(data_type):
            binding: Any = field if data_type["id"] == main else {"dataType": data_type["id"], "field": field}
            components.append(
                {
                    "id": f"{data_type['id']}-{field}",
                    "type": "Input",
                    "textResourceBindings": {"title": f"{data_type['id']}.{field}"},
                    "dataModelBindings": {"simpleBinding": binding},
                    "required": False,
                    "readOnly": False,
                }
            )
    for data_type in (t for t in types if not is_form(t)):
        components.append(
            {
                "id": data_type["id"],  # a FileUpload's id is the data type it uploads to
                "type": "FileUpload",
                "textResourceBindings": {"title": f"{data_type['id']}.title"},
                "displayMode": "list",
                "maxFileSizeInMB": int(data_type.get("maxSize") or 25),
                "maxNumberOfAttachments": int(data_type.get("maxCount") or 100),
                "minNumberOfAttachments": int(data_type.get("minCount") or 0),
                "hasCustomFileEndings": False,
                "required": int(data_type.get("minCount") or 0) > 0,
            }
        )
    components.append({"id": "submit", "type": "Button", "textResourceBindings": {"title": "submit"}})
    return {PAGE: {"data": {"layout": components}}}


def layout_settings(app: App, task: Task) -> dict[str, Any]:
    return {"pages": {"order": [PAGE]}}


def json_schema(app: App, data_type: dict[str, Any]) -> dict[str, Any]:
    """The data model's JSON Schema: every field a string (how the mock keeps values)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"schema.{data_type['id']}.json",
        "title": str((data_type.get("appLogic") or {}).get("classRef") or data_type["id"]),
        "type": "object",
        "properties": {field: {"type": "string"} for field in fields_of(data_type)},
    }


def texts(app: App, language: str) -> dict[str, Any]:
    """`resource.<lang>.json`: the app's name, each field's and upload's label, the submit button."""
    english = language == "en"
    resources = [
        {"id": "appName", "value": title_of(app)},
        {"id": "submit", "value": "Submit" if english else "Send inn"},
    ]
    for data_type in app.data_types:
        if is_form(data_type):
            resources += [
                {"id": f"{data_type['id']}.{field}", "value": field.capitalize()} for field in fields_of(data_type)
            ]
        else:
            label = f"Attachments ({data_type['id']})" if english else f"Vedlegg ({data_type['id']})"
            resources.append({"id": f"{data_type['id']}.title", "value": label})
    return {"id": f"{app.org}-{app.name}-{language}", "org": app.org, "language": language, "resources": resources}


# --- parties and profiles --------------------------------------------------------------------


def party_kind(party: Party) -> str:
    if party.type == "organisation":
        return UNIT_PARTY_TYPES.get(party.unit_type or "", "organisation")
    return party.type


def register_party(party: Party, children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Register's `Party` as app-lib passes it on (profile, parties, parties/current)."""
    is_person = party.type == "person"
    return {
        "partyId": party.party_id,
        "partyUuid": party.party_uuid,
        "partyTypeName": PARTY_TYPES[party_kind(party)],
        "orgNumber": party.organisation_number,
        "ssn": party.person_number,
        "unitType": party.unit_type,
        "name": party.name,
        "isDeleted": False,
        "onlyHierarchyElementWithNoAccess": False,
        "person": {"ssn": party.person_number, "name": party.name} if is_person else None,
        "organization": (
            {"orgNumber": party.organisation_number, "name": party.name, "unitType": party.unit_type}
            if party.type == "organisation"
            else None
        ),
        "childParties": children,
    }


def user_profile(user_id: int, party: Party, username: str | None) -> dict[str, Any]:
    """Profile's `UserProfile` of a user: `userType` 1 for a person, 2 for a self-identified user."""
    return {
        "userId": user_id,
        "userUuid": party.party_uuid,
        "userName": username or "",
        "isReserved": False,
        "phoneNumber": None,
        "email": None,
        "partyId": party.party_id,
        "party": register_party(party),
        "userType": 2 if party.type == "selfIdentified" else 1,
        "profileSettingPreference": {"language": "nb", "preSelectedPartyId": 0, "doNotPromptForParty": False},
    }


def may_instantiate_as(app: App, party: Party) -> bool:
    """app-lib's party type check (`partyTypesAllowed`; none allowed explicitly means all are)."""
    allowed = app.metadata.get("partyTypesAllowed") or {}
    if not any(allowed.values()):
        return True
    kind = party_kind(party)
    return bool(allowed.get("person" if kind == "selfIdentified" else kind))


INDEX_HTML = """<!DOCTYPE html>
<html lang="no">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="https://altinncdn.no/toolkits/altinn-app-frontend/4/altinn-app-frontend.css">
</head>
<body>
  <div id="root"></div>
  <script>
    window.org = '{org}';
    window.app = '{app}';
  </script>
  <script src="https://altinncdn.no/toolkits/altinn-app-frontend/4/altinn-app-frontend.js"></script>
</body>
</html>
"""


def index_page(app: App) -> str:
    """The app's start page: what app-lib's Index.cshtml writes (the bundle comes from the CDN)."""
    title = title_of(app).replace("&", "&amp;").replace("<", "&lt;")
    return INDEX_HTML.format(title=title, org=app.org, app=app.name)
