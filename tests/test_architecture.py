"""The architecture's rules hold and are enforced: imports point one way (import-linter, with
the contracts in ``setup.cfg``), and one place commits.

The contracts are run on a copy of the package with one deliberately wrong import added: each
must then fail, so a contract that checks nothing cannot pass unnoticed.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "consent_service"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "setup.cfg"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    shutil.copytree(PACKAGE, tree / "consent_service", ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def test_the_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


BAD_IMPORTS = [
    # A lower layer asking the ledger, inside a function: counted too.
    (
        "policies/service.py",
        "\n\ndef _upward():\n    from consent_service.consent.models import ConsentState\n\n"
        "    return ConsentState\n",
        "Capabilities above the ledger",
    ),
    # A foundation module importing a capability.
    ("clock.py", "\nfrom consent_service.webhooks import service as _s  # noqa\n", "Capabilities above"),
    # Two modules of one package importing each other.
    ("consent/rows.py", "\nfrom consent_service.consent import writer as _writer  # noqa\n", "No cycle"),
    # A service reaching for a route module.
    ("consent/service.py", "\nfrom consent_service.consent import api as _a  # noqa\n", "Routes, commands"),
]


@pytest.mark.parametrize(("module", "addition", "contract"), BAD_IMPORTS, ids=[m for m, _, _ in BAD_IMPORTS])
def test_a_wrong_import_breaks_a_contract(package_copy, module, addition, contract):
    path = package_copy / "consent_service" / module
    original = path.read_text()
    path.write_text(original + addition)
    try:
        result = _lint(package_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0, result.stdout
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken) or contract in result.stdout.split("Broken contracts")[-1]


def _commits(path: Path) -> list[int]:
    """Lines of ``path`` that call ``.commit()`` on anything."""
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def test_one_place_commits():
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := _commits(path))
    }
    assert found == {"consent_service/unit_of_work.py": found.get("consent_service/unit_of_work.py")}
    assert found["consent_service/unit_of_work.py"]
