"""The grader's side of the protocol with the student's kernel: calls into it (``Kernel``) that bring
back plain data only, checked and bounded here.

Only data crosses from the kernel -- arrays of numbers as raw bytes with a checked dtype and shape,
other arrays as .npy bytes read with ``allow_pickle=False``, numbers, strings, and containers of them --
so an object with a lying ``__eq__`` or ``__array__`` arrives as what it is, and every comparison
happens here. The kernel sees the inputs, never the expected answers. Large arrays travel as .npy files
in an exchange folder both sides see (the scratch folder of the kernel's sockets, ``ExchangeFolder``),
small ones inline. What answers in the kernel is autograder.grading.kernel_side, whose source is sent
(``KERNEL_SIDE``) and defined there by the first test cell's loop of requests
(autograder.grading.request_loop, which carries the requests over a Unix socket), and again when student
code replaced it.

Objects that come back from a call keep a handle to the original in the kernel: passing them back
(the caches from layer_forward to backward_pass) passes the student's own object. Arrays given to a
call are copied back after it, so the checks see it when student code changed its arguments. An error
of student code comes back with the student's own lines (never the tests').

A function of the tests handed to student code stays here: the kernel gets a stand-in that sends its
arguments back over the loop's socket while the grader's request runs (``Kernel.answer``), so
the tests' code never reaches the kernel. Everything the kernel sends is refused before parsing when it
is larger, holds more objects or is nested deeper than the kernel side ever sends, and the values of a
cell's calls are released after it (``Kernel.release``).
"""
import ast
import base64
import builtins
import hashlib
import inspect
import io
import json
import warnings
from types import SimpleNamespace

import numpy as np

import hw2_checks
from autograder.grading import kernel_side
from autograder.grading.exchange import (
    INLINE_BYTES,
    MAX_REPLY_DEPTH,
    ExchangeFolder,
    parse_reply,
    raw_array,
)
from autograder.grading.kernel_side import MAX_FRAMES, MAX_LINE, MAX_MESSAGE, RAW_KINDS, raw_description


def _kernel_side_program():
    """kernel_side.py as the kernel runs it (source text): its import of hw2_checks replaced by the
    functions it imports, from the instructor's hw2_checks here (the kernel's copy is the student's), and
    without docstrings or comments (every request carries it)."""
    program = ast.parse(inspect.getsource(kernel_side))
    body = []
    for node in program.body:
        if isinstance(node, ast.ImportFrom) and node.module == "hw2_checks":
            body += [ast.parse(inspect.getsource(getattr(hw2_checks, name.name))).body[0] for name in node.names]
        else:
            body.append(node)
    program.body = body
    for node in ast.walk(program):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None:
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(program) + "\n"


KERNEL_SIDE = _kernel_side_program()  # the source text sent to the kernel
KERNEL_SIDE_FILENAME = "<hw2 grader>"  # its frames' file: in <...>, so hw2_checks._student_frames_in skips them
KERNEL_SIDE_VERSION = hashlib.sha256(KERNEL_SIDE.encode()).hexdigest()[:16]
_IS_DEFINED = f'getattr(globals().get("_hw2_grader_request"), "version", None) == {KERNEL_SIDE_VERSION!r}'
# The cell that runs the kernel side's loop of requests (autograder.grading.request_loop) for a test cell
# (``loop_cell``): it raises NameError(NOT_DEFINED) unless the _hw2_grader_request there is of this version.
# Then the loop's cell is the one that defines it in a namespace of its own first (the first test cell, and
# again after a restart or a student's change): the kernel side's source, some kB that IPython transforms
# line by line, crosses once per kernel, not once per test cell.
NOT_DEFINED = "hw2 grader: the kernel side is not defined here"
_CHECK = f"if not {_IS_DEFINED}:\n    raise NameError({NOT_DEFINED!r})\n"
_DEFINE = f"""\
if not {_IS_DEFINED}:
    _hw2_grader_request = {{"__name__": "hw2_grader_kernel_side"}}
    exec(compile({KERNEL_SIDE!r}, {KERNEL_SIDE_FILENAME!r}, "exec"), _hw2_grader_request)
    _hw2_grader_request = _hw2_grader_request["serve"]
    _hw2_grader_request.version = {KERNEL_SIDE_VERSION!r}
"""


def loop_cell(path, token, define):
    """The code (str) of a cell that runs the kernel side's loop, connected to the grader's socket at ``path``
    (str) with ``token`` (str); ``define``: define the kernel side first where it is not (else NameError)."""
    return (_DEFINE if define else _CHECK) + f"_hw2_grader_request({path!r}, {token!r})\n"


