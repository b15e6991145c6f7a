"""Compiled (numba) forward pass of the recurrent policies, with no torch and no Ray: one flat float32 buffer of
weights and a small layer table, advanced B rows (segments) at a time.

    obs [B, D] -> encoder (Linear + tanh per `fcnet_hiddens`) -> stacked LSTM (state carried here) -> head

The same compiled functions serve the bar-by-bar path (`FastPolicy.act`, batch of one) and the fused backtest loop
(`rl.lockstep`), so both compute every row with the same operations in the same order:

- the matrix products are single-threaded BLAS `sgemm` calls (`np.dot` in numba). Every row of a product is
  computed alone, so a segment's numbers do not depend on which other segments share its batch. BLAS treats a
  one-row product as a matrix-vector product with a different summation order, so a batch of one is computed as two
  identical rows (`MIN_ROWS`); `tests/rl/test_inference.py` checks that rows are bit-identical for any batch size.
- tanh and the LSTM gates' sigmoid (= 0.5 + 0.5 tanh(x / 2)) use a float32 rational approximation (Eigen's), which
  vectorises; it differs from torch's by ~1e-7.
- the LSTM gate order is PyTorch's (input, forget, cell, output): gates = x W_ih^T + h W_hh^T + (b_ih + b_hh).

Decisions (`decide`) and the ensemble vote (`vote`) are compiled too, for the same reason: the live path and the
backtest then take bit-identical decisions, also near the confidence thresholds.
"""

from __future__ import annotations

import numpy as np

from backtest.jit import cached_njit
from backtest.sim.layout import BUY, HOLD, SELL

N_ACTIONS = len((HOLD, BUY, SELL))
MIN_ROWS = 2  # a batch of one is computed as two identical rows: BLAS then takes its matrix-matrix path
CHUNK_ROWS = 32  # rows per BLAS product at most (see member_forward)

KIND_PPO, KIND_DQN = 0, 1
TIE_HOLD, TIE_CONFIDENT = 0, 1

# layer table (int64 [L, N_LT]): one row per layer of every member
ENC, LSTM, HEAD, VALUE = 0, 1, 2, 3
LT_TYPE, LT_W, LT_IN, LT_OUT, LT_B, LT_STATE, LT_W2 = 0, 1, 2, 3, 4, 5, 6  # LSTM: state block, W_hh
N_LT = 7
# member table (int64 [M, N_MT])
MT_KIND, MT_FIRST, MT_COUNT, MT_COL, MT_WIDTH = 0, 1, 2, 3, 4
N_MT = 5

_F = np.float32
_HALF = _F(0.5)
_ZERO = _F(0.0)
# Eigen's generic_fast_tanh_float: tanh(x) = x P(x^2) / Q(x^2) on [-c, c], +-1 beyond (float32, a few ulp).
_CLAMP = _F(7.90531110763549805)
_A1, _A3, _A5 = _F(4.89352455891786e-03), _F(6.37261928875436e-04), _F(1.48572235717979e-05)
_A7, _A9, _A11 = _F(5.12229709037114e-08), _F(-8.60467152213735e-11), _F(2.00018790482477e-13)
_A13 = _F(-2.76076847742355e-16)
_B0, _B2, _B4, _B6 = (
    _F(4.89352518554385e-03),
    _F(2.26843463243900e-03),
    _F(1.18534705686654e-04),
    _F(1.19825839466702e-06),
)


JIT = {"error_model": "numpy", "fastmath": {"contract"}}  # numpy errors: no division checks, so
# the element-wise loops vectorise (a Python-style ZeroDivisionError check blocks it: measured 12x slower)


@cached_njit(inline="always", **JIT)
def ftanh(x):  # pragma: no cover - compiled
    """float32 tanh (rational approximation; vectorisable)."""
    if x > _CLAMP:
        x = _CLAMP
    if x < -_CLAMP:
        x = -_CLAMP
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    p = x * p
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return p / q


@cached_njit(inline="always", **JIT)
def fsigmoid(x):  # pragma: no cover - compiled
    return _HALF * ftanh(_HALF * x) + _HALF


