"""The kernel side of the grader's protocol: what answers the grader's requests in the student's kernel.

The grader never imports this module there: it sends its code (autograder.grading.kernel), which the
kernel runs in a namespace of its own and calls as ``_hw2_grader_request(path, token)``, a loop that answers
one test cell's requests over a Unix socket the grader listens on (``serve``; autograder.grading.request_loop
drives it). So it is
self-contained -- the standard library, numpy and IPython only -- and its one import of hw2_checks is
replaced, in what is sent, by the function it imports, taken from the instructor's copy in the grader
(the kernel's hw2_checks is the student's). It runs where student code can change
anything, so it decides nothing: it looks up a student's name or calls a student's function, and
describes what came out as data, which the grader checks and reads itself.

A request (JSON text, made by autograder.grading.kernel.Kernel) is a dict:
    op: "get" (the student's value of ``name``) or "call" (the student's ``function`` with ``args``
        and ``kwargs``, and ``substitutes`` {name: function} in place of the student's meanwhile)
    handle: int, the request's number; keep_from: int, the kernel forgets results of earlier handles
    exchange: str, the folder for large arrays; inline_bytes: int, larger arrays go there as .npy files
Its reply (a dict, sent as JSON text in a REPLY message) holds the request's ``handle``,
``files`` (the names of the array files it wrote), and
    for "get": ``missing`` (true when the notebook has no such name), else ``callable`` (bool) and,
        for a value, ``value``;
    for "call": ``value``, or ``raised`` [exception type name, message, the student's frames as
        [function, line number, source line], innermost last, at most 3]; ``warnings`` [[category
        name, message]]; ``args`` (the arguments as the call left them).

A value is described by a dict whose "t" says what it is:
    {"t": "v", "v": None, a bool, int, float or str}
    {"t": "a", "dtype": a dtype's str of a kind in RAW_KINDS, "shape": [ints], "raw": base64 of its bytes in
        C order}, {"t": "a", "npy": base64 of .npy bytes} (other dtypes) or {"t": "a", "file": a file's name in
        the exchange folder}: an array of any shape and a dtype other than object ("s": a numpy scalar, as
        a 0-d array)
    {"t": "list" or "tuple", "items": [values]}, {"t": "dict", "items": [[key, value], ...]}
    {"t": "object", "type": class name, "attrs": {name: value}}; {"t": "opaque", "type": class name}
    {"t": "function", "number": int}: a function of the grader's, handed back to it
and, from the grader only: {"t": "name", "name": str} (the student's value of that name),
{"t": "ref", "handle": int, "path": [keys and attribute names]} (part of what an earlier request
returned, the student's own object), {"t": "function", "number": int, "name": str} (a function of the
grader's: the kernel gets a GraderFunction).
"""
import base64
import builtins
import contextlib
import io
import itertools
import json
import os
import struct
import sys  # noqa: F401 (used by _student_frames_in, which replaces its import in what is sent)
import threading
import traceback
import warnings

import numpy as np

from hw2_checks import _student_frames_in

# A message on the grader's socket: its kind (one byte) and the length of its text (UTF-8), then the text.
FRAME = struct.Struct(">cI")
HELLO, REPLY, QUESTION = b"H", b"R", b"Q"  # the kernel's: the loop's token, a reply, a call of a grader's function
GRADER = b"G"  # the grader's: a request, or the answer to a question
OUTSIDE_REQUESTS = "hw2 grader: the grader's request handler was called outside the grader's requests"
END_OF_REQUESTS = ""  # what the grader sends instead of a request when a test cell's are done
RESULTS = "_hw2_grader_objects"  # in the student's namespace: {handle: what that request returned}
MAX_DEPTH = 8  # values nested deeper are described as opaque
MAX_MESSAGE = 2000  # characters of an error's or a warning's message sent
MAX_LINE = 300  # characters of a student's source line sent
MAX_FRAMES = 3  # the student's innermost frames sent with an error
MAX_WARNINGS = 20
RAW_KINDS = "biufc"  # dtypes (bool, integers, floats, complex) whose arrays travel inline as raw bytes, not .npy


def serve(path=None, token=None):
    """Answer the grader's requests in the kernel until it sends END_OF_REQUESTS: the loop of one cell,
    connected to the Unix socket at ``path`` (str) the grader listens on for this cell, which it tells by
    ``token`` (str, the first message). Each request is answered with a REPLY; a function of the grader's that
    the student's code calls meanwhile asks a QUESTION (GraderFunction). Known in the student's namespace as
    ``_hw2_grader_request``; called by student code, outside the grader's cell (no socket to connect to), it
    raises RuntimeError(OUTSIDE_REQUESTS)."""
    import socket

    from IPython import get_ipython

    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except (OSError, TypeError):
        connection.close()
        raise RuntimeError(OUTSIDE_REQUESTS) from None
    channel = Channel(connection)
    user = get_ipython().user_ns
    with connection, open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        channel.send(HELLO, token)  # what student code prints between requests is dropped, and not flushed each time
        request = channel.receive()
        while request != END_OF_REQUESTS:
            request = channel.exchange(REPLY, json.dumps(answer(json.loads(request), user, channel.ask)))


