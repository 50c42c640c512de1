"""The README's example tests for the pytest plugin, run as a user would run them (through pytester).

Every ```python block of README.md whose first line names a test file (`# test_kianda_example.py`)
is written to that file and the lot runs in one pytest session; a README example that no longer
works fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE = re.compile(r"```python\n# (test_\w+\.py)\n(.*?)```", re.DOTALL)


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall(README.read_text(encoding="utf-8")))


def test_the_readme_has_an_example_per_platform() -> None:
    assert set(examples()) == {"test_kianda_example.py", "test_barium_example.py", "test_altinn_example.py"}


def test_the_readme_examples_pass(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\ninstancemock_seed = 7\ninstancemock_strict = true\nasyncio_default_fixture_loop_scope = function\n"
    )
    for name, source in examples().items():
        pytester.makepyfile(**{name.removesuffix(".py"): source})
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=len(examples()))
