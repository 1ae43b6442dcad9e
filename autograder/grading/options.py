"""How a notebook is graded: the one options object, made once from the command line (or a
front-end's settings) and passed down to the grading core and nbgrader's configuration. Every
default is written here and nowhere else; ``add_arguments`` turns the fields into command-line
options whose help shows these defaults.
"""
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

IPC_TMPFS_MB = 256  # sandbox: the room a kernel has in its ipc folder (sockets, large arrays for the hidden tests)
CGROUP = Path("/sys/fs/cgroup")


def usable_cores(cgroup=CGROUP):
    """The cores (int, at least 1) this process may keep busy: those it may run on, fewer where the CPU quota of
    its container allows less (``cgroup``: the cgroup file system; v2's cpu.max, v1's cpu/cpu.cfs_quota_us),
    as under Docker's --cpus and on Gradescope, where os.cpu_count() is the host's."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for quota_file, period_file in [(cgroup / "cpu.max", None),
                                    (cgroup / "cpu" / "cpu.cfs_quota_us", cgroup / "cpu" / "cpu.cfs_period_us")]:
        try:
            fields = quota_file.read_text().split()
            quota, period = fields[0], fields[1] if period_file is None else period_file.read_text().strip()
            if quota not in ("max", "-1"):
                cores = min(cores, max(1, int(int(quota) / int(period))))
        except (OSError, ValueError, IndexError):
            continue
    return max(1, cores)


def default_blas_threads(workers):
    """BLAS threads (int) for each kernel of ``workers`` (int) parallel graders when the options set none: the
    usable cores shared among them, at most OPENBLAS_NUM_THREADS where the grader's environment sets it (an
    administrator's cap; the test suite's one, beside another busy worker)."""
    threads = max(1, usable_cores() // max(1, workers))
    cap = os.environ.get("OPENBLAS_NUM_THREADS", "")
    return min(threads, max(1, int(cap))) if cap.isdigit() else threads


@dataclass(frozen=True)
class GradingOptions:
    """Limits and isolation of one submission's grading.

    cell_timeout: int, seconds one cell may run (enough for a correct but np.vectorize-slow solution)
    submission_timeout: int, seconds for all cells together; cells it cannot reach are marked
    memory_mb: int, memory limit of the student's kernel
    blas_threads: int or None, BLAS threads of the kernel; None: the cores shared among the parallel
        graders (``for_workers``)
    tier: str, the kernel's isolation, one of autograder.sandbox.kernel_launcher.TIERS: "full" (its own
        user, root file system and network), "container" (its own user, the grader's files closed to it),
        "none"; kernel_launcher.sandbox_tier() tells the strongest this machine allows
    kernel_spec: Path or None, kernel.json of the course's own grading kernel (e.g. in a container),
        reached over ipc, instead of the kit's launcher
    """
    cell_timeout: int = field(default=120, metadata={"help": "seconds per cell"})
    submission_timeout: int = field(default=600, metadata={"help": "seconds per submission, all cells together"})
    memory_mb: int = field(default=4096, metadata={"help": "memory limit of each kernel, in MB"})
    blas_threads: int | None = field(default=None, metadata={
        "help": "BLAS threads of each kernel",
        "default": "the cores shared among the workers, at most $OPENBLAS_NUM_THREADS"})
    tier: str = "none"
    kernel_spec: Path | None = None

    @property
    def ipc(self):
        """bool: the kernel is reached over Unix sockets in a folder it shares with the grader."""
        return self.tier != "none" or self.kernel_spec is not None

    @property
    def ipc_tmpfs_mb(self):
        """int: the size of that folder as a tmpfs of its own (0: a plain folder)."""
        return IPC_TMPFS_MB if self.tier == "full" else 0

    def for_workers(self, workers):
        """These options with BLAS threads set, when they are not, to the cores shared among
        ``workers`` (int) parallel graders (default_blas_threads), so that kernels never oversubscribe the cores."""
        if self.blas_threads is not None:
            return self
        return dataclasses.replace(self, blas_threads=default_blas_threads(workers))


def add_arguments(parser):
    """Add --cell-timeout, --submission-timeout, --memory-mb and --blas-threads (from the fields'
    defaults), --no-sandbox and --kernel-spec to ``parser`` (argparse.ArgumentParser)."""
    group = parser.add_argument_group("grading one submission")
    for option in dataclasses.fields(GradingOptions):
        if "help" in option.metadata:
            default = option.metadata.get("default", option.default)
            group.add_argument(f"--{option.name.replace('_', '-')}", type=int, default=None,
                               help=f"{option.metadata['help']} (default: {default})")
    group.add_argument("--no-sandbox", dest="sandbox", action="store_false", default=None,
                       help="run kernels without the sandbox even as root (see SECURITY.md)")
    group.add_argument("--kernel-spec", type=Path,
                       help="kernel.json of the course's own grading kernel, reached over ipc (e.g. a container)")


def from_arguments(args, machine_tier):
    """GradingOptions from parsed ``args`` (argparse.Namespace made with add_arguments); the tier is
    ``machine_tier`` (str, kernel_launcher.sandbox_tier()), "none" with --no-sandbox or --kernel-spec."""
    given = {option.name: getattr(args, option.name) for option in dataclasses.fields(GradingOptions)
             if "help" in option.metadata and getattr(args, option.name, None) is not None}
    tier = "none" if args.kernel_spec or args.sandbox is False else machine_tier
    return GradingOptions(**given, tier=tier, kernel_spec=args.kernel_spec)
