"""Run every benchmark and print its table (``make bench``; ``--quick`` for small sizes)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_curation  # noqa: E402
import bench_extraction  # noqa: E402
import bench_gui  # noqa: E402
import bench_oasis  # noqa: E402
import bench_projections  # noqa: E402
import bench_real_like  # noqa: E402
import bench_results_mat  # noqa: E402
import bench_seeds  # noqa: E402
import bench_sessions  # noqa: E402
import bench_stages  # noqa: E402
import bench_traces  # noqa: E402


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    quick = ["--quick"] if "--quick" in argv else []
    bench_projections.main(quick)
    bench_seeds.main()
    bench_oasis.main(["--traces", "60"] if quick else [])
    bench_extraction.main(quick)
    bench_sessions.main(quick)
    bench_stages.main(quick)
    bench_real_like.main(quick)
    bench_results_mat.main(["--size", "128", "128", "1000", "--neurons", "80"] if quick else [])
    bench_traces.main(quick)
    bench_gui.main()
    bench_curation.main(quick)


if __name__ == "__main__":
    main()
