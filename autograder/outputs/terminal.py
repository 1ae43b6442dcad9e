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
    print(f"\n{'student':<{width}}  {'status':<8} {'auto':>9} {'by hand':>7}  reason")
    for row in rows:
        auto = f"{row['auto_score']}/{row['auto_max']}" if row["status"] in ("graded", "partial") else "-"
        pending = row.get("needs_manual_grade", "")
        reason = printable(f"NEEDS REVIEW: {row['review']}" if row["review"] else row["reason"])
        reason = reason[:100] + ("..." if len(reason) > 100 else "")
        print(f"{printable(row['student']):<{width}}  {row['status'] or '':<8} {auto:>9} {pending!s:>7}  {reason}")
    flagged = sum(bool(row["review"]) for row in rows)
    late_rows = [f"{printable(row['student'])} -{row['late_penalty']}" for row in rows if row.get("late_days")]
    if late_rows:
        print(f"\nlate: {len(late_rows)} ({', '.join(late_rows)}); the column 'final' has the score after the penalty")
    if any(row.get("needs_manual_grade") for row in rows):
        print("\nby hand: parts still to grade by hand (written answers, plots); grade them in formgrader "
              f"(./kit formgrade {out}), then run the same ./kit grade again: grades.csv and the feedback take "
              "the hand grades, nothing is graded again")
    print(f"\ngrades: {out / 'grades.csv'}" + (f" ({flagged} need review: column 'review')" if flagged else "") +
          f"\nfeedback: {out / 'feedback'}\ngradebook and formgrader course: {out / 'course'}")
