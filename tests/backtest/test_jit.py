"""numba's cache stamped with the project's compiled sources (backtest/jit.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from backtest import jit

RUN = """
import sys
from pathlib import Path
if sys.argv[2] == "project":
    import backtest.jit as jit
    jit.ROOTS = (Path(sys.argv[1]) / "pkg",)
sys.path.insert(0, sys.argv[1])
from pkg.caller import g
print(g())
"""


def _write_pkg(root: Path, decorator: str, callee_value: int) -> None:
    pkg = root / "pkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    head = "from backtest.jit import cached_njit\n\n" if "cached" in decorator else "from numba import njit\n\n"
    (pkg / "callee.py").write_text(head + f"@{decorator}\ndef f():\n    return {callee_value}\n")
    (pkg / "caller.py").write_text(head + f"from pkg.callee import f\n\n@{decorator}\ndef g():\n    return f() + 10\n")


def _run(root: Path, stamp: str = "project") -> int:
    out = subprocess.run([sys.executable, "-c", RUN, str(root), stamp], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


def test_a_changed_callee_reaches_its_cached_caller(tmp_path):
    _write_pkg(tmp_path, "cached_njit()", 1)
    assert _run(tmp_path) == 11
    assert list((tmp_path / "pkg" / "__pycache__").glob("caller.g-*.nbi")), "the caller was not cached"
    _write_pkg(tmp_path, "cached_njit()", 2)  # only the callee's file changes
    assert _run(tmp_path) == 12


def test_numba_alone_keeps_the_callers_stale_code_which_is_why_backtest_jit_exists(tmp_path):
    """The failure cached_njit prevents, shown with numba's own cache (if a numba upgrade fixes it, this says so)."""
    _write_pkg(tmp_path, "njit(cache=True)", 1)
    assert _run(tmp_path, "numba") == 11
    _write_pkg(tmp_path, "njit(cache=True)", 2)
    assert _run(tmp_path, "numba") == 11  # stale: the caller's stamp is its own file only


def test_every_cached_function_of_the_compiled_packages_goes_through_cached_njit():
    direct = re.compile(r"cache\s*=\s*True|[\"']cache[\"']\s*:\s*True")
    offenders = [
        f"{path.relative_to(jit.REPO_ROOT)}:{n}"
        for root in jit.ROOTS
        for path in sorted(root.rglob("*.py"))
        if path.name != "jit.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if direct.search(line)
    ]
    assert not offenders, f"use backtest.jit.cached_njit, not numba's cache=True: {offenders}"


def test_the_stamp_covers_the_simulator_and_the_modules_that_inline_it():
    names = {str(p.relative_to(jit.REPO_ROOT)) for p in jit.compiled_sources(jit.ROOTS)}
    assert {"backtest/sim/kernel.py", "rl/lockstep.py", "rl/vector_env.py", "backtest/features.py"} <= names
    # every module of the kernel, the layout included: compiled code reads its constants at compile time
    sim = {f"backtest/sim/{m}.py" for m in ("layout", "account", "maker", "rules", "pricing", "draws")}
    assert sim <= names, sim - names
    assert "backtest/report/__init__.py" not in names


def test_the_digest_changes_with_any_compiled_source(tmp_path):
    _write_pkg(tmp_path, "cached_njit()", 1)
    before = jit.sources_digest((tmp_path / "pkg",))
    (tmp_path / "pkg" / "notes.py").write_text(textwrap.dedent('"""no compiled code here"""\n'))
    assert jit.sources_digest((tmp_path / "pkg",)) == before
    _write_pkg(tmp_path, "cached_njit()", 3)
    assert jit.sources_digest((tmp_path / "pkg",)) != before
