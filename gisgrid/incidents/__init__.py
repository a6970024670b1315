"""Incidents: locate, assign, workflow, dispatch."""
