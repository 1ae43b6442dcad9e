"""The code cells of the feedback page highlighted by nbconvert's Highlight2HTML (pygments), its HTML kept
per process: every page highlights the same locked and test cells, which every submission shares.

The HTML is a function of the cell's exact source, the language, the cell's ``magics_language`` and the
formatter's options, which are the cache's key: a submission's cell can only find the HTML of the same
source highlighted the same way.
"""
import threading
from collections import OrderedDict

from nbconvert.filters.highlight import Highlight2HTML

CACHE_CHARACTERS = 4_000_000  # of sources and HTML together (some 10 MB): hw2's pages highlight about 0.3 M


class CachedHighlight2HTML(Highlight2HTML):
    """nbconvert's Highlight2HTML with the HTML it made kept in one cache per process, at most
    CACHE_CHARACTERS characters of sources and HTML, the least recently used dropped first."""

    _cache = OrderedDict()  # {(source, language, magics_language, formatter options): html}
    _characters = 0
    _lock = threading.Lock()  # formgrader may make feedback pages in threads

    def __call__(self, source, language=None, metadata=None):
        """The HTML Highlight2HTML makes of ``source`` (str) in ``language`` (str; default: the notebook's)
        for a cell of ``metadata`` (its metadata, or None)."""
        key = (source, language or self.pygments_lexer, (metadata or {}).get("magics_language"),
               repr(sorted(self.extra_formatter_options.items())))
        with self._lock:
            html = self._cache.get(key)
            if html is not None:
                self._cache.move_to_end(key)
                return html
        html = super().__call__(source, language, metadata)
        self._keep(key, html)
        return html

    @classmethod
    def _keep(cls, key, html):
        size = len(key[0]) + len(html)
        if size > CACHE_CHARACTERS:
            return
        with cls._lock:
            if key not in cls._cache:
                cls._cache[key] = html
                cls._characters += size
            while cls._characters > CACHE_CHARACTERS:
                (source, *_), dropped = cls._cache.popitem(last=False)
                cls._characters -= len(source) + len(dropped)