class Channel:
    """The kernel's end of the grader's socket (``connection``, connected): messages of FRAME, one exchange at
    a time (student code may call the grader's functions from threads of its own)."""

    def __init__(self, connection):
        self.connection = connection
        self.lock = threading.Lock()

    def send(self, kind, text):
        data = text.encode()
        self.connection.sendall(FRAME.pack(kind, len(data)) + data)

    def receive(self):
        """The text of the grader's next message (it sends GRADER messages only)."""
        _, length = FRAME.unpack(self._exactly(FRAME.size))
        return self._exactly(length).decode()

    def exchange(self, kind, text):
        """Send a message and return the grader's answer."""
        with self.lock:
            self.send(kind, text)
            return self.receive()

    def ask(self, question):
        """The grader's answer (JSON text) to a QUESTION (JSON text)."""
        return self.exchange(QUESTION, question)

    def _exactly(self, size):
        data = bytearray(size)
        view, received = memoryview(data), 0
        while received < size:
            count = self.connection.recv_into(view[received:])
            if not count:
                raise ConnectionError("the grader closed the connection")
            received += count
        return data


def answer(request, user, ask):
    """The reply (a dict) to the grader's ``request`` (a dict, both as the module's docstring says).

    user: the student's namespace (dict), where the results of requests are kept under RESULTS;
    ask: a function that sends the grader a question (JSON text) while the request runs and returns its
    answer (JSON text): Channel.ask.
    """
    results = user.setdefault(RESULTS, {})
    for handle in [h for h in results if h < request["keep_from"]]:  # an earlier cell's results
        del results[handle]
    codec = Codec(request, user, results, ask)
    files = []
    reply = {"handle": request["handle"]}
    if request["op"] == "get":
        reply.update(_get(request, user, results, codec, files))
    else:
        reply.update(_call(request, user, results, codec, files))
    reply["files"] = files
    return reply


def _get(request, user, results, codec, files):
    """The reply's part for a "get": missing, a callable, or a value (kept as the request's result)."""
    try:
        value = user[request["name"]]
    except KeyError:
        return {"missing": True}
    if callable(value) and not isinstance(value, type):
        return {"callable": True}
    results[request["handle"]] = value
    return {"callable": False, "value": codec.encode(value, files)}


def _call(request, user, results, codec, files):
    """The reply's part for a "call": what the student's function returned or raised, its warnings and
    its arguments as it left them; what it printed is dropped."""
    reply = {}
    args, kwargs = codec.decode(request["args"]), codec.decode(request["kwargs"])
    output = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(output), \
            contextlib.redirect_stderr(output):
        warnings.simplefilter("always")
        missing = object()
        substitutes = {name: codec.decode(item) for name, item in request.get("substitutes", {}).items()}
        saved = {name: user.get(name, missing) for name in substitutes}
        try:
            function = codec.decode({"t": "name", "name": request["function"]})
            user.update(substitutes)  # the grader's parts in place of the student's, for this call
            try:
                results[request["handle"]] = value = function(*args, **kwargs)
            finally:
                for name, before in saved.items():
                    user.pop(name) if before is missing else user.update({name: before})
            reply["value"] = codec.encode(value, files)
        except Exception as error:
            frames = [[name, line_number, line[:MAX_LINE]] for name, line_number, line
                      in _student_frames_in(traceback.extract_tb(error.__traceback__))]
            reply["raised"] = [type(error).__name__, str(error)[:MAX_MESSAGE], frames[-MAX_FRAMES:]]
    reply["warnings"] = [[w.category.__name__, str(w.message)[:MAX_MESSAGE]] for w in caught[:MAX_WARNINGS]]
    reply["args"] = codec.encode(args, files)
    return reply


def raw_description(array, kind):
    """An array (``kind`` "a") or a numpy scalar as a 0-d array ("s") of a dtype in RAW_KINDS, described by
    its dtype, shape and bytes (C order) in base64: some twenty times cheaper to make and read than .npy
    bytes. The grader describes its arrays so too (autograder.grading.kernel), and reads them back through
    autograder.grading.exchange.raw_array, which checks them first."""
    return {"t": kind, "dtype": array.dtype.str, "shape": list(array.shape),
            "raw": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()}


