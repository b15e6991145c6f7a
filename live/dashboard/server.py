"""The ASGI app `streamlit run` serves: the pages (app.py) plus one read-only route for report files.

`/files/report/<folder>` and `/files/sweep/<folder>` return the self-contained report.html of a backtest report folder
(under `backtest.reports_dir`) or a sweep (under `dashboard.tune_dir`), so the Research page links open them in the
browser. Only folder names that exist there are served (`data.report_file`); nothing else on disk is reachable.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from live.dashboard import data

_paths: list[data.Paths] = []


def _settings() -> data.Paths:
    if not _paths:
        params, _ = data.configs_from_argv(data.argv_from_env())
        _paths.append(data.Paths.from_params(params))
    return _paths[0]


async def report_html(request: Request) -> Response:
    path = data.report_file(_settings(), request.path_params["kind"], request.path_params["name"])
    if path is None:
        return PlainTextResponse("no such report", status_code=404)
    return FileResponse(path, media_type="text/html")


app = st.App(str(Path(__file__).with_name("app.py")), routes=[Route("/files/{kind}/{name}", report_html)])
