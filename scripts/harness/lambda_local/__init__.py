"""Run a function locally from its built zip, with Lambda's semantics.

config (the deployed function and mappings) -> event_source (pollers, batches) -> zip_environment
(one execution environment) -> runtime (the process running the handler); logs ships what it prints.
"""
