"""The walkthrough's section on the post's claim that ``∇ŶC ⊙ ∇ZŶ`` "simplifies to ``Ŷ − Y``".

Softmax mixes its outputs (each ``ŷ_i`` depends on every ``z_j``), so its derivative is a matrix,
the Jacobian ``J = diag(ŷ) − ŷŷᵀ``, and the chain rule multiplies by it: ``∂C/∂z = Jᵀ ∇ŶC``. For
the categorical cross-entropy ``C = −Σ y log ŷ`` the product is exactly ``ŷ − y``; for the sum of
binary cross-entropies the post writes down, it is not. This module shows both on one sample,
each confirmed by central differences in ``z``.
"""

from __future__ import annotations

import numpy as np

from glassnet.explain.document import Block, Equation, Heading, Numbers, Paragraph, Table
from glassnet.explain.numbers import Array, matrix_lines, sup

__all__ = ["softmax_blocks"]


def softmax_blocks(found: dict[str, Array], label: int, L: int) -> list[Block]:
    """The section's blocks from :func:`~glassnet.explain.numbers.softmax_identity`'s results for
    the batch's first sample, whose class is ``label``; ``L`` is the output layer's index."""
    y_hat = found["y_hat"]
    y = np.zeros_like(y_hat)
    y[label] = 1.0
    categorical_gap = float(np.max(np.abs(found["delta_categorical"] - (y_hat - y))))
    binary_gap = float(np.max(np.abs(found["delta_binary"] - (y_hat - y))))
    z = f"Z{sup(L)}"
    return [
        Heading('Why `∇ŶC ⊙ ∇ZŶ` "simplifies to `Ŷ − Y`"'),
        Paragraph(
            f"Softmax mixes its outputs: every ŷᵢ depends on every zⱼ. So ∇ZŶ is a matrix, the "
            f"Jacobian `J = ∂ŷ/∂z = diag(ŷ) − ŷŷᵀ`, and the chain rule multiplies by it rather "
            f"than elementwise: `∂C/∂z = Jᵀ ∇ŶC`. Here it is for the batch's first sample (a "
            f"{label}), one column of {z}:"
        ),
        Equation("J = diag(ŷ) − ŷŷᵀ", f"{len(y_hat)}×{len(y_hat)}, symmetric"),
        Numbers("J, the first rows and columns:", matrix_lines(found["jacobian"], 6, 6)),
        Equation(
            "C = −Σ y log ŷ   ⇒   ∇ŶC = −y / ŷ", "categorical cross-entropy: what glassnet trains"
        ),
        Equation(
            "C = −Σ [y log ŷ + (1 − y) log(1 − ŷ)]   ⇒   ∇ŶC = −y / ŷ + (1 − y) / (1 − ŷ)",
            "the post's sum of binary cross-entropies",
        ),
        _table(found, y),
        Paragraph(
            f"For the categorical loss, `Jᵀ ∇ŶC` equals ŷ − y to within {categorical_gap:.0e}: "
            "the 1/ŷ of the logarithm cancels the ŷ of the Jacobian, and the claim holds "
            f"exactly. For the post's sum of binary cross-entropies it is off by up to "
            f"{binary_gap:.3f}: with a softmax output that loss does not give Ŷ − Y (it would "
            "with ten independent sigmoid outputs). Central differences of each loss in z agree "
            "with their own column, so each column is that loss's true gradient. This is why "
            "glassnet trains with the categorical form."
        ),
    ]


def _table(found: dict[str, Array], y: Array) -> Table:
    rows = []
    for k in range(len(y)):
        rows.append(
            [
                str(k),
                f"{y[k]:g}",
                f"{found['y_hat'][k]:.4f}",
                f"{found['y_hat'][k] - y[k]:+.4f}",
                f"{found['delta_categorical'][k]:+.4f}",
                f"{found['numeric_categorical'][k]:+.4f}",
                f"{found['delta_binary'][k]:+.4f}",
                f"{found['numeric_binary'][k]:+.4f}",
            ]
        )
    header = [
        "k",
        "y",
        "ŷ",
        "ŷ − y",
        "Jᵀ∇ŶC, categorical",
        "central differences",
        "Jᵀ∇ŶC, binary sum",
        "central differences",
    ]
    return Table(header, rows, align="rrrrrrrr")
