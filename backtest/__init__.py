"""AML-100 backtest package: configs, market data, features, the one trading simulator, metrics and reports."""
