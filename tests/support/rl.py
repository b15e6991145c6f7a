"""Small, fast RL settings shared by the RL and live tests (a list of `--set` overrides)."""

# 3 days of synthetic bars, a tiny LSTM, short episodes
TINY = [
    "backtest.days=3",
    "backtest.chunk_size=400",
    "backtest.warmup_bars=20",
    "rl.lstm_hidden=16",
    "rl.fcnet_hiddens=[16]",
    "rl.episode_bars=200",
    "rl.batch_size=4",
    "rl.max_seq_len=8",
    "rl.epochs=2",
]
