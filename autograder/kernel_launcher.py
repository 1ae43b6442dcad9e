"""Start an IPython kernel for grading, inside resource limits.

    python autograder/kernel_launcher.py --memory-mb 4096 --file-mb 256 -f {connection_file}

Limits apply to the kernel and everything it starts: address space (a memory bomb raises
MemoryError instead of taking the machine down), size of any file written, and CPU time. BLAS gets
a fixed number of threads (the grader gives each of its workers an equal share of the cores), so
that parallel grading does not oversubscribe the cores.
"""
import argparse
import os
import resource
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

MB = 1024 * 1024


def apply_limits(memory_mb, file_mb, cpu_seconds):
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * MB, memory_mb * MB))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * MB, file_mb * MB))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory-mb", type=int, default=4096)
    parser.add_argument("--file-mb", type=int, default=256)
    parser.add_argument("--cpu-seconds", type=int, default=1800)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args, kernel_args = parser.parse_known_args()
    # Run as a script, this folder is on sys.path: take it off so student code cannot import the
    # instructor's modules.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    for variable in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]:
        os.environ[variable] = str(args.threads)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    apply_limits(args.memory_mb, args.file_mb, args.cpu_seconds)
    from ipykernel import kernelapp

    sys.argv = [sys.argv[0], *kernel_args]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
