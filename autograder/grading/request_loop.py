"""The grader's requests to the student's kernel, carried by one cell per test cell over a Unix socket.

A request used to be a cell of its own: an execute request, about 4 ms of ipykernel's and nbclient's
machinery each, for some 200 requests a submission. Now the kernel side runs one cell, its loop
(autograder.grading.kernel_side.serve), connected to a socket the grader listens on for that cell in the
exchange folder; requests, replies, and the calls of the grader's functions that student code makes
meanwhile (some 700 a submission, in the network checker's cell) are messages on it. End to end, with
their JSON, a call-back takes 0.08 ms and a request 0.17 ms, where a round trip over Jupyter's stdin
channel took 0.44 ms. The cell runs as any other (nbclient's execute, with its timeout
and its check that the kernel lives), so a kernel that dies, hangs or floods its outputs in a request is
stopped as in a cell: when the cell ends, the socket is shut and what waits on it wakes.

Everything read from the kernel here is text handed to autograder.grading.kernel, which bounds and
checks it: a reply forged by student code is no more than what that code could return. A message is
skipped unparsed past the bound of a reply, and each loop has a connection of its own, which the kernel
opens with a token sent in its cell: nothing a kernel sent in one test cell is read in another.
"""
import asyncio
import contextlib
import hmac
import os
import secrets
import socket

from nbclient.util import run_sync
from nbformat.v4 import new_code_cell

from autograder.grading.exchange import MAX_REPLY_JSON
from autograder.grading.kernel import NOT_DEFINED, KernelError, ProtocolError, loop_cell
from autograder.grading.kernel_side import END_OF_REQUESTS, FRAME, GRADER, HELLO, MAX_MESSAGE, QUESTION, REPLY

CHUNK = 1 << 16  # bytes read from the socket at a time
MAX_WAITING = 8  # connections to a loop's socket that have not said their first message yet
MAX_HELLO = 64  # bytes of that message (the token is 32)


