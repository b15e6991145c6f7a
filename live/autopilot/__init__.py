"""The autonomous loop: every cycle, judge the live policy, grade it, act, improve, promote and hot-swap.

`python -m live.autopilot` (docs/AUTOPILOT.md). Modules: `grade.py` (the status levels and the size actions, pure),
`book.py` (the resumable cycle state and the cycle journal), `cycle.py` (the steps), `__main__.py` (the command).
"""
