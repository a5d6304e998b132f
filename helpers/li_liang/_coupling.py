"""Li & Liang's coupling: true vs pseudo network, activation patterns, distance, update rank.

Li & Liang (2018) train only the first layer ``W = (w_1, ..., w_m)`` of the two-layer ReLU net

    ``f_i(x) = sum_r a_{i,r} ReLU(<w_r, x>)``,   ``w_r^(0) ~ N(0, I/m)``,  ``a_{i,r} ~ N(0, 1)``

with softmax cross-entropy and SGD at step ``eta = c/m``. Their proof couples SGD with a
*pseudo* process that keeps every activation pattern at its initial value. This module computes
the objects of that argument and the diagnostics of their Section 7:

* :func:`relu_network`, :func:`pseudo_network` -- ``f`` and the pseudo-network
  ``g_i(x) = sum_r a_{i,r} <w_r, x> 1[<w_r^(0), x> >= 0]`` (Section 5.1). The network has one
  definition: :func:`relu_network` is the functional form of
  ``helpers.models.TwoLayerNet(variant="li-liang").forward`` (same operations, equal bit for
  bit, tested), for formulas that take ``W`` as an argument.
* :func:`error_coefficients` -- the paper's ``v_{s}(x) = 1 - o_y`` (``s = y``), ``-o_s``
  (``s != y``) (Section 5.1, Appendix A).
* :func:`loss_gradient`, :func:`pseudo_gradient` -- eq. (1) (indicator ``1[<w_r, x> >= 0]``,
  the paper's convention) and the pseudo-gradient (indicator at initialisation), averaged with
  weights (the ``p_{a,b}`` of the simplified case (S)).
* :func:`activation_pattern`, :func:`pattern_change` -- the "activation pattern difference
  ratio" of Figures 1, 2, 6, 7, per (input, neuron) pair, per neuron (the uncoupled neurons of
  Lemmas 5.1/A.1 and B.1) or per input.
* :func:`relative_distance`, :func:`update_spectrum`, :func:`stable_rank`,
  :func:`spectral_gap` -- ``||W_t - W_0||_F / ||W_0||_F`` and the singular values of the
  accumulated update ``W_T - W_0`` (Section 7, Section 6 "low rank").
* :func:`train_widths`, :class:`WidthSweep` -- minibatch SGD with eq. (1) on several widths at
  once (their hidden layers are concatenated, so one matrix product serves every width),
  recording the diagnostics above; a thin use of :func:`helpers.train.train` (steps, or epochs
  with a checkpoint for the full-scale runs).

Shapes: ``W`` is ``(m, d)`` (rows ``w_r``), ``a`` is ``(k, m)``, ``X`` is ``(n, d)``, labels
``y`` are ``(n,)`` integers in ``[0, k)``. Device and dtype follow the inputs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import torch

from .. import activations as _activations
from .._validate import check_generator, check_int, check_real, check_tensor
from ..train import train

__all__ = [
    "relu_network",
    "pseudo_network",
    "error_coefficients",
    "loss_gradient",
    "pseudo_gradient",
    "activation_pattern",
    "pattern_change",
    "relative_distance",
    "update_spectrum",
    "stable_rank",
    "spectral_gap",
    "WidthSweep",
    "train_widths",
]

_PER = ("pair", "neuron", "input")
_RELU = _activations.get("relu").fn


# --------------------------------------------------------------------------- validation

def _check_weights(W: object, name: str = "W") -> torch.Tensor:
    return check_tensor(W, name, ndim=2, floating=True)


def _check_X(X: object, d: int) -> torch.Tensor:
    X = check_tensor(X, "X", ndim=2, floating=True)
    if X.shape[1] != d:
        raise ValueError(f"X must have {d} columns (the input dimension of W), got shape "
                         f"{tuple(X.shape)}")
    return X


def _check_pair(W0: object, W: object) -> tuple[torch.Tensor, torch.Tensor]:
    W0 = _check_weights(W0, "W0")
    W = _check_weights(W, "W")
    if W.shape != W0.shape:
        raise ValueError(f"W and W0 must have the same shape, got {tuple(W.shape)} and "
                         f"{tuple(W0.shape)}")
    return W0, W


def _check_a(a: object, m: int) -> torch.Tensor:
    a = check_tensor(a, "a", ndim=2, floating=True)
    if a.shape[1] != m:
        raise ValueError(f"a must have shape (k, {m}) (one column per neuron of W), got "
                         f"{tuple(a.shape)}")
    return a


def _check_labels(y: object, n: int, k: int) -> torch.Tensor:
    y = check_tensor(y, "y", ndim=1)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"y must have an integer dtype, got {y.dtype}")
    if y.shape[0] != n:
        raise ValueError(f"y must have {n} entries (one per row of X), got {y.shape[0]}")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= k:
        raise ValueError(f"y must have values in [0, {k}) (k = rows of a), got values in "
                         f"[{lo}, {hi}]")
    return y.long()


def _check_sample_weights(weights: object, n: int, like: torch.Tensor) -> torch.Tensor:
    if weights is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    weights = check_tensor(weights, "weights", ndim=1, floating=True)
    if weights.shape[0] != n:
        raise ValueError(f"weights must have {n} entries (one per row of X), got "
                         f"{weights.shape[0]}")
    if bool((weights < 0).any()):
        raise ValueError("weights must be nonnegative (they are the p_{a,b} of the paper)")
    return weights.to(like.dtype)


# --------------------------------------------------------------------------- networks

def relu_network(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Outputs of Li & Liang's network, ``f_i(x) = sum_r a_{i,r} ReLU(<w_r, x>)``.

    The functional form of :class:`helpers.models.TwoLayerNet` with ``variant="li-liang"``:
    ``relu_network(net.hidden_weights, net.output_weights, X)`` performs the same operations as
    ``net(X)`` (ReLU from :func:`helpers.activations.get`) and returns the same bits. Use the
    module to train, this function where a formula takes the weights as an argument.

    Parameters
    ----------
    W : torch.Tensor, shape (m, d)
        Hidden weights (rows ``w_r``).
    a : torch.Tensor, shape (k, m)
        Output layer (fixed at its random initialisation in the paper).
    X : torch.Tensor, shape (n, d)

    Returns
    -------
    torch.Tensor, shape (n, k)

    References
    ----------
    Li & Liang (2018), Section 3 (network), assumption (A3) (initialisation).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import relu_network
    >>> W = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    >>> a = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    >>> relu_network(W, a, torch.tensor([[3.0, 1.0], [-2.0, 0.0]], dtype=torch.float64))
    tensor([[3.],
            [4.]], dtype=torch.float64)
    """
    W = _check_weights(W)
    a = _check_a(a, W.shape[0])
    X = _check_X(X, W.shape[1])
    return _RELU(X @ W.T) @ a.T


