"""The grader's calls into a student's kernel (autograder.grading.kernel), against a real IPython kernel.

The whole pipeline is tested in test_grader.py and test_attacks.py; here, the protocol itself: what
comes back is the student's data, large arrays travel through the exchange folder and leave
nothing behind, and a kernel that lies about its files gets an error, not a file of the grader's.
"""
import numpy as np
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading.exchange import INLINE_BYTES, MAX_REPLY_JSON, ExchangeFolder
from autograder.grading.kernel import KERNEL_SIDE_VERSION, NOT_DEFINED, Kernel, KernelError
from autograder.grading.kernel_side import FRAME, OUTSIDE_REQUESTS, REPLY
from autograder.grading.request_loop import RequestLoop
from tests.attacks import FORGED_LOOP


@pytest.fixture(scope="module")
def client():
    notebook_client = NotebookClient(new_notebook(cells=[new_code_cell()]), timeout=60, kernel_name="python3",
                                     allow_errors=True)  # as the grader runs cells (nbgrader's Execute)
    with notebook_client.setup_kernel():
        yield notebook_client


@pytest.fixture
def kernel(client, tmp_path):
    """A Kernel whose exchange folder is ``tmp_path / 'exchange'``, its requests carried by a RequestLoop
    (the loop's cell ended after each test); ``kernel.source(code)`` runs code there."""
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    requests = RequestLoop(client, 0, ExchangeFolder(exchange), lambda question: kernel.answer(question))

    def source(code):
        requests.end()  # a cell runs after the loop's
        cell = new_code_cell(code)
        client.execute_cell(cell, 0, store_history=False)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"the test's own code failed in the kernel: {errors}"

    kernel = Kernel(requests.send, exchange)
    kernel.source = source
    yield kernel
    requests.end()


def test_large_and_small_arrays_round_trip_and_leave_no_file(kernel):
    kernel.source("import numpy as np\ndef scale(x, factor): return [x * factor, x[:2] * factor]")
    big = np.random.default_rng(0).normal(size=(400, 300))  # 960 kB: through the exchange folder
    assert big.nbytes > INLINE_BYTES
    scaled, head = kernel.fetch("scale")(big, 2.0)
    assert scaled.dtype == np.float64 and scaled.shape == (400, 300) and np.array_equal(scaled, big * 2), (
        "Kernel.call: a large array did not come back as the kernel computed it")
    assert np.array_equal(head, big[:2] * 2), "Kernel.call: a small (inline) array came back wrong"
    left = sorted(p.name for p in kernel.exchange.path.iterdir())
    assert not left, f"Kernel.call left files in the exchange folder: {left}"


def test_results_passed_back_are_the_students_own_objects(kernel):
    kernel.source("class Cache:\n    def __init__(self, x): self.x = x\n"
                  "def make(x): return [Cache(x)]\ndef same(caches, x): return caches[0].x is x")
    big = np.ones((300, 300))
    caches = kernel.fetch("make")(big)
    assert type(caches[0]).__name__ == "Cache" and np.array_equal(caches[0].x, big)
    # the kernel gets back its own Cache, holding its own copy of big, not a rebuilt one
    assert kernel.call("same", (caches, caches[0].x), {}) is True


def test_a_student_redefinition_of_the_kernel_side_is_replaced(kernel):
    kernel.source("_hw2_grader_request = None\nanswer = 42")
    assert kernel.fetch("answer") == 42


def test_a_reply_file_that_is_a_link_is_refused(kernel, tmp_path):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.arange(3))
    kernel.source(FORGED_LOOP + f"""
import os
def _linked_reply(request):
    os.symlink({str(secret)!r}, os.path.join(request["exchange"], "r99-0.npy"))
    return {{"handle": request["handle"], "callable": False, "value": {{"t": "a", "file": "r99-0.npy"}},
            "files": ["r99-0.npy"]}}
def _hw2_grader_request(path, token):
    _forged_loop(path, token, _linked_reply)
_hw2_grader_request.version = {KERNEL_SIDE_VERSION!r}
""")
    try:
        with pytest.raises(KernelError, match="malformed"):
            kernel.fetch("anything")
    finally:
        kernel.source("del _hw2_grader_request")


