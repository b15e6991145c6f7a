"""Helpers for the vendor-import tests: import files into a store, read and write a file's lines."""

from __future__ import annotations

from backtest.data.store import BarStore
from backtest.data.vendor.importer import ImportOptions, import_files

COIN, IV = "xyz:XYZ100", "1m"


def run_import(store: BarStore, *paths, **opts):
    return import_files([str(p) for p in paths], store, ImportOptions(COIN, IV, **opts))


def lines_of(path) -> list[str]:
    return path.read_text().splitlines()


def write_lines(path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")
