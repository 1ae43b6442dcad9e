"""Submissions in: folders, zips, Canvas and Gradescope downloads, each named by its student and checked
(collect), every notebook checked once against what the kit relies on (validate), the instructor's CSV
files read whole with every problem placed by file, line and column (tables), and the submission times and
late policy (late). Imports only assignment.
"""
