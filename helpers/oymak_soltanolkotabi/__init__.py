"""Part III: moderate overparameterization of shallow networks (Oymak & Soltanolkotabi).

* the neural-network covariance and its eigenvalue -- :func:`nn_covariance` (Σ(X), eq. (2.2)),
  :func:`output_covariance` (Σ̃(X)), :func:`pattern_covariance`, :func:`min_eigenvalue`
  (λ(X)), :func:`jacobian_gram`, their Monte Carlo versions, the Hermite coefficients and the
  activation constants of Section 2 (:func:`hermite_coefficients`,
  :func:`activation_constants`), and the Khatri-Rao tools of Lemma 6.4
  (:func:`khatri_rao`, :func:`hadamard_power_gram`, :func:`khatri_rao_sigma_min`);
* the phase transitions of Figure 2 and the SGD of Theorem 2.6 -- :func:`phase_panel` (with
  its audited shortcuts for settled runs), :func:`fit_boundary` (the 50% contour in units of
  :math:`kd/n`, with its standard error), and the batched engines :func:`gd_batched`,
  :func:`sgd_batched` (with :func:`oymak_output_weights`).

Activations come from :mod:`helpers.activations`; those with a closed-form kernel here are
:data:`KERNEL_ACTIVATIONS`.

Implementation modules (private): ``_covariance``, ``_phase_transition``.

Examples
--------
>>> import torch
>>> from helpers import oymak_soltanolkotabi
>>> X = torch.eye(3, dtype=torch.float64)                 # orthonormal inputs
>>> S = oymak_soltanolkotabi.nn_covariance(X, "relu")      # E[phi'(Xw) phi'(Xw)^T] * XX^T
>>> torch.allclose(S, torch.eye(3, dtype=torch.float64) / 2)
True
"""

from ._covariance import (
    KERNEL_ACTIVATIONS,
    ActivationConstants,
    activation_constants,
    hadamard_power_gram,
    hermite_coefficients,
    jacobian_gram,
    khatri_rao,
    khatri_rao_sigma_min,
    min_eigenvalue,
    monte_carlo_nn_covariance,
    monte_carlo_output_covariance,
    nn_covariance,
    output_covariance,
    pattern_covariance,
)
from ._phase_transition import (
    GIVE_UP_WINDOW,
    BoundaryFit,
    GDResult,
    PhasePanel,
    fit_boundary,
    gd_batched,
    oymak_output_weights,
    phase_panel,
    sgd_batched,
)

__all__ = [
    "KERNEL_ACTIVATIONS",
    "ActivationConstants",
    "activation_constants",
    "hermite_coefficients",
    "nn_covariance",
    "output_covariance",
    "pattern_covariance",
    "min_eigenvalue",
    "jacobian_gram",
    "monte_carlo_nn_covariance",
    "monte_carlo_output_covariance",
    "khatri_rao",
    "hadamard_power_gram",
    "khatri_rao_sigma_min",
    "oymak_output_weights",
    "GDResult",
    "GIVE_UP_WINDOW",
    "gd_batched",
    "sgd_batched",
    "PhasePanel",
    "phase_panel",
    "BoundaryFit",
    "fit_boundary",
]
