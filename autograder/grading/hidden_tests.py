"""Run every test cell in the grader's own process, never in the student's kernel: its public part
and then its hidden part, case by case (``run_graded``), which decides the cell's score (``CellVerdict``).

Everything in the student's kernel can be changed by student code: numpy, builtins, IPython's input
transformers, the checks themselves, the files it can read. So the test cell (the public part the
kernel also ran for the student to see, and the lines between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``, which the kernel never sees) runs here, with the instructor's hw2_checks and
cases loaded from the instructor's folder. When it names something it does not define
(``sigmoid_activation``, ``history``), that name is looked up in the kernel: a function becomes a
proxy whose calls run in the kernel, a value is copied out. Only data crosses from the kernel --
arrays as .npy bytes read with ``allow_pickle=False``, numbers, strings, and containers of them -- so
an object with a lying ``__eq__`` or ``__array__`` arrives as what it is, and every comparison happens
here. The kernel sees the inputs, never the expected answers. Large arrays travel as .npy files in an
exchange folder both sides see (the scratch folder of the kernel's sockets), small ones inline; the
code that answers in the kernel is defined there once.

Objects that come back from a call keep a handle to the original in the kernel: passing them back
(the caches from layer_forward to backward_pass) passes the student's own object. Arrays given to a
call are copied back after it, so the checks see it when student code changed its arguments. An error
of student code comes back with the student's own lines (never the tests').

A function of the tests handed to student code (the function a finite-difference checker
differentiates, activations, and the reference solution's parts a student function is judged with,
``alone``) stays here: the kernel gets a stand-in that sends its arguments back over the kernel's stdin
channel while the grader's request runs (``Kernel.answer``), so the tests' code never reaches the
kernel. Everything the kernel sends is refused before parsing when it is larger, holds more objects or
is nested deeper than the kernel side ever sends, and the values of a cell's calls are released after
it. Besides the fixed cases of the hidden reference, every submission gets cases drawn for it
(``HiddenCases``); the hidden cases' messages show no expected value.
"""
import base64
import builtins
import contextlib
import copy
import hashlib
import io
import json
import os
import pickle
import re
import stat
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import hw2_checks
from autograder.assignment.master import split

REPLY_MIME = "application/x-hw2-grader"  # the kernel answers the grader with display data of this type
# Bounds on what the kernel may send back, checked before anything is parsed: a reply is small JSON
# (arrays over INLINE_BYTES travel as files), so a kernel cannot make the grader build a huge object.
MAX_REPLY_JSON = 8 * 1024 * 1024  # characters of JSON
MAX_REPLY_ITEMS = 50_000  # objects and lists in it
MAX_REPLY_DEPTH = 24  # nesting of the values it describes
MAX_REPLY_FILE_BYTES = 64 * 1024 * 1024  # all the array files of one reply together
DROPPED_REPLY = "(dropped by the grader: an answer over the bounds)"  # what is kept of such an answer
INLINE_BYTES = 64 * 1024  # larger arrays go through the exchange folder: base64 in JSON costs ~20 ms/MB
EXCHANGE_NAME = re.compile(r"[qr][0-9]+-[0-9]+\.npy")  # q: the grader's requests, r: the kernel's replies


class KernelError(Exception):
    """Calling into the kernel failed (no reply, or a reply that is not what the protocol sends)."""


class StudentError(Exception):
    """Stands for an exception of a type that exists only in the kernel."""


# --- kernel side: sent as source with every request, run in the kernel ------------------------------

