"""Optimizers: how a gradient becomes a step.

Every optimizer keeps its own state (velocities, moment estimates) apart from the network and updates
parameters in place through ``step(params, grads, decay)``. ``params`` and ``grads`` are lists of arrays
of equal shapes; the network passes one flat array of all its parameters, so a step is a handful of
NumPy calls whatever the depth. ``decay[i]`` says where weight decay applies to ``params[i]``: ``True``
(everywhere), ``False`` (nowhere), or an array of 1s and 0s shaped like it. The network's mask is 1 on
weights and 0 on biases: decay never applies to biases.

With learning rate ``η``, gradient ``g`` and weight decay ``λ``:

=============  ===============================================================================
SGD            θ ← θ − η (g + λθ)
momentum       v ← μ v − η (g + λθ);  θ ← θ + v
Nesterov       v ← μ v − η (g + λθ);  θ ← θ + μ v − η (g + λθ)
RMSprop        s ← ρ s + (1 − ρ) g²;  θ ← θ − η g / (√s + ε)                (g includes λθ)
Adam           m ← β₁m + (1 − β₁) g;  v ← β₂v + (1 − β₂) g²;
               θ ← θ − η m̂ / (√v̂ + ε),  m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   (g includes λθ)
AdamW          Adam on g alone, then θ ← θ − ηλθ: decay decoupled from the adaptive scaling
=============  ===============================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from glassnet.errors import InputError
from glassnet.rules import FRACTION, Rule

Array = NDArray[np.floating]


class Optimizer:
    """Base class. Subclasses implement :meth:`_update` for one parameter array."""

    name: ClassVar[str]
    #: What every optimizer takes: the settings (of ``glassnet.settings.RULES``) and their values.
    COMMON: ClassVar[dict[str, Rule]] = {
        "learning_rate": Rule("number", "the step size η", low=0.0, open_low=True),
        "weight_decay": Rule(
            "number", "L2 penalty on weights (decoupled for adamw); never on biases", low=0.0
        ),
    }
    #: The settings this optimizer takes besides those, and what values each accepts.
    settings: ClassVar[dict[str, Rule]] = {}

    def __init__(self, learning_rate: float = 0.01, weight_decay: float = 0.0) -> None:
        self.learning_rate = self.COMMON["learning_rate"].check("learning rate", learning_rate)
        self.weight_decay = self.COMMON["weight_decay"].check("weight decay", weight_decay)
        self.iterations = 0
        self.state: list[dict[str, Array]] = []
        # Two scratch arrays per parameter array, made with the state: an update never allocates.
        self._scratch: list[tuple[Array, Array]] = []
        # Decay masks (which are never changed in place) times a factor (λ, or ηλ), each kept
        # with its mask while the factor stays the same.
        self._scaled_masks: dict[int, tuple[Array, float, Array]] = {}
        # For decoupled decay: the views of a parameter array where its mask is 1, kept with
        # the array and the mask they were made for.
        self._decayed_views: dict[tuple[int, int], tuple[Array, Array, list[Array] | None]] = {}
        self._scaled_by = 1.0  # this step's gradients are the plain ones times this

    def step(
        self,
        params: Sequence[Array],
        grads: Sequence[Array],
        decay: Sequence[bool | Array] | None = None,
        *,
        learning_rate: float | None = None,
        scaled_by: float = 1.0,
    ) -> None:
        """Update every array in ``params`` in place from the matching array in ``grads``.

        ``learning_rate`` is this step's ``η`` (a schedule's); by default the optimizer's own. The
        optimizer counts its steps (``iterations``, Adam's ``t``). ``scaled_by``: the gradients
        are the plain ones times this, 1 or :meth:`gradient_factor`.
        """
        eta = self.learning_rate if learning_rate is None else learning_rate
        if scaled_by != 1.0 and scaled_by != self.gradient_factor():
            factor = self.gradient_factor()
            takes = (
                "plain gradients" if factor == 1.0 else f"gradients plain or scaled by {factor:g}"
            )
            raise InputError(f"{self.name} takes {takes}, not scaled by {scaled_by:g}")
        self._scaled_by = scaled_by
        self.prepare(params)
        self.iterations += 1
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            decays = True if decay is None else decay[i]
            self._update(p, g, self.state[i], self._scratch[i], decays, eta)

    def prepare(self, params: Sequence[Array]) -> None:
        """Make the state (velocities, moments) for parameters shaped like ``params``, unless made.

        The first step does it; an engine that updates the state itself calls it first.
        """
        if not self.state:
            self.state = [self._init_state(p) for p in params]
            self._scratch = [(np.empty_like(p), np.empty_like(p)) for p in params]

    def folded_factor(self, learning_rate: float | None = None) -> float | None:
        """The factor a caller may fold into the gradients for :meth:`step_folded`, or None.

        A factor folded into the network's output delta rides, by linearity, through every product
        of the backward pass at no cost, so the gradients arrive already scaled. Only optimizers
        whose update is that scaled gradient plus the parameters (plain SGD) take this route.
        """
        return None

    def step_folded(self, params: Sequence[Array], scaled_grads: Sequence[Array]) -> None:
        """Like :meth:`step`, for gradients already multiplied by :meth:`folded_factor`."""
        raise NotImplementedError(f"{type(self).__name__} takes only plain gradients")

    def gradient_factor(self) -> float:
        """A factor :meth:`step` takes the gradients multiplied by (``scaled_by``), or 1.

        Where an update's first pass scales the gradient (Adam's ``(1 − β₁) g``), a caller that
        folds the factor into its backward pass, where it costs nothing, saves that pass. The
        gradients stay plain gradients otherwise: only the factor differs.
        """
        return 1.0

    def _init_state(self, param: Array) -> dict[str, Array]:
        return {}

    def _update(
        self,
        p: Array,
        g: Array,
        state: dict[str, Array],
        scratch: tuple[Array, Array],
        decays: bool | Array,
        eta: float,
    ) -> None:
        raise NotImplementedError

    def _decay_term(self, p: Array, decays: bool | Array, scale: float, out: Array) -> bool:
        """Write ``scale · λθ`` (masked by ``decays``) into ``out``; False if there is none.

        One pass: a mask is multiplied by ``scale · λ`` once and kept while that stays the same
        (for coupled decay, always; for AdamW's, while the learning rate does).
        """
        if not self.weight_decay or decays is False:
            return False
        factor = scale * self.weight_decay
        if decays is True:
            np.multiply(p, factor, out=out)
            return True
        kept = self._scaled_masks.get(id(decays))
        if kept is None or kept[0] is not decays:  # a mask not seen before
            if len(self._scaled_masks) > 16:
                self._scaled_masks.clear()
            kept = (decays, math.nan, np.empty_like(p))
        if kept[1] != factor:
            np.multiply(decays, factor, out=kept[2])  # exactly factor or 0: masks are 1s and 0s
            kept = (decays, factor, kept[2])
        self._scaled_masks[id(decays)] = kept
        np.multiply(p, kept[2], out=out)
        return True

    def _decay_in_place(self, p: Array, decays: bool | Array, eta: float) -> None:
        """``θ ← (1 − ηλ) θ`` where ``decays`` says, in place: decoupled decay.

        One pass over the decayed entries and none over the rest. A network's mask is a few runs
        of 1s (each layer's weights) between runs of 0s (its biases), so the decayed entries are a
        few views of ``p``, made once; a mask of many runs is applied by multiplication instead.
        """
        if not self.weight_decay or decays is False:
            return
        # As an array of p's type: the same number a Python float would be rounded to, without
        # the cost of converting one in each of the calls below.
        keep = np.array(1.0 - eta * self.weight_decay, dtype=p.dtype)
        if decays is True:
            p *= keep
            return
        key = (id(p), id(decays))
        kept = self._decayed_views.get(key)
        if kept is None or kept[0] is not p or kept[1] is not decays:  # not seen before
            if len(self._decayed_views) > 16:
                self._decayed_views.clear()
            kept = (p, decays, _runs_of_ones(p, decays))
            self._decayed_views[key] = kept
        views = kept[2]
        if views is None:
            p *= np.where(np.asarray(decays) != 0, keep, 1.0).astype(p.dtype)
            return
        for view in views:
            view *= keep

    def _coupled_gradient(self, p: Array, g: Array, tmp: Array, decays: bool | Array) -> Array:
        """``g + λθ`` in ``tmp`` when decay applies, else ``g`` itself (L2 regularization)."""
        if self._decay_term(p, decays, 1.0, tmp):
            tmp += g
            return tmp
        return g

    # -- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Arrays and counters needed to continue exactly where training stopped."""
        arrays = {f"{i}.{k}": v.copy() for i, s in enumerate(self.state) for k, v in s.items()}
        return {"name": self.name, "iterations": self.iterations, "arrays": arrays}

    def load_state_dict(self, state: dict[str, Any], params: Sequence[Array]) -> None:
        """Restore what :meth:`state_dict` returned, for parameters shaped like ``params``.

        The state must be this optimizer's: another one's (a run's settings edited between its
        start and its resumption) is a ``ValueError``, not a silent fresh start.
        """
        name = state.get("name")
        if name is not None and name != self.name:
            raise InputError(f"the saved state is optimizer {name}'s, not {self.name}'s")
        self.iterations = int(state["iterations"])
        self.state = [self._init_state(p) for p in params]
        self._scratch = [(np.empty_like(p), np.empty_like(p)) for p in params]
        expected = {f"{i}.{k}" for i, s in enumerate(self.state) for k in s}
        if self.iterations > 0 and set(state["arrays"]) != expected:
            raise InputError(
                f"the saved state holds {sorted(state['arrays']) or 'no arrays'}; optimizer "
                f"{self.name} keeps {sorted(expected) or 'none'}"
            )
        for key, value in state["arrays"].items():
            index, name = key.split(".", 1)
            target = self.state[int(index)][name]
            if target.shape != np.shape(value):
                raise InputError(
                    f"optimizer state {key}: shape {np.shape(value)}, expected {target.shape}"
                )
            target[...] = value

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(learning_rate={self.learning_rate}, "
            f"weight_decay={self.weight_decay})"
        )


class SGD(Optimizer):
    """Plain (mini-batch) gradient descent, the post's optimizer: ``θ ← θ − η g``."""

    name = "sgd"

    def _update(
        self,
        p: Array,
        g: Array,
        state: dict[str, Array],
        scratch: tuple[Array, Array],
        decays: bool | Array,
        eta: float,
    ) -> None:
        tmp = scratch[0]
        if self.weight_decay:
            g = self._coupled_gradient(p, g, tmp, decays)
        np.multiply(g, eta, out=tmp)
        np.subtract(p, tmp, out=p)

    def folded_factor(self, learning_rate: float | None = None) -> float | None:
        """``−η``: the update ``θ ← θ − η g`` is then one addition (not with weight decay)."""
        if self.weight_decay:
            return None
        return -(self.learning_rate if learning_rate is None else learning_rate)

    def step_folded(self, params: Sequence[Array], scaled_grads: Sequence[Array]) -> None:
        """``θ ← θ + g'`` for ``g' = −η g``, the gradient the network computed with ``−η`` in it.

        One pass over the parameters instead of two (``η g``, then ``θ − η g``): at small batches
        the update touches every parameter once per step, as much memory as the whole backward pass.
        """
        if self.weight_decay:
            raise InputError("weight decay needs the plain gradient: use step()")
        self.iterations += 1
        for p, g in zip(params, scaled_grads, strict=True):
            p += g


class Momentum(Optimizer):
    """Gradient descent with (optionally Nesterov) momentum ``μ``: a velocity that remembers."""

    name = "momentum"
    settings: ClassVar[dict[str, Rule]] = {
        "momentum": Rule("number", "momentum and nesterov: the velocity's decay", **FRACTION)
    }

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.9,
        *,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.momentum = self.settings["momentum"].check("momentum", momentum)
        self.nesterov = bool(nesterov)

    def _init_state(self, param: Array) -> dict[str, Array]:
        return {"velocity": np.zeros_like(param)}

    def _update(
        self,
        p: Array,
        g: Array,
        state: dict[str, Array],
        scratch: tuple[Array, Array],
        decays: bool | Array,
        eta: float,
    ) -> None:
        tmp = scratch[0]
        g = self._coupled_gradient(p, g, tmp, decays)
        v = state["velocity"]
        v *= self.momentum
        np.multiply(g, eta, out=tmp)  # tmp may hold g: read it before overwriting
        v -= tmp
        if self.nesterov:  # θ ← θ + μ v − η g: look ahead along the new velocity
            p -= tmp
            np.multiply(v, self.momentum, out=tmp)
            p += tmp
        else:
            p += v


class Nesterov(Momentum):
    """Momentum with Nesterov's look-ahead."""

    name = "nesterov"

    def __init__(
        self, learning_rate: float = 0.01, momentum: float = 0.9, *, weight_decay: float = 0.0
    ) -> None:
        super().__init__(learning_rate, momentum, nesterov=True, weight_decay=weight_decay)


class RMSprop(Optimizer):
    """Divides each step by a running root mean square of recent gradients."""

    name = "rmsprop"

    def __init__(
        self,
        learning_rate: float = 0.001,
        rho: float = 0.9,
        eps: float = 1e-8,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.rho, self.eps = float(rho), float(eps)

    def _init_state(self, param: Array) -> dict[str, Array]:
        return {"square_average": np.zeros_like(param)}

    def _update(
        self,
        p: Array,
        g: Array,
        state: dict[str, Array],
        scratch: tuple[Array, Array],
        decays: bool | Array,
        eta: float,
    ) -> None:
        g = self._coupled_gradient(p, g, scratch[0], decays)
        s, tmp = state["square_average"], scratch[1]
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        s *= self.rho
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= eta
        p -= tmp


class Adam(Optimizer):
    """Adaptive moments: momentum on the gradient and on its square, with bias correction."""

    name = "adam"
    settings: ClassVar[dict[str, Rule]] = {
        "beta1": Rule("number", "adam and adamw: the first moment's decay", **FRACTION),
        "beta2": Rule("number", "adam and adamw: the second moment's decay", **FRACTION),
    }
    decoupled: ClassVar[bool] = False

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        *,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        self.beta1 = self.settings["beta1"].check("beta1", beta1)
        self.beta2 = self.settings["beta2"].check("beta2", beta2)
        self.eps = float(eps)

    def _init_state(self, param: Array) -> dict[str, Array]:
        return {"m": np.zeros_like(param), "v": np.zeros_like(param)}

    def gradient_factor(self) -> float:
        """``1 − β₁``: the moments then start from ``(1 − β₁) g`` as given. Not with coupled
        decay, which adds ``λθ`` to the plain gradient."""
        return 1.0 if self.weight_decay and not self.decoupled else 1.0 - self.beta1

    def _update(
        self,
        p: Array,
        g: Array,
        state: dict[str, Array],
        scratch: tuple[Array, Array],
        decays: bool | Array,
        eta: float,
    ) -> None:
        if self.decoupled:
            self._decay_in_place(p, decays, eta)  # θ ← (1 − ηλ) θ, apart from the adaptive step
        else:
            g = self._coupled_gradient(p, g, scratch[0], decays)
        m, v, t, tmp = state["m"], state["v"], self.iterations, scratch[1]
        a = self._scaled_by  # g is the plain gradient times a: 1, or 1 − β₁
        if a == 1.0:
            np.multiply(g, 1.0 - self.beta1, out=tmp)
            m *= self.beta1
            m += tmp
        else:  # (1 − β₁) g as given: a pass saved
            m *= self.beta1
            m += g
        np.multiply(g, g, out=tmp)
        tmp *= (1.0 - self.beta2) / (a * a)
        v *= self.beta2
        v += tmp
        # θ ← θ − η m̂ / (√v̂ + ε) = θ − (η / (1 − β₁ᵗ)) √(1 − β₂ᵗ) m / (√v + ε √(1 − β₂ᵗ)): the
        # bias corrections are scalars, computed once a step, and folded where they cost no pass.
        root = math.sqrt(1.0 - self.beta2**t)
        np.sqrt(v, out=tmp)
        tmp += self.eps * root
        np.divide(m, tmp, out=tmp)
        tmp *= eta / (1.0 - self.beta1**t) * root
        p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``θ ← θ − ηλθ`` beside the step."""

    name = "adamw"
    decoupled = True


def _runs_of_ones(p: Array, mask: Array, most: int = 64) -> list[Array] | None:
    """The views of ``p`` over each run of nonzero entries of ``mask`` (in memory order), or
    ``None`` where ``p`` is not contiguous or there are more than ``most`` runs."""
    if not p.flags.c_contiguous:
        return None
    nonzero = np.concatenate([[False], np.asarray(mask).reshape(-1) != 0, [False]])
    edges = np.flatnonzero(nonzero[1:] != nonzero[:-1])  # where each run starts and ends
    if len(edges) > 2 * most:
        return None
    flat = p.reshape(-1)
    return [flat[lo:hi] for lo, hi in zip(edges[::2], edges[1::2], strict=True)]


#: Name -> class, for the command line, settings files and checkpoints.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, RMSprop, Adam, AdamW)
}


def make_optimizer(name: str, learning_rate: float, **options: Any) -> Optimizer:
    """Build an optimizer by name; an option it does not take (``momentum`` for Adam) is an error."""
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        ) from None
    takes = (*cls.settings, "weight_decay")
    wrong = [key for key in options if key not in takes]
    if wrong:
        raise InputError(f"optimizer {name} takes no {wrong[0]} (its options: {', '.join(takes)})")
    return cls(learning_rate, **options)


def clip_unit_norms(blocks: Sequence[Array], max_norm: float) -> None:
    """Max-norm (Srivastava et al. 2014): each unit's incoming weight vector scaled down, in place,
    to a norm of at most ``max_norm``. ``blocks`` are the layers' ``[W; b]`` blocks, a column per
    unit of the layer above and the biases as the last row, which is left alone."""
    for block in blocks:
        W = block[:-1]
        norms = np.sqrt(np.einsum("ij,ij->j", W, W))
        W *= max_norm / np.maximum(norms, max_norm)


def clip_global_norm(grads: Sequence[Array], max_norm: float) -> None:
    """Scale every gradient array by one factor, in place, so their joint norm is at most ``max_norm``.

    The joint (global) norm is ``√(Σ ‖g‖²)`` over all of them; clipping it keeps a step's direction and
    bounds its length, which stops one huge gradient from throwing the weights far off.
    """
    total = math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads))
    if total > max_norm:
        for g in grads:
            g *= max_norm / total
