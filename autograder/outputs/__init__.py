"""What graded data becomes: grades.csv rows and spreadsheet-safe CSV (grades_csv), the Canvas
gradebook CSV (canvas), the class report (report) and the similarity report (similarity). Reads
plain rows, ledger entries and the notebooks; never runs grading. Imports assignment, intake and
grading's result types only, never classrun or a front-end.
"""
