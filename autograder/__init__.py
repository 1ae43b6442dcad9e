"""Instructor-side tools for the hw2 kit."""