def pseudo_network(W: torch.Tensor, W0: torch.Tensor, a: torch.Tensor,
                   X: torch.Tensor) -> torch.Tensor:
    """Pseudo-network ``g_i(x) = sum_r a_{i,r} <w_r, x> 1[<w_r^(0), x> >= 0]``.

    The activation pattern is frozen at the initialisation ``W0``, so ``g`` is *linear* in
    ``W``; ``g = f`` at ``W = W0``, and ``g = f`` on every input whose pattern has not changed.

    Parameters
    ----------
    W : torch.Tensor, shape (m, d)
        Current hidden weights.
    W0 : torch.Tensor, shape (m, d)
        Initial hidden weights (they fix the pattern).
    a : torch.Tensor, shape (k, m)
    X : torch.Tensor, shape (n, d)

    Returns
    -------
    torch.Tensor, shape (n, k)

    References
    ----------
    Li & Liang (2018), Section 5.1 (definition of the pseudo-network ``g``).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import pseudo_network, relu_network
    >>> W0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> W = torch.tensor([[-1.0, 0.0]], dtype=torch.float64)   # the neuron flipped
    >>> a = torch.ones(1, 1, dtype=torch.float64)
    >>> x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> relu_network(W, a, x).item(), pseudo_network(W, W0, a, x).item()
    (0.0, -1.0)
    """
    W0, W = _check_pair(W0, W)
    a = _check_a(a, W.shape[0])
    X = _check_X(X, W.shape[1])
    mask = (X @ W0.T >= 0).to(X.dtype)
    return ((X @ W.T) * mask) @ a.T


