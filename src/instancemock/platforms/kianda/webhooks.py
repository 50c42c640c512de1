"""Kianda's instance webhooks (Developer > Webhooks): a GET to each URL on every change.

Kianda calls `GET <url>?instanceID=...&processName=...&eventType=created|updated|deleted` with a
10 s timeout. Deliveries run as background tasks so a slow or dead receiver never delays or fails
the request that caused the change; each outcome is logged and kept in a short history.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import aiohttp
from yarl import URL

from instancemock.platforms.kianda.tenant import Services, services
from instancemock.world.clock import iso
from instancemock.world.state import State

log = logging.getLogger("instancemock.kianda.webhooks")

Event = Literal["created", "updated", "deleted"]
TIMEOUT = aiohttp.ClientTimeout(total=10)
LOOPBACK = ("localhost", "127.0.0.1", "::1")  # the default of `webhook_hosts`


def webhooks(state: State) -> list[str]:
    """The URLs called on every instance change (from `webhooks:` in the config, plus added ones)."""
    return list(services(state).webhooks)


def check_target(url: str, hosts: tuple[str, ...]) -> None:
    """A webhook may only call a host on the allow list (`webhook_hosts`, loopback names by default).

    The server makes these requests from the developer's machine; without the list, whoever can
    register a webhook can make it call anything that machine reaches.
    """
    try:
        parsed = URL(url)
    except ValueError as error:
        raise ValueError(f"a webhook URL must be absolute http(s), not {url!r}") from error
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"a webhook URL must be absolute http(s), not {url!r}")
    allowed = {h.strip().lower().strip("[]") for h in hosts}
    if "*" not in allowed and parsed.host.lower().strip("[]") not in allowed:
        raise ValueError(
            f"webhooks may only call the hosts in webhook_hosts ({', '.join(sorted(allowed))}), not {parsed.host!r}"
        )


def check_configured(state: State) -> None:
    """The configured webhooks against the allow list: a bad one stops start-up."""
    for url in state.settings.option("webhooks", ()):
        check_target(url, state.settings.option("webhook_hosts", LOOPBACK))


def add_webhook(state: State, url: str) -> list[str]:
    """Register one more URL (idempotent); for an admin API or a test."""
    check_target(url, state.settings.option("webhook_hosts", LOOPBACK))
    hooks = services(state).webhooks
    if url not in hooks:
        hooks.append(url)
    return list(hooks)


def remove_webhook(state: State, url: str) -> bool:
    hooks = services(state).webhooks
    if url in hooks:
        hooks.remove(url)
        return True
    return False


def deliveries(state: State) -> list[dict[str, Any]]:
    """The most recent deliveries, oldest first, each with its outcome."""
    return list(services(state).deliveries)


def notify(state: State, instance_id: str, process_name: str, event: Event) -> None:
    """Fire and forget: schedule one GET per configured URL and return at once."""
    shared = services(state)
    if not shared.webhooks:
        return
    params = {"instanceID": instance_id, "processName": process_name, "eventType": event}
    task = asyncio.get_running_loop().create_task(_deliver_all(state, shared, list(shared.webhooks), params))
    shared.pending.add(task)
    task.add_done_callback(shared.pending.discard)


async def _deliver_all(state: State, shared: Services, urls: list[str], params: dict[str, str]) -> None:
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        await asyncio.gather(*(_deliver(state, shared, session, url, params) for url in urls))


async def _deliver(
    state: State, shared: Services, session: aiohttp.ClientSession, url: str, params: dict[str, str]
) -> None:
    target = URL(url).update_query(params)
    record: dict[str, Any] = {"at": iso(state.clock.now()), "url": str(target), **params}
    try:
        async with session.get(target, allow_redirects=False) as response:  # a redirect must not leave the list
            record["status"] = response.status
            record["outcome"] = "delivered" if response.status < 400 else "rejected"
    except TimeoutError:
        record["outcome"] = "timeout"
    except Exception as error:  # a background task: whatever goes wrong is recorded, nothing escapes
        record["outcome"] = f"failed: {type(error).__name__}: {error}"
    shared.deliveries.append(record)
    log.info("kianda webhook %s %s -> %s", params["eventType"], target, record.get("status", record["outcome"]))