@cached_njit(**JIT)
def _bias_tanh(y, b):  # pragma: no cover - compiled
    rows, n = y.shape
    for r in range(rows):
        yr = y[r]
        for j in range(n):
            yr[j] = ftanh(yr[j] + b[j])


@cached_njit(**JIT)
def _lstm_cell(gx, gh, b, h, c):  # pragma: no cover - compiled
    """PyTorch's LSTM cell on pre-activations gx + gh [4, R, H] (gates i, f, g, o) + b [4H]; updates h, c [R, H]."""
    rows, hidden = h.shape
    for r in range(rows):
        hr = h[r]
        cr = c[r]
        xi, xf, xg, xo = gx[0, r], gx[1, r], gx[2, r], gx[3, r]
        yi, yf, yg, yo = gh[0, r], gh[1, r], gh[2, r], gh[3, r]
        for j in range(hidden):
            i = fsigmoid(xi[j] + yi[j] + b[j])
            f = fsigmoid(xf[j] + yf[j] + b[hidden + j])
            z = ftanh(xg[j] + yg[j] + b[2 * hidden + j])
            o = fsigmoid(xo[j] + yo[j] + b[3 * hidden + j])
            cc = f * cr[j] + i * z
            cr[j] = cc
            hr[j] = o * ftanh(cc)


@cached_njit(**JIT)
def _rows_forward(buf, layers, first, count, obs, state, total, r0, scratch, scores):  # pragma: no cover - compiled
    """All layers of one member for rows [r0, r0 + len(obs)) of `total` (at least two rows; see `member_forward`)."""
    xa, xb, hc, gx, gh = scratch
    rows = obs.shape[0]
    d = obs.shape[1]
    x = xa[: rows * d].reshape((rows, d))
    x[:, :] = obs
    in_a = True  # x lives in xa
    for li in range(first, first + count):
        typ = layers[li, LT_TYPE]
        w = layers[li, LT_W]
        k = layers[li, LT_IN]
        m = layers[li, LT_OUT]
        bo = layers[li, LT_B]
        if typ == ENC:
            y = (xb if in_a else xa)[: rows * m].reshape((rows, m))
            np.dot(x, buf[w : w + k * m].reshape((k, m)), y)
            _bias_tanh(y, buf[bo : bo + m])
            x = y
            in_a = not in_a
        elif typ == LSTM:  # per gate: x W_ih[q]^T and h W_hh[q]^T, [rows, H] each (small BLAS products)
            base = layers[li, LT_STATE]
            w2 = layers[li, LT_W2]
            h = _state_rows(state, base, total, r0, rows, m)
            c = _state_rows(state, base + m, total, r0, rows, m)
            hcopy = hc[: rows * m].reshape((rows, m))
            hcopy[:, :] = h
            g1 = gx[: 4 * rows * m].reshape((4, rows, m))
            g2 = gh[: 4 * rows * m].reshape((4, rows, m))
            for q in range(4):
                np.dot(x, buf[w + q * k * m : w + (q + 1) * k * m].reshape((k, m)), g1[q])
                np.dot(hcopy, buf[w2 + q * m * m : w2 + (q + 1) * m * m].reshape((m, m)), g2[q])
            _lstm_cell(g1, g2, buf[bo : bo + 4 * m], h, c)
            y = (xb if in_a else xa)[: rows * m].reshape((rows, m))
            y[:, :] = h
            x = y
            in_a = not in_a
        elif typ == HEAD:
            np.dot(x, buf[w : w + k * m].reshape((k, m)), scores)
            for r in range(rows):
                for a in range(m):
                    scores[r, a] += buf[bo + a]
        else:  # VALUE (dueling): Q = V + A - mean(A)
            n_act = scores.shape[1]
            for r in range(rows):
                v = buf[bo]
                for j in range(k):
                    v += x[r, j] * buf[w + j]
                mean = _ZERO
                for a in range(n_act):
                    mean += scores[r, a]
                mean = mean / np.float32(n_act)
                for a in range(n_act):
                    scores[r, a] = v + scores[r, a] - mean


