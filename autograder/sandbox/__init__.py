"""The kernel launcher: starts a student's IPython kernel in a sandbox (its own user, root file
system, no network, limits) or, where that cannot be had, under resource limits alone. Run as a
script by the kernel spec the grader writes, so it imports nothing of the kit.
"""
