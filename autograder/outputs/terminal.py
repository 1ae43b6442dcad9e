"""What the class run prints: the table of students, and any text from a submission made harmless
for a terminal."""


def printable(text):
    """``text`` for the terminal: control characters (escape sequences that clear or fake the screen)
    shown as escapes, not obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def plural(count, noun):
    """'1 student', '2 students': ``count`` (int) and ``noun`` (str, its singular)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def print_summary(rows, out):
    """Print the grades.csv ``rows`` (list of dict) as a table, then where the outputs are under ``out`` (Path)."""
    width = max([len(printable(r["student"])) for r in rows] + [7])
    print(f"\n{'student':<{width}}  {'status':<8} {'auto':>9} {'by hand':>7} {'final':>7}  reason")
    for row in rows:
        graded = row["status"] in ("graded", "partial")
        auto = f"{row['auto_score']}/{row['auto_max']}" if graded else "-"
        pending = row.get("needs_manual_grade", "")
        final = ("not yet" if _waiting(row) else row.get("final", "")) if graded else "-"
        reason = printable(f"NEEDS REVIEW: {row['review']}" if row["review"] else row["reason"])
        reason = reason[:100] + ("..." if len(reason) > 100 else "")
        print(f"{printable(row['student']):<{width}}  {row['status'] or '':<8} {auto:>9} {pending!s:>7} {final!s:>7}"
              f"  {reason}")
    flagged = sum(bool(row["review"]) for row in rows)
    late_rows = [f"{printable(row['student'])} -{row['late_penalty']}" if row.get("late_penalty", "") != "" else
                 f"{printable(row['student'])} {plural(int(row['late_days']), 'day')} (a percent of the score: known "
                 "once graded by hand)" for row in rows if row.get("late_days")]
    if late_rows:
        print(f"\nlate: {len(late_rows)} ({', '.join(late_rows)}); the column 'final' has the score after the "
              "penalty, once every part is graded")
    if any(_waiting(row) for row in rows):
        print("\nby hand: parts still to grade by hand (written answers, plots) are blank in grades.csv, and so is "
              f"the final ('not yet'); grade them in formgrader (./kit formgrade {out}), then run the same ./kit grade "
              "again: grades.csv and the feedback take the hand grades, nothing is graded again")
    print(f"\ngrades: {out / 'grades.csv'}" + (f" ({flagged} need review: column 'review')" if flagged else "") +
          f"\nfeedback: {out / 'feedback'}\ngradebook and formgrader course: {out / 'course'}")


def _waiting(row):
    """Whether a graded row's final is not known yet (a part still to grade by hand)."""
    return row["status"] in ("graded", "partial") and row.get("final", "") == ""