@pytest.mark.parametrize("name", ["../secret.npy", "r1-0.npy/../../x", "q1-0.npy"])
def test_reply_files_must_be_the_kernels_plain_names(kernel, name):
    with pytest.raises(ValueError, match="bad name"):
        kernel.exchange.read_reply_file(name)


def test_the_grader_never_writes_through_a_planted_link(kernel, tmp_path):
    victim = tmp_path / "gradebook.db"
    victim.write_bytes(b"precious")
    for request in range(1, 30):
        (kernel.exchange.path / f"q{request}-0.npy").symlink_to(victim)
    kernel.source("def first(x): return x[0, 0]")
    function = kernel.fetch("first")
    with pytest.raises(FileExistsError):
        function(np.zeros((300, 300)))
    assert victim.read_bytes() == b"precious", "Kernel wrote a request through a link the kernel planted"


def _graded(grade_id, public, hidden):
    return new_code_cell(f"{public}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS\n",
                         metadata={"nbgrader": {"grade": True, "grade_id": grade_id, "points": 1, "solution": False,
                                                "locked": True, "schema_version": 3}})


def _cases(function, *cases):
    """Test-cell code: a Cases of ``function`` with one case per (description, code)."""
    return f"cases = Cases({function!r})\n" + "".join(
        f"with cases.case({description!r}):\n" + "".join(f"    {line}\n" for line in code.splitlines())
        for description, code in cases)


def test_the_graders_verdict_is_the_share_of_cases_passed(tmp_path):
    """The grader runs every case of a test cell, public and hidden, itself: a cell earns the share of its
    cases that passed; what the kernel displays decides nothing; a cell that stops outside a case earns
    nothing; a grader's function called from student code runs in the grader (its source and its errors
    never reach the kernel); an error of student code is explained with the inputs and the student's line."""
    from autograder.grading.core import run_as_grader

    notebook = new_notebook(cells=[
        new_code_cell("import inspect\nimport numpy as np\n\ndef double(x):\n    return 2 * x\n\n"
                      "def apply(f, x):\n    return f(x)\n\n"
                      "def describe(f):\n    try:\n        return inspect.getsource(f)\n    except (OSError, TypeError):\n"
                      "        return repr(f)\n\n"
                      "def shout():\n    import sys\n    sys.displayhook('ok')\n    raise NotImplementedError()\n\n"
                      "def second_row(x):\n    return x[1] + 1"),
        _graded("passes", _cases("double", ("1", "check_number('double', 'double(1)', double(1), 2, 2)")),
                _cases("double", ("2", "check_number('double', 'double(2)', double(2), 4, 4)"))),
        _graded("displays_ok", "shout()", "check_number('double', 'double(2)', double(2), 4, 4)"),
        _graded("half", _cases("double", ("1", "check_number('double', 'double(1)', double(1), 2, 2)")),
                _cases("double", ("3", "check_number('double', 'double(3)', double(3), 7, 7)"))),
        _graded("calls_back", "pass", _cases("apply", (
            "triple", "calls = []\ndef triple(x):\n    calls.append(x)\n    return 3 * x\n"
                      "check_number('apply', 'apply(triple, 2.0)', apply(triple, 2.0), 6, 6)\nassert calls == [2.0]"))),
        _graded("source_hidden", "pass", _cases("describe", (
            "secret", "def secret(x):\n    return x\nseen = describe(secret)\n"
                      "assert 'secret' not in seen and 'grader_function' in seen, seen"))),
        _graded("errors_hidden", "pass", _cases("apply", (
            "secret", "def secret(x):\n    return x.reshape(7)\n"
                      "try:\n    apply(secret, 'not an array')\nexcept Exception as error:\n"
                      "    assert 'reshape' not in str(error) and 'could not take these arguments' in str(error), error\n"
                      "else:\n    raise AssertionError('the call should fail')"))),
        _graded("explained", "pass", _cases("second_row", (
            "a (1, 3) matrix", "x = np.zeros((1, 3))\nwith calling('second_row', dict(x=x)):\n    second_row(x)")))])
    executed, verdicts, review = run_as_grader(notebook, tmp_path, cell_timeout=60)
    assert {grade_id: verdict.fraction for grade_id, verdict in verdicts.items()} == {
        "passes": 1.0, "displays_ok": 0.0, "half": 0.5, "calls_back": 1.0, "source_hidden": 1.0,
        "errors_hidden": 1.0, "explained": 0.0}, {grade_id: verdict.summary(1) for grade_id, verdict in verdicts.items()}
    assert "NotImplementedError" in verdicts["displays_ok"].stopped
    assert any("displayed in a test cell" in reason for reason in review), review
    [(part, description, failure, _)] = verdicts["explained"].cases
    assert (part, description) == ("hidden", "a (1, 3) matrix")
    for expected in ["second_row raised IndexError: index 1 is out of bounds", "for x: float64 array of shape (1, 3)",
                     "in your code: second_row, line", "return x[1] + 1", "Likely cause: "]:
        assert expected in failure, failure
    half = [o for o in executed.cells[3].outputs if o.output_type == "error"][-1]
    assert half.ename == "CasesFailed" and "1 of 2 cases passed, 0.5 of 1 points" in half.evalue, half
    assert "passed  public: 1" in half.evalue and "FAILED  hidden: 3" in half.evalue, half.evalue


