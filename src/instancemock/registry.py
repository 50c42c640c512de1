"""Which platforms the server has: the built-in packages, installed ones, and modules named in settings.

A platform is any module with a `PLUGIN` (`core/plugin.py`). The built-in ones are the packages
under `instancemock.platforms`, found by listing that package, so adding one there edits no file
here; packages installed separately announce themselves through the `instancemock.platforms` entry
point group; and `platforms: [module, ...]` in the config (or `--platform MODULE`) loads any other.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points

from instancemock import platforms as builtin
from instancemock.core.plugin import Plugin
from instancemock.settings import Declared, PlatformSetting

ENTRY_POINTS = "instancemock.platforms"


def discover(extra_modules: Iterable[str] = ()) -> list[Plugin]:
    """Every platform's plugin, in the order they ask for (`Plugin.position`); a name claimed twice is an error."""
    modules = [f"{builtin.__name__}.{info.name}" for info in sorted(pkgutil.iter_modules(builtin.__path__))]
    found = [_plugin_of(importlib.import_module(name), name) for name in modules]
    found += [_plugin_of(point.load(), point.value) for point in entry_points(group=ENTRY_POINTS)]
    found += [_plugin_of(importlib.import_module(name), name) for name in extra_modules]
    seen: dict[str, str] = {}
    for plugin in found:
        for name in [plugin.name, *(api.name for api in plugin.apis)]:
            if name in seen and seen[name] != plugin.name:
                raise ValueError(f"two platforms declare the name {name!r}: {seen[name]} and {plugin.name}")
            seen[name] = plugin.name
    unique = {plugin.name: plugin for plugin in found}.values()
    return sorted(unique, key=lambda plugin: (plugin.position, plugin.name))


def _plugin_of(module: object, where: str) -> Plugin:
    plugin = getattr(module, "PLUGIN", None)
    if not isinstance(plugin, Plugin):
        raise ValueError(f"{where}: a platform module must define PLUGIN = Plugin(...)")
    return plugin


def declared_settings(plugins: Iterable[Plugin]) -> Mapping[str, PlatformSetting]:
    return {name: setting for plugin in plugins for name, setting in plugin.settings.items()}


def declared(plugins: Iterable[Plugin]) -> Declared:
    """Every key the platforms add to the config: their own settings, and each API's under `apis:`."""
    found = list(plugins)
    apis = {api.name: api.settings for plugin in found for api in plugin.apis}
    return Declared(options=declared_settings(found), apis=apis)


def api_names(plugins: Iterable[Plugin]) -> list[str]:
    return [api.name for plugin in plugins for api in plugin.apis]
