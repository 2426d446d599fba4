"""Campaigns: automations that act on contacts, step by step, driven by segments and time.

``models`` (Campaign, Step, Run, StepLog), ``steps`` (step kinds and tree validation),
``actions`` (the action registry), ``timing`` (when a wait ends), ``entry`` (enrolment),
``executor`` (claiming due runs and executing their steps), ``receivers`` and ``tasks``.
"""