def error_coefficients(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The paper's error variables ``v_s(x) = 1 - o_y(x)`` if ``s = y``, ``-o_s(x)`` otherwise.

    ``o = softmax(f(x))``. Each row sums to 0, its ``y`` entry lies in ``[0, 1]`` and is the
    largest in absolute value; the cross-entropy gradient of eq. (1) is
    ``dL/dw_r = -(sum_s a_{s,r} v_s) 1[<w_r, x> >= 0] x`` -- note the minus sign, which the
    paper's Appendix A drops (harmless there: only norms are used).

    Parameters
    ----------
    outputs : torch.Tensor, shape (n, k)
        Logits ``f(x)``.
    y : torch.Tensor, shape (n,)
        Integer labels.

    Returns
    -------
    torch.Tensor, shape (n, k)

    References
    ----------
    Li & Liang (2018), Section 5.1 and Appendix A (``v_{s,a,b}``), Appendix B (``v(x, w)``).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import error_coefficients
    >>> v = error_coefficients(torch.zeros(1, 4, dtype=torch.float64), torch.tensor([2]))
    >>> v
    tensor([[-0.2500, -0.2500,  0.7500, -0.2500]], dtype=torch.float64)
    """
    outputs = check_tensor(outputs, "outputs", ndim=2, floating=True)
    y = _check_labels(y, outputs.shape[0], outputs.shape[1])
    o = torch.softmax(outputs, dim=1)
    onehot = torch.nn.functional.one_hot(y, outputs.shape[1]).to(outputs.dtype)
    return onehot - o


def _gradient(W: torch.Tensor, pattern_weights: torch.Tensor, a: torch.Tensor,
              X: torch.Tensor, y: torch.Tensor, weights: object) -> torch.Tensor:
    W = _check_weights(W)
    a = _check_a(a, W.shape[0])
    X = _check_X(X, W.shape[1])
    y = _check_labels(y, X.shape[0], a.shape[0])
    p = _check_sample_weights(weights, X.shape[0], X)
    v = error_coefficients(torch.relu(X @ W.T) @ a.T, y)          # (n, k)
    mask = (X @ pattern_weights.T >= 0).to(X.dtype)               # (n, m)
    coeff = -(v @ a) * mask * p[:, None]                          # (n, m)
    return coeff.T @ X


def loss_gradient(W: torch.Tensor, a: torch.Tensor, X: torch.Tensor, y: torch.Tensor, *,
                  weights: torch.Tensor | None = None) -> torch.Tensor:
    """Gradient of the weighted cross-entropy in ``W``, eq. (1) of Li & Liang.

    ``dL/dw_r = sum_j p_j (sum_{i != y_j} a_{i,r} o_i(x_j) - a_{y_j,r} (1 - o_{y_j}(x_j)))
    1[<w_r, x_j> >= 0] x_j`` with ``p_j = 1/n`` by default (the simplified case (S) uses the
    component probabilities ``p_{a,b}``). The indicator uses ``>= 0`` as in eq. (1) and its
    footnote 2; away from the kinks this is the autograd gradient.

    Parameters
    ----------
    W : torch.Tensor, shape (m, d)
    a : torch.Tensor, shape (k, m)
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)
    weights : torch.Tensor, shape (n,), optional
        Nonnegative example weights ``p_j``; default ``1/n``.

    Returns
    -------
    torch.Tensor, shape (m, d)

    References
    ----------
    Li & Liang (2018), Section 3, eq. (1); Appendix A (simplified-case gradient).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import loss_gradient
    >>> W = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> a = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> x, y = torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([0])
    >>> g = loss_gradient(W, a, x, y)      # logits (1, -1): o_1 = 1/(1 + e^2)
    >>> round(g[0, 0].item(), 4), round(-2 / (1 + torch.e ** 2), 4)
    (-0.2384, -0.2384)
    """
    return _gradient(W, _check_weights(W), a, X, y, weights)


def pseudo_gradient(W: torch.Tensor, W0: torch.Tensor, a: torch.Tensor, X: torch.Tensor,
                    y: torch.Tensor, *, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Pseudo-gradient: eq. (1) with the indicator frozen at initialisation.

    ``d~L/dw_r = sum_j p_j (...) 1[<w_r^(0), x_j> >= 0] x_j``: the softmax probabilities still
    come from the true network ``f(., W)``, only the indicator is ``W0``'s. It equals
    :func:`loss_gradient` row ``r`` whenever neuron ``r`` has the same pattern under ``W`` and
    ``W0`` on every ``x_j`` (Lemma 5.1/A.1). With ``p_{a,b}`` weights and one point per
    component it is ``-sum_i a_{i,r} P_{i,r}`` with ``P_{i,r} = sum_{a,b} p_{a,b} v_{i,a,b}
    1[<w_r^(0), x_{a,b}> >= 0] x_{a,b}`` (Appendix A.2; the paper writes ``+``).

    Parameters
    ----------
    W, W0 : torch.Tensor, shape (m, d)
        Current and initial hidden weights.
    a : torch.Tensor, shape (k, m)
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)
    weights : torch.Tensor, shape (n,), optional
        Nonnegative example weights; default ``1/n``.

    Returns
    -------
    torch.Tensor, shape (m, d)

    References
    ----------
    Li & Liang (2018), Section 5.1, Appendix A (pseudo-gradient), Appendix B (per point and
    expected pseudo-gradient).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import loss_gradient, pseudo_gradient
    >>> W0 = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> a = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    >>> x, y = torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([0])
    >>> W = -W0                                   # pattern flipped: gradients differ
    >>> loss_gradient(W, a, x, y).abs().sum().item(), pseudo_gradient(W, W0, a, x, y)[0, 0].item()
    (0.0, -1.0)
    """
    W0, W = _check_pair(W0, W)
    return _gradient(W, W0, a, X, y, weights)