KERNEL_SIDE = r'''
def _hw2_grader_request(request):
    import base64, builtins, contextlib, io, itertools, json, os, sys, traceback, warnings
    import numpy as np
    from IPython import get_ipython
    from IPython.display import publish_display_data

    request = json.loads(request)
    user = get_ipython().user_ns
    kernel = get_ipython().kernel
    refs = user.setdefault("_hw2_grader_objects", {})
    for handle in [h for h in refs if h < request["keep_from"]]:  # an earlier cell's results
        del refs[handle]
    numbers = itertools.count()

    def npy(array, kind, files):
        if array.nbytes > request["inline_bytes"]:
            files.append(f"r{request['handle']}-{next(numbers)}.npy")
            np.save(os.path.join(request["exchange"], files[-1]), array, allow_pickle=False)
            return {"t": kind, "file": files[-1]}
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return {"t": kind, "npy": base64.b64encode(buffer.getvalue()).decode()}

    def encode(value, files, depth=0):
        if depth > 8:
            return {"t": "opaque", "type": "too deeply nested"}
        if value is None or isinstance(value, (bool, int, float, str)) and type(value) in (bool, int, float, str):
            return {"t": "v", "v": value}
        if isinstance(value, np.ndarray) and value.dtype != object and type(value) is np.ndarray:
            return npy(value, "a", files)
        if isinstance(value, np.generic) and not isinstance(value, np.object_):
            return npy(np.asarray(value), "s", files)
        if type(value) in (list, tuple) or isinstance(value, tuple) and hasattr(value, "_fields"):
            return {"t": "list" if isinstance(value, list) else "tuple",
                    "items": [encode(v, files, depth + 1) for v in value]}
        if type(value) is dict:
            return {"t": "dict", "items": [[encode(k, files, depth + 1), encode(v, files, depth + 1)]
                                           for k, v in value.items()]}
        if isinstance(value, GraderFunction):  # handed back: the grader knows it by its number
            return {"t": "function", "number": value.number}
        if callable(value):
            return {"t": "opaque", "type": type(value).__name__}
        if hasattr(value, "__dict__") and type(vars(value)) is dict:
            return {"t": "object", "type": type(value).__name__,
                    "attrs": {k: encode(v, files, depth + 1) for k, v in vars(value).items() if type(k) is str}}
        return {"t": "opaque", "type": type(value).__name__}

    class GraderFunction:
        # A function of the grader's: calling it asks the grader, over the kernel's stdin channel.
        def __init__(self, number, name):
            self.number, self.__name__ = number, name

        def __call__(self, *args, **kwargs):
            files = []
            question = json.dumps({"callback": self.number, "args": encode(list(args), files),
                                   "kwargs": encode(kwargs, files), "files": files})
            answer = json.loads(kernel.raw_input(question))
            if "raised" in answer:
                name, message = answer["raised"]
                kind = getattr(builtins, name, None)
                raise (kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError)(message)
            return decode(answer["value"])

        def __repr__(self):
            return f"<function {self.__name__}>"

    def decode(item):
        kind = item["t"]
        if kind == "v":
            return item["v"]
        if kind in ("a", "s"):
            source = os.path.join(request["exchange"], item["file"]) if "file" in item else \
                io.BytesIO(base64.b64decode(item["npy"]))
            array = np.load(source, allow_pickle=False)
            return array if kind == "a" else array[()]
        if kind in ("list", "tuple"):
            items = [decode(v) for v in item["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {decode(k): decode(v) for k, v in item["items"]}
        if kind == "name":
            return user[item["name"]]
        if kind == "ref":
            value = refs[item["handle"]]
            for key in item["path"]:
                value = getattr(value, key) if isinstance(key, str) else value[key]
            return value
        if kind == "function":
            return GraderFunction(item["number"], item["name"])
        raise ValueError(kind)

    files = []
    reply = {"handle": request["handle"]}
    if request["op"] == "get":
        value = user[request["name"]]
        reply.update(callable=callable(value) and not isinstance(value, type))
        if not reply["callable"]:
            refs[request["handle"]] = value
            reply["value"] = encode(value, files)
    else:
        args, kwargs = decode(request["args"]), decode(request["kwargs"])
        output = io.StringIO()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(output), \
                contextlib.redirect_stderr(output):
            warnings.simplefilter("always")
            missing = object()
            substitutes = {name: decode(item) for name, item in request.get("substitutes", {}).items()}
            saved = {name: user.get(name, missing) for name in substitutes}
            try:
                function = decode({"t": "name", "name": request["function"]})
                user.update(substitutes)  # the grader's parts in place of the student's, for this call
                try:
                    refs[request["handle"]] = value = function(*args, **kwargs)
                finally:
                    for name, before in saved.items():
                        user.pop(name) if before is missing else user.update({name: before})
                reply["value"] = encode(value, files)
            except Exception as error:
                library = (sys.prefix, sys.base_prefix, os.path.dirname(os.__file__))
                frames = [[f.name, f.lineno, (f.line or "")[:300]] for f in traceback.extract_tb(error.__traceback__)
                          if not (f.filename.startswith("<") and not f.filename.startswith("<ipython-input"))
                          and not f.filename.startswith(library) and not f.filename.endswith("hw2_checks.py")]
                reply["raised"] = [type(error).__name__, str(error)[:2000], frames[-3:]]
        reply["warnings"] = [[w.category.__name__, str(w.message)[:2000]] for w in caught[:20]]
        reply["args"] = encode(args, files)
    reply["files"] = files
    publish_display_data({"application/x-hw2-grader": json.dumps(reply)})
'''
assert REPLY_MIME in KERNEL_SIDE
# defined in the kernel by the first request (and again after a restart), called by every request
KERNEL_SIDE_VERSION = hashlib.sha256(KERNEL_SIDE.encode()).hexdigest()[:16]
DEFINE_KERNEL_SIDE = f"""\
if getattr(globals().get("_hw2_grader_request"), "version", None) != {KERNEL_SIDE_VERSION!r}:
    exec({KERNEL_SIDE!r})
    _hw2_grader_request.version = {KERNEL_SIDE_VERSION!r}
"""


