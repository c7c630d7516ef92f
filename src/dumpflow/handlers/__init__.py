"""Thin Lambda handlers: parse the event, call the control plane, report with Powertools."""
