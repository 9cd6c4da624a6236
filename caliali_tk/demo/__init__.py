"""The demo movie, the simulator behind it, and the self-test.

- :mod:`.simulate`: synthetic one-photon movies with ground truth, in memory;
- :mod:`.files`: the same rendered chunk by chunk into CaliAli-style ``.h5``
  files (the ``demo`` verb, the tests and the benchmarks), and the built-in
  demo video;
- :mod:`.selftest`: simulate, extract, score against the ground truth (the
  ``selftest`` verb, in the bundle too).
"""
