r"""The geometry of ReLU: Li & Liang's Lemmas A.2 and A.3 (error large => gradient large).

In the simplified case (S) every component is a point :math:`\mathbf x_{j,s}` and the
pseudo-gradient of neuron :math:`r` is :math:`-\sum_q a_{q,r}P_{q,r}` with

.. math:: P_{q,r} = \sum_{j,s} c_{q,(j,s)}\,\mathbb 1[\langle\mathbf w_r^{(0)},
   \mathbf x_{j,s}\rangle\ge0]\,\mathbf x_{j,s},\qquad c_{q,(j,s)} = p_{j,s}v_{q,j,s}.

* :func:`pattern_sum` -- the vectors :math:`P_{q,r}` for many neurons at once (Lemma A.2 is a
  statement about their law under :math:`\mathbf w_r^{(0)}\sim\mathcal N(0,\sigma^2\mathbf I)`);
* :func:`cancelling_triple` -- the configuration on which Lemma A.2's probability
  :math:`\Omega(\delta)` is attained: :math:`P_{1,r}=0` unless the neuron's hyperplane separates
  three points within angle :math:`\theta=2\arcsin(\delta/2)` of each other, which has
  probability :math:`2\theta/\pi` exactly, and then :math:`\|P_{1,r}\|\ge v/2`;
* :func:`worst_error_profile` -- Lemma A.3 quantifies over *every* error profile: the smallest
  mean squared pseudo-gradient over the box of profiles, computed exactly (a convex quadratic
  programme per pinned entry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._validate import check_int, check_real, check_tensor

__all__ = ["pattern_sum", "cancelling_triple", "WorstProfile", "worst_error_profile"]


def pattern_sum(W: torch.Tensor, X: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    r"""Li & Liang's :math:`P_r = \sum_j c_j\,\mathbb 1[\langle\mathbf w_r,\mathbf x_j\rangle\ge0]
    \,\mathbf x_j` for every row :math:`\mathbf w_r` of ``W``.

    Parameters
    ----------
    W : torch.Tensor, shape (m, d)
        Neurons (e.g. many independent draws of :math:`\mathbf w_r^{(0)}`; only the signs of
        :math:`\langle\mathbf w_r,\mathbf x_j\rangle` matter, so the scale :math:`\sigma` is
        irrelevant).
    X : torch.Tensor, shape (n, d)
        The points :math:`\mathbf x_{j,s}`.
    coefficients : torch.Tensor, shape (n,) or (k, n)
        :math:`c_j = p_j v_{1,j}` (one class row) or one row per class :math:`q`.

    Returns
    -------
    torch.Tensor, shape (m, d) or (k, m, d)

    References
    ----------
    Li & Liang (2018), Appendix A.2 (definition of :math:`P_{i,r}`), Lemma A.2.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import pattern_sum
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> W = torch.tensor([[1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)
    >>> pattern_sum(W, X, torch.tensor([1.0, -1.0], dtype=torch.float64))
    tensor([[ 1.,  0.],
            [ 1., -1.]], dtype=torch.float64)
    """
    W = check_tensor(W, "W", ndim=2, floating=True)
    X = check_tensor(X, "X", ndim=2, floating=True)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"X must have {W.shape[1]} columns (the dimension of W), got shape "
                         f"{tuple(X.shape)}")
    c = check_tensor(coefficients, "coefficients", ndim=(1, 2), floating=True)
    if c.shape[-1] != X.shape[0]:
        raise ValueError(f"coefficients must have {X.shape[0]} entries per row (one per point),"
                         f" got shape {tuple(c.shape)}")
    on = (W @ X.T >= 0).to(X.dtype)                                   # (m, n)
    if c.dim() == 1:
        return (on * c) @ X
    return torch.einsum("mn,kn,nd->kmd", on, c, X)


def cancelling_triple(delta: float, d: int, *, v: float = 1.0,
                      dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Three unit points on which :math:`P_{1,r}` vanishes unless a hyperplane separates them.

    :math:`\mathbf x_{1,1} = \mathbf e_1` (class 1, coefficient :math:`+v`) and
    :math:`\mathbf x_{2,1}, \mathbf x_{2,2} = \cos\theta\,\mathbf e_1\pm\sin\theta\,\mathbf e_2`
    (class 2, coefficients :math:`-v/(2\cos\theta)`), with :math:`\theta = 2\arcsin(\delta/2)`,
    so that :math:`\|\mathbf x_{1,1}-\mathbf x_{2,s}\| = \delta` (the separation, also the
    symmetric one for :math:`\delta<\sqrt2`) and
    :math:`v\,\mathbf x_{1,1} = \frac{v}{2\cos\theta}(\mathbf x_{2,1}+\mathbf x_{2,2})`. The
    coefficients lie in :math:`[-v, v]` with the sign structure of the error variables. Then
    :math:`P_{1,r} = 0` when all three or none are active, and otherwise
    :math:`\|P_{1,r}\|\in[v/2, v]`; so for every threshold :math:`0<u\le v/2`,
    :math:`\Pr[\|P_{1,r}\|\ge u] = 2\theta/\pi`: Lemma A.2's probability :math:`\Omega(\delta)` is
    attained, at every magnitude.

    Parameters
    ----------
    delta : float
        Separation :math:`\delta\in(0, 1)` (at 1 the class-2 coefficients reach :math:`-v`).
    d : int
        Ambient dimension (>= 2).
    v : float, default 1.0
        The largest weighted error (> 0).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    X : torch.Tensor, shape (3, d)
    coefficients : torch.Tensor, shape (3,)

    References
    ----------
    Li & Liang (2018), Lemma A.2; the book's tight example.

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import cancelling_triple, pattern_sum
    >>> X, c = cancelling_triple(0.2, 3)
    >>> round((X[0] - X[1]).norm().item(), 12), c.tolist()[0]
    (0.2, 1.0)
    >>> W = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    >>> pattern_sum(W, X, c).norm(dim=1) >= 0.5    # all active: 0; split: >= v/2
    tensor([False,  True])
    """
    delta = check_real(delta, "delta", minimum=0.0, maximum=1.0, strict_min=True, strict_max=True)
    d = check_int(d, "d", minimum=2)
    v = check_real(v, "v", minimum=0.0, strict_min=True)
    theta = 2 * math.asin(delta / 2)
    X = torch.zeros(3, d, dtype=dtype)
    X[0, 0] = 1.0
    X[1, 0], X[1, 1] = math.cos(theta), math.sin(theta)
    X[2, 0], X[2, 1] = math.cos(theta), -math.sin(theta)
    w = v / (2 * math.cos(theta))
    return X, torch.tensor([v, -w, -w], dtype=dtype)


@dataclass(frozen=True)
class WorstProfile:
    """Result of :func:`worst_error_profile`.

    Attributes
    ----------
    value : float
        :math:`\\min_C Q(C)`, the smallest mean squared pseudo-gradient over the box.
    profile : torch.Tensor, shape (k, n)
        A minimising array :math:`C` of weighted errors.
    norms : torch.Tensor, shape (m,)
        Every neuron's pseudo-gradient norm under that profile.
    """

    value: float
    profile: torch.Tensor
    norms: torch.Tensor


def worst_error_profile(X: torch.Tensor, W0: torch.Tensor, a: torch.Tensor, *,
                        v: float = 1.0) -> WorstProfile:
    r"""The error profile that makes the pseudo-gradient smallest (Lemma A.3's worst case).

    :math:`Q(C) = \frac1m\sum_r\big\|\sum_q a_{q,r}\sum_j C_{q,j}
    \mathbb 1[\langle\mathbf w_r^{(0)},\mathbf x_j\rangle\ge0]\mathbf x_j\big\|^2` is a positive
    semi-definite quadratic form in the :math:`k\times n` array :math:`C` of weighted errors
    :math:`p_jv_{q,j}`. Lemma A.3 holds for every :math:`C\in[-v,v]^{k\times n}` whose largest
    entry is :math:`v`; this minimises :math:`Q` over that set exactly: one box-constrained
    convex problem per entry pinned at :math:`v` (L-BFGS-B), the best of them kept.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        The points.
    W0 : torch.Tensor, shape (m, d)
        Initial hidden weights (they fix the patterns).
    a : torch.Tensor, shape (k, m)
        Output layer.
    v : float, default 1.0
        The largest weighted error.

    Returns
    -------
    WorstProfile

    References
    ----------
    Li & Liang (2018), Lemma A.3 (= Lemma 5.2) and its proof (union bound over a net of
    profiles).

    Examples
    --------
    >>> import torch
    >>> from helpers.li_liang import worst_error_profile
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> W0 = torch.tensor([[1.0, 1.0]], dtype=torch.float64)           # both points active
    >>> a = torch.tensor([[1.0]], dtype=torch.float64)
    >>> worst = worst_error_profile(X, W0, a)                          # |C_1 e1 + C_2 e2|^2
    >>> round(worst.value, 6), worst.profile.abs().max().item()
    (1.0, 1.0)
    """
    from scipy import optimize

    X = check_tensor(X, "X", ndim=2, floating=True)
    W0 = check_tensor(W0, "W0", ndim=2, floating=True)
    a = check_tensor(a, "a", ndim=2, floating=True)
    if W0.shape[1] != X.shape[1]:
        raise ValueError(f"W0 must have {X.shape[1]} columns (the dimension of X), got shape "
                         f"{tuple(W0.shape)}")
    if a.shape[1] != W0.shape[0]:
        raise ValueError(f"a must have shape (k, {W0.shape[0]}) (one column per neuron), got "
                         f"{tuple(a.shape)}")
    v = check_real(v, "v", minimum=0.0, strict_min=True)
    (k, m), n = a.shape, X.shape[0]
    on = (X @ W0.T >= 0).to(X.dtype)                                     # (n, m)
    # H[(q, j), (q', j')] = mean_r a_qr a_q'r 1_rj 1_rj' <x_j, x_j'>
    H = torch.einsum("qr,pr,jr,ir,ji->qjpi", a, a, on, on, X @ X.T) / m
    H = H.reshape(k * n, k * n).cpu().numpy()
    best_value, best_z = math.inf, None
    for pin in range(k * n):
        bounds = [(-v, v)] * (k * n)
        bounds[pin] = (v, v)
        start = np.zeros(k * n)
        start[pin] = v
        res = optimize.minimize(lambda z: (z @ H @ z, 2 * H @ z), start, jac=True,
                                bounds=bounds, method="L-BFGS-B")
        if res.fun < best_value:
            best_value, best_z = float(res.fun), res.x
    C = torch.as_tensor(best_z, dtype=X.dtype, device=X.device).reshape(k, n)
    grads = torch.einsum("qr,qj,jr,jd->rd", a, C, on, X)
    return WorstProfile(value=best_value, profile=C, norms=grads.norm(dim=1))
