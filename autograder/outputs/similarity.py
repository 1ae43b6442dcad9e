"""Which submissions share their solutions: a copying report that never changes a grade.

    python -m autograder.outputs.similarity SUBMISSIONS --out OUT [--threshold 0.6]

Every submission's solution cells (the master's cells that students write, by grade id) are compared
with every other submission's by copydetect (MOSS's winnowing: fingerprints of k-grams of tokens with
variable names and literals filtered out, so renaming variables does not hide a copy). The skeleton
code the release gives every student is boilerplate: it matches nobody. A pair is listed when the
share of their solution code they have in common reaches the threshold, with each solution cell's
own share and the two versions side by side. Writes OUT/similarity.json (read by the class report)
and OUT/similarity.html. `./kit grade` runs it after grading.
"""
import argparse
import html
import io
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from copydetect import CodeFingerprint, compare_files

from autograder.assignment import master, release
from autograder.intake import collect

NOISE_TOKENS = 25  # copydetect's defaults: k-grams shorter than this are noise,
GUARANTEED_TOKENS = 30  # a match this long is always found
WINDOW = GUARANTEED_TOKENS - NOISE_TOKENS + 1
THRESHOLD = 0.6


@dataclass(frozen=True)
class Pair:
    """Two students (str, str) and the share of their solution code in common: score (float, 0 to 1,
    the smaller of the two shares) and cells ([grade_id, share, code of the first, code of the second]
    for every solution cell both wrote, most similar first)."""
    first: str
    second: str
    score: float
    cells: list


def solution_cells(notebook, solutions):
    """{grade_id: source} of a notebook's code cells among ``solutions`` (grade ids)."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") in solutions}


def _fingerprint(code, boilerplate):
    return CodeFingerprint("solution.py", NOISE_TOKENS, WINDOW, boilerplate, language="python", fp=io.StringIO(code))


def _share(first, second):
    _, (share1, share2), _ = compare_files(first, second)
    return float(min(share1, share2))


def similar_pairs(codes, skeleton, threshold=THRESHOLD):
    """Pairs (Pair, most similar first) of ``codes`` ({student: {grade_id: source}}) whose solution code in
    common reaches ``threshold``; ``skeleton`` ({grade_id: source}) is the released code, ignored."""
    boilerplate = list(_fingerprint("\n".join(skeleton.values()), []).hashes)
    cell_boilerplate = {grade_id: sorted(set(boilerplate) | _fingerprint(code, []).hashes)  # unique: copydetect
                        for grade_id, code in skeleton.items()}                             # assumes it
    whole = {student: _fingerprint("\n".join(cells.values()), boilerplate) for student, cells in codes.items()}
    pairs = []
    for first, second in itertools.combinations(sorted(codes), 2):
        score = _share(whole[first], whole[second])
        if score < threshold:
            continue
        cells = []
        for grade_id in (g for g in skeleton if g in codes[first] and g in codes[second]):
            a, b = codes[first][grade_id], codes[second][grade_id]
            if skeleton[grade_id] in (a, b):  # left as released by one of them: nothing written to share
                continue
            share = _share(_fingerprint(a, cell_boilerplate[grade_id]), _fingerprint(b, cell_boilerplate[grade_id]))
            if share > 0:
                cells.append([grade_id, round(share, 3), a, b])
        pairs.append(Pair(first, second, round(score, 3), sorted(cells, key=lambda cell: -cell[1])))
    return sorted(pairs, key=lambda pair: -pair.score)


def _codes(submissions):
    solutions = set(master.read().solutions)
    codes = {}
    for submission in submissions:
        if not submission.problem:
            codes[submission.student_id] = solution_cells(nbformat.read(submission.path, as_version=4), solutions)
    return codes


def _skeleton():
    solutions = set(master.read().solutions)
    return solution_cells(nbformat.read(release.REPO / "assignment.ipynb", as_version=4), solutions)


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
    """Compare ``submissions`` (collect.Submission); write OUT/similarity.json and .html; return the pairs."""
    out = Path(out)
    pairs = similar_pairs(_codes(submissions), _skeleton(), threshold)
    out.mkdir(parents=True, exist_ok=True)
    (out / "similarity.json").write_text(json.dumps({"threshold": threshold, "pairs": [asdict(p) for p in pairs]},
                                                    indent=1))
    (out / "similarity.html").write_text(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>hw2: similar solutions</title></head><body>"
        f"<h1>Similar solutions (at least {100 * threshold:.0f}% in common)</h1>"
        "<p>copydetect's winnowing, variable names filtered out, the released skeleton ignored. A lead for "
        "a person to read, not a verdict: no grade changes.</p>" + pairs_html(pairs) + "</body></html>")
    return pairs


def read_pairs(out):
    """The pairs written to OUT/similarity.json, or None when there is none."""
    path = Path(out) / "similarity.json"
    return [Pair(**pair) for pair in json.loads(path.read_text())["pairs"]] if path.exists() else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="folder or zip of submissions (as ./kit grade takes)")
    parser.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"list pairs with at least this share of solution code in common (default {THRESHOLD})")
    args = parser.parse_args(argv)
    pairs = write_similarity(collect.find_submissions(args.submissions, args.out / "unpacked"), args.out, args.threshold)
    for pair in pairs:
        print(f"{pair.first} and {pair.second}: {100 * pair.score:.0f}%")
    print(f"{len(pairs)} pairs at or above {100 * args.threshold:.0f}%: {args.out / 'similarity.html'}")


if __name__ == "__main__":
    main()
