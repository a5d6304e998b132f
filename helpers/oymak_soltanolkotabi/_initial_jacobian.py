r"""The Jacobian at a random initialisation: Lemmas 6.6, 6.7, 6.12 and matrix Chernoff.

At :math:`\mathbf W_0` with i.i.d. :math:`\mathcal N(0,1)` entries, :math:`\mathcal J(\mathbf W_0)
\mathcal J(\mathbf W_0)^\top = \sum_{\ell=1}^k\mathbf A_\ell` with independent PSD summands
:math:`\mathbf A_\ell = v_\ell^2\,\mathrm{diag}(\phi'(\mathbf X\mathbf w_\ell))\mathbf X\mathbf
X^\top\mathrm{diag}(\phi'(\mathbf X\mathbf w_\ell))` and mean :math:`\|\mathbf v\|^2
\boldsymbol\Sigma(\mathbf X)` (eq. (A.1)). Oymak & Soltanolkotabi control it by

* Lemma 6.6: :math:`\|\mathcal J(\mathbf W)\|\le\sqrt k B\|\mathbf v\|_\infty\|\mathbf X\|`;
* Lemma 6.7: :math:`\sigma_{\min}^2(\mathcal J(\mathbf W_0))\ge\frac12\|\mathbf v\|^2\lambda(\mathbf
  X)` with probability :math:`\ge1-1/n` once :math:`k\ge k^\star = 20\log n\,B^2\|\mathbf X\|^2/
  \lambda(\mathbf X)` (for the :math:`\pm` output layer), through matrix Chernoff
  (Theorem 6.14 = A.1, :func:`matrix_chernoff_bound`);
* Lemma 6.12: :math:`\|f(\mathbf W_0)-\mathbf y\|\le\|\mathbf y\|(1+(1+\delta)B)` with
  probability :math:`\ge1-e^{-\delta^2n/(2\|\mathbf X\|^2)}`.

:func:`initial_jacobian_draws` measures the three quantities over independent draws of
:math:`\mathbf W_0`; :func:`relu_chernoff_ratios` draws the sums of the ReLU summands with
:math:`|v_\ell| = 1` directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch

from .._validate import check_generator, check_int, check_real, check_tensor
from ._covariance import _activation, _check_X, jacobian_gram, min_eigenvalue, nn_covariance
from ._phase_transition import oymak_output_weights

__all__ = ["initial_jacobian_draws", "relu_chernoff_ratios", "matrix_chernoff_bound"]


def initial_jacobian_draws(X: torch.Tensor, y: torch.Tensor, widths: Sequence[int], *,
                           activation: str, draws: int, generator: torch.Generator
                           ) -> pd.DataFrame:
    r"""The quantities of Lemmas 6.6, 6.7 and 6.12 at independent initialisations.

    For each width :math:`k` and each of ``draws`` draws of :math:`\mathbf W_0`, with
    :math:`\mathbf v` = :func:`oymak_output_weights`, one row with ``k``, ``draw``,
    ``ratio`` :math:`=\sigma_{\min}^2(\mathcal J_0)/(\|\mathbf v\|^2\lambda(\mathbf X))` (Lemma
    6.7 says :math:`\ge1/2` for :math:`k\ge k^\star`), ``norm/bound`` :math:`=\|\mathcal J_0\|/
    (\sqrt k\|\mathbf v\|_\infty\|\mathbf X\|)` (Lemma 6.6 with :math:`B = 1`: :math:`\le1`) and
    ``misfit`` :math:`=\|f(\mathbf W_0)-\mathbf y\|/\|\mathbf y\|` (Lemma 6.12: :math:`\le
    1+(1+\delta)B`); and ``k_star`` :math:`= 20\log n\,\|\mathbf X\|^2/\lambda(\mathbf X)`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.
    y : torch.Tensor, shape (n,)
    widths : sequence of int
    activation : {"relu", "softplus"}
        An activation with :math:`B = 1`.
    draws : int
    generator : torch.Generator
        Draws the :math:`\mathbf W_0`, width after width.

    Returns
    -------
    pandas.DataFrame

    References
    ----------
    Oymak & Soltanolkotabi, Lemmas 6.6, 6.7 and 6.12 (Appendix A, Section 6.6.1).

    Examples
    --------
    >>> import torch
    >>> from helpers import data
    >>> from helpers.oymak_soltanolkotabi import initial_jacobian_draws
    >>> from helpers.rng import make_generator
    >>> g = make_generator(0)
    >>> X = data.sphere(5, 4, generator=g)
    >>> y = torch.randn(5, generator=g, dtype=torch.float64)
    >>> t = initial_jacobian_draws(X, y, [10, 1000], activation="relu", draws=3, generator=g)
    >>> len(t), bool((t["norm/bound"] <= 1).all())
    (6, True)
    """
    X = _check_X(X)
    y = check_tensor(y, "y", ndim=1, floating=True, shape=(X.shape[0],))
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(f"widths must be a non-empty sequence of positive integers, got {widths!r}")
    widths = [check_int(k, f"widths[{i}]", minimum=1) for i, k in enumerate(widths)]
    act = _activation(activation)
    if act.name not in ("relu", "softplus"):
        raise ValueError(f"activation must be 'relu' or 'softplus' (B = 1), got {act.name!r}")
    draws = check_int(draws, "draws", minimum=1)
    check_generator(generator, device=X.device)
    n, d = X.shape
    lam = min_eigenvalue(nn_covariance(X, act.name))
    norm_X = float(torch.linalg.matrix_norm(X, ord=2))
    y_norm = float(y.norm())
    rows = []
    for k in widths:
        v = oymak_output_weights(k, y_norm=y_norm, n=n, dtype=X.dtype, device=X.device)
        for j in range(draws):
            W0 = torch.randn(k, d, generator=generator, dtype=X.dtype, device=X.device)
            ev = torch.linalg.eigvalsh(jacobian_gram(X, W0, v, act.name))
            rows.append({
                "k": k, "draw": j, "ratio": float(ev[0]) / (float(v.norm()) ** 2 * lam),
                "norm/bound": math.sqrt(float(ev[-1])) / (math.sqrt(k) * float(v.abs().max())
                                                          * norm_X),
                "misfit": float((act.fn(X @ W0.T) @ v - y).norm()) / y_norm,
                "k_star": 20 * math.log(n) * norm_X**2 / lam})
    return pd.DataFrame(rows)


def relu_chernoff_ratios(X: torch.Tensor, k: int, *, trials: int,
                         generator: torch.Generator) -> torch.Tensor:
    r""":math:`\lambda_{\min}(\sum_{\ell\le k}\mathbf A_\ell)/(k\lambda(\mathbf X))` for
    ``trials`` independent draws of the ReLU summands of Lemma 6.7.

    :math:`\mathbf A_\ell = \mathrm{diag}(\mathbb 1\{\mathbf X\mathbf w_\ell>0\})\mathbf X\mathbf
    X^\top\mathrm{diag}(\mathbb 1\{\mathbf X\mathbf w_\ell>0\})` with :math:`\mathbf w_\ell\sim
    \mathcal N(0,\mathbf I_d)`: PSD, :math:`\preceq\|\mathbf X\|^2\mathbf I`, with
    :math:`\sum_\ell\mathbb E\mathbf A_\ell = k\boldsymbol\Sigma(\mathbf X)`. The sum of one
    trial is :math:`(\mathbf P^\top\mathbf P)\odot\mathbf X\mathbf X^\top` with the
    :math:`k\times n` pattern :math:`\mathbf P`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs with unit-norm rows.
    k : int
        Number of summands.
    trials : int
    generator : torch.Generator
        Draws all ``trials * k`` rows at once.

    Returns
    -------
    torch.Tensor, shape (trials,)

    References
    ----------
    Oymak & Soltanolkotabi, Theorem 6.14 / A.1 and its use in Lemma 6.7 (Appendix A).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import relu_chernoff_ratios
    >>> from helpers.rng import make_generator
    >>> X = torch.eye(3, dtype=torch.float64)      # sum A = diag(Bin(k, 1/2)), mean k/2
    >>> r = relu_chernoff_ratios(X, 4000, trials=5, generator=make_generator(0))
    >>> bool(((r - 1).abs() < 0.1).all())
    True
    """
    X = _check_X(X)
    k = check_int(k, "k", minimum=1)
    trials = check_int(trials, "trials", minimum=1)
    check_generator(generator, device=X.device)
    lam = min_eigenvalue(nn_covariance(X, "relu"))
    W = torch.randn(trials, k, X.shape[1], generator=generator, dtype=X.dtype, device=X.device)
    pattern = (W @ X.T > 0).to(X.dtype)                            # (trials, k, n)
    sums = (pattern.transpose(1, 2) @ pattern) * (X @ X.T)
    return torch.linalg.eigvalsh(sums)[:, 0] / (k * lam)


def matrix_chernoff_bound(delta: float, *, mu_min: float, R: float, n: int) -> float:
    r"""The right-hand side of matrix Chernoff (Theorem 6.14 / A.1), capped at 1:
    :math:`\min\{1, n\,(e^{-\delta}/(1-\delta)^{1-\delta})^{\mu_{\min}/R}\}`.

    Bounds :math:`\Pr\{\lambda_{\min}(\sum_\ell\mathbf A_\ell)\le(1-\delta)\mu_{\min}\}` for
    independent :math:`n\times n` Hermitian :math:`0\preceq\mathbf A_\ell\preceq R\,\mathbf I`
    with :math:`\mu_{\min} = \lambda_{\min}(\sum_\ell\mathbb E\mathbf A_\ell)`.

    Parameters
    ----------
    delta : float
        In :math:`[0, 1)`.
    mu_min, R : float
        Positive.
    n : int
        Dimension.

    Returns
    -------
    float

    References
    ----------
    Oymak & Soltanolkotabi, Theorem 6.14 (= Theorem A.1, Tropp's matrix Chernoff).

    Examples
    --------
    >>> from helpers.oymak_soltanolkotabi import matrix_chernoff_bound
    >>> round(matrix_chernoff_bound(0.5, mu_min=100.0, R=1.0, n=10), 8)   # 10 (2/e)^50
    2.17e-06
    >>> matrix_chernoff_bound(0.1, mu_min=1.0, R=1.0, n=10)
    1.0
    """
    delta = check_real(delta, "delta", minimum=0.0)
    if not delta < 1:
        raise ValueError(f"delta must be in [0, 1), got {delta!r}")
    mu_min = check_real(mu_min, "mu_min", minimum=0.0, strict_min=True)
    R = check_real(R, "R", minimum=0.0, strict_min=True)
    n = check_int(n, "n", minimum=1)
    log_base = -delta - (1 - delta) * math.log1p(-delta)
    return min(1.0, n * math.exp(log_base * mu_min / R))
