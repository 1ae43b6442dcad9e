"""What the kernel sends the grader, read within bounds: a reply's JSON (``parse_reply``) and the array
files of the exchange folder (``ExchangeFolder``), a folder both sides see (the kernel's ipc folder).

Everything is refused before it is parsed when it is larger, holds more objects or is nested deeper
than the kernel side (autograder.grading.kernel_side) ever sends, so that a kernel cannot make the
grader build a huge object: a reply is small JSON, and arrays over INLINE_BYTES travel as files.
"""
import base64
import json
import math
import os
import re
import secrets
import socket
import stat
from pathlib import Path

import numpy as np

from autograder.grading.kernel_side import RAW_KINDS

MAX_REPLY_JSON = 8 * 1024 * 1024  # characters of JSON
MAX_REPLY_ITEMS = 50_000  # objects and lists in it (and files it names)
MAX_REPLY_DEPTH = 24  # nesting of the values it describes
MAX_REPLY_FILE_BYTES = 64 * 1024 * 1024  # all the array files of one reply together
INLINE_BYTES = 64 * 1024  # larger arrays go through the exchange folder: base64 in JSON costs ~20 ms/MB
MAX_DIMENSIONS = 32  # of a raw array (numpy allows 64; the kernel side never sends more than a few)
EXCHANGE_NAME = re.compile(r"[qr][0-9]+-[0-9]+\.npy")  # q: the grader's requests, r: the kernel's replies


def parse_reply(text):
    """The kernel's JSON answer as a dict, refused before parsing when it is larger or holds more
    objects than any answer the kernel side sends (ValueError)."""
    if not isinstance(text, str) or len(text) > MAX_REPLY_JSON:
        raise ValueError(f"an answer of more than {MAX_REPLY_JSON} characters")
    if text.count("{") + text.count("[") > MAX_REPLY_ITEMS:
        raise ValueError(f"an answer of more than {MAX_REPLY_ITEMS} objects and lists")
    reply = json.loads(text)
    if not isinstance(reply, dict):
        raise ValueError("an answer that is not a JSON object")
    return reply


def raw_array(item):
    """The array a raw description (kernel_side.raw_description) describes (writable), or ValueError when the description is not one:
    a dtype outside RAW_KINDS (never object), a shape that is not a few non-negative ints, bytes that do not
    fill it exactly."""
    dtype, shape = item.get("dtype"), item.get("shape")
    if type(dtype) is not str or len(dtype) > 8:
        raise ValueError(f"a raw array of dtype {str(dtype)[:20]!r}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"a raw array of dtype {item['dtype']!r}") from None
    if dtype.kind not in RAW_KINDS:
        raise ValueError(f"a raw array of dtype {dtype}")
    if type(shape) is not list or len(shape) > MAX_DIMENSIONS or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError("a raw array without a shape")
    data = base64.b64decode(item.get("raw", ""), validate=True)
    if len(data) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"a raw array of shape {tuple(shape)} and {len(data)} bytes")
    return np.frombuffer(bytearray(data), dtype).reshape(shape)


class ExchangeFolder:
    """The folder for the arrays too large to travel inline: a folder the kernel sees at the same path
    (the folder of its ipc sockets) and can write to, so the grader writes only new files there (never
    through a link the kernel planted) and reads only plain files of bounded size, without following links.

    path: the folder (str or Path).
    """

    def __init__(self, path):
        self.path = Path(path)
        self.sent = []  # the names of the request files written for the request being made

    def write_request_file(self, data, handle):
        """Write ``data`` (bytes of a .npy file) as the next file of request ``handle`` (int); its name."""
        name = f"q{handle}-{len(self.sent)}.npy"
        # O_EXCL: never follow a link the kernel put there in advance
        with open(os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644),
                  "wb") as file:
            file.write(data)
        self.sent.append(name)
        return name

    def listen(self):
        """A new Unix socket listening in the folder, under a name no one can guess, that the kernel's user can
        connect to; (socket, its path as a str). The kernel may own the folder and swap what is there: the
        socket's mode is changed through a descriptor of the node itself, after checking that it is the
        grader's socket, never through a name the kernel could have pointed elsewhere."""
        path = str(self.path / f"grader-{secrets.token_hex(8)}")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            listener.listen(4)
            node = os.open(path, os.O_PATH | os.O_NOFOLLOW)
            try:
                status = os.fstat(node)
                if not stat.S_ISSOCK(status.st_mode) or status.st_uid != os.geteuid():
                    raise OSError(f"the grader's socket {path} was replaced")
                os.chmod(f"/proc/self/fd/{node}", 0o666)  # the folder's own mode keeps others out
            finally:
                os.close(node)
        except BaseException:
            listener.close()
            raise
        listener.setblocking(False)
        return listener, path

    def remove_request_files(self):
        for name in self.sent:
            (self.path / name).unlink(missing_ok=True)
        self.sent = []

    def read_reply_files(self, names):
        """{name: bytes} of the array files the kernel names (a list), all of them together within the
        bounds; ValueError or OSError otherwise."""
        if not isinstance(names, list) or len(names) > MAX_REPLY_ITEMS:
            raise ValueError("no list of files")
        received = {}
        for name in names:
            received[name] = self.read_reply_file(name)
            if sum(map(len, received.values())) > MAX_REPLY_FILE_BYTES:
                raise ValueError(f"the files hold more than {MAX_REPLY_FILE_BYTES} bytes")
        return received

    def read_reply_file(self, name):
        """The bytes of a reply file, which the kernel made (and which is removed): a plain file of bounded
        size, or ValueError (not a link to a file of the grader's, not a pipe that blocks)."""
        if not isinstance(name, str) or not EXCHANGE_NAME.fullmatch(name) or not name.startswith("r"):
            raise ValueError(f"a reply file with a bad name {name!r}")
        descriptor = os.open(self.path / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_REPLY_FILE_BYTES:
                raise ValueError(f"reply file {name} is not a plain file of at most {MAX_REPLY_FILE_BYTES} bytes")
            with open(descriptor, "rb", closefd=False) as file:
                return file.read()
        finally:
            os.close(descriptor)
            os.unlink(self.path / name)