class Codec:
    """Values to and from their descriptions (the module's docstring), for one request.

    request: the request (dict); user: the student's namespace (dict); results: {handle: a value an
    earlier request returned}; ask: sends the grader a question (JSON text), returns its answer.
    """

    def __init__(self, request, user, results, ask):
        self.request, self.user, self.results, self.ask = request, user, results, ask
        self.numbers = itertools.count()  # of the array files this request writes

    def encode(self, value, files, depth=0):
        """The description of ``value``: plain data as it is, anything else by its class (and attributes);
        ``files`` gets the names of the array files written for it."""
        if depth > MAX_DEPTH:
            return {"t": "opaque", "type": "too deeply nested"}
        if value is None or isinstance(value, (bool, int, float, str)) and type(value) in (bool, int, float, str):
            return {"t": "v", "v": value}
        if isinstance(value, np.ndarray) and value.dtype != object and type(value) is np.ndarray:
            return self._npy(value, "a", files)
        if isinstance(value, np.generic) and not isinstance(value, np.object_):
            return self._npy(np.asarray(value), "s", files)
        if type(value) in (list, tuple) or isinstance(value, tuple) and hasattr(value, "_fields"):
            return {"t": "list" if isinstance(value, list) else "tuple",
                    "items": [self.encode(v, files, depth + 1) for v in value]}
        if type(value) is dict:
            return {"t": "dict", "items": [[self.encode(k, files, depth + 1), self.encode(v, files, depth + 1)]
                                           for k, v in value.items()]}
        if isinstance(value, GraderFunction) and value.codec is self:  # handed back: the grader knows its number
            return {"t": "function", "number": value.number}
        if callable(value):
            return {"t": "opaque", "type": type(value).__name__}
        if hasattr(value, "__dict__") and type(vars(value)) is dict:
            return {"t": "object", "type": type(value).__name__,
                    "attrs": {k: self.encode(v, files, depth + 1) for k, v in vars(value).items() if type(k) is str}}
        return {"t": "opaque", "type": type(value).__name__}

    def _npy(self, array, kind, files):
        """An array (kind "a") or a numpy scalar as a 0-d array (kind "s"): inline up to the request's
        ``inline_bytes`` (raw bytes where its dtype is in RAW_KINDS, else .npy bytes), else as
        r<handle>-<number>.npy in the exchange folder."""
        if array.nbytes > self.request["inline_bytes"]:
            files.append(f"r{self.request['handle']}-{next(self.numbers)}.npy")
            np.save(os.path.join(self.request["exchange"], files[-1]), array, allow_pickle=False)
            return {"t": kind, "file": files[-1]}
        if array.dtype.kind in RAW_KINDS:
            return raw_description(array, kind)
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return {"t": kind, "npy": base64.b64encode(buffer.getvalue()).decode()}

    def decode(self, item):
        """The value an ``item`` of the grader's describes; KeyError for a name the notebook lacks."""
        kind = item["t"]
        if kind == "v":
            return item["v"]
        if kind in ("a", "s") and "raw" in item:
            array = np.frombuffer(bytearray(base64.b64decode(item["raw"])), item["dtype"]).reshape(item["shape"])
            return array if kind == "a" else array[()]
        if kind in ("a", "s"):
            source = os.path.join(self.request["exchange"], item["file"]) if "file" in item else \
                io.BytesIO(base64.b64decode(item["npy"]))
            array = np.load(source, allow_pickle=False)
            return array if kind == "a" else array[()]
        if kind in ("list", "tuple"):
            items = [self.decode(v) for v in item["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {self.decode(k): self.decode(v) for k, v in item["items"]}
        if kind == "name":
            return self.user[item["name"]]
        if kind == "ref":
            value = self.results[item["handle"]]
            for key in item["path"]:
                value = getattr(value, key) if isinstance(key, str) else value[key]
            return value
        if kind == "function":
            return GraderFunction(self, item["number"], item["name"])
        raise ValueError(kind)


class GraderFunction:
    """A function of the grader's, handed to student code: calling it asks the grader to run it (the
    codec's ``ask``); only its arguments and its result cross, as data.

    codec: the Codec of the request it came with; number: int, the grader's number for it; name: str.
    """

    def __init__(self, codec, number, name):
        self.codec, self.number, self.__name__ = codec, number, name

    def __call__(self, *args, **kwargs):
        files = []
        question = json.dumps({"callback": self.number, "args": self.codec.encode(list(args), files),
                               "kwargs": self.codec.encode(kwargs, files), "files": files})
        answer = json.loads(self.codec.ask(question))
        if "raised" in answer:
            name, message = answer["raised"]
            kind = getattr(builtins, name, None)
            raise (kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError)(message)
        return self.codec.decode(answer["value"])

    def __repr__(self):
        return f"<function {self.__name__}>"
