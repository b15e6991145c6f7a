"""Settings for live trader tests on the paper exchange."""

# the RSI/MACD rules with wide thresholds and no MACD confirmation: they trade every few bars
RULES_BUSY = ["trading.rsi_buy_below=45", "trading.rsi_sell_above=55", "trading.macd_confirm=false"]