@cached_njit(**JIT)
def _state_rows(state, base, total, r0, rows, hidden):  # pragma: no cover - compiled
    """Rows [r0, r0 + rows) of the state block that starts at `base` x `total` (h: base, c: base + hidden), as a
    C-contiguous [rows, hidden] view: a strided view compiles to scalar loops (measured ~10x slower cell)."""
    off = base * total + r0 * hidden
    return state[off : off + rows * hidden].reshape((rows, hidden))


@cached_njit(**JIT)
def member_forward(buf, layers, first, count, obs, state, scratch, scores):  # pragma: no cover - compiled
    """One step of one member: obs [R, D] -> head outputs `scores` [R, A]; advances `state`.

    `state` is flat float32 [R x sum(2 H) over all LSTM layers]: layer l's h block starts at LT_STATE x R, its c
    block H x R later, each row-major [R, H].

    Products are per LSTM gate ([rows, K] x [K, H]) on chunks of at most CHUNK_ROWS (and at least two) rows: OpenBLAS
    computes products up to ~1e6 multiply-adds with a direct kernel (measured ~50 G multiply-adds/s on one core for
    32 x 128 x 128) and larger ones through a packed path that was 2-4x slower at these sizes. Row results do not
    depend on the chunking (each output element is one dot product in a fixed order).
    """
    rows = obs.shape[0]
    n_chunks = (rows + CHUNK_ROWS - 1) // CHUNK_ROWS
    base = rows // n_chunks
    extra = rows - base * n_chunks
    r0 = 0
    for q in range(n_chunks):
        n = base + (1 if q < extra else 0)
        _rows_forward(buf, layers, first, count, obs[r0 : r0 + n], state, rows, r0, scratch, scores[r0 : r0 + n])
        r0 += n


@cached_njit(**JIT)
def decide(kind, scores, min_q_diff, actions, margins):  # pragma: no cover - compiled
    """Greedy actions and confidence margins for rows of head outputs (see rl/inference.py for the definitions)."""
    rows, n = scores.shape
    for r in range(rows):
        s = scores[r]
        best = 0
        for a in range(1, n):
            if s[a] > s[best]:
                best = a
        if kind == KIND_PPO:
            top = s[best]
            total = _ZERO
            e = np.empty(n, dtype=np.float32)
            for a in range(n):
                e[a] = np.float32(np.exp(s[a] - top))
                total += e[a]
            first = _ZERO
            second = _ZERO
            for a in range(n):
                p = e[a] / total
                if p > first:
                    second = first
                    first = p
                elif p > second:
                    second = p
            margins[r] = first - second
            actions[r] = best
        else:
            first = s[0]
            second = np.float32(-np.inf)
            for a in range(1, n):
                if s[a] > first:
                    second = first
                    first = s[a]
                elif s[a] > second:
                    second = s[a]
            margins[r] = first - second
            if min_q_diff > 0.0 and not (s[best] - s[HOLD] >= min_q_diff):
                best = HOLD
            actions[r] = best


@cached_njit(**JIT)
def vote(actions, margins, threshold, fallback, tie_break, out):  # pragma: no cover - compiled
    """The ensemble vote over members' actions/margins [M, B] (rules in rl/ensemble.py); writes int8 `out` [B]."""
    n_members, batch = actions.shape
    votes = np.zeros(N_ACTIONS, dtype=np.int64)
    for b in range(batch):
        votes[:] = 0
        best_margin = -np.inf
        best_member = 0
        for m in range(n_members):
            if np.float64(margins[m, b]) >= threshold:
                votes[actions[m, b]] += 1
                if np.float64(margins[m, b]) > best_margin:
                    best_margin = np.float64(margins[m, b])
                    best_member = m
        top = votes[0]
        winner = 0
        for a in range(1, N_ACTIONS):
            if votes[a] > top:
                top = votes[a]
                winner = a
        if top == 0:
            out[b] = fallback[b]
            continue
        tied = 0
        for a in range(N_ACTIONS):
            if votes[a] == top:
                tied += 1
        if tied > 1:
            out[b] = HOLD if tie_break == TIE_HOLD else actions[best_member, b]
        else:
            out[b] = winner
