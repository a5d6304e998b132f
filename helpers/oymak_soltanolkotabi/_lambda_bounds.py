r"""Lower bounds on :math:`\lambda(\mathbf X)` (Lemma 6.4 and Lemma H.1), side by side.

Oymak & Soltanolkotabi turn their meta-theorems (stated with :math:`\lambda(\mathbf X) =
\lambda_{\min}(\boldsymbol\Sigma(\mathbf X))`) into data-dependent statements through lower
bounds on :math:`\lambda(\mathbf X)`:

* Lemma 6.4, first inequality (6.4): :math:`\boldsymbol\Sigma(\mathbf X)\succeq(\tilde\mu_\phi^2
  \mathbf 1\mathbf 1^\top+\mu_\phi^2\mathbf X\mathbf X^\top)\odot\mathbf X\mathbf X^\top`;
* Lemma 6.4, (6.5): :math:`\lambda(\mathbf X)\ge\mu_\phi^2\sigma_{\min}^2(\mathbf X*\mathbf X)`,
  vacuous when :math:`n>d(d+1)/2` (the rows :math:`\mathbf x_i\otimes\mathbf x_i` are symmetric);
* Lemma H.1 with :math:`r = 3`: :math:`\lambda(\mathbf X)\ge\mu_3^2(\phi')\sigma_{\min}^2(\mathbf
  X^{*4})`, which survives up to :math:`n = \binom{d+3}{4}`;
* Theorem I.1 / Corollary I.2 (ReLU, :math:`\delta`-separated data):
  :math:`\mathbb E[\mathcal I(\mathbf X\mathbf w)\mathcal I(\mathbf X\mathbf w)^\top]\succeq
  \frac{\delta}{100n^2}\mathbf I` and :math:`\lambda_{\mathrm{ReLU}}(\mathbf X)\ge\delta/(100n^2)`.

:func:`lambda_lower_bounds` evaluates the first three for one data set;
:func:`close_pair_eigenvalues` follows the last two as one pair of points closes up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .. import data
from .._validate import check_int, check_real
from ._covariance import (
    _activation,
    _check_X,
    activation_constants,
    hermite_coefficients,
    khatri_rao_sigma_min,
    min_eigenvalue,
    nn_covariance,
    pattern_covariance,
)

__all__ = ["LambdaBounds", "lambda_lower_bounds", "close_pair_eigenvalues"]


@dataclass(frozen=True)
class LambdaBounds:
    r"""The lower bounds on :math:`\lambda(\mathbf X)` of :func:`lambda_lower_bounds`.

    Attributes
    ----------
    lam : float
        :math:`\lambda(\mathbf X)`.
    first : float
        :math:`\lambda_{\min}` of the first lower bound of (6.4) (clipped at 0).
    first_gap : float
        :math:`\lambda_{\min}(\boldsymbol\Sigma(\mathbf X)-\text{first bound})`: the matrix
        inequality (6.4) says it is :math:`\ge0` (up to rounding).
    khatri_rao : float
        :math:`\mu_\phi^2\sigma_{\min}^2(\mathbf X*\mathbf X)`, the bound (6.5).
    hermite_r3 : float
        :math:`\mu_3^2(\phi')\sigma_{\min}^2(\mathbf X^{*4})`, Lemma H.1 with :math:`r = 3`.
    """

    lam: float
    first: float
    first_gap: float
    khatri_rao: float
    hermite_r3: float


def lambda_lower_bounds(X: torch.Tensor, activation: str) -> LambdaBounds:
    r""":math:`\lambda(\mathbf X)` and its lower bounds from Lemma 6.4 ((6.4), (6.5)) and
    Lemma H.1 (:math:`r = 3`).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.
    activation : {"relu", "softplus", "quadratic"}

    Returns
    -------
    LambdaBounds

    References
    ----------
    Oymak & Soltanolkotabi, Lemma 6.4 (eqs. (6.4), (6.5), Appendix B) and Lemma H.1.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import lambda_lower_bounds
    >>> X = torch.eye(3, dtype=torch.float64)               # orthonormal: Sigma = E phi'^2 I
    >>> b = lambda_lower_bounds(X, "relu")
    >>> b.lam, round(b.khatri_rao, 4)                        # 1/2 and mu^2 = 1/(2 pi)
    (0.5, 0.1592)
    """
    X = _check_X(X)
    activation = _activation(activation).name
    c = activation_constants(activation)
    mu3 = float(hermite_coefficients(activation, 3, derivative=True)[3])
    S = nn_covariance(X, activation)
    G = X @ X.T
    first = (c.mu_tilde**2 + c.mu**2 * G) * G
    return LambdaBounds(lam=min_eigenvalue(S), first=max(min_eigenvalue(first), 0.0),
                        first_gap=min_eigenvalue(S - first),
                        khatri_rao=c.mu**2 * khatri_rao_sigma_min(X, 2) ** 2,
                        hermite_r3=mu3**2 * khatri_rao_sigma_min(X, 4) ** 2)


def close_pair_eigenvalues(X: torch.Tensor, thetas: object, *, pair: int = 1) -> pd.DataFrame:
    r"""Theorem I.1 and Corollary I.2 as the point ``pair`` moves to the angle :math:`\theta` from
    :math:`\mathbf x_1`.

    For each :math:`\theta`, :math:`\mathbf x_{\text{pair}}` is replaced by
    :math:`\cos\theta\,\mathbf x_1+\sin\theta\,\mathbf u` (:math:`\mathbf u` the unit vector
    along the part of the original :math:`\mathbf x_{\text{pair}}` orthogonal to
    :math:`\mathbf x_1`), so the separation :math:`\delta` of Assumption 1 is about
    :math:`\theta` once :math:`\theta` is below the other pairs' separation. One row per
    :math:`\theta`: ``delta``, the bound ``delta/(100 n^2)``, ``lmin E[I I^T]`` (the smallest
    eigenvalue of the ReLU pattern covariance, Theorem I.1) and ``lambda_ReLU(X)``
    (Corollary I.2).

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Unit-norm rows, :math:`n\ge2`.
    thetas : sequence of float
        Angles in :math:`(0, \pi/2]`.
    pair : int, default 1
        Index of the row that moves (not 0).

    Returns
    -------
    pandas.DataFrame

    References
    ----------
    Oymak & Soltanolkotabi, Assumption 1, Theorem I.1 and Corollary I.2 (Appendix I).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import close_pair_eigenvalues
    >>> t = close_pair_eigenvalues(torch.eye(2, dtype=torch.float64), [0.01, 0.1])
    >>> (t["lmin E[I I^T]"] / t["delta"]).round(3).tolist()      # theta / (2 pi), delta ~ theta
    [0.159, 0.159]
    """
    X = _check_X(X)
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"X must have at least two rows, got {n}")
    pair = check_int(pair, "pair", minimum=1, maximum=n - 1)
    if isinstance(thetas, (str, bytes)):
        raise TypeError(f"thetas must be a sequence of angles, got {thetas!r}")
    thetas = [check_real(float(t), f"thetas[{i}]", minimum=0.0, maximum=math.pi / 2,
                         strict_min=True) for i, t in enumerate(np.atleast_1d(thetas))]
    u = X[pair] - (X[pair] @ X[0]) * X[0]
    if float(u.norm()) < 1e-12:
        raise ValueError(f"X[{pair}] must not be parallel to X[0]")
    u = u / u.norm()
    rows = []
    for theta in thetas:
        Xt = X.clone()
        Xt[pair] = math.cos(theta) * X[0] + math.sin(theta) * u
        delta = data.separation(Xt, symmetric=True)
        rows.append({"delta": delta, "bound delta/(100 n^2)": delta / (100 * n**2),
                     "lmin E[I I^T]": min_eigenvalue(pattern_covariance(Xt)),
                     "lambda_ReLU(X)": min_eigenvalue(nn_covariance(Xt, "relu"))})
    return pd.DataFrame(rows)
