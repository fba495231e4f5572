"""The main job: derive, verify, train a little, draw, and write one HTML report.

``run(out, size)`` computes every part that is not stored yet under ``out/results``
(resumable: a part stored with the same config is skipped, and so is every finished
training run), draws every figure into ``out/figures`` and writes ``out/report.html``.
Split along the pipeline:

* :mod:`.plan`: the sizes and the parts, as data (what is computed, under which config);
* :mod:`.job`: running the plan and the small experiments, resumably;
* :mod:`.verdicts`: theory against measurement as typed rows (thresholds and the papers'
  numbers from :mod:`sparsefield.empirical.verdicts`);
* :mod:`.page`, :mod:`.paper`, :mod:`.fmt`: pure rendering of the stored records.

The experiments run at small sizes on real data (Fashion-MNIST where Debian's package is
installed, else the MNIST digits bundled with the package; the drift experiment also on
random inputs), each training point judged against the dense ReLU baseline of the same
size; the stored paper-size results are shown as curated tables.
"""

from .job import Context, Timing, compute, render, run
from .page import sweep_section
from .plan import EXPERIMENTS, SEED, SIZES, Size
from .verdicts import Z_OK, Check, verification_rows

__all__ = ["Check", "Context", "EXPERIMENTS", "SEED", "SIZES", "Size", "Timing", "Z_OK",
           "compute", "render", "run", "sweep_section", "verification_rows"]