MAX_NOTED = 5  # breaches of the protocol a test cell keeps for review (the others are counted)
MAX_NOTE = 300  # characters of each (they quote what the kernel sent)
MAX_BAD_QUESTIONS = 100  # questions no call can be read from, per test cell, before the request is given up


class KernelError(Exception):
    """Calling into the kernel failed (no reply, or a reply that is not what the protocol sends)."""


class ProtocolError(KernelError):
    """A reply that is not what the kernel side sends."""


class StudentError(Exception):
    """Stands for an exception of a type that exists only in the kernel."""


class FunctionProxy:
    """A function of the student's: calling it runs it in the kernel, with the grader's ``parts``
    ({name: function}) in place of the student's functions of those names while it runs."""

    def __init__(self, kernel, name, parts=None):
        self.kernel, self.__name__, self.parts = kernel, name, parts or {}

    def __call__(self, *args, **kwargs):
        return self.kernel.call(self.__name__, args, kwargs, self.parts)

    def with_parts(self, parts):
        """This function, called with the grader's ``parts`` ({name: function}) for the functions it uses."""
        return FunctionProxy(self.kernel, self.__name__, {**self.parts, **parts})

    def __repr__(self):
        return f"<student function {self.__name__}>"


class KernelObject(SimpleNamespace):
    """An object from the kernel that is not plain data: its attributes, copied, where it has any."""


class CellValues:
    """The values of one test cell's requests, both ways: the grader's described for the kernel side (as
    kernel_side's docstring says), and the kernel's descriptions read back, checked, each remembered with
    the request and the place in its result it came from, so that passing it back passes the student's
    own object; the grader's functions handed to the kernel, by number.

    exchange: the ExchangeFolder where arrays over INLINE_BYTES go.
    """

    def __init__(self, exchange):
        self.exchange = exchange
        self.origins = {}  # id(value copied out of the kernel) -> (value, handle, path in the original)
        self.functions = []  # the grader's functions handed to the kernel, by number (GraderFunction)

    def encode(self, value, handle):
        """The description of ``value`` for request ``handle`` (int, naming its files): a value that came
        from the kernel by its handle, a student's function by its name, a function of the grader's by
        its number in ``functions``, else the data itself (TypeError for anything else)."""
        if id(value) in self.origins and self.origins[id(value)][0] is value:
            _, origin, path = self.origins[id(value)]
            return {"t": "ref", "handle": origin, "path": path}
        if isinstance(value, FunctionProxy):
            return {"t": "name", "name": value.__name__}
        if callable(value) and not isinstance(value, (type, np.ndarray)):
            # a function of the grader's (a hidden test's helper): it stays here, the kernel gets a stand-in
            self.functions.append(value)
            return {"t": "function", "number": len(self.functions) - 1, "name": "grader_function"}
        if value is None or type(value) in (bool, int, float, str):
            return {"t": "v", "v": value}
        if isinstance(value, np.ndarray):
            return self._npy(value, "a", handle)
        if isinstance(value, np.generic):
            return self._npy(np.asarray(value), "s", handle)
        if isinstance(value, (list, tuple)):
            return {"t": "list" if isinstance(value, list) else "tuple",
                    "items": [self.encode(v, handle) for v in value]}
        if isinstance(value, dict):
            return {"t": "dict", "items": [[self.encode(k, handle), self.encode(v, handle)] for k, v in value.items()]}
        raise TypeError(f"the grader cannot send a {type(value).__name__} to the kernel")

    def _npy(self, array, kind, handle):
        """An array (kind "a") or a numpy scalar as a 0-d array (kind "s"), inline up to INLINE_BYTES (raw
        bytes where its dtype allows, else .npy bytes), else as a .npy file."""
        if array.nbytes <= INLINE_BYTES and array.dtype.kind in RAW_KINDS:
            return raw_description(array, kind)
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        if buffer.tell() <= INLINE_BYTES:
            return {"t": kind, "npy": base64.b64encode(buffer.getvalue()).decode()}
        return {"t": kind, "file": self.exchange.write_request_file(buffer.getbuffer(), handle)}

    def decode(self, item, files, handle=None, path=()):
        """The value the kernel's ``item`` describes, its arrays read inline or from ``files`` ({name: bytes}
        of the reply's files); ProtocolError when it is not what the kernel side sends. Remembered as part
        ``path`` (a tuple of keys) of the result of request ``handle`` (None: not a result)."""
        if len(path) > MAX_REPLY_DEPTH or not isinstance(item, dict):
            raise ProtocolError("a value nested too deeply, or not described as the protocol does")
        kind = item.get("t")
        if kind == "v":
            value = item["v"]
            if value is not None and type(value) not in (bool, int, float, str):
                raise ProtocolError(f"malformed value {type(value).__name__}")
            return value
        if kind in ("a", "s"):
            if "file" in item and item["file"] not in files:
                raise ProtocolError(f"the kernel's answer names a file it did not send: {item['file']!r}")
            if "raw" in item:
                try:
                    array = raw_array(item)
                except ValueError as error:  # binascii.Error too
                    raise ProtocolError(str(error)) from None
            else:
                data = files[item["file"]] if "file" in item else base64.b64decode(item["npy"])
                array = np.load(io.BytesIO(data), allow_pickle=False)
            value = array if kind == "a" else array[()]
        elif kind in ("list", "tuple"):
            value = [self.decode(v, files, handle, (*path, i)) for i, v in enumerate(item["items"])]
            value = value if kind == "list" else tuple(value)
        elif kind == "dict":
            value = {}
            for key, v in item["items"]:
                key = self.decode(key, files)
                value[key] = self.decode(v, files, handle, (*path, key))
        elif kind == "object":
            value = KernelObject(**{k: self.decode(v, files, handle, (*path, k)) for k, v in item["attrs"].items()})
            value.__class__ = type(item["type"], (KernelObject,), {})
        elif kind == "function":  # one of the grader's functions, handed back
            number = item.get("number")
            if type(number) is not int or not 0 <= number < len(self.functions):
                raise ProtocolError(f"no function of the grader's is number {number!r}")
            return self.functions[number]
        elif kind == "opaque":
            value = KernelObject()
            value.__class__ = type(item["type"], (KernelObject,), {})
        else:
            raise ProtocolError(f"unknown kind of value {kind!r}")
        if handle is not None:
            self.origins[id(value)] = (value, handle, list(path))
        return value