async def _hello(connection):
    """The token (bytes) a new ``connection`` (non-blocking) says in its first message; ValueError when that
    message is no HELLO of at most MAX_HELLO bytes, ConnectionError when it closes before."""
    async def exactly(size):
        data = b""
        while len(data) < size:
            chunk = await asyncio.get_running_loop().sock_recv(connection, size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    kind, length = FRAME.unpack(await exactly(FRAME.size))
    if kind != HELLO or length > MAX_HELLO:
        raise ValueError("not the loop's first message")
    return await exactly(length)


class NotDefined(KernelError):
    """The kernel side is not defined in the kernel (its first request, or student code replaced it)."""


class _Closed(Exception):
    """The loop's connection was closed (by the kernel, or shut at the end of the loop's cell)."""


class RequestLoop:
    """Requests sent to the kernel side's loop, which runs as one cell of ``client`` (an nbclient
    NotebookClient with a kernel) at the notebook's cell ``index`` (int).

    exchange: the autograder.grading.exchange.ExchangeFolder where the loop's socket is made;
    answer_question: the grader's answer (str) to a question of the kernel's (a call of a function of the
    grader's): autograder.grading.kernel.Kernel.answer.
    """

    def __init__(self, client, index, exchange, answer_question):
        self.client, self.index, self.exchange, self.answer_question = client, index, exchange, answer_question
        self.cell = None  # the cell that runs the loop
        self.serving = None  # the task that runs it (nbclient's execute of that cell)
        self.connection = None  # the loop's end of its socket
        self.received = bytearray()  # read from it, not yet taken

    def send(self, request):
        """The kernel side's reply (str) to ``request`` (str). KernelError when the loop ended without one
        (an error of the cell, student code that ended it); the exceptions of nbclient's execute when
        the cell failed (the kernel died, or went over the client's timeout)."""
        return run_sync(self._send)(request)

    def end(self):
        """End the loop and wait for its cell (raising as ``send`` does when the kernel failed)."""
        if self.serving is not None:
            run_sync(self._end)()

    async def _send(self, request):
        if self.serving is None or self.serving.done():
            await self._start()
        try:
            await self._write(request)
            return await self._reply()
        except _Closed:  # the cell ends (else nbclient's timeout ends it): why
            await asyncio.wait({self.serving})
            self._ended()

    async def _start(self):
        """Run the loop's cell, defining the kernel side first where it is not defined, until the kernel
        connects to the loop's new socket with its token."""
        self._close()
        try:
            listener, path = self.exchange.listen()
        except OSError as error:  # the kernel filled or broke its folder
            raise KernelError(f"the grader could not listen in the kernel's folder ({error})") from None
        token = secrets.token_hex(16)
        try:
            for define in (False, True):
                self.cell = new_code_cell(loop_cell(path, token, define))
                self.serving = asyncio.ensure_future(
                    self.client.async_execute_cell(self.cell, self.index, store_history=False))
                try:
                    await self._connect(listener, token)
                    return
                except NotDefined:
                    continue
            raise KernelError("student code put something of its own in the place of the grader's request handler "
                              "(it says it is not defined right after the grader defined it)")
        finally:
            listener.close()
            with contextlib.suppress(OSError):  # the kernel may have removed it
                os.unlink(path)

    async def _connect(self, listener, token):
        """Take the loop's connection: the first that says the token. Connections are accepted while others
        are read; one that says something else is closed, and so are the oldest beyond MAX_WAITING."""
        loop = asyncio.get_running_loop()
        accepting = asyncio.ensure_future(loop.sock_accept(listener))
        waiting = {}  # a task reading a connection's first message -> the connection
        try:
            while True:
                done, _ = await asyncio.wait({accepting, self.serving, *waiting},
                                             return_when=asyncio.FIRST_COMPLETED)
                if accepting in done:
                    connection, _ = accepting.result()
                    connection.setblocking(False)
                    waiting[asyncio.ensure_future(_hello(connection))] = connection
                    if len(waiting) > MAX_WAITING:
                        oldest = next(iter(waiting))
                        oldest.cancel()
                        waiting.pop(oldest).close()
                    accepting = asyncio.ensure_future(loop.sock_accept(listener))
                for task in done & waiting.keys():
                    connection = waiting.pop(task)
                    if not task.exception() and hmac.compare_digest(task.result(), token.encode()):
                        self.connection, self.received = connection, bytearray()
                        self.serving.add_done_callback(self._shut(connection))
                        return
                    connection.close()
                if self.serving in done:
                    self._ended()
        finally:
            accepting.cancel()
            for task, connection in waiting.items():
                task.cancel()
                connection.close()

    @staticmethod
    def _shut(connection):
        """A callback for the end of the loop's cell: shut ``connection``, which wakes what waits on it."""
        def shut(_):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return shut

    def abandon(self):
        """Forget the loop when its kernel is restarted: its cell's task is cancelled, its connection closed."""
        if self.serving is not None:
            self.serving.cancel()
            self.serving = None
        self._close()

    async def _reply(self):
        """The next reply of the loop, the kernel's questions answered meanwhile."""
        while True:
            kind, text = await self._message()
            if kind == REPLY:
                return text
            if kind == QUESTION:
                await self._write(self.answer_question(text))

    async def _message(self):
        """The kernel's next message: (kind, text). KernelError, once it is skipped, for one longer than any
        reply; _Closed when the connection was closed."""
        kind, length = FRAME.unpack(await self._read(FRAME.size))
        if length > MAX_REPLY_JSON:
            while length:
                length -= len(await self._read(min(length, CHUNK)))
            raise ProtocolError(f"the kernel sent the grader a message of more than {MAX_REPLY_JSON} bytes")
        return kind, (await self._read(length)).decode("utf-8", "replace")

    async def _read(self, size):
        loop = asyncio.get_running_loop()
        while len(self.received) < size:
            try:
                chunk = await loop.sock_recv(self.connection, CHUNK)
            except OSError:
                chunk = b""
            if not chunk:
                raise _Closed
            self.received += chunk
        taken = bytes(self.received[:size])
        del self.received[:size]
        return taken

    async def _write(self, text):
        if self.connection is None:
            raise _Closed
        data = text.encode()
        try:
            await asyncio.get_running_loop().sock_sendall(self.connection, FRAME.pack(GRADER, len(data)) + data)
        except OSError:
            raise _Closed from None

    def _ended(self):
        """The loop's cell ended before a reply: raise why."""
        self.serving.result()  # nbclient's exception, when the kernel failed
        errors = [o for o in self.cell.outputs if o.get("output_type") == "error"]
        if any(error.get("ename") == "NameError" and error.get("evalue") == NOT_DEFINED for error in errors):
            raise NotDefined(NOT_DEFINED)
        if errors:
            raise KernelError(f"{errors[-1].get('ename')}: {str(errors[-1].get('evalue'))[:MAX_MESSAGE]}")
        raise KernelError("the kernel stopped answering the grader's requests (student code ended the loop that "
                          "answers them)")

    async def _end(self):
        """Send END_OF_REQUESTS and wait for the loop's cell to end. Meanwhile what the kernel still sends is
        read and dropped, and END_OF_REQUESTS answers its every question and reply: student code that sends
        more than it was asked, or takes the END meant for the loop, cannot keep the cell waiting (nbclient's
        timeout ends one that keeps running)."""
        try:
            if not self.serving.done():
                try:
                    await self._write(END_OF_REQUESTS)
                    while True:
                        try:
                            kind, _ = await self._message()
                        except KernelError:  # too long, and skipped
                            continue
                        if kind in (QUESTION, REPLY):  # a reply: the loop read the END sent before as an answer
                            await self._write(END_OF_REQUESTS)
                except _Closed:
                    pass  # the loop has returned, or the cell ended: its result says how
                await asyncio.wait({self.serving})
            self.serving.result()
        finally:
            self.serving = None
            self._close()

    def _close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None
