"""Monitoring: the web dashboard (`python -m live.dashboard`, Streamlit) and what it shows, as pure functions.

- `views.py`: pure functions over journal records, status, autopilot cycles, registry entries, report and sweep
  documents (HOLD rate, heatmap, drawdown vs halt, slippage, open orders, alerts, cycle rows, ...). No I/O.
- `data.py`: reading the files those come from (trader folders, journals, cycles, registry, reports, sweeps), the
  live-vs-backtest replay, and the emergency-stop file (the one write).
- `pages.py`: the Streamlit pages (thin: layout only), run by `app.py`; `server.py` adds the report-file route;
  `__main__.py` starts Streamlit headless on loopback.
- `demo.py`: a demo workspace from a real Trader on the in-process paper exchange (screenshots, tests, first look).

Importing this package never imports Streamlit; `live.monitor` (the terminal view) uses `views` and `data` too.
"""