class Kernel:
    """Calls into the student's kernel through ``send(request) -> reply`` (JSON text both: the kernel
    side's loop, autograder.grading.request_loop.RequestLoop.send; KernelError when no reply came), each a
    request answered by the kernel side (autograder.grading.kernel_side).

    exchange: the folder of the large arrays of requests and replies (see ExchangeFolder).
    """

    def __init__(self, send, exchange):
        self.send, self.exchange = send, ExchangeFolder(exchange)
        self.handles = 0
        self.values = CellValues(self.exchange)  # this cell's
        self.keep_from = 1  # the first handle of this cell's requests: the kernel forgets older results
        self.protocol_errors = []  # this cell's first answers that were not what the kernel side sends (review)
        self.breaches = self.bad_questions = 0  # this cell's such answers, and its questions that were no call

    def release(self):
        """Forget the values of earlier calls (after each test cell: a cell's calls never refer to
        another cell's results), so that what a kernel sent does not pile up, here or in the kernel."""
        self.values = CellValues(self.exchange)
        self.keep_from = self.handles + 1
        self.protocol_errors = []
        self.breaches = self.bad_questions = 0

    def fetch(self, name):
        """The student's ``name``: a FunctionProxy for a function, else a copy of the value; NameError
        when the notebook does not define it."""
        reply, files = self._request_for(name, {"op": "get", "name": name})
        if reply.get("missing") is True:
            raise NameError(f"name {name!r} is not defined in the notebook")
        if reply.get("callable"):
            return FunctionProxy(self, name)
        return self._decode(reply["value"], files, reply["handle"])

    def call(self, function, args, kwargs, parts=None):
        """The student's ``function`` called in the kernel; ``parts``: {name: a function of the grader's}
        that stands in for the student's function of that name during the call."""
        handle = self.handles + 1
        reply, files = self._request_for(function, {
            "op": "call", "function": function, "args": self.values.encode(list(args), handle),
            "kwargs": self.values.encode(kwargs, handle),
            "substitutes": {name: self.values.encode(part, handle) for name, part in (parts or {}).items()}})
        _copy_back(list(args), self._decode(reply["args"], files))
        for category, message in reply.get("warnings", []):
            kind = getattr(builtins, category, None)
            warnings.warn(message, kind if isinstance(kind, type) and issubclass(kind, Warning) else UserWarning)
        if "raised" in reply:
            try:
                error = _student_error(reply["raised"])
            except ValueError as malformed:
                raise self._broken(f"the kernel's answer is malformed: {malformed}") from None
            raise error
        return self._decode(reply["value"], files, reply["handle"])

    def answer(self, question):
        """The grader's answer (JSON text) to a question the kernel asked while a request of the
        grader's ran: a call of one of the grader's functions handed to it (GraderFunction). The
        function runs here; only its arguments and result cross, as data."""
        try:
            question = parse_reply(question)
            number = question.get("callback")
            if type(number) is not int or not 0 <= number < len(self.values.functions):
                raise ValueError(f"no function of the grader's is number {number!r}")
            files = self.exchange.read_reply_files(question.get("files"))
            args, kwargs = self._decode(question["args"], files), self._decode(question["kwargs"], files)
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(type(k) is str for k in kwargs):
                raise ValueError("arguments that are not a list and a dict")
        except (ValueError, KeyError, TypeError, OSError, RecursionError, KernelError) as error:
            self._broken(f"the kernel asked the grader something that is not a call of a function the grader "
                         f"gave it ({error})")
            self.bad_questions += 1
            if self.bad_questions > MAX_BAD_QUESTIONS:
                raise ProtocolError(f"the kernel asked the grader more than {MAX_BAD_QUESTIONS} questions that are "
                                    "not calls of its functions") from None
            return json.dumps({"raised": ["RuntimeError", "the grader could not read this call"]})
        try:
            return json.dumps({"value": self.values.encode(self.values.functions[number](*args, **kwargs),
                                                           self.handles + 1)})
        except hw2_checks.CheckFailed as failed:  # a message written for the student
            return json.dumps({"raised": ["CheckFailed", str(failed)[:MAX_MESSAGE]]})
        except Exception as error:  # noqa: BLE001 (called wrongly: the student sees that, not the function's insides)
            return json.dumps({"raised": [type(error).__name__, "the function the grader gave could not take these "
                                          "arguments (call it as the docstring says, e.g. f(x) with x an array)"]})

    def _broken(self, why):
        """Note a breach of the protocol (``why``, cut to MAX_NOTE characters; the first MAX_NOTED kept) and
        return the KernelError to raise."""
        why = why if len(why) <= MAX_NOTE else why[:MAX_NOTE] + "..."
        self.breaches += 1
        if len(self.protocol_errors) < MAX_NOTED:
            self.protocol_errors.append(why)
        return KernelError(why)

    def _decode(self, item, files, handle=None):
        """CellValues.decode, a reply that breaks the protocol recorded (KernelError)."""
        try:
            return self.values.decode(item, files, handle)
        except ProtocolError as error:
            raise self._broken(str(error)) from None

    def _request_for(self, name, request):
        """``_request``, with a failure that names what the grader was asking for."""
        try:
            return self._request(request)
        except KernelError as error:
            raise KernelError(f"{name}: {error}") from None

    def _request(self, request):
        """The kernel side's reply (dict) to ``request`` (dict), and its files, read ({name: bytes})."""
        request["handle"] = self.handles = self.handles + 1
        request.update(exchange=str(self.exchange.path), inline_bytes=INLINE_BYTES, keep_from=self.keep_from)
        try:
            text = self.send(json.dumps(request))
        except ProtocolError as error:  # an answer skipped unparsed
            raise self._broken(str(error)) from None
        finally:
            self.exchange.remove_request_files()
        try:
            reply = parse_reply(text)
            if reply.get("handle") != request["handle"]:
                raise ValueError("an answer to another request")
            return reply, self.exchange.read_reply_files(reply.get("files"))
        except (ValueError, KeyError, TypeError, OSError, RecursionError) as error:
            raise self._broken(f"the kernel's answer is malformed: {error}") from None


