"""Which submissions share their solutions: a copying report that never changes a grade.

    python -m autograder.outputs.similarity SUBMISSIONS --out OUT [--threshold 0.6]

Every submission's solution cells (the master's cells that students write, by grade id) are compared
with every other submission's by copydetect (MOSS's winnowing: fingerprints of k-grams of tokens with
variable names and literals filtered out, so renaming variables does not hide a copy; k-grams hashed by
BLAKE2b, not by Python's hash(), which changes with each process: a score is the same in every run). The
skeleton code the release gives every student is boilerplate: it matches nobody. A pair is listed when the
share of their solution code they have in common reaches the threshold, with each solution cell's
own share and the two versions side by side. Writes OUT/similarity.json (read by the class report)
and OUT/similarity.html. `./kit grade` runs it after grading.

Each notebook's fingerprints are kept in OUT/similarity_fingerprints.json under the notebook's SHA-256, so
a run fingerprints only the notebooks that are new or changed (and all of them again when the way they
are made, FINGERPRINT_METHOD, changes). A notebook that cannot be read or fingerprinted is left out of
the comparison with a note; the others are compared.
"""
import argparse
import hashlib
import html
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import copydetect
import nbformat
import numpy as np
import pygments
from copydetect.utils import filter_code, find_fingerprint_overlap, get_copied_slices, get_token_coverage, winnow

from autograder.assignment import master, release
from autograder.intake import collect
from autograder.outputs.terminal import plural

NOISE_TOKENS = 25  # copydetect's defaults: k-grams shorter than this are noise,
GUARANTEED_TOKENS = 30  # a match this long is always found
WINDOW = GUARANTEED_TOKENS - NOISE_TOKENS + 1
THRESHOLD = 0.6
CACHE = "similarity_fingerprints.json"
# what a cached fingerprint depends on besides the notebook: bump the first number when the code that makes
# fingerprints changes; the tokenizers' versions change it by themselves
FINGERPRINT_METHOD = (f"1 blake2b-64 k={NOISE_TOKENS} window={WINDOW} copydetect {copydetect.__version__} "
                      f"pygments {pygments.__version__}")


@dataclass(frozen=True)
class Pair:
    """Two students (str, str) and the share of their solution code in common: score (float, 0 to 1,
    the smaller of the two shares) and cells ([grade_id, share, code of the first, code of the second]
    for every solution cell both wrote, most similar first)."""
    first: str
    second: str
    score: float
    cells: list


@dataclass(frozen=True)
class Fingerprint:
    """copydetect's winnowed fingerprint of some code, before the skeleton's k-grams are taken out: hashes
    and positions (lists of int, as long as each other: each k-gram hash the winnowing chose, and where
    in the filtered code that k-gram starts) and tokens (int, the length of the filtered code)."""
    hashes: list
    positions: list
    tokens: int


@dataclass(frozen=True)
class Prints:
    """What a notebook's comparison needs: cells ({grade_id: source} of its solution cells), whole (the
    Fingerprint of them all, joined) and by_cell ({grade_id: Fingerprint}, filled when a pair needs it)."""
    cells: dict
    whole: Fingerprint
    by_cell: dict


@dataclass(frozen=True)
class Selected:
    """A Fingerprint without the skeleton's k-grams, as copydetect compares it: where ({hash: [position,
    ...]}), coverage (float, how many tokens the chosen k-grams cover) and tokens (int)."""
    where: dict
    coverage: float
    tokens: int


def solution_cells(notebook, solutions):
    """{grade_id: source} of a notebook's code cells among ``solutions`` (grade ids); ValueError when
    a cell's nbgrader metadata, grade id or source is not what nbformat writes."""
    cells = {}
    for number, cell in enumerate(notebook.cells):
        metadata = cell.get("metadata", {})
        nbgrader = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else None
        if not isinstance(nbgrader, dict):
            raise ValueError(f"cell {number}: its metadata or metadata.nbgrader is not a mapping")
        grade_id = nbgrader.get("grade_id")
        if grade_id is not None and not isinstance(grade_id, str):
            raise ValueError(f"cell {number}: its grade_id is a {type(grade_id).__name__}, not a string")
        if cell.get("cell_type") == "code" and grade_id in solutions:
            if not isinstance(cell.get("source"), str):
                raise ValueError(f"cell {number} ({grade_id}): its source is not text")
            cells[grade_id] = cell.source
    return cells


def _kgram_hashes(filtered):
    """A hash (int64 array) of every NOISE_TOKENS-gram of ``filtered`` (str): 8 bytes of BLAKE2b, the same in
    every process. (copydetect's own, Python's hash(), is seeded anew in each process: its scores moved
    between two runs on the same notebooks, and its fingerprints could not be kept from one run to the next.)"""
    grams = (filtered[start:start + NOISE_TOKENS].encode() for start in range(len(filtered) - NOISE_TOKENS + 1))
    return np.array([int.from_bytes(hashlib.blake2b(gram, digest_size=8).digest(), "little", signed=True)
                     for gram in grams], dtype=np.int64)


