"""Checklists: case rows, compliance checking, working days."""