def _copy_back(sent, returned):
    """Make the arguments ``sent`` (a list) look as the call left them in the kernel (``returned``, a list),
    for unchanged-argument checks: arrays of the same shape copied into, lists refilled."""
    for original, after in zip(sent, returned):
        if isinstance(original, np.ndarray) and isinstance(after, np.ndarray) and original.flags.writeable:
            if original.shape == after.shape:
                np.copyto(original, after, casting="unsafe")
        elif isinstance(original, list) and isinstance(after, list):
            if len(original) == len(after):
                _copy_back(original, after)
            else:
                original[:] = after


def _student_error(raised):
    """The exception a student function raised in the kernel, described by ``[type name, message, frames]``:
    a builtin exception of that name (else StudentError) carrying ``student_frames``, the lines of the
    student's code it came from, as (function, line number, source line)."""
    try:
        name, message, frames = raised
        frames = [(str(function)[:100], int(line_number), str(line)[:MAX_LINE])
                  for function, line_number, line in frames[-MAX_FRAMES:]]
        name, message = str(name)[:100], str(message)[:MAX_MESSAGE]
    except (TypeError, ValueError) as error:
        raise ValueError(f"a malformed error report ({error})") from None
    kind = getattr(builtins, name, None)
    try:
        error = kind(message) if isinstance(kind, type) and issubclass(kind, Exception) else None
    except TypeError:  # an exception type that takes other arguments (UnicodeDecodeError)
        error = None
    error = error or StudentError(f"{name}: {message}")
    error.student_frames = frames
    return error
