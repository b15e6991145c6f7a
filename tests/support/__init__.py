"""Helpers several test modules share; none of them is a test. Test modules import from here, never from each other.

| module | what |
|---|---|
| `paper_exchange.py` | a manual-clock paper exchange on a free port, seeded and scripted bar sources |
| `stub_api.py` | a loopback stand-in for HyperLiquid's /info (candles, meta), API-shaped candles |
| `trader.py` | settings for trader tests on the paper exchange |
| `results.py` | hand-built backtest results and objectives |
| `rl.py`, `rl_modules.py` | tiny RL settings; small seeded RLlib modules |
"""
