"""Submissions in: folders, zips, Canvas and Gradescope downloads, each checked and named by its
student (collect), and the submission times and late policy (late). Imports only assignment.
"""
