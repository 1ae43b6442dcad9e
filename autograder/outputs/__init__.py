"""What graded data becomes: grades.csv rows (grades_csv), every CSV spreadsheet-safe and written
whole (spreadsheet), the terminal table (terminal), the Canvas gradebook CSV (canvas), the class
report (report) and the similarity report (similarity). Reads
plain rows, ledger entries and the notebooks; never runs grading. Imports assignment, intake and
grading's result types only, never classrun or a front-end.
"""
