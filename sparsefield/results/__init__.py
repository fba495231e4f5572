"""The results layer: the schema of everything stored (names, typed records) and its IO.

* :mod:`.names` -- every stored key and path, spelled once;
* :mod:`.records` -- the stored records as types (run record, summary, report part, the
  :class:`~.records.Check` row of every verification source);
* :mod:`.io` -- atomic writes, strict reading, validation, corrupt-file handling, the
  torch-free :class:`~.io.ResultStore`;
* :mod:`.summary_schema` -- the shape of each stored ``summary.json``, checked before a
  reader (figures, report) uses it.

Layering: this package sits beside :mod:`sparsefield.theory` at the bottom.  It imports
nothing else of sparsefield and no numpy or torch at import, so every layer above reads
and writes results through it: the training engine (through
:mod:`sparsefield.empirical.store`, which adds torch checkpoints), the figures (which only
draw, and import nothing of :mod:`sparsefield.empirical`), the report and the sweeps
(``tests/test_structure.py``).
"""
