"""instancemock: a stateful mock of process-instance APIs."""

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The installed distribution's version (`instancemock --version`, the banner)."""
    try:
        return version("instancemock")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"
