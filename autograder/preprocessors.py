"""nbgrader preprocessors that make autograding robust, used in place of or beside nbgrader's own.

ResilientExecute
    nbgrader's Execute, extended: a kernel that dies (os._exit, segfault, resource limit) costs the
    submission only the cell that killed it -- the kernel is restarted, the cells above are run
    again to rebuild the state, and grading goes on -- instead of failing the whole submission. A
    time budget per submission shortens the last cells' timeouts and marks cells it cannot reach.
StderrAsNote
    nbgrader gives a test cell 0 points when anything reached stderr; a harmless warning from
    correct student code must not cost points, so stderr of grade cells is kept as a note on stdout.
DropMetadataWithoutId
    lets nbgrader restore missing cells in a notebook that also has duplicated ones.
ShortTracebacks
    for feedback: errors of test cells keep their message, not the traceback that quotes test code.
"""
import copy
import time

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Integer

KERNEL_DIED = "KernelDied"
TIME_BUDGET = "SubmissionTimeout"


def error_output(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ResilientExecute(Execute):
    submission_timeout = Integer(600, help="Seconds for all cells of one submission together").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts allowed per submission").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.submission_timeout
        self._cell_timeout = self.timeout
        self._restarts = 0
        return super().preprocess(nb, resources, km)

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
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            cell.outputs.append(error_output(
                KERNEL_DIED, "the kernel died while running this cell (it exited, crashed or went over a "
                             "resource limit); grading went on in a new kernel after running the cells above again"))
            self._restart_and_replay(index)
            return cell, resources

    def _restart_and_replay(self, index):
        """Restart the kernel and run the code cells before ``index`` again, discarding their output."""
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
                    if earlier.cell_type == "code":
                        self.execute_cell(copy.deepcopy(earlier), i, store_history=False)
                return
            except DeadKernelError:
                continue


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
