"""ResilientExecute: nbgrader's Execute, extended so that a submission's kernel cannot cost it more than
the cell it broke, and every test cell is scored by the grader's own verdict.

A kernel that dies (os._exit, segfault, resource limit) costs the submission only the cell that killed
it -- the kernel is restarted, the cells above are run again to rebuild the state, and grading goes on --
instead of failing the whole submission. A time budget per submission shortens the last cells'
timeouts and marks cells it cannot reach. The kernel runs in a scratch copy of the submission's folder
(in a sandbox, see autograder.sandbox.kernel_launcher), and test cells' cases, public and hidden, run in
this process (autograder.grading.hidden_tests.run_graded), calling into the kernel with requests
(autograder.grading.kernel). It records the grader's verdict on every test cell (naming first, in a cell
that lost points, the functions it depends on that lost points in their own cells above: the master's
``dependencies``) and what the kernel did that a grader should look at.
"""
import copy
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import zmq
from jupyter_client.kernelspec import KernelSpecManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Bool, Integer, List, Unicode

from autograder.assignment import master
from autograder.assignment.master import split
from autograder.grading import hidden_tests
from autograder.grading.hidden_cases import HiddenCases
from autograder.grading.kernel import Kernel, KernelError
from autograder.grading.kernel_side import OUTSIDE_REQUESTS
from autograder.grading.preprocessors.output_budget import MB, OutputBudget
from autograder.grading.preprocessors.resources import REVIEW, VERDICTS
from autograder.grading.request_loop import RequestLoop
from autograder.grading.verdict import CellVerdict, dependency_cause
from autograder.sandbox import kernel_launcher, kernel_user, mounts

KERNEL_DIED = "KernelDied"
TIME_BUDGET = "SubmissionTimeout"
RAN_OUT = {"MemoryError", "CellTimeoutError", KERNEL_DIED, TIME_BUDGET}
CASES_FAILED = "CasesFailed"  # the error output that lists a test cell's cases when some failed
MAX_MESSAGE_BYTES = 48 * MB  # zmq drops a larger message part from the kernel before it is parsed


class KernelBroken(BaseException):
    """The kernel died or its messages stopped making sense: restart it. (No Exception: a test case that
    records failures must not record this one.)"""


