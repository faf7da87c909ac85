"""The runbook engine: papermill execution, parameters, records, redaction and the maintenance lock.

One module per concern; `execute.run_runbook` ties them together. Nothing here imports papermill
at module level except `execute` and `engine`, so listing runbooks stays fast.
"""
