"""Render a formulation as readable math: Markdown (unicode math) or a LaTeX fragment.

Both walk the parsed expression trees, so `sum(ship[p, m] for m in Markets) <= supply[p]`
becomes `∑(m ∈ Markets) ship[p, m] ≤ supply[p]` in Markdown and
`\\sum_{m \\in \\mathit{Markets}} \\mathit{ship}_{p,m} \\le \\mathit{supply}_{p}` in LaTeX. Data is
shown as small tables when it is small and summarised ("120 values from 0.5 to 9") when not.
Rendering never needs a valid model: an expression that does not parse is shown as written.
"""

from __future__ import annotations

from optiagent.formulations.render.latex import to_latex
from optiagent.formulations.render.markdown import to_markdown

__all__ = ["to_latex", "to_markdown"]
