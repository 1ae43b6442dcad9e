"""nbgrader preprocessors that make autograding robust, used in place of or beside nbgrader's own.

ResilientExecute
    nbgrader's Execute, extended: a kernel that dies (os._exit, segfault, resource limit) costs the
    submission only the cell that killed it -- the kernel is restarted, the cells above are run
    again to rebuild the state, and grading goes on -- instead of failing the whole submission. A
    time budget per submission shortens the last cells' timeouts and marks cells it cannot reach.
    The kernel runs in a scratch copy of the submission's folder (in a sandbox, see
    kernel_launcher.py), and test cells' hidden tests run in this process (autograder.grading.hidden_tests).
    It records the grader's verdict on every test cell (the cell's cases, public and hidden, run
    here: autograder.grading.hidden_tests.run_graded) and what the kernel did that a grader should look at.
SaveVerdicts
    nbgrader's SaveAutoGrades, scoring test cells from the grader's verdict only (a share of the points
    per case passed): nbgrader's own rule reads the cell's outputs, which the kernel writes (a
    displayed "ok" is full marks there).
SanitizeSubmission
    everything the submission shows made inert before formgrader or feedback renders it
    (autograder.grading.sanitize): HTML and SVG cleaned, JavaScript and widgets dropped, the student's
    markdown rendered and cleaned.
StderrAsNote
    nbgrader gives a test cell 0 points when anything reached stderr; a harmless warning from
    correct student code must not cost points, so stderr of grade cells is kept as a note on stdout.
CleanMetadata
    lets nbgrader restore missing cells in a notebook that also has duplicated ones.
RestoreCells
    nbgrader's OverwriteCells, first putting back the nbgrader metadata a student edited (flags,
    points) from the gradebook, and making cells with unknown grade ids ordinary cells: stock
    nbgrader stops with "Inconsistent checksums" and the student gets nothing.
ShortTracebacks
    for feedback: errors of test cells keep their message, not the traceback that quotes test code.
GetGradesForFeedback
    nbgrader's GetGrades, also marking the parts still to be graded by hand, which the feedback
    template (autograder/grading/templates/hw2_feedback) shows as "graded by hand later", not as 0 points.
"""
import asyncio
import copy
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import zmq
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from nbgrader.api import MissingEntry
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import Execute, GetGrades, NbGraderPreprocessor, OverwriteCells, SaveAutoGrades
from nbgrader.utils import is_grade
from traitlets import Bool, Integer, Unicode

from autograder.grading import hidden_tests, sanitize
from autograder.sandbox import kernel_launcher

KERNEL_DIED = "KernelDied"
TIME_BUDGET = "SubmissionTimeout"
RAN_OUT = {"MemoryError", "CellTimeoutError", KERNEL_DIED, TIME_BUDGET}
VERDICTS = "hw2_verdicts"  # resources key: {grade_id: CellVerdict}, from ResilientExecute to SaveVerdicts
CASES_FAILED = "CasesFailed"  # the error output that lists a test cell's cases when some failed
REVIEW = "hw2_review"  # resources key: what the kernel did that a person should look at
MB = 1024 * 1024
NBGRADER_KEYS = set(MetadataValidator().schema["properties"])  # what nbgrader's cell metadata may hold
# Everything a kernel sends is bounded in bytes: zmq drops a larger message before it is parsed
# (and the grader goes on without it), and what a cell or a whole submission keeps as output is
# capped (text and images alike), with a visible note where it was cut.
MAX_MESSAGE_BYTES = 48 * MB
MAX_CELL_OUTPUT_BYTES = 2 * MB
MAX_SUBMISSION_OUTPUT_BYTES = 8 * MB
TRUNCATED = "[output truncated: {what} went over {limit} MB of output; the rest was dropped]"