def error_output(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class ResilientExecute(Execute):
    """nbgrader's Execute, with kernel restarts, a time budget per submission, bounded outputs
    (OutputBudget) and every test cell's cases run in this process; ``preprocess`` returns with
    resources[VERDICTS] ({grade_id: CellVerdict}) and resources[REVIEW] (notes for a person).

    One class, longer than most here, because nbclient calls back into it: every method overrides or
    serves one of the hooks of nbclient's NotebookClient (preprocess, create_kernel_manager, output,
    async_execute_cell, handle_comm_msg, _update_display_id, preprocess_cell) on the one client that
    owns the kernel.
    """
    submission_timeout = Integer(600, help="Seconds for all cells of one submission together").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts allowed per submission").tag(config=True)
    hidden_reference = Unicode("", help="The hidden tests' reference file, read by this process only").tag(config=True)
    kernel_dirs = List(Unicode(), help="Where kernel_name's spec is looked for (folders of <name>/kernel.json), "
                                       "instead of Jupyter's kernel folders").tag(config=True)
    ipc = Bool(False, help="Talk to the kernel over Unix sockets in the scratch folder (a sandboxed or "
                           "containerised kernel has no network)").tag(config=True)
    ipc_tmpfs_mb = Integer(0, help="Mount the ipc folder, which the kernel can write to, as a tmpfs of this size "
                                   "so that it cannot fill the disk (needs root in a private mount namespace; "
                                   "0: a plain folder)").tag(config=True)
    kill_kernel_users = Bool(False, help="Kill every process of each kernel's own user once the kernel is gone, "
                                         "before any result is written (the sandbox's tiers full and container: "
                                         "needs root)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.submission_timeout
        self._cell_timeout = self.timeout
        self._restarts = 0
        self._launchers = []  # the pids of the kernel launchers started for this submission
        self._verdicts, self._review = {}, []
        self._outputs = OutputBudget()
        self._request_running = False
        # hidden cases drawn for this submission: seeded from it, so that regrading draws the same
        seed = int(hashlib.sha256(nbformat.writes(nb).encode()).hexdigest()[:16], 16)
        self._cases = HiddenCases(self.hidden_reference, seed)
        self._dependencies = master.read().dependencies
        original = resources
        scratch = Path(tempfile.mkdtemp(prefix="hw2-grading-"))
        try:
            # the kernel gets a copy of the submission's folder: whatever it does there, the files stay
            shutil.copytree(resources["metadata"]["path"], scratch / "work", symlinks=True,
                            ignore=shutil.ignore_patterns("*.ipynb"))  # the kernel runs code, not notebooks
            (scratch / "ipc").mkdir()
            if self.ipc_tmpfs_mb:
                mounts.tmpfs(scratch / "ipc", self.ipc_tmpfs_mb)
            self._kernel = Kernel(self._send_request, exchange=scratch / "ipc")
            self._scratch = scratch
            resources = dict(resources, metadata=dict(resources["metadata"], path=str(scratch / "work")))
            nb, _ = super().preprocess(nb, resources, km)
            return nb, dict(original, **{VERDICTS: self._verdicts, REVIEW: self._review})
        finally:
            self._end_kernel_users()  # nbclient has shut the kernel down: nothing of its user outlives it
            if self.ipc_tmpfs_mb and os.path.ismount(scratch / "ipc"):
                mounts.umount(scratch / "ipc")
            shutil.rmtree(scratch, ignore_errors=True)

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        self._launchers.append(self.km.provisioner.pid)

    start_new_kernel = run_sync(async_start_new_kernel)

    def _end_kernel_users(self):
        """Kill what is left of the users of the kernels started so far (double-forked, setsid processes)."""
        if self.kill_kernel_users:
            for pid in self._launchers:
                kernel_user.kill_user(kernel_user.kernel_user(pid))

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.kernel_dirs:  # read when the kernel starts
            km.kernel_spec_manager = KernelSpecManager(kernel_dirs=list(self.kernel_dirs))
        if self.ipc:
            km.transport, km.ip = "ipc", str(self._scratch / "ipc" / "kernel")
        km.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)  # for every socket the client makes
        return km

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output, within the submission's OutputBudget."""
        out = super().output(outs, msg, display_id, cell_index)
        return self._outputs.bounded(outs, out, cell_index, request=self._request_running)

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widgets are not graded: their messages would otherwise pile up in the grader unbounded."""

    def _update_display_id(self, display_id, msg):
        """Updates of earlier displays are not kept (they could grow outputs past the bounds)."""

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
        public, _ = split(source) if is_grade(cell) else (source, "")
        verdict = CellVerdict(stopped="the cell did not run")
        try:
            cell.source = public  # the kernel never sees the hidden tests
            self._execute(cell, index)
            cell.source = source
            self._note_behaviour(cell, index)
            if is_grade(cell) and cell.metadata.nbgrader.get("points"):
                verdict = self._run_graded(cell, source, index)
        except KernelBroken as broken:
            cell.outputs.append(error_output(
                KERNEL_DIED, f"the kernel {broken} while running this cell ({self._why_stopped()}); grading went "
                             "on in a new kernel after running the cells above again"))
            self._restart_and_replay(index)
        finally:
            cell.source = source
        if is_grade(cell) and cell.cell_type == "code":
            # the grader's verdict: what the kernel printed or displayed never decides it
            self._verdicts[cell.metadata.nbgrader["grade_id"]] = verdict
        return cell, resources

    def _why_stopped(self):
        """Why the kernel died (str): what the sandbox's launcher wrote when it stopped it (its files took
        too much disk, say), else the possible causes."""
        note = self._scratch / kernel_launcher.STOPPED_NOTE
        try:
            why = note.read_text()[:200]
            note.unlink()
            return f"the sandbox stopped it: {why}"
        except OSError:
            return "it exited, crashed or went over a resource limit"

    def _note_behaviour(self, cell, index):
        """Record for review what the kernel did that honest code never does."""
        label = f"cell {index + 1}" + (f" ({cell.metadata.nbgrader['grade_id']})" if is_grade(cell) else "")
        if is_grade(cell) and any(o.output_type == "execute_result" for o in cell.outputs):
            self._review.append(f"{label}: a result was displayed in a test cell (student code called the "
                                "display hook, which stock nbgrader reads as a score)")
        if any(o.output_type == "error" and o.get("evalue") == OUTSIDE_REQUESTS for o in cell.outputs):
            self._review.append(f"{label}: student code called the grader's request handler in the kernel")

    def _execute(self, cell, index, store_history=True):
        """nbclient's execute_cell; KernelBroken when the kernel dies or its messages stop making sense
        (forked copies of a kernel write to its sockets; a kernel out of memory sends half messages)."""
        try:
            return self.execute_cell(cell, index, store_history=store_history)
        except DeadKernelError:
            raise KernelBroken("died") from None
        except Exception as error:  # noqa: BLE001 (with allow_errors, nbclient raises only when the kernel fails)
            raise KernelBroken(f"stopped answering properly ({type(error).__name__}: {error})") from None

    def _run_graded(self, cell, source, index):
        """Run the test cell's cases, public and hidden, here (the grader's verdict); add what it found
        under the cell's outputs."""
        self._requests = RequestLoop(self, index, self._kernel.exchange, self._kernel.answer)
        self._hidden_cell_deadline = time.monotonic() + self.timeout
        try:
            verdict = hidden_tests.run_graded(source, self._kernel, self._cases,
                                              cell.metadata.nbgrader.get("grade_id", index))
            self._end_requests()
        finally:
            if self._kernel.protocol_errors:
                times = f" {self._kernel.breaches} times" if self._kernel.breaches > 1 else ""
                self._review.append(f"cell {index + 1}: the kernel's answers to the grader broke the protocol{times} "
                                    f"(first: {self._kernel.protocol_errors[0]})")
            self._kernel.release()  # what this cell's calls left behind
        if verdict.fraction < 1:  # name first the functions it depends on that lost points in their own cells
            verdict.cause = dependency_cause(self._dependencies.of(cell.metadata.nbgrader.get("grade_id")),
                                             self._verdicts)
        summary = verdict.summary(float(cell.metadata.nbgrader["points"]))
        if verdict.fraction < 1:
            cell.outputs.append(error_output(CASES_FAILED, summary))
        else:
            cell.outputs.append(new_output("stream", name="stdout", text=summary + "\n"))
        return verdict

    def _send_request(self, request):
        """The kernel side's reply (JSON text) to the grader's ``request`` (JSON text), within what is left
        of the test cell's time; KernelBroken when the kernel died or stopped answering properly."""
        remaining = self._hidden_cell_deadline - time.monotonic()
        if remaining < 1:
            raise KernelError(f"the hidden tests ran out of the cell's {self._cell_timeout} s")
        starts = self._requests.serving is None or self._requests.serving.done()
        if starts:  # a new cell for the loop: its timeout is what is left of the test cell's
            self._request_cell, self._request_timeout = self.nb.cells[self._requests.index], self.timeout
            self.timeout = max(1, int(remaining))
            self._request_running = True
            self._outputs.start_request()
        try:
            return self._in_request_cell(self._requests.send, request)
        finally:
            if starts:
                self.timeout = self._request_timeout

    def _end_requests(self):
        """End the test cell's loop of requests (KernelBroken as _send_request)."""
        self._in_request_cell(self._requests.end)

    def _in_request_cell(self, step, *args):
        """``step(*args)`` of the loop's cell; nbclient's failures of it as _execute's; the notebook's
        cell put back once the loop's cell has ended."""
        try:
            return step(*args)
        except KernelError:
            raise
        except DeadKernelError:
            self._requests.abandon()  # the kernel is restarted: its loop's cell goes with it
            raise KernelBroken("died") from None
        except Exception as error:  # noqa: BLE001 (with allow_errors, nbclient raises only when the kernel fails)
            self._requests.abandon()
            raise KernelBroken(f"stopped answering properly ({type(error).__name__}: {error})") from None
        finally:
            if self._request_running and (self._requests.serving is None or self._requests.serving.done()):
                self._request_running = False
                self.nb.cells[self._requests.index] = self._request_cell  # nbclient put the loop's cell there

    def _restart_and_replay(self, index):
        """Restart the kernel and run the code cells before ``index`` again (without their hidden
        tests, and not those that ran out of memory or time: they would again), discarding their output."""
        while self._restarts <= self.max_restarts:
            self._restarts += 1
            self.log.warning("Kernel died at cell %d; restarting (%d)", index, self._restarts)
            run_sync(self.km.restart_kernel)(now=True)
            self._end_kernel_users()
            self._launchers.append(self.km.provisioner.pid)
            self.kc.stop_channels()
            self.kc = self.km.client()
            self.kc.start_channels()
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
            try:
                for i, earlier in enumerate(self.nb.cells[:index]):
                    if earlier.cell_type == "code" and not _ran_out(earlier):
                        replay = copy.deepcopy(earlier)
                        replay.source = split(earlier.source)[0]
                        self._execute(replay, i, store_history=False)
                        self.nb.cells[i] = earlier  # nbclient puts the cell it ran into the notebook
                return
            except KernelBroken:
                continue


def _ran_out(cell):
    return any(o.output_type == "error" and o.ename in RAN_OUT for o in cell.outputs)