# --- grader side ----------------------------------------------------------------------------------


def parse_reply(text):
    """The kernel's JSON answer as a dict, refused before parsing when it is larger or holds more
    objects than any answer the kernel side sends (ValueError)."""
    if not isinstance(text, str) or len(text) > MAX_REPLY_JSON or text == DROPPED_REPLY:
        raise ValueError(f"an answer of more than {MAX_REPLY_JSON} characters")
    if text.count("{") + text.count("[") > MAX_REPLY_ITEMS:
        raise ValueError(f"an answer of more than {MAX_REPLY_ITEMS} objects and lists")
    reply = json.loads(text)
    if not isinstance(reply, dict):
        raise ValueError("an answer that is not a JSON object")
    return reply


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


class Kernel:
    """Calls into the student's kernel through ``run(code) -> outputs`` (a cell run by nbclient).

    ``exchange``: a folder the kernel sees at the same path (the folder of its ipc sockets), writable
    by it, for the large arrays of requests and replies.
    """

    def __init__(self, run, exchange):
        self.run, self.exchange = run, Path(exchange)
        self.handles = 0
        self.origins = {}  # id(value copied out of the kernel) -> (value, handle, path in the original)
        self.sent, self.received = [], {}  # this request's files; the last reply's, read
        self.functions = []  # the grader's functions handed to the kernel, by number (GraderFunction)
        self.keep_from = 1  # the first handle of this cell's requests: the kernel forgets older results
        self.protocol_errors = []  # answers that were not what the kernel side sends (for review)

    def release(self):
        """Forget the values of earlier calls (after each test cell: a cell's calls never refer to
        another cell's results), so that what a kernel sent does not pile up, here or in the kernel."""
        self.origins, self.received, self.functions = {}, {}, []
        self.keep_from = self.handles + 1
        self.protocol_errors = []

    def _broken(self, why):
        self.protocol_errors.append(why)
        return KernelError(why)

    def _request(self, request):
        request["handle"] = self.handles = self.handles + 1
        request.update(exchange=str(self.exchange), inline_bytes=INLINE_BYTES, keep_from=self.keep_from)
        try:
            outputs = self.run(DEFINE_KERNEL_SIDE + f"_hw2_grader_request({json.dumps(request)!r})\n")
        finally:
            for name in self.sent:
                (self.exchange / name).unlink(missing_ok=True)
            self.sent = []
        for output in outputs:
            if output.get("output_type") == "error":
                raise KernelError(f"{output.get('ename')}: {output.get('evalue')}")
        replies = [o["data"][REPLY_MIME] for o in outputs
                   if o.get("output_type") == "display_data" and REPLY_MIME in o.get("data", {})]
        if len(replies) != 1:
            raise self._broken(f"{len(replies)} answers to one request (student code changed IPython's display, "
                               "stdout or the grader's request)")
        self.received = {}
        try:
            reply = parse_reply(replies[0])
            if reply.get("handle") != request["handle"]:
                raise ValueError("an answer to another request")
            self.received = self._read_reply_files(reply.get("files"))
            return reply
        except (ValueError, KeyError, TypeError, OSError, RecursionError) as error:
            self.received = {}
            raise self._broken(f"the kernel's answer is malformed: {error}") from None

    def answer(self, question):
        """The grader's answer (JSON text) to a question the kernel asked while a request of the
        grader's ran: a call of one of the grader's functions handed to it (GraderFunction). The
        function runs here; only its arguments and result cross, as data."""
        try:
            question = parse_reply(question)
            number = question.get("callback")
            if type(number) is not int or not 0 <= number < len(self.functions):
                raise ValueError(f"no function of the grader's is number {number!r}")
            self.received = self._read_reply_files(question.get("files"))
            args, kwargs = self._decode(question["args"], None, []), self._decode(question["kwargs"], None, [])
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(type(k) is str for k in kwargs):
                raise ValueError("arguments that are not a list and a dict")
        except (ValueError, KeyError, TypeError, OSError, RecursionError, KernelError) as error:
            self.protocol_errors.append(f"the kernel asked the grader something that is not a call of a function "
                                        f"the grader gave it ({error})")
            return json.dumps({"raised": ["RuntimeError", "the grader could not read this call"]})
        finally:
            self.received = {}
        try:
            return json.dumps({"value": self._encode(self.functions[number](*args, **kwargs))})
        except hw2_checks.CheckFailed as failed:  # a message written for the student
            return json.dumps({"raised": ["CheckFailed", str(failed)[:2000]]})
        except Exception as error:  # noqa: BLE001 (called wrongly: the student sees that, not the function's insides)
            return json.dumps({"raised": [type(error).__name__, "the function the grader gave could not take these "
                                          "arguments (call it as the docstring says, e.g. f(x) with x an array)"]})

    def _read_reply_files(self, names):
        """{name: bytes} of the array files the kernel names, all of them together within the bounds."""
        if not isinstance(names, list) or len(names) > MAX_REPLY_ITEMS:
            raise ValueError("no list of files")
        received = {}
        for name in names:
            received[name] = self._read_reply_file(name)
            if sum(map(len, received.values())) > MAX_REPLY_FILE_BYTES:
                raise ValueError(f"the files hold more than {MAX_REPLY_FILE_BYTES} bytes")
        return received

    def _read_reply_file(self, name):
        """The bytes of a reply file, which the kernel made: a plain file of bounded size, or an error
        (not a link to a file of the grader's, not a pipe that blocks)."""
        if not isinstance(name, str) or not EXCHANGE_NAME.fullmatch(name) or not name.startswith("r"):
            raise ValueError(f"a reply file with a bad name {name!r}")
        descriptor = os.open(self.exchange / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_REPLY_FILE_BYTES:
                raise ValueError(f"reply file {name} is not a plain file of at most {MAX_REPLY_FILE_BYTES} bytes")
            with open(descriptor, "rb", closefd=False) as file:
                return file.read()
        finally:
            os.close(descriptor)
            os.unlink(self.exchange / name)

    def _npy(self, array, kind):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        if buffer.tell() <= INLINE_BYTES:
            return {"t": kind, "npy": base64.b64encode(buffer.getvalue()).decode()}
        name = f"q{self.handles + 1}-{len(self.sent)}.npy"
        # O_EXCL: never follow a link the kernel put there in advance
        with open(os.open(self.exchange / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644),
                  "wb") as file:
            file.write(buffer.getbuffer())
        self.sent.append(name)
        return {"t": kind, "file": name}

    def _request_for(self, name, request):
        """``_request``, with a failure that names what the grader was asking for."""
        try:
            return self._request(request)
        except KernelError as error:
            raise KernelError(f"{name}: {error}") from None

    def fetch(self, name):
        """The student's ``name``: a FunctionProxy for a function, else a copy of the value."""
        reply = self._request_for(name, {"op": "get", "name": name})
        if reply.get("callable"):
            return FunctionProxy(self, name)
        return self._decode(reply["value"], reply["handle"], [])

    def call(self, function, args, kwargs, parts=None):
        """The student's ``function`` called in the kernel; ``parts``: {name: a function of the grader's}
        that stands in for the student's function of that name during the call."""
        reply = self._request_for(function, {"op": "call", "function": function, "args": self._encode(list(args)),
                                             "kwargs": self._encode(kwargs),
                                             "substitutes": {name: self._encode(part) for name, part in
                                                             (parts or {}).items()}})
        self._copy_back(list(args), self._decode(reply["args"], None, []))
        for category, message in reply.get("warnings", []):
            kind = getattr(builtins, category, None)
            warnings.warn(message, kind if isinstance(kind, type) and issubclass(kind, Warning) else UserWarning)
        if "raised" in reply:
            try:
                error = _student_error(reply["raised"])
            except ValueError as malformed:
                raise self._broken(f"the kernel's answer is malformed: {malformed}") from None
            raise error
        return self._decode(reply["value"], reply["handle"], [])

    def _encode(self, value):
        if id(value) in self.origins and self.origins[id(value)][0] is value:
            _, handle, path = self.origins[id(value)]
            return {"t": "ref", "handle": handle, "path": path}
        if isinstance(value, FunctionProxy):
            return {"t": "name", "name": value.__name__}
        if callable(value) and not isinstance(value, (type, np.ndarray)):
            # a function of the grader's (a hidden test's helper): it stays here, the kernel gets a stand-in
            self.functions.append(value)
            return {"t": "function", "number": len(self.functions) - 1, "name": "grader_function"}
        if value is None or type(value) in (bool, int, float, str):
            return {"t": "v", "v": value}
        if isinstance(value, np.ndarray):
            return self._npy(value, "a")
        if isinstance(value, np.generic):
            return self._npy(np.asarray(value), "s")
        if isinstance(value, (list, tuple)):
            return {"t": "list" if isinstance(value, list) else "tuple", "items": [self._encode(v) for v in value]}
        if isinstance(value, dict):
            return {"t": "dict", "items": [[self._encode(k), self._encode(v)] for k, v in value.items()]}
        raise TypeError(f"the grader cannot send a {type(value).__name__} to the kernel")

    def _decode(self, item, handle, path):
        if len(path) > MAX_REPLY_DEPTH or not isinstance(item, dict):
            raise self._broken("a value nested too deeply, or not described as the protocol does")
        kind = item.get("t")
        if kind == "v":
            value = item["v"]
            if value is not None and type(value) not in (bool, int, float, str):
                raise self._broken(f"malformed value {type(value).__name__}")
            return value
        if kind in ("a", "s"):
            if "file" in item and item["file"] not in self.received:
                raise self._broken(f"the kernel's answer names a file it did not send: {item['file']!r}")
            data = self.received[item["file"]] if "file" in item else base64.b64decode(item["npy"])
            array = np.load(io.BytesIO(data), allow_pickle=False)
            value = array if kind == "a" else array[()]
        elif kind in ("list", "tuple"):
            value = [self._decode(v, handle, path + [i]) for i, v in enumerate(item["items"])]
            value = value if kind == "list" else tuple(value)
        elif kind == "dict":
            value = {}
            for key, v in item["items"]:
                key = self._decode(key, None, [])
                value[key] = self._decode(v, handle, path + [key])
        elif kind == "object":
            value = KernelObject(**{k: self._decode(v, handle, path + [k]) for k, v in item["attrs"].items()})
            value.__class__ = type(item["type"], (KernelObject,), {})
        elif kind == "function":  # one of the grader's functions, handed back
            number = item.get("number")
            if type(number) is not int or not 0 <= number < len(self.functions):
                raise self._broken(f"no function of the grader's is number {number!r}")
            return self.functions[number]
        elif kind == "opaque":
            value = KernelObject()
            value.__class__ = type(item["type"], (KernelObject,), {})
        else:
            raise self._broken(f"unknown kind of value {kind!r}")
        if handle is not None:
            self.origins[id(value)] = (value, handle, path)
        return value

    def _copy_back(self, sent, returned):
        """Make the arguments look as the call left them in the kernel (for unchanged-argument checks)."""
        for original, after in zip(sent, returned):
            if isinstance(original, np.ndarray) and isinstance(after, np.ndarray) and original.flags.writeable:
                if original.shape == after.shape:
                    np.copyto(original, after, casting="unsafe")
            elif isinstance(original, list) and isinstance(after, list):
                if len(original) == len(after):
                    self._copy_back(original, after)
                else:
                    original[:] = after


def _student_error(raised):
    """The exception a student function raised in the kernel, described by ``[type name, message, frames]``:
    a builtin exception of that name (else StudentError) carrying ``student_frames``, the lines of the
    student's code it came from, as (function, line number, source line)."""
    try:
        name, message, frames = raised
        frames = [(str(function)[:100], int(line_number), str(line)[:300])
                  for function, line_number, line in frames[-3:]]
        name, message = str(name)[:100], str(message)[:2000]
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


class StudentNamespace(dict):
    """The hidden tests' globals: the trusted checks, what the tests define, else the student's names,
    fetched from the kernel on first use (the globals and not only the locals, so that names inside
    comprehensions and functions are found too)."""

    def __init__(self, trusted, kernel):
        super().__init__(trusted)
        self.kernel = kernel

    def __missing__(self, name):
        if hasattr(builtins, name):
            raise KeyError(name)  # Python then looks among the builtins
        try:
            value = self.kernel.fetch(name)
        except KernelError as error:
            if f"{name}: KeyError" not in str(error):
                raise
            raise NameError(f"name {name!r} is not defined in the notebook") from None
        self[name] = value
        return value


class HiddenCases:
    """The hidden cases of one submission: the fixed ones of the hidden reference, plus cases drawn
    fresh for this submission (seeded from it, so regrading draws the same) with answers computed here
    by the reference solution. A case that leaks is then worth nothing to the next student.

    seed: an int (e.g. from the submission's hash); hidden_reference: the fixed cases' pickle.
    """

    def __init__(self, hidden_reference, seed):
        from autograder.assignment import cases as make_hidden_reference
        from autograder.assignment.reference import load_reference

        self.seed = seed
        self.reference = load_reference()
        self.fixed = pickle.loads(Path(hidden_reference).read_bytes())
        self.public = pickle.loads(make_hidden_reference.PUBLIC_CASES.read_bytes())
        self.fresh = make_hidden_reference.build_cases(self.reference, seed=seed)
        for case in (case for cases in self.fresh.values() for case in cases):
            case["label"] += " (drawn for this submission)"

    def load(self, function):
        """What ``load_hidden_cases(function)`` returns in a hidden test: copies of the fixed cases, then of
        the fresh ones (a student function that changes its arguments, copied back, never reaches an
        expected value, even one that is a view of an input)."""
        return copy.deepcopy(self.fixed[function] + self.fresh[function])

    def load_public(self, function):
        """What ``load_public_cases(function)`` returns when the grader runs a test cell: copies of the
        instructor's public cases (the kernel's copy could have been changed)."""
        return copy.deepcopy(self.public[function])

    def rng(self, label):
        """A random generator for what a hidden test draws itself, the same at every grading."""
        return np.random.default_rng([self.seed, zlib.crc32(str(label).encode())])


@dataclass
class CellVerdict:
    """The grader's verdict on one test cell: every case it ran, public then hidden, and whether the
    cell stopped outside any case (then it earns nothing).

    cases: list of [part ("public" or "hidden"), description, failure message or None]
    stopped: str, why the cell could not go on (e.g. a name it needs is missing), or None
    required_failed: str, the description of a required case that failed (then the cell earns nothing)
    """
    cases: list = field(default_factory=list)
    stopped: str = None
    required_failed: str = None

    @property
    def passed(self):
        return sum(failure is None for _, _, failure in self.cases)

    @property
    def fraction(self):
        """The share of the cell's points earned: the share of its cases passed (0 if it stopped)."""
        return 0.0 if self.stopped or self.required_failed or not self.cases else self.passed / len(self.cases)

    def reason(self):
        """One line on why points were lost (the first failure), or None."""
        failed = [(part, description, failure) for part, description, failure in self.cases if failure]
        if self.stopped:
            return self.stopped.splitlines()[0]
        if self.required_failed:
            failed.sort(key=lambda case: case[1] != self.required_failed)  # the case that decided comes first
        if not failed:
            return None
        part, description, failure = failed[0]
        lines = [line.strip() for line in failure.splitlines() if line.strip()]
        cause = next((line for line in lines if line.startswith("Likely cause")), None)
        first = lines[0] if len(lines[0]) <= 240 else lines[0][:240] + "..."
        return f"{len(failed)} of {len(self.cases)} cases failed; {part} case {description[:120]}: {first}" + \
            (f" ({cause[:300]})" if cause else "")

    def summary(self, points):
        """What the feedback shows under the cell: each case passed or failed, with the failure's message
        (which for a hidden case describes it without its expected values)."""
        earned = points * self.fraction
        lines = [f"Graded by the grader: {self.passed} of {len(self.cases)} cases passed, "
                 f"{earned:.4g} of {points:g} points"]
        for part, description, failure in self.cases:
            lines.append(f"  {'passed' if failure is None else 'FAILED'}  {part}: {description}")
            if failure:
                lines += ["            " + line for line in failure.splitlines()]
        if self.stopped:
            lines.append(f"  the cell stopped before its end, so it earns no points: {self.stopped}")
        if self.required_failed:
            lines.append(f"  the cell earns no points unless this case passes: {self.required_failed}")
        return "\n".join(lines)


def reference_part(name, function):
    """The reference solution's ``function`` (called ``name``), standing in for the student's while a
    student function runs (``alone``): when it cannot take what the student's code gave it, the student
    reads that, with what it was given."""
    def part(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 (the student's code called it wrongly)
            given = ", ".join(hw2_checks._describe(value) for value in args)
            raise hw2_checks.CheckFailed(
                f"{name} (the reference solution's, which the grader uses here in place of yours) raised "
                f"{type(error).__name__}: {error}; it was called with {given}") from None
    return part


class _GradedCases(hw2_checks.Cases):
    """The grader's Cases: every case recorded with its part, nothing reported until the cell is done."""

    def __init__(self, function, verdict):
        super().__init__(function)
        self.verdict = verdict

    @contextlib.contextmanager
    def case(self, description, required=False):
        part = "hidden" if hw2_checks._withhold else "public"
        with super().case(description, required):
            yield
        failure = self.results[-1].failure
        self.verdict.cases.append([part, description, failure])
        if required and failure and not self.verdict.required_failed:
            self.verdict.required_failed = description

    def report(self):
        """Nothing here: the grader reports every case of the cell together."""


def run_graded(source, kernel, cases, label):
    """Run test cell ``source`` (of the test cell ``label``), its public part and then its hidden part,
    here against the student's kernel; return its CellVerdict.

    cases: HiddenCases. The tests see the instructor's checks (which, in the hidden part, withhold
    expected values from their messages), numpy, ``load_public_cases`` and ``load_hidden_cases`` (the
    instructor's copies), ``reference`` (the reference solution) and ``fresh_rng``; any other name is the
    student's, from the kernel.
    Raises only what ends the kernel (BaseException that is no Exception).
    """
    verdict = CellVerdict()
    trusted = {name: getattr(hw2_checks, name) for name in dir(hw2_checks) if not name.startswith("_")}
    trusted.update(np=np, __name__="__graded_tests__", __builtins__=builtins, load_hidden_cases=cases.load,
                   load_public_cases=cases.load_public, reference=cases.reference, fresh_rng=cases.rng(label),
                   Cases=lambda function: _GradedCases(function, verdict),
                   alone=lambda function, *parts, **replacements: function.with_parts(
                       {**{part: reference_part(part, getattr(cases.reference, part)) for part in parts},
                        **replacements}))
    namespace = StudentNamespace(trusted, kernel)
    public, hidden = split(source)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(public, f"<public tests of {label}>", "exec"), namespace)
            with hw2_checks.withholding_expected():
                exec(compile(hidden, f"<hidden tests of {label}>", "exec"), namespace)
    except Exception as error:  # noqa: BLE001 (outside a case: the cell cannot go on)
        verdict.stopped = str(error) if isinstance(error, hw2_checks.CheckFailed) else \
            f"{type(error).__name__}: {error}"
    return verdict
