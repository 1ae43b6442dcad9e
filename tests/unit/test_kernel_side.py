"""The protocol between the grader and the student's kernel (autograder.grading.kernel, exchange and kernel_side),
without a kernel: the program the grader sends runs here, in a namespace that stands for the student's,
and its replies reach a real ``Kernel`` as the JSON text its loop sends. What the
student's code returns comes back as the same data (arrays inline and through the exchange folder,
numbers, strings, containers, the student's own objects by handle); what the kernel side would
never send is refused; a name the notebook lacks is a NameError; an error of student code comes
with the student's own lines only. (test_hidden_tests.py runs the same protocol in a real kernel.)
"""
import ast
import json
import os
import socket
import stat
import sys
import warnings

import numpy as np
import pytest

from autograder.grading import exchange, kernel_side
from autograder.grading.exchange import INLINE_BYTES
from autograder.grading.hidden_tests import StudentNamespace
from autograder.grading.kernel import KERNEL_SIDE, KERNEL_SIDE_FILENAME, Kernel, KernelError, KernelObject, StudentError

STUDENT_CODE = '''
import warnings
from collections import namedtuple

import numpy as np

Pair = namedtuple("Pair", ["first", "second"])


class Cache:
    def __init__(self, x):
        self.x = x


class BadInput(Exception):
    pass


def identity(value):
    return value


def pair(first, second):
    return Pair(first, second)


def scale(x, factor):
    return [x * factor, x[:2] * factor]


def make(x):
    return [Cache(x)]


def same(caches, x):
    return caches[0].x is x


def double_in_place(x):
    x *= 2


def nested(depth):
    value = 0
    for _ in range(depth):
        value = [value]
    return value


def noisy(x):
    print("printed by the student")
    warnings.warn("a note of the student's", RuntimeWarning)
    return x


def second_row(x):
    return reshaped(x)[1]


def reshaped(x):
    return np.reshape(x, 7)


def refuses(x):
    raise BadInput("not this one")


def apply(f, x):
    return f(x)


def describe(f):
    return repr(f)
'''


def line_of(source_line):
    """The line number of ``source_line`` (stripped) in STUDENT_CODE."""
    return [line.strip() for line in STUDENT_CODE.splitlines()].index(source_line) + 1


class StudentKernel:
    """The kernel side as the grader sends it (KERNEL_SIDE), in this process: ``send(request)`` answers a
    request (JSON text) in ``user`` (the student's namespace) as its loop does, and returns the reply
    (JSON text); questions the kernel side asks go to ``grader.answer``. (The loop itself, over its socket
    in a real kernel, is tested in tests/integration/test_hidden_tests.py.)"""

    def __init__(self, user, monkeypatch):
        self.user, self.grader = user, None
        monkeypatch.setitem(sys.modules, "hw2_checks", None)  # the kernel side must not import the kernel's
        self.side = {"__name__": "hw2_grader_kernel_side"}
        exec(compile(KERNEL_SIDE, KERNEL_SIDE_FILENAME, "exec"), self.side)

    def send(self, request):
        return json.dumps(self.side["answer"](json.loads(request), self.user, lambda question:
                                              self.grader.answer(question)))


@pytest.fixture
def student(tmp_path):
    """The student's namespace, with STUDENT_CODE run from a file of its own (as a notebook cell is)."""
    cell = tmp_path / "cell.py"
    cell.write_text(STUDENT_CODE)
    user = {"__name__": "__main__"}
    exec(compile(STUDENT_CODE, str(cell), "exec"), user)
    return user


@pytest.fixture
def kernel(student, tmp_path, monkeypatch):
    """A Kernel talking to ``student`` through the kernel side, its exchange folder in ``tmp_path``."""
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    student_kernel = StudentKernel(student, monkeypatch)
    student_kernel.grader = Kernel(student_kernel.send, exchange)
    return student_kernel.grader


def test_arrays_round_trip_with_their_dtype_and_shape_inline_and_through_the_exchange_folder(kernel):
    big = np.random.default_rng(0).normal(size=(400, 300))  # 960 kB: through the exchange folder
    assert big.nbytes > INLINE_BYTES
    scaled, head = kernel.fetch("scale")(big, 2.0)
    assert scaled.dtype == np.float64 and scaled.shape == (400, 300) and np.array_equal(scaled, big * 2)
    assert head.dtype == np.float64 and head.shape == (2, 300) and np.array_equal(head, big[:2] * 2)
    for array in [np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((3, 1), np.float32), np.zeros((0, 4)),
                  np.array([True, False]), np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.array(2.5),
                  np.arange(3, dtype=">i8"), np.array([1 + 2j]), np.array(["text"]), np.array(["2026-12-03"], "M8[D]")]:
        back = kernel.fetch("identity")(array)
        assert back.dtype == array.dtype and back.shape == array.shape and np.array_equal(back, array), array
        assert back.flags.writeable, f"the grader's copy of {array!r} should be its own, writable"
    left = sorted(path.name for path in kernel.exchange.path.iterdir())
    assert not left, f"the exchange folder should be left empty, not hold {left}"


