"""The mock's stand-in for Altinn Authorization (the PDP that evaluates each app's XACML policy).

Rules, in the spirit of a typical app policy:
- a service owner (token with `urn:altinn:org`) may do everything on its own org's instances,
  and read the other orgs' apps listed under `readsApps` in fixtures;
- a user may act (read, write, instantiate, delete, confirm, sign, reject, pay) for their own
  party and the parties delegated to them in fixtures, at or above the app's `minAuthLevel`;
  `complete` (the app owner's confirmation) is never granted to a user;
- a system user (token with `authorization_details`) may do what a user may, for the one
  organisation that owns it, on apps whose fixture entry says `allowSystemUsers: true` (the
  delegation of the app's rights to the system user that Altinn's system register records);
  anything else is denied.
"""

from __future__ import annotations

from typing import Protocol

from instancemock.platforms.altinn.domain.world import World

USER_ACTIONS = frozenset({"read", "write", "instantiate", "delete", "confirm", "sign", "reject", "pay"})


class Caller(Protocol):
    @property
    def org(self) -> str | None: ...
    @property
    def user_id(self) -> int | None: ...
    @property
    def party_id(self) -> int | None: ...
    @property
    def auth_level(self) -> int: ...
    @property
    def system_user_org(self) -> str | None: ...


def permits(world: World, caller: Caller, action: str, app_id: str, party_id: int | str) -> bool:
    """Would the PDP permit `action` on an instance of `app_id` owned by `party_id`?"""
    org = app_id.split("/", 1)[0]
    if caller.org is not None:
        if caller.org.lower() == org.lower():
            return True
        reads = world.orgs[caller.org].reads_apps if caller.org in world.orgs else frozenset()
        return action == "read" and app_id in reads
    if caller.system_user_org is not None:
        return _system_user_permits(world, caller.system_user_org, action, app_id, party_id)
    if caller.user_id is None or action not in USER_ACTIONS:
        return False
    app = world.app(app_id)
    if app is not None and caller.auth_level < app.min_auth_level:
        return False
    try:
        owner = int(party_id)
    except ValueError:
        return False
    return owner in world.parties_of_user(caller.user_id, caller.party_id)


def _system_user_permits(world: World, owner: str, action: str, app_id: str, party_id: int | str) -> bool:
    app = world.app(app_id)
    if app is None or not app.metadata.get("allowSystemUsers") or action not in USER_ACTIONS:
        return False
    party = world.party_by_organisation_number(owner)
    return party is not None and str(party.party_id) == str(party_id)