def test_cells_past_the_submission_time_are_not_run_and_say_why(tmp_path):
    """A submission has ``submission_timeout`` seconds for all its cells: the cell running when they are
    up is stopped, and each later cell gets an error saying it was not run and why."""
    from autograder.grading.core import run_as_grader

    notebook = new_notebook(cells=[new_code_cell("import time\ntime.sleep(30)"), new_code_cell("print('reached')")])
    executed, _, _ = run_as_grader(notebook, tmp_path, cell_timeout=60, submission_timeout=4)
    assert "CellTimeoutError" in [o.ename for o in executed.cells[0].outputs if o.output_type == "error"], \
        executed.cells[0].outputs
    [output] = executed.cells[1].outputs
    assert (output.ename, output.evalue) == ("SubmissionTimeout", "not run: the submission used up its 4 s"), output


def test_replies_are_bounded_before_they_are_parsed(kernel):
    kernel.source("def huge():\n    return [[] for _ in range(3_000_000)]")
    with pytest.raises(KernelError, match="more than"):
        kernel.fetch("huge")()
    assert kernel.protocol_errors, "a reply over the bounds should be recorded for review"


def test_student_code_that_ends_the_loop_of_requests_costs_that_request_only(kernel):
    kernel.source("def interrupts():\n    raise KeyboardInterrupt('stopped by the student')\ndef one():\n    return 1")
    with pytest.raises(KernelError, match="KeyboardInterrupt: stopped by the student"):
        kernel.fetch("interrupts")()
    assert kernel.fetch("one")() == 1, "the request after a loop that ended should run in a new loop"


def test_the_request_handler_called_outside_the_graders_requests_says_so(client, kernel):
    kernel.source("defined = 1")
    assert kernel.fetch("defined") == 1  # the kernel side is defined
    kernel.source("pass")
    cell = new_code_cell("_hw2_grader_request()")
    client.execute_cell(cell, 0, store_history=False)
    assert [o.evalue for o in cell.outputs if o.output_type == "error"] == [OUTSIDE_REQUESTS], cell.outputs


FLOOD = f"""
import gc, socket, struct
def loop_connection():
    # the kernel side's Channel of the loop that runs (those of ended loops are closed): student code can find it
    return next(o.connection for o in gc.get_objects() if type(o).__name__ == "Channel" and o.connection.fileno() >= 0)
def floods(size):
    connection = loop_connection()
    for _ in range(5):
        connection.sendall(struct.pack({FRAME.format!r}, {REPLY!r}, size) + b"[" * size)
    return 1
def one():
    return 1
"""


# A thread of student code that connects to each new socket of the grader's in ``folder`` as soon as it appears
# (before the loop, or after), says ``first_message`` (bytes) on it and keeps it open, for ``seconds``.
WATCHER = """
import os, socket, threading, time
def connect_to_each_loop(folder, first_message, seconds):
    def watch():
        seen, kept, end = set(), [], time.monotonic() + seconds
        while time.monotonic() < end:
            for name in set(os.listdir(folder)) - seen:
                if name.startswith("grader-"):
                    seen.add(name)
                    try:
                        other = socket.socket(socket.AF_UNIX)
                        other.connect(os.path.join(folder, name))
                        other.sendall(first_message)
                        kept.append(other)
                    except OSError:
                        pass
            time.sleep(0.001)
    threading.Thread(target=watch, daemon=True).start()
"""