def fingerprint(code):
    """The Fingerprint of ``code`` (str, Python): copydetect's filtering (variable names and literals
    blanked) and winnowing, with stable hashes."""
    filtered, _ = filter_code(code, "solution.py", "python")
    hashes, positions = winnow(_kgram_hashes(filtered), WINDOW, remove_duplicates=False)
    return Fingerprint([int(h) for h in hashes], [int(p) for p in positions], len(filtered))


def _select(fingerprint, boilerplate):
    """The Selected of ``fingerprint`` less ``boilerplate`` (int64 array of unique hashes), taken out as
    copydetect's get_document_fingerprints takes them out."""
    hashes, positions = np.array(fingerprint.hashes, dtype=np.int64), np.array(fingerprint.positions, dtype=np.int64)
    if len(boilerplate) > 0:
        _, overlap, _ = np.intersect1d(hashes, boilerplate, return_indices=True, assume_unique=True)
        hashes, positions = np.delete(hashes, overlap), np.delete(positions, overlap)
    where = {}
    for value, position in zip(hashes.tolist(), positions.tolist()):
        where.setdefault(value, []).append(position)
    return Selected(where, get_token_coverage(where, NOISE_TOKENS, fingerprint.tokens), fingerprint.tokens)


def _share(first, second):
    """The smaller of the two shares (float) of their tokens that two Selected have in common: copydetect's
    compare_files."""
    overlap1, overlap2 = find_fingerprint_overlap(set(first.where), set(second.where), first.where, second.where)
    slices1, slices2 = get_copied_slices(overlap1, NOISE_TOKENS), get_copied_slices(overlap2, NOISE_TOKENS)
    if len(slices1[0]) == 0:
        return 0.0
    share1 = np.sum(slices1[1] - slices1[0]) / first.coverage if first.tokens > 0 else 0
    share2 = np.sum(slices2[1] - slices2[0]) / second.coverage if second.tokens > 0 else 0
    return float(min(share1, share2))


def _cell_print(prints, grade_id):
    if grade_id not in prints.by_cell:
        prints.by_cell[grade_id] = fingerprint(prints.cells[grade_id])
    return prints.by_cell[grade_id]


def similar_pairs(prints, skeleton, threshold=THRESHOLD):
    """Pairs (Pair, most similar first) of ``prints`` ({student: Prints}) whose solution code in common
    reaches ``threshold``; ``skeleton`` (Prints of the released notebook) is boilerplate, ignored."""
    boilerplate = np.unique(np.array(skeleton.whole.hashes, dtype=np.int64))
    whole = {student: _select(p.whole, boilerplate) for student, p in prints.items()}
    pairs = []
    for first, second in itertools.combinations(sorted(prints), 2):
        score = _share(whole[first], whole[second])
        if score < threshold:
            continue
        a_cells, b_cells = prints[first].cells, prints[second].cells
        cells = []
        for grade_id in (g for g in skeleton.cells if g in a_cells and g in b_cells):
            a, b = a_cells[grade_id], b_cells[grade_id]
            if skeleton.cells[grade_id] in (a, b):  # left as released by one of them: nothing written to share
                continue
            cell_boilerplate = np.union1d(boilerplate, _cell_print(skeleton, grade_id).hashes)
            share = _share(_select(_cell_print(prints[first], grade_id), cell_boilerplate),
                           _select(_cell_print(prints[second], grade_id), cell_boilerplate))
            if share > 0:
                cells.append([grade_id, round(share, 3), a, b])
        pairs.append(Pair(first, second, round(score, 3), sorted(cells, key=lambda cell: -cell[1])))
    return sorted(pairs, key=lambda pair: -pair.score)


def _notebook_prints(path, solutions, kept, used):
    """The Prints of the notebook at ``path`` (its ``solutions`` cells), taken from ``kept`` ({SHA-256:
    Prints} of an earlier run) when it has them, else made; added to ``used`` ({SHA-256: Prints})."""
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest not in used:
        if digest in kept:
            used[digest] = kept[digest]
        else:
            cells = solution_cells(nbformat.reads(data.decode("utf-8"), as_version=4), solutions)
            used[digest] = Prints(cells, fingerprint("\n".join(cells.values())), {})
    return used[digest]


def _method(solutions):
    """What the kept fingerprints must have been made by: FINGERPRINT_METHOD, from these solution cells."""
    return f"{FINGERPRINT_METHOD}; solution cells {' '.join(sorted(solutions))}"


def _as_json(value):
    return [value.hashes, value.positions, value.tokens]