def test_numbers_strings_and_containers_round_trip_as_their_types(kernel):
    value = {"list": [1, 2.5, "text", None, True], "tuple": (np.float32(0.5), np.int64(3)), 7: {"inner": []}}
    back = kernel.fetch("identity")(value)
    assert back == value
    assert [type(v) for v in back["list"]] == [int, float, str, type(None), bool]
    assert type(back["tuple"]) is tuple and [type(v) for v in back["tuple"]] == [np.float32, np.int64]
    fields = kernel.fetch("pair")(1, 2)
    assert fields == (1, 2) and type(fields) is tuple, "a namedtuple comes back as a tuple of its fields"


def test_a_students_object_comes_back_as_its_attributes_and_goes_back_as_itself(kernel):
    big = np.ones((300, 300))
    caches = kernel.fetch("make")(big)
    assert type(caches[0]).__name__ == "Cache" and isinstance(caches[0], KernelObject)
    assert np.array_equal(caches[0].x, big)
    # the kernel gets back its own Cache, holding its own copy of big, not a rebuilt one
    assert kernel.call("same", (caches, caches[0].x), {}) is True


def test_values_of_earlier_cells_are_forgotten_on_both_sides(kernel, student):
    kernel.fetch("make")(np.ones(3))
    kernel.release()
    kernel.fetch("make")(np.ones(3))
    assert min(student[kernel_side.RESULTS]) >= kernel.keep_from, "the kernel keeps an earlier cell's results"
    assert all(handle >= kernel.keep_from for _, handle, _ in kernel.values.origins.values()), \
        "the grader keeps an earlier cell's values"


def test_arguments_changed_in_place_are_copied_back(kernel):
    x = np.arange(3.0)
    kernel.fetch("double_in_place")(x)
    assert np.array_equal(x, [0.0, 2.0, 4.0])


