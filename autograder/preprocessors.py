"""nbgrader preprocessors that make autograding robust, used in place of or beside nbgrader's own.

ResilientExecute
    nbgrader's Execute, extended: a kernel that dies (os._exit, segfault, resource limit) costs the
    submission only the cell that killed it -- the kernel is restarted, the cells above are run
    again to rebuild the state, and grading goes on -- instead of failing the whole submission. A
    time budget per submission shortens the last cells' timeouts and marks cells it cannot reach.
    The kernel runs in a scratch copy of the submission's folder (in a sandbox, see
    kernel_launcher.py), and test cells' hidden tests run in this process (autograder.hidden_tests).
StderrAsNote
    nbgrader gives a test cell 0 points when anything reached stderr; a harmless warning from
    correct student code must not cost points, so stderr of grade cells is kept as a note on stdout.
DropMetadataWithoutId
    lets nbgrader restore missing cells in a notebook that also has duplicated ones.
RestoreCells
    nbgrader's OverwriteCells, first putting back the nbgrader metadata a student edited (flags,
    points) from the gradebook, and making cells with unknown grade ids ordinary cells: stock
    nbgrader stops with "Inconsistent checksums" and the student gets nothing.
ShortTracebacks
    for feedback: errors of test cells keep their message, not the traceback that quotes test code.
"""
import copy
import os
import shutil
import tempfile
import time
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell, new_output
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_grade
from traitlets import Bool, Integer, Unicode

from autograder import hidden_tests, kernel_launcher

KERNEL_DIED = "KernelDied"
TIME_BUDGET = "SubmissionTimeout"
RAN_OUT = {"MemoryError", "CellTimeoutError", KERNEL_DIED, TIME_BUDGET}


class KernelBroken(Exception):
    """The kernel died or its messages stopped making sense: restart it."""


