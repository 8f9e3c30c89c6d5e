"""Run a function locally from its built zip, with Lambda's semantics.

config (the deployed function and mappings) -> event_source (pollers, batches) -> zip_environment
(one execution environment) -> runtime (RIE + awslambdaric running the handler) in sandbox (memory,
CPU, file system and freeze limits); logs ships what it prints in the function's log format.
"""