# --------------------------------------------------------------------------- diagnostics

def activation_pattern(W: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Activation pattern ``1[<w_r, x_j> >= 0]`` as a boolean ``(n, m)`` tensor.

    Parameters
    ----------
    W : torch.Tensor, shape (m, d)
    X : torch.Tensor, shape (n, d)

    Returns
    -------
    torch.Tensor, shape (n, m), dtype bool

    References
    ----------
    Li & Liang (2018), eq. (1) (indicator) and Section 7 ("activation pattern").

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import activation_pattern
    >>> W = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    >>> activation_pattern(W, torch.tensor([[1.0, 1.0]], dtype=torch.float64)).tolist()
    [[True, False]]
    """
    W = _check_weights(W)
    X = _check_X(X, W.shape[1])
    return X @ W.T >= 0


def pattern_change(W0: torch.Tensor, W: torch.Tensor, X: torch.Tensor, *,
                   per: str = "pair") -> float:
    """Fraction of activation patterns that differ between ``W0`` and ``W`` on ``X``.

    * ``per="pair"`` -- fraction of (input, neuron) pairs whose sign changed: the "activation
      pattern difference ratio" of Li & Liang's Figures 1, 2, 6, 7 (the only reading under
      which their "< 0.1" is plausible).
    * ``per="neuron"`` -- fraction of neurons whose pattern changed on *at least one* input:
      the neurons for which gradient and pseudo-gradient may differ (the complement of the set
      ``H`` in the proof of Lemma A.1; Lemma B.1 for one input).
    * ``per="input"`` -- fraction of inputs on which at least one neuron changed.

    Parameters
    ----------
    W0, W : torch.Tensor, shape (m, d)
    X : torch.Tensor, shape (n, d)
    per : {"pair", "neuron", "input"}, default "pair"

    Returns
    -------
    float in [0, 1]

    References
    ----------
    Li & Liang (2018), Lemma 5.1 = A.1, Lemma B.1, Section 7.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import pattern_change
    >>> W0 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> W = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    >>> X = torch.tensor([[1.0, 1.0], [1.0, 0.5], [1.0, -1.0]], dtype=torch.float64)
    >>> [pattern_change(W0, W, X, per=p) for p in ("pair", "neuron", "input")]
    [0.5, 0.5, 1.0]
    """
    W0, W = _check_pair(W0, W)
    X = _check_X(X, W.shape[1])
    if per not in _PER:
        raise ValueError(f"per must be one of {list(_PER)}, got {per!r}")
    changed = (X @ W.T >= 0) != (X @ W0.T >= 0)
    if per == "pair":
        return float(changed.double().mean())
    if per == "neuron":
        return float(changed.any(dim=0).double().mean())
    return float(changed.any(dim=1).double().mean())


def relative_distance(W0: torch.Tensor, W: torch.Tensor) -> float:
    """Relative distance from initialisation ``||W - W0||_F / ||W0||_F``.

    With ``eta = c/m`` and ``t`` steps each row moves by ``O(c t / m)``, so
    ``||W - W0||_F = O(c t / sqrt(m))`` while ``||W0||_F ~ sqrt(d)``: the ratio scales as
    ``1/sqrt(m)`` (Li & Liang's Figure 5 fits ``2/(3 sqrt m)`` and ``8/sqrt m``).

    Parameters
    ----------
    W0, W : torch.Tensor, shape (m, d)

    Returns
    -------
    float

    References
    ----------
    Li & Liang (2018), Section 7 (relative distance), Appendix D.1 (Figure 5).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import relative_distance
    >>> W0 = torch.eye(2, dtype=torch.float64)
    >>> relative_distance(W0, 1.5 * W0)
    0.5
    """
    W0, W = _check_pair(W0, W)
    norm0 = torch.linalg.norm(W0)
    if float(norm0) == 0.0:
        raise ValueError("W0 must not be zero (the distance is relative to ||W0||_F)")
    return float(torch.linalg.norm(W - W0) / norm0)


def update_spectrum(W0: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Singular values of the accumulated update ``W - W0``, in decreasing order.

    Li & Liang (Section 6) argue that on data clustered around ``k l`` components the update is
    approximately of rank ``k l`` while ``W`` itself keeps the spectrum of a random matrix
    (Figure 1, last panel: "the top 20 singular values of the accumulated updates are much
    larger than the rest").

    Parameters
    ----------
    W0, W : torch.Tensor, shape (m, d)

    Returns
    -------
    torch.Tensor, shape (min(m, d),)

    References
    ----------
    Li & Liang (2018), Section 6 (low rank), Section 7 and Figure 1.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import update_spectrum
    >>> W0 = torch.zeros(3, 2, dtype=torch.float64)
    >>> W = torch.tensor([[3.0, 0.0], [0.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> update_spectrum(W0, W)
    tensor([3., 1.], dtype=torch.float64)
    """
    W0, W = _check_pair(W0, W)
    return torch.linalg.svdvals(W - W0)


def _check_spectrum(singular_values: object) -> torch.Tensor:
    s = check_tensor(singular_values, "singular_values", ndim=1, floating=True)
    if bool((s < 0).any()):
        raise ValueError("singular_values must be nonnegative")
    if float(s.max()) == 0.0:
        raise ValueError("singular_values must not all be zero")
    return torch.sort(s, descending=True).values


def stable_rank(singular_values: torch.Tensor) -> float:
    """Stable rank ``sum_i s_i^2 / s_1^2 = ||M||_F^2 / ||M||_2^2`` (at most the rank).

    Parameters
    ----------
    singular_values : torch.Tensor, shape (r,)
        Nonnegative, not all zero (any order).

    Returns
    -------
    float in [1, r]

    References
    ----------
    Vershynin (2018), Section 7.6.1 (stable rank); used here for Li & Liang's low-rank update
    (Section 6).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import stable_rank
    >>> stable_rank(torch.tensor([2.0, 2.0, 0.0], dtype=torch.float64))
    2.0
    """
    s = _check_spectrum(singular_values)
    return float((s ** 2).sum() / s[0] ** 2)


def spectral_gap(singular_values: torch.Tensor, index: int) -> float:
    """Ratio ``s_index / s_{index+1}`` of consecutive singular values (1-based, decreasing).

    For Li & Liang's claim that the update has rank about ``k l``, ``spectral_gap(s, k * l)``
    is large (the ``k l``-th value stands well above the next one).

    Parameters
    ----------
    singular_values : torch.Tensor, shape (r,)
        Nonnegative, not all zero (sorted internally).
    index : int
        ``1 <= index < r``.

    Returns
    -------
    float (``inf`` if ``s_{index+1} = 0 < s_index``)

    References
    ----------
    Li & Liang (2018), Section 7 and Figure 1 (top ``k l = 20`` singular values dominate).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import spectral_gap
    >>> spectral_gap(torch.tensor([5.0, 4.0, 0.5, 0.4], dtype=torch.float64), 2)
    8.0
    """
    s = _check_spectrum(singular_values)
    index = check_int(index, "index", minimum=1, maximum=s.shape[0] - 1)
    top, nxt = float(s[index - 1]), float(s[index])
    return math.inf if nxt == 0.0 else top / nxt


# --------------------------------------------------------------------------- training

@dataclass(frozen=True)
class WidthSweep:
    """Result of :func:`train_widths`.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per (recorded step, width) with columns ``step``, ``m``, ``loss`` (mean
        cross-entropy on the training set), ``train_accuracy``, ``test_accuracy`` (NaN without
        a test set), ``pattern_change`` (per (input, neuron) pair, on the probe inputs),
        ``uncoupled_neurons`` (per neuron), ``relative_distance``.
    initial_weights, final_weights : dict of int to torch.Tensor
        ``W0`` and ``W_T`` for each width, shape ``(m, d)``.
    output_weights : dict of int to torch.Tensor
        The fixed ``a`` for each width, shape ``(k, m)``.
    """

    frame: pd.DataFrame
    initial_weights: dict
    final_weights: dict
    output_weights: dict

    def at_step(self, step: int | None = None) -> pd.DataFrame:
        """The recorded rows at ``step`` (default: the last recorded step), indexed by ``m``.

        Examples
        --------
        >>> import pandas as pd
        >>> from helpers.li_liang import WidthSweep
        >>> frame = pd.DataFrame({"step": [0, 0, 5, 5], "m": [10, 20, 10, 20],
        ...                       "loss": [1.0, 1.0, 0.4, 0.3]})
        >>> WidthSweep(frame, {}, {}, {}).at_step().loss.tolist()
        [0.4, 0.3]
        """
        last = int(self.frame.step.max())
        step = last if step is None else check_int(step, "step", minimum=0)
        rows = self.frame[self.frame.step == step]
        if rows.empty:
            raise ValueError(f"step must be a recorded step (one of "
                             f"{sorted(set(self.frame.step.tolist()))}), got {step}")
        return rows.drop(columns="step").set_index("m")


def _check_widths(widths: object) -> tuple[int, ...]:
    if not isinstance(widths, Sequence) or isinstance(widths, str) or len(widths) == 0:
        raise TypeError(f"widths must be a non-empty sequence of integers, got {widths!r}")
    out = tuple(check_int(m, "widths entry", minimum=1) for m in widths)
    if len(set(out)) != len(out):
        raise ValueError(f"widths must be distinct, got {list(out)}")
    return out


_SWEEP_FIELDS = ("loss", "train_accuracy", "test_accuracy", "pattern_change",
                 "uncoupled_neurons", "relative_distance")


class _WidthFamily(torch.nn.Module):
    """Li & Liang's networks of several widths side by side: one trainable ``W`` of shape
    ``(sum m, d)`` (the hidden layers stacked) and a fixed block matrix ``A`` holding each
    width's output weights, so that ``forward`` returns the logits of every width,
    shape ``(n, J, k)``."""

    def __init__(self, W0: torch.Tensor, A: torch.Tensor, J: int, k: int) -> None:
        super().__init__()
        self.W = torch.nn.Parameter(W0.clone())
        self.register_buffer("A", A)
        self.J, self.k = J, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.relu(x @ self.W.T) @ self.A).reshape(-1, self.J, self.k)


