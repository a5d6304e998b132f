r"""Lower bounds on :math:`\lambda(\mathbf X)` (Lemma 6.4 and Lemma H.1), side by side.

Oymak & Soltanolkotabi turn their meta-theorems (stated with :math:`\lambda(\mathbf X) =
\lambda_{\min}(\boldsymbol\Sigma(\mathbf X))`) into data-dependent statements through lower
bounds on :math:`\lambda(\mathbf X)`:

* Lemma 6.4, first inequality (6.4): :math:`\boldsymbol\Sigma(\mathbf X)\succeq(\tilde\mu_\phi^2
  \mathbf 1\mathbf 1^\top+\mu_\phi^2\mathbf X\mathbf X^\top)\odot\mathbf X\mathbf X^\top`;
* Lemma 6.4, (6.5): :math:`\lambda(\mathbf X)\ge\mu_\phi^2\sigma_{\min}^2(\mathbf X*\mathbf X)`,
  vacuous when :math:`n>d(d+1)/2` (the rows :math:`\mathbf x_i\otimes\mathbf x_i` are symmetric);
* Lemma H.1 with :math:`r = 3`: :math:`\lambda(\mathbf X)\ge\mu_3^2(\phi')\sigma_{\min}^2(\mathbf
  X^{*4})`, which survives up to :math:`n = \binom{d+3}{4}`.

:func:`lambda_lower_bounds` evaluates all of them for one data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ._covariance import (
    _activation,
    _check_X,
    activation_constants,
    hermite_coefficients,
    khatri_rao_sigma_min,
    min_eigenvalue,
    nn_covariance,
)

__all__ = ["LambdaBounds", "lambda_lower_bounds"]


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