class KernelBroken(BaseException):
    """The kernel died or its messages stopped making sense: restart it. (No Exception: a test case that
    records failures must not record this one.)"""


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
        self._verdicts, self._review = {}, []
        self._output_bytes, self._truncated = {}, set()
        self._request_running = False
        # hidden cases drawn for this submission: seeded from it, so that regrading draws the same
        seed = int(hashlib.sha256(nbformat.writes(nb).encode()).hexdigest()[:16], 16)
        self._cases = hidden_tests.HiddenCases(self.hidden_reference, seed)
        original = resources
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
            nb, _ = super().preprocess(nb, resources, km)
            return nb, dict(original, **{VERDICTS: self._verdicts, REVIEW: self._review})
        finally:
            if self.ipc_tmpfs_mb and os.path.ismount(scratch / "ipc"):
                kernel_launcher.umount(scratch / "ipc")
            shutil.rmtree(scratch, ignore_errors=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.ipc:
            km.transport, km.ip = "ipc", str(self._scratch / "ipc" / "kernel")
        km.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)  # for every socket the client makes
        return km

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output, bounded: a cell keeps at most MAX_CELL_OUTPUT_BYTES, a submission at most
        MAX_SUBMISSION_OUTPUT_BYTES (a request of the grader's, its reply aside, counts as a cell)."""
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and self._request_running and hidden_tests.REPLY_MIME in out.get("data", {}):
            # the one answer a request expects: kept only while it could be one (its size is bounded)
            answers = sum(hidden_tests.REPLY_MIME in o.get("data", {}) for o in outs)
            if answers == 1 and len(out.data[hidden_tests.REPLY_MIME]) <= hidden_tests.MAX_REPLY_JSON:
                return out
            out.data = {hidden_tests.REPLY_MIME: hidden_tests.DROPPED_REPLY}
            if answers > 2:
                outs.pop()
            return None
        if out is None:
            return out
        key = "request" if self._request_running else cell_index
        size = _output_size(out)
        cell_room = MAX_CELL_OUTPUT_BYTES - self._output_bytes.get(key, 0)
        total_room = MAX_SUBMISSION_OUTPUT_BYTES - self._output_bytes.get("all", 0)
        room = max(0, min(cell_room, total_room))
        if out.output_type == "error":  # kept (an error decides a verdict), shortened; a few per cell
            if sum(o.output_type == "error" for o in outs) > 3:
                outs.pop()
                return None
            out.evalue = out.get("evalue", "")[:2000]
            out.traceback = [line[:2000] for line in out.get("traceback", [])[-10:]]
            return out
        kept = size if size <= room else room if out.output_type == "stream" else 0
        self._output_bytes[key] = self._output_bytes.get(key, 0) + kept
        self._output_bytes["all"] = self._output_bytes.get("all", 0) + kept
        if size <= room:
            return out
        if outs and outs[-1] is out:
            outs.pop()
        if kept:
            outs.append(new_output("stream", name=out.name, text=out.text[:kept]))
        if key not in self._truncated:
            self._truncated.add(key)
            what, limit = (("this cell", MAX_CELL_OUTPUT_BYTES) if cell_room <= total_room
                           else ("the submission", MAX_SUBMISSION_OUTPUT_BYTES))
            outs.append(new_output("stream", name="stdout",
                                   text="\n" + TRUNCATED.format(what=what, limit=limit // MB) + "\n"))
        return None

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        """nbclient's, and while a request of the grader's runs, the kernel may call the grader's
        functions it was handed: their calls arrive as input requests on the stdin channel."""
        if not self._request_running:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        self.kc.allow_stdin = True
        serving = asyncio.ensure_future(self._answer_questions())
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            serving.cancel()
            self.kc.allow_stdin = False

    execute_cell = run_sync(async_execute_cell)

    async def _answer_questions(self):
        while True:
            message = await self.kc.stdin_channel.get_msg()
            if message.get("msg_type") == "input_request":
                self.kc.input(self._kernel.answer(message.get("content", {}).get("prompt")))

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
        public, _ = hidden_tests.split(source) if is_grade(cell) else (source, "")
        verdict = hidden_tests.CellVerdict(stopped="the cell did not run")
        try:
            cell.source = public  # the kernel never sees the hidden tests
            self._execute(cell, index)
            cell.source = source
            self._note_behaviour(cell, index)
            if is_grade(cell) and cell.metadata.nbgrader.get("points"):
                verdict = self._run_graded(cell, source, index)
        except KernelBroken as broken:
            cell.outputs.append(error_output(
                KERNEL_DIED, f"the kernel {broken} while running this cell (it exited, crashed or went over a "
                             "resource limit); grading went on in a new kernel after running the cells above again"))
            self._restart_and_replay(index)
        finally:
            cell.source = source
        if is_grade(cell) and cell.cell_type == "code":
            # the grader's verdict: what the kernel printed or displayed never decides it
            self._verdicts[cell.metadata.nbgrader["grade_id"]] = verdict
        return cell, resources

    def _note_behaviour(self, cell, index):
        """Record for review what the kernel did that honest code never does; drop forged grader replies."""
        label = f"cell {index + 1}" + (f" ({cell.metadata.nbgrader['grade_id']})" if is_grade(cell) else "")
        if is_grade(cell) and any(o.output_type == "execute_result" for o in cell.outputs):
            self._review.append(f"{label}: a result was displayed in a test cell (student code called the "
                                "display hook, which stock nbgrader reads as a score)")
        forged = [o for o in cell.outputs if hidden_tests.REPLY_MIME in o.get("data", {})]
        if forged:
            self._review.append(f"{label}: student code called the grader's request handler in the kernel")
            cell.outputs = [o for o in cell.outputs if o not in forged]

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
        self._hidden_cell_index = index
        self._hidden_cell_deadline = time.monotonic() + self.timeout
        try:
            verdict = hidden_tests.run_graded(source, self._kernel, self._cases,
                                              cell.metadata.nbgrader.get("grade_id", index))
        finally:
            if self._kernel.protocol_errors:
                self._review.append(f"cell {index + 1}: the kernel's answers to the grader broke the protocol "
                                    f"({self._kernel.protocol_errors[0]})")
            self._kernel.release()  # what this cell's calls left behind
        summary = verdict.summary(float(cell.metadata.nbgrader["points"]))
        if verdict.fraction < 1:
            cell.outputs.append(error_output(CASES_FAILED, summary))
        else:
            cell.outputs.append(new_output("stream", name="stdout", text=summary + "\n"))
        return verdict

    def _run_for_hidden_tests(self, code):
        """Run ``code`` in the kernel within what is left of the cell's time; return its outputs."""
        remaining = self._hidden_cell_deadline - time.monotonic()
        if remaining < 1:
            raise hidden_tests.KernelError(f"the hidden tests ran out of the cell's {self._cell_timeout} s")
        self.timeout, timeout = max(1, int(remaining)), self.timeout
        cell = self.nb.cells[self._hidden_cell_index]
        self._request_running = True
        self._output_bytes.pop("request", None)
        self._truncated.discard("request")
        try:
            request = new_code_cell(code)
            self._execute(request, self._hidden_cell_index, store_history=False)
            return request.outputs
        finally:
            self._request_running = False
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


def _output_size(output):
    """Characters of an output: its text, data (images as base64), or error message and traceback."""
    if output.output_type == "stream":
        return len(output.text)
    if output.output_type == "error":
        return len(output.get("evalue", "")) + sum(map(len, output.get("traceback", [])))
    return sum(len(value) if isinstance(value, str) else len(json.dumps(value))
               for value in output.get("data", {}).values()) + len(json.dumps(output.get("metadata", {})))


def _ran_out(cell):
    return any(o.output_type == "error" and o.ename in RAN_OUT for o in cell.outputs)


class SaveVerdicts(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, but a test cell's score is the grader's verdict (ResilientExecute): its
    points times the share of its cases that passed, to 0.01 of a point. Written answers keep nbgrader's
    rule (0 when left unchanged, otherwise graded by hand). Also writes the verdicts and the review notes
    to ``report_file``."""
    report_file = Unicode("", help="Where to write the verdicts and the review notes as JSON "
                                   "(read by autograder.grading.core)").tag(config=True)
    missing_file = Unicode("", help="RestoreCells' parts not in the submission: written answers and tasks "
                                    "among them score 0, not waiting for a hand grade").tag(config=True)

    def preprocess(self, nb, resources):
        self._verdict = resources.get(VERDICTS, {})
        missing = Path(self.missing_file)
        self._missing = json.loads(missing.read_text()) if self.missing_file and missing.exists() else {}
        if self.report_file:
            report = {VERDICTS: {grade_id: dataclasses.asdict(verdict) for grade_id, verdict in self._verdict.items()},
                      REVIEW: list(dict.fromkeys(resources.get(REVIEW, [])))}
            Path(self.report_file).write_text(json.dumps(report, indent=1))
        return super().preprocess(nb, resources)

    def _add_score(self, cell, resources):
        grade_id = cell.metadata.nbgrader["grade_id"]
        if cell.cell_type != "code" or cell.metadata.nbgrader.get("solution"):
            super()._add_score(cell, resources)
            if grade_id in self._missing:  # an answer or a plot that is not there: nothing to grade by hand
                grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
                grade.auto_score, grade.needs_manual_grade = 0.0, grade.manual_score is not None
                self.gradebook.db.commit()
            return
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
        verdict = self._verdict.get(grade_id)
        grade.auto_score = round(float(cell.metadata.nbgrader["points"]) * verdict.fraction, 2) if verdict else 0.0
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()


class SanitizeSubmission(NbGraderPreprocessor):
    """Outputs of every code cell, and every markdown or raw cell the student wrote (any whose text
    is not one of the released notebook's), made safe to render (autograder.grading.sanitize)."""
    released_notebook = Unicode("", help="The released student notebook: its markdown is the instructor's "
                                         "and stays as it is").tag(config=True)

    def preprocess(self, nb, resources):
        released = nbformat.read(self.released_notebook, as_version=4) if self.released_notebook else None
        self._instructors = {c.source for c in released.cells if c.cell_type != "code"} if released else set()
        # the notebook's own metadata (a title, widget state) goes into pages too: keep only the kernel's
        nb.metadata = nbformat.from_dict({key: nb.metadata[key] for key in ("kernelspec", "language_info")
                                          if key in nb.metadata})
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs, removed = sanitize.clean_outputs(cell.outputs)
            if removed:
                resources.setdefault(REVIEW, []).append(
                    f"cell {index + 1}: its output held {', '.join(removed)} (removed: none of it reached a browser)")
        elif cell.source not in self._instructors:
            text = cell.source if cell.cell_type == "markdown" else f"```\n{cell.source}\n```"
            cell.source, had_script = sanitize.markdown_as_safe_html(text, cell.get("attachments"))
            cell.pop("attachments", None)
            if had_script or cell.cell_type == "raw" and sanitize.has_script(text):
                resources.setdefault(REVIEW, []).append(
                    f"cell {index + 1}: its {cell.cell_type} text held script or event handlers (made inert)")
        return cell, resources


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


class GetGradesForFeedback(GetGrades):
    """GetGrades, and ``hand_grading_pending`` on every written answer or task that waits for a hand
    grade, with ``resources["nbgrader"]["pending_points"]`` their points."""

    def preprocess(self, nb, resources):
        self._pending = 0.0
        nb, resources = super().preprocess(nb, resources)
        resources["nbgrader"]["pending_points"] = self._pending
        return nb, resources

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        nbgrader = cell.metadata.nbgrader
        grade = self.gradebook.find_grade(nbgrader["grade_id"], self.notebook_id, self.assignment_id, self.student_id)
        pending = bool((nbgrader.get("solution") or nbgrader.get("task")) and grade.needs_manual_grade
                       and grade.manual_score is None)
        nbgrader["hand_grading_pending"] = pending
        self._pending += grade.max_score if pending else 0.0


class CleanMetadata(NbGraderPreprocessor):
    """After DeduplicateIds: a duplicated cell keeps nbgrader metadata without a grade id, which
    makes OverwriteCells.add_missing_cells fail (KeyError 'grade_id', nbgrader 0.9.6). Such a cell
    is the student's copy of a graded cell: make it an ordinary cell. Keys nbgrader's metadata schema
    does not have (a ``score`` written in) go too: nbgrader's CheckCellMetadata would refuse the whole
    notebook for them (autograder.grading.review flags them)."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata.nbgrader:
            del cell.metadata["nbgrader"]
        elif "nbgrader" in cell.metadata:
            for key in set(cell.metadata.nbgrader) - NBGRADER_KEYS:
                del cell.metadata.nbgrader[key]
        return cell, resources


class RestoreCells(OverwriteCells):
    """OverwriteCells with the released metadata put back first, and cells the submission lacks
    (it was downloaded before a question was added, or the student deleted them) put back in the
    release's order -- nbgrader's own add_missing_cells stops with a KeyError when a missing test cell
    follows a missing solution cell. The parts that are not in the submission go to ``missing_file``."""
    released_notebook = Unicode("", help="the released student notebook: the order of its cells").tag(config=True)
    missing_file = Unicode("", help="where to write {grade_id: [cells the submission lacks]} for the graded "
                                    "parts that are not in the submission (JSON)").tag(config=True)

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
        if not any(released.values()):  # a grade id nbgrader never released (or a removed question)
            del cell.metadata["nbgrader"]
            return cell, resources
        nbgrader.pop("points", None)
        nbgrader.update(released)
        return super().preprocess_cell(cell, resources, index)

    def add_missing_grade_cells(self, nb, resources):
        """Put back the released cells ``nb`` lacks, each after the cell the release has before it, except
        code the student writes (a function defined in another cell must not be replaced by its stub), and
        note a graded part as not submitted when it, or the student's work just above it, is missing."""
        stored = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source = {cell.name: cell for cell in stored.source_cells}
        points = {cell.name: cell.max_score for cell in [*stored.grade_cells, *stored.task_cells]}
        written = {cell.name for cell in stored.solution_cells}
        tasks = {cell.name for cell in stored.task_cells}
        automatic = {cell.name for cell in stored.grade_cells} - written
        release = nbformat.read(self.released_notebook, as_version=4)
        positions = {cell.metadata.nbgrader["grade_id"]: number for number, cell in enumerate(nb.cells)
                     if "grade_id" in cell.metadata.get("nbgrader", {})}
        after, lacking, missing = 0, [], {}
        for cell in release.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id not in source:
                continue
            if grade_id in positions:
                after = positions[grade_id] + 1
            elif grade_id in written and grade_id not in points and source[grade_id].cell_type == "code":
                lacking.append(grade_id)  # the student's code: its test cell says whether it is defined elsewhere
                continue
            else:
                nb.cells.insert(after, self._restored(source[grade_id], points.get(grade_id), grade_id in written,
                                                      grade_id in tasks))
                positions = {key: number + (number >= after) for key, number in positions.items()}
                positions[grade_id] = after
                after += 1
                if grade_id in points and grade_id not in automatic:
                    lacking.append(grade_id)
            if grade_id in points:
                if lacking:
                    missing[grade_id] = lacking
                lacking = []
        if self.missing_file:
            Path(self.missing_file).write_text(json.dumps(missing, indent=1))
        return nb, resources

    def add_missing_task_cells(self, nb, resources):  # done in add_missing_grade_cells, in the release's order
        return nb, resources

    def _restored(self, source_cell, points, written, task):
        """A cell for ``source_cell`` (the gradebook's), marked as put back by the grader."""
        if points is not None:
            return self.missing_cell_transform(source_cell, points, is_solution=written, is_task=task)
        note = self.missing_cell_notification.format(cell_id=source_cell.name)
        nbgrader = {"grade": False, "grade_id": source_cell.name, "locked": source_cell.locked, "solution": written,
                    "task": False, "checksum": source_cell.checksum, "schema_version": 3}
        if source_cell.cell_type == "code":
            return new_code_cell("# " + note + source_cell.source, metadata={"nbgrader": nbgrader})
        return new_markdown_cell(note + source_cell.source, metadata={"nbgrader": nbgrader})