def _family_cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example sum over the widths of the cross-entropy losses: its gradient with respect
    to the rows of one width is that width's own gradient."""
    n, J, k = out.shape
    return torch.nn.functional.cross_entropy(
        out.reshape(-1, k), y.repeat_interleave(J), reduction="none").reshape(n, J).sum(1)


def train_widths(X: torch.Tensor, y: torch.Tensor, widths: Sequence[int], *, num_classes: int,
                 lr_times_m: float, steps: int | None = None, batch_size: int,
                 generator: torch.Generator, X_test: torch.Tensor | None = None,
                 y_test: torch.Tensor | None = None, record_steps: Sequence[int] | None = None,
                 epochs: int | None = None, checkpoint: str | os.PathLike | None = None,
                 eval_batch_size: int | None = None) -> WidthSweep:
    """Minibatch SGD of Li & Liang on several widths at once, recording the coupling metrics.

    For each width ``m``: ``w_r^(0) ~ N(0, I/m)``, ``a_{i,r} ~ N(0, 1)`` (drawn through
    :class:`helpers.models.TwoLayerNet`, ``variant="li-liang"``, in the order of ``widths``),
    then ``steps`` updates ``w_r <- w_r - (c/m) (1/B) sum_{j in batch} dL(x_j, y_j)/dw_r`` with
    the gradient of eq. (1). All widths see the same minibatches, drawn without replacement
    within an epoch and reshuffled every epoch (the ``n mod B`` examples left at the end of an
    epoch are skipped); this is Section 7's protocol (``T B`` may exceed ``n``), and with
    ``n >= T B`` it is the one-pass SGD of Section 3. The hidden layers of all
    widths are concatenated into one ``(sum m, d)`` matrix trained by :func:`helpers.train.train`
    (one family model whose loss is the sum of the widths' losses, with the step ``c/m`` of each
    width as a per-row ``lr_scale``), so a step costs two matrix products whatever the number of
    widths.

    Metrics are recorded at ``record_steps`` (default ``0`` and ``steps``); the activation
    pattern is compared with the initial one on the test inputs if given, else on ``X``. With
    ``epochs`` instead of ``steps`` (the full-scale runs) the metrics are recorded after every
    epoch and ``checkpoint`` makes the run resumable (:func:`helpers.train.train`).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,)
        Integer labels in ``[0, num_classes)``.
    widths : sequence of int
        Distinct widths ``m``.
    num_classes : int
        ``k``.
    lr_times_m : float
        ``c = eta m`` (> 0); the paper uses 10 (synthetic) and 400 (MNIST).
    steps : int, optional
        ``T >= 0``; exactly one of ``steps`` and ``epochs``.
    batch_size : int
        ``B``, ``1 <= B <= n``.
    generator : torch.Generator
        Draws the initialisations, then the minibatch orders; on ``X``'s device.
    X_test, y_test : torch.Tensor, optional
        Test set (both or neither).
    record_steps : sequence of int, optional
        Steps in ``[0, steps]`` at which to record (steps mode).
    epochs : int, optional
        Epochs of ``n // batch_size`` steps instead of ``steps``; recorded once per epoch.
    checkpoint : str or PathLike, optional
        Epochs mode: save after every epoch and resume from this file.
    eval_batch_size : int, optional
        Evaluate the recorded metrics in chunks of this many inputs (memory at full scale).

    Returns
    -------
    WidthSweep

    References
    ----------
    Li & Liang (2018), Section 3 (SGD, eq. (1), (A3)), Section 7 (protocol and metrics),
    Appendix D.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import train_widths
    >>> from helpers.li_liang import mixture
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> mix = mixture(200, 20, 2, 2, generator=g, normalize=True)
    >>> run = train_widths(mix.X, mix.y, [50, 200], num_classes=2, lr_times_m=5.0, steps=60,
    ...                    batch_size=10, generator=g)
    >>> last = run.frame[run.frame.step == 60]
    >>> last.m.tolist(), bool((last.train_accuracy > 0.9).all())
    ([50, 200], True)
    >>> run.final_weights[200].shape
    torch.Size([200, 20])
    """
    from ..models import TwoLayerNet

    X = check_tensor(X, "X", ndim=2, floating=True)
    k = check_int(num_classes, "num_classes", minimum=1)
    y = _check_labels(y, X.shape[0], k)
    widths = _check_widths(widths)
    c = check_real(lr_times_m, "lr_times_m", minimum=0.0, strict_min=True)
    if (steps is None) == (epochs is None):
        raise ValueError(f"give exactly one of steps and epochs, got steps={steps!r}, "
                         f"epochs={epochs!r}")
    if steps is not None:
        steps = check_int(steps, "steps", minimum=0)
        if checkpoint is not None:
            raise ValueError("checkpoint needs epochs (train.train resumes whole epochs)")
    else:
        epochs = check_int(epochs, "epochs", minimum=1)
        if record_steps is not None:
            raise ValueError("record_steps needs steps (with epochs every epoch is recorded)")
    if eval_batch_size is not None:
        eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
    n, d = X.shape
    B = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    check_generator(generator, device=X.device)
    if (X_test is None) != (y_test is None):
        raise ValueError("X_test and y_test must be given together")
    if X_test is not None:
        X_test = _check_X(X_test, d)
        y_test = _check_labels(y_test, X_test.shape[0], k)
    if steps is None:
        record = None
    elif record_steps is None:
        record = {0, steps}
    else:
        record = {check_int(s, "record_steps entry", minimum=0, maximum=steps)
                  for s in record_steps}

    nets = [TwoLayerNet(d, m, generator=generator, variant="li-liang", d_out=k,
                        dtype=X.dtype) for m in widths]
    W0 = torch.cat([net.hidden_weights.detach() for net in nets]).clone()
    J = len(widths)
    bounds = torch.tensor((0,) + widths, device=X.device).cumsum(0)
    block = torch.repeat_interleave(torch.arange(J, device=X.device),
                                    torch.tensor(widths, device=X.device))
    # A[r, j k + i] = a_{i,r} if neuron r belongs to width j: f = relu(X W^T) A
    A = torch.zeros(W0.shape[0], J * k, dtype=X.dtype, device=X.device)
    a_all = torch.cat([net.output_weights for net in nets], dim=1)        # (k, M)
    cols = block[:, None] * k + torch.arange(k, device=X.device)[None, :]
    A.scatter_(1, cols, a_all.T)
    family = _WidthFamily(W0, A, J, k)
    step_size = torch.cat([torch.full((m,), c / m, dtype=X.dtype, device=X.device)
                           for m in widths])[:, None]                   # eta_j = c / m_j
    probe = X if X_test is None else X_test
    chunk = n if eval_batch_size is None else eval_batch_size

    def chunks(inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return inputs.split(chunk)

    probe_pattern0 = torch.cat([xb @ W0.T > 0 for xb in chunks(probe)])

    @torch.no_grad()
    def snapshot(model: _WidthFamily) -> dict[str, float]:
        W = model.W.detach()
        out = torch.cat([model(xb) for xb in chunks(X)])
        loss = torch.nn.functional.cross_entropy(
            out.reshape(-1, k), y.repeat_interleave(J), reduction="none").reshape(n, J).mean(0)
        train_acc = (out.argmax(2) == y[:, None]).double().mean(0)
        if X_test is not None:
            test_out = torch.cat([model(xb) for xb in chunks(X_test)])
            test_acc = (test_out.argmax(2) == y_test[:, None]).double().mean(0)
        changed = torch.cat([xb @ W.T > 0 for xb in chunks(probe)]) != probe_pattern0
        values = {}
        for j, m in enumerate(widths):
            lo, hi = int(bounds[j]), int(bounds[j + 1])
            ch = changed[:, lo:hi]
            dist = torch.linalg.norm(W[lo:hi] - W0[lo:hi]) / torch.linalg.norm(W0[lo:hi])
            values |= {f"{m}.loss": float(loss[j]), f"{m}.train_accuracy": float(train_acc[j]),
                       f"{m}.test_accuracy": (float(test_acc[j]) if X_test is not None
                                              else math.nan),
                       f"{m}.pattern_change": float(ch.double().mean()),
                       f"{m}.uncoupled_neurons": float(ch.any(dim=0).double().mean()),
                       f"{m}.relative_distance": float(dist)}
        return values

    schedule = (dict(steps=steps, record_steps=sorted(record)) if steps is not None else
                dict(epochs=epochs, checkpoint=checkpoint, record_initial=True))
    history = train(family, _family_cross_entropy, X, y, lr=1.0, batch_size=B,
                    generator=generator, lr_scale={"W": step_size}, metrics={"width": snapshot},
                    eval_batch_size=eval_batch_size, **schedule)
    rows = []
    for rec in history.records:
        for m in widths:
            rows.append({"step": rec["step"], "m": m}
                        | {f: rec[f"width.{m}.{f}"] for f in _SWEEP_FIELDS})
    W = family.W.detach()
    init = {m: W0[int(bounds[j]):int(bounds[j + 1])].clone() for j, m in enumerate(widths)}
    final = {m: W[int(bounds[j]):int(bounds[j + 1])].clone() for j, m in enumerate(widths)}
    outs = {m: net.output_weights.clone() for m, net in zip(widths, nets)}
    return WidthSweep(frame=pd.DataFrame(rows), initial_weights=init, final_weights=final,
                      output_weights=outs)
