"""The Streamlit script `streamlit run` executes (through server.py): the pages live in `pages.py`."""

from live.dashboard.pages import main

main()