@pytest.mark.parametrize("size", [1, MAX_REPLY_JSON + 1])
def test_answers_student_code_forges_cost_only_the_requests_of_that_test_cell(kernel, size):
    kernel.source(FLOOD)
    with pytest.raises(KernelError, match="more than" if size > MAX_REPLY_JSON else "malformed"):
        kernel.fetch("floods")(size)
    assert kernel.protocol_errors, "a forged answer should be recorded for review"
    kernel.source("pass")  # the next test cell: the loop's cell has ended, whatever floods still sent
    assert kernel.fetch("one")() == 1, "forged answers of an earlier test cell were read as this one's"


def test_a_connection_without_the_token_is_not_the_loops(kernel):
    kernel.source(FLOOD + WATCHER)
    kernel.source(f"connect_to_each_loop({str(kernel.exchange.path)!r}, struct.pack('>cI', b'H', 5) + b'wrong', 10)")
    for _ in range(20):
        kernel.source("pass")  # a new loop, with a new socket, for each
        assert kernel.fetch("one")() == 1, "a connection without the loop's token was taken for the loop"


def test_a_flood_of_questions_that_are_no_calls_costs_its_request_and_keeps_little(kernel):
    kernel.source(FLOOD + f"""
def asks(count, size):
    connection = loop_connection()
    question = ('{{"callback": "' + "x" * size + '"}}').encode()
    for _ in range(count):
        connection.sendall(struct.pack({FRAME.format!r}, b"Q", len(question)) + question)
        _, length = struct.unpack({FRAME.format!r}, connection.recv({FRAME.size}, socket.MSG_WAITALL))
        connection.recv(length, socket.MSG_WAITALL)
    return 1
""")
    with pytest.raises(KernelError, match="more than 100 questions"):
        kernel.fetch("asks")(150, 1_000_000)
    assert 1 <= len(kernel.protocol_errors) <= 5 and kernel.breaches > 100, (
        f"Kernel should keep a few breaches and count the rest: {len(kernel.protocol_errors)}, {kernel.breaches}")
    assert all(len(note) <= 303 for note in kernel.protocol_errors), "a breach's note should be cut short"
    kernel.source("pass")
    assert kernel.fetch("one")() == 1, "the flood of an earlier test cell reached this one"


def test_a_kernel_that_removes_the_loops_socket_keeps_its_requests(kernel):
    kernel.source("""
import os, socket
_connect = socket.socket.connect
def _connect_and_remove(self, address):
    _connect(self, address)
    if isinstance(address, str) and "grader-" in address:
        os.unlink(address)
socket.socket.connect = _connect_and_remove
def one():
    return 1
""")
    try:
        assert kernel.fetch("one")() == 1
    finally:
        kernel.source("socket.socket.connect = _connect")


def test_a_handler_that_says_it_is_not_defined_is_named(kernel):
    kernel.source("defined = 1")
    assert kernel.fetch("defined") == 1  # the grader's handler is defined: its version is known
    kernel.source(f"""
_saved = _hw2_grader_request
def _hw2_grader_request(*_):
    raise NameError({NOT_DEFINED!r})
_hw2_grader_request.version = _saved.version
""")
    try:
        with pytest.raises(KernelError, match="in the place of the grader's request handler"):
            kernel.fetch("defined")
    finally:
        kernel.source("_hw2_grader_request = _saved")


def test_student_threads_may_call_the_graders_functions_at_once(kernel):
    kernel.source("""
from concurrent.futures import ThreadPoolExecutor
def in_threads(f, count):
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(f, range(count)))
""")
    assert kernel.fetch("in_threads")(lambda x: 3 * x + 1, 40) == [3 * x + 1 for x in range(40)]


def test_connections_that_say_nothing_do_not_hold_up_the_loop(kernel):
    kernel.source(FLOOD + WATCHER)
    kernel.source(f"connect_to_each_loop({str(kernel.exchange.path)!r}, b'', 10)")
    for _ in range(10):
        kernel.source("pass")
        assert kernel.fetch("one")() == 1, "a silent connection was taken for the loop's"