def error_output(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ResilientExecute(Execute):
    submission_timeout = Integer(600, help="Seconds for all cells of one submission together").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts allowed per submission").tag(config=True)
    hidden_reference = Unicode("", help="The hidden tests' reference file, read by this process only").tag(config=True)
    ipc = Bool(False, help="Talk to the kernel over Unix sockets in the scratch folder (a sandboxed or "
                           "containerised kernel has no network)").tag(config=True)
    ipc_tmpfs_mb = Integer(0, help="Mount the ipc folder, which the kernel can write to, as a tmpfs of this size "
                                   "so that it cannot fill the disk (needs root in a private mount namespace; "
                                   "0: a plain folder)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.submission_timeout
        self._cell_timeout = self.timeout
        self._restarts = 0
        scratch = Path(tempfile.mkdtemp(prefix="hw2-grading-"))
        try:
            # the kernel gets a copy of the submission's folder: whatever it does there, the files stay
            shutil.copytree(resources["metadata"]["path"], scratch / "work", symlinks=True,
                            ignore=shutil.ignore_patterns("*.ipynb"))  # the kernel runs code, not notebooks
            (scratch / "ipc").mkdir()
            if self.ipc_tmpfs_mb:
                kernel_launcher.tmpfs(scratch / "ipc", self.ipc_tmpfs_mb)
            self._kernel = hidden_tests.Kernel(self._run_for_hidden_tests, exchange=scratch / "ipc")
            self._scratch = scratch
            resources = dict(resources, metadata=dict(resources["metadata"], path=str(scratch / "work")))
            return super().preprocess(nb, resources, km)
        finally:
            if self.ipc_tmpfs_mb and os.path.ismount(scratch / "ipc"):
                kernel_launcher.umount(scratch / "ipc")
            shutil.rmtree(scratch, ignore_errors=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.ipc:
            km.transport, km.ip = "ipc", str(self._scratch / "ipc" / "kernel")
        return km

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        remaining = self._deadline - time.monotonic()
        if remaining < 1 or self._restarts > self.max_restarts:
            reason = (f"not run: the submission used up its {self.submission_timeout} s"
                      if remaining < 1 else f"not run: the kernel died more than {self.max_restarts} times")
            cell.outputs = [error_output(TIME_BUDGET if remaining < 1 else KERNEL_DIED, reason)]
            return cell, resources
        self.timeout = max(1, int(min(self._cell_timeout, remaining)))
        source = cell.source
        public, hidden = hidden_tests.split(source) if is_grade(cell) else (source, "")
        try:
            cell.source = public  # the kernel never sees the hidden tests
            self._execute(cell, index)
            cell.source = source
            if hidden and not any(o.output_type == "error" for o in cell.outputs):
                self._run_hidden(cell, hidden, index)
        except KernelBroken as broken:
            cell.outputs.append(error_output(
                KERNEL_DIED, f"the kernel {broken} while running this cell (it exited, crashed or went over a "
                             "resource limit); grading went on in a new kernel after running the cells above again"))
            self._restart_and_replay(index)
        finally:
            cell.source = source
        return cell, resources

    def _execute(self, cell, index, store_history=True):
        """nbclient's execute_cell; KernelBroken when the kernel dies or its messages stop making sense
        (forked copies of a kernel write to its sockets; a kernel out of memory sends half messages)."""
        try:
            return self.execute_cell(cell, index, store_history=store_history)
        except DeadKernelError:
            raise KernelBroken("died") from None
        except Exception as error:  # noqa: BLE001 (with allow_errors, nbclient raises only when the kernel fails)
            raise KernelBroken(f"stopped answering properly ({type(error).__name__}: {error})") from None

    def _run_hidden(self, cell, hidden, index):
        """Run the hidden tests here; a failure becomes the cell's error output, as if raised in it."""
        self._hidden_cell_index = index
        self._hidden_cell_deadline = time.monotonic() + self.timeout
        try:
            printed = hidden_tests.run_hidden(hidden, self._kernel, Path(self.hidden_reference),
                                              cell.metadata.get("nbgrader", {}).get("grade_id", index))
            error = None
        except KernelBroken:
            raise
        except Exception as raised:  # noqa: BLE001 (any failure of a hidden test fails the cell)
            printed, error = "", raised
        if printed:
            cell.outputs.append(new_output("stream", name="stdout", text=printed))
        if error is not None:
            cell.outputs.append(error_output(type(error).__name__, str(error)))

    def _run_for_hidden_tests(self, code):
        """Run ``code`` in the kernel within what is left of the cell's time; return its outputs."""
        remaining = self._hidden_cell_deadline - time.monotonic()
        if remaining < 1:
            raise hidden_tests.KernelError(f"the hidden tests ran out of the cell's {self._cell_timeout} s")
        self.timeout, timeout = max(1, int(remaining)), self.timeout
        cell = self.nb.cells[self._hidden_cell_index]
        try:
            request = new_code_cell(code)
            self._execute(request, self._hidden_cell_index, store_history=False)
            return request.outputs
        finally:
            self.timeout = timeout
            self.nb.cells[self._hidden_cell_index] = cell  # nbclient puts the cell it ran into the notebook

    def _restart_and_replay(self, index):
        """Restart the kernel and run the code cells before ``index`` again (without their hidden
        tests, and not those that ran out of memory or time: they would again), discarding their output."""
        while self._restarts <= self.max_restarts:
            self._restarts += 1
            self.log.warning("Kernel died at cell %d; restarting (%d)", index, self._restarts)
            run_sync(self.km.restart_kernel)(now=True)
            self.kc.stop_channels()
            self.kc = self.km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
            try:
                for i, earlier in enumerate(self.nb.cells[:index]):
                    if earlier.cell_type == "code" and not _ran_out(earlier):
                        replay = copy.deepcopy(earlier)
                        replay.source = hidden_tests.split(earlier.source)[0]
                        self._execute(replay, i, store_history=False)
                        self.nb.cells[i] = earlier  # nbclient puts the cell it ran into the notebook
                return
            except KernelBroken:
                continue


def _ran_out(cell):
    return any(o.output_type == "error" and o.ename in RAN_OUT for o in cell.outputs)


class StderrAsNote(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
                    output.text = "".join(f"[stderr] {line}\n" for line in output.text.splitlines())
        return cell, resources


class ShortTracebacks(NbGraderPreprocessor):
    """For feedback: a test cell's error keeps its message but not its traceback.

    IPython tracebacks quote the source lines around the failure, which for a hidden test would
    show the hidden test's code to the student.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class DropMetadataWithoutId(NbGraderPreprocessor):
    """After DeduplicateIds: a duplicated cell keeps nbgrader metadata without a grade id, which
    makes OverwriteCells.add_missing_cells fail (KeyError 'grade_id', nbgrader 0.9.6). Such a cell
    is the student's copy of a graded cell: make it an ordinary cell."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        return cell, resources


class RestoreCells(OverwriteCells):
    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.metadata.get("nbgrader", {})
        if "grade_id" not in nbgrader:
            return super().preprocess_cell(cell, resources, index)
        released = {}
        for flag, find in [("grade", self.gradebook.find_grade_cell), ("solution", self.gradebook.find_solution_cell),
                           ("task", self.gradebook.find_task_cell), ("locked", self.gradebook.find_source_cell)]:
            try:
                found = find(nbgrader["grade_id"], self.notebook_id, self.assignment_id)
            except MissingEntry:
                released[flag] = False
                continue
            released[flag] = found.locked if flag == "locked" else True
            if flag in ("grade", "task"):
                released["points"] = found.max_score
        if not any(released.values()):  # a grade id nbgrader never released
            del cell.metadata["nbgrader"]
            return cell, resources
        nbgrader.pop("points", None)
        nbgrader.update(released)
        return super().preprocess_cell(cell, resources, index)
