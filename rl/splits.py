"""Time splits: the one definition training, tuning and the registry use (the share of real bars in a span is
`backtest.spans.share_real`).

Splits are contiguous and never shuffled: train = [0, a), validation = [a, b), test = [b, T) with
a = floor(T * train_fraction), b = floor(T * (train_fraction + validation_fraction)).
"""

from __future__ import annotations

from dataclasses import dataclass

from backtest.config import Params


@dataclass(frozen=True)
class Splits:
    """[start, end) bar ranges of the three time splits."""

    train: tuple[int, int]
    validation: tuple[int, int]
    test: tuple[int, int]

    def span(self, name: str) -> tuple[int, int]:
        return getattr(self, name)

    def to_dict(self) -> dict[str, list[int]]:
        return {"train": list(self.train), "validation": list(self.validation), "test": list(self.test)}


def split_spans(n_bars: int, train_fraction: float, validation_fraction: float) -> Splits:
    """Contiguous train / validation / test ranges by time."""
    a = int(n_bars * train_fraction)
    b = int(n_bars * (train_fraction + validation_fraction))
    if not 0 < a < b < n_bars:
        raise ValueError(f"{n_bars} bars cannot be split {train_fraction}/{validation_fraction}: spans would be empty")
    return Splits(train=(0, a), validation=(a, b), test=(b, n_bars))


def splits_for(n_bars: int, params: Params) -> Splits:
    """The splits `params.rl` asks for."""
    return split_spans(n_bars, params.rl.train_fraction, params.rl.validation_fraction)