def test_what_student_code_prints_is_dropped_and_its_warnings_reach_the_grader(kernel, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert kernel.fetch("noisy")(1) == 1
    assert [(w.category, str(w.message)) for w in caught] == [(RuntimeWarning, "a note of the student's")]
    assert "printed by the student" not in capsys.readouterr().out


def test_a_grader_function_handed_to_student_code_runs_in_the_grader(kernel):
    calls = []

    def secret(x):
        calls.append(x)
        return 3 * x

    assert kernel.fetch("apply")(secret, 2.0) == 6.0 and calls == [2.0]
    assert kernel.fetch("describe")(secret) == "<function grader_function>"
    with pytest.raises(TypeError, match="could not take these arguments"):
        kernel.fetch("apply")(secret, None)


def test_a_name_the_notebook_lacks_is_a_name_error(kernel, student):
    with pytest.raises(NameError, match="name 'nothing' is not defined in the notebook"):
        kernel.fetch("nothing")
    reply = kernel_side.answer({"op": "get", "name": "nothing", "handle": 9, "keep_from": 1}, student, None)
    assert reply == {"handle": 9, "missing": True, "files": []}
    namespace = StudentNamespace({}, kernel)
    with pytest.raises(NameError, match="not defined in the notebook"):
        namespace["nothing"]
    with pytest.raises(KeyError):  # Python then finds the builtin
        namespace["len"]


def test_an_error_of_student_code_carries_the_students_own_lines_only(kernel):
    with pytest.raises(ValueError, match="cannot reshape") as raised:
        kernel.fetch("second_row")(np.zeros((1, 3)))
    # numpy's frames and the kernel side's are not the student's
    assert raised.value.student_frames == [("second_row", line_of("return reshaped(x)[1]"), "return reshaped(x)[1]"),
                                           ("reshaped", line_of("return np.reshape(x, 7)"), "return np.reshape(x, 7)")]
    with pytest.raises(StudentError, match="BadInput: not this one") as raised:
        kernel.fetch("refuses")(1)
    line = 'raise BadInput("not this one")'
    assert raised.value.student_frames == [("refuses", line_of(line), line)]


def test_values_nested_deeper_than_the_kernel_side_sends_come_back_opaque(kernel):
    value = kernel.fetch("nested")(12)
    for _ in range(kernel_side.MAX_DEPTH + 1):  # the outermost list is at depth 0
        value = value[0]
    assert type(value).__name__ == "too deeply nested", value


@pytest.mark.parametrize("reply, refused", [
    (json.dumps({"value": "x" * exchange.MAX_REPLY_JSON}), "more than"),
    (json.dumps({"value": [[]] * (exchange.MAX_REPLY_ITEMS + 1)}), "more than 50000 objects"),
    ("[1, 2]", "not a JSON object"),
], ids=["too long", "too many objects", "not an object"])
def test_replies_over_the_bounds_are_refused_before_they_are_parsed(reply, refused):
    with pytest.raises(ValueError, match=refused):
        exchange.parse_reply(reply)


@pytest.mark.parametrize("description, refused", [
    ({"dtype": "|O", "shape": [1], "raw": "AAAAAAAAAAA="}, "dtype object"),
    ({"dtype": "f8,i4", "shape": [1], "raw": ""}, "dtype"),
    ({"dtype": "<f8", "shape": [2], "raw": "AAAAAAAAAAA="}, r"of shape \(2,\) and 8 bytes"),
    ({"dtype": "<f8", "shape": [-1], "raw": "AAAAAAAAAAA="}, "without a shape"),
    ({"dtype": "<f8", "shape": "1", "raw": "AAAAAAAAAAA="}, "without a shape"),
    ({"dtype": "<f8", "shape": [1] * 40, "raw": "AAAAAAAAAAA="}, "without a shape"),
    ({"dtype": ["<f8"], "shape": [1], "raw": "AAAAAAAAAAA="}, "dtype"),
    ({"dtype": "<f8", "shape": [1], "raw": "not base64!"}, "base64"),
], ids=["object", "structured", "too few bytes", "negative shape", "no list", "too many dimensions", "no string",
        "not base64"])
def test_a_raw_array_the_kernel_side_never_sends_is_refused(description, refused):
    with pytest.raises(ValueError, match=refused):
        exchange.raw_array(description)


def forged(reply):
    """A kernel whose every answer is ``reply`` (a dict; its handle set to the request's)."""
    def send(request):
        return json.dumps({**reply, "handle": json.loads(request)["handle"]})
    return send


@pytest.mark.parametrize("reply, refused", [
    ({"callable": False, "value": json.loads('{"t": "list", "items": [' * 30 + "]}" * 30), "files": []},
     "nested too deeply"),
    ({"callable": False, "value": {"t": "a", "file": "r1-0.npy"}, "files": []}, "a file it did not send"),
    ({"callable": False, "value": {"t": "v", "v": {"a": 1}}, "files": []}, "malformed value dict"),
    ({"callable": False, "value": {"t": "function", "number": 0}, "files": []}, "no function of the grader's"),
    ({"callable": False, "value": {"t": "pickle"}, "files": []}, "unknown kind"),
    ({"callable": False, "value": {"t": "v", "v": 1}, "files": ["../secret.npy"]}, "bad name"),
], ids=["too deep", "a file not sent", "not plain data", "no such function", "unknown kind", "a file elsewhere"])
def test_a_reply_the_kernel_side_never_sends_is_refused_and_recorded(tmp_path, reply, refused):
    kernel = Kernel(forged(reply), tmp_path)
    with pytest.raises(KernelError, match=refused):
        kernel.fetch("anything")
    assert kernel.protocol_errors, "a broken reply should be recorded for review"


def test_reply_files_over_the_bound_are_refused(kernel, monkeypatch):
    monkeypatch.setattr(exchange, "MAX_REPLY_FILE_BYTES", INLINE_BYTES * 2)
    with pytest.raises(KernelError, match="malformed"):
        kernel.fetch("identity")(np.zeros(INLINE_BYTES))  # 8 bytes each: a file of 8 * INLINE_BYTES


def test_the_program_sent_imports_only_the_standard_library_numpy_and_ipython():
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(KERNEL_SIDE))
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(KERNEL_SIDE))
                 if isinstance(node, ast.ImportFrom)}
    assert imported - set(sys.stdlib_module_names) == {"numpy", "IPython"}, imported


def test_the_loops_socket_is_new_each_time_and_the_kernels_user_can_connect(tmp_path):
    folder = exchange.ExchangeFolder(tmp_path)
    (first, first_path), (second, second_path) = folder.listen(), folder.listen()
    with first, second:
        assert first_path != second_path, "ExchangeFolder.listen: each loop's socket needs a name of its own"
        mode = os.stat(first_path, follow_symlinks=False).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o666, f"the socket's mode is {oct(mode)}"
        with socket.socket(socket.AF_UNIX) as kernel_end:
            kernel_end.connect(first_path)
            kernel_end.sendall(b"hello")
            first.setblocking(True)
            connection, _ = first.accept()
            with connection:
                assert connection.recv(5) == b"hello"


def test_the_kernel_side_outside_the_graders_loop_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "hw2_checks", None)
    side = {"__name__": "hw2_grader_kernel_side"}
    exec(compile(KERNEL_SIDE, KERNEL_SIDE_FILENAME, "exec"), side)
    for arguments in [(), ('{"op": "get", "name": "X_batch"}',), ("/nowhere/grader-0", "token")]:
        with pytest.raises(RuntimeError, match=kernel_side.OUTSIDE_REQUESTS):
            side["serve"](*arguments)
