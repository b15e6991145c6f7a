"""Bring your own history: vendor minute bars of a proxy market, checked and mapped into the store's `proxy/` namespace.

`python -m backtest.data import FILE...` (`importer.import_files`): read (`read`), timestamps to UTC bar opens
(`clock`, `session`), row checks naming file and line (`checks`), the level mapped to the market's (`transform`).
`samples` writes vendor-style files of synthetic prices in each layout, for tests, the bench and trying the import.
"""