def _load_cache(path, solutions):
    """{SHA-256: Prints} kept at ``path`` by an earlier run of the same _method, else {}."""
    try:
        kept = json.loads(path.read_text())
        if kept.get("method") != _method(solutions):
            return {}
        return {digest: Prints(entry["cells"], Fingerprint(*entry["whole"]),
                               {grade_id: Fingerprint(*value) for grade_id, value in entry["by_cell"].items()})
                for digest, entry in kept["notebooks"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # none yet, or not one this kit wrote
        return {}


def _write_cache(path, cache, solutions):
    notebooks = {digest: {"cells": prints.cells, "whole": _as_json(prints.whole),
                          "by_cell": {grade_id: _as_json(value) for grade_id, value in prints.by_cell.items()}}
                 for digest, prints in cache.items()}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"method": _method(solutions), "notebooks": notebooks}))
    temporary.replace(path)  # atomic: a run stopped while writing leaves the earlier cache


def pairs_html(pairs):
    """The pairs as HTML (escaped: student ids and code are untrusted), for the class report."""
    if not pairs:
        return "<p>None.</p>"
    parts = []
    for pair in pairs:
        first, second = html.escape(pair.first), html.escape(pair.second)
        rows = "".join(f"<tr><td>{html.escape(grade_id)}<br>{100 * share:.0f}%</td><td><pre>{html.escape(a)}</pre></td>"
                       f"<td><pre>{html.escape(b)}</pre></td></tr>" for grade_id, share, a, b in pair.cells)
        parts.append(f"<h3>{first} and {second}: {100 * pair.score:.0f}% of their solution code in common</h3>"
                     f"<table><tr><th>cell</th><th>{first}</th><th>{second}</th></tr>{rows}</table>")
    return "".join(parts)


def write_similarity(submissions, out, threshold=THRESHOLD):
    """Compare ``submissions`` (collect.Submission); write OUT/similarity.json and .html; return (the pairs,
    {student: why} of the notebooks left out). A notebook that cannot be read or fingerprinted is left
    out, and both files say why."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    solutions = set(master.read().solutions)
    kept, used = _load_cache(out / CACHE, solutions), {}
    skeleton = _notebook_prints(release.REPO / "assignment.ipynb", solutions, kept, used)
    prints, left_out = {}, {}
    for submission in submissions:
        if submission.problem:
            continue
        try:
            prints[submission.student_id] = _notebook_prints(submission.path, solutions, kept, used)
        except Exception as error:  # whatever a malformed notebook raises, the others are compared
            left_out[submission.student_id] = f"{type(error).__name__}: {error}"[:300]
    pairs = similar_pairs(prints, skeleton, threshold)
    _write_cache(out / CACHE, used, solutions)
    (out / "similarity.json").write_text(json.dumps({"threshold": threshold, "pairs": [asdict(p) for p in pairs],
                                                    "left_out": left_out}, indent=1))
    (out / "similarity.html").write_text(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>hw2: similar solutions</title></head><body>"
        f"<h1>Similar solutions (at least {100 * threshold:.0f}% in common)</h1>"
        "<p>copydetect's winnowing, variable names filtered out, the released skeleton ignored. A lead for "
        "a person to read, not a verdict: no grade changes.</p>" + left_out_html(left_out) + pairs_html(pairs)
        + "</body></html>")
    return pairs, left_out


def left_out_html(left_out):
    """The notebooks left out of the comparison ({student: why}) as HTML (escaped), '' when none is."""
    if not left_out:
        return ""
    items = "".join(f"<li>{html.escape(student)}: {html.escape(why)}</li>" for student, why in sorted(left_out.items()))
    return f"<p>Left out of the comparison (the notebook could not be read or fingerprinted):</p><ul>{items}</ul>"


def read_pairs(out):
    """The pairs written to OUT/similarity.json, or None when there is none."""
    path = Path(out) / "similarity.json"
    return [Pair(**pair) for pair in json.loads(path.read_text())["pairs"]] if path.exists() else None


def read_left_out(out):
    """{student: why} of the notebooks OUT/similarity.json left out of the comparison ({} when none is)."""
    path = Path(out) / "similarity.json"
    return json.loads(path.read_text()).get("left_out", {}) if path.exists() else {}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="folder or zip of submissions (as ./kit grade takes)")
    parser.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"list pairs with at least this share of solution code in common (default {THRESHOLD})")
    args = parser.parse_args(argv)
    pairs, _ = write_similarity(collect.find_submissions(args.submissions, args.out / "unpacked"), args.out,
                                args.threshold)
    for pair in pairs:
        print(f"{pair.first} and {pair.second}: {100 * pair.score:.0f}%")
    for student, why in read_left_out(args.out).items():
        print(f"{student} left out: {why}")
    print(f"{plural(len(pairs), 'pair')} at or above {100 * args.threshold:.0f}%: {args.out / 'similarity.html'}")


if __name__ == "__main__":
    main()
