"""Run a function locally from its built zip, with Lambda's semantics.

mappings (every mapping, refusals, the poller registry) -> sqs_poller / stream_poller (one module
per source type; scaling, filters, batch_result, sqs_event) -> invoker -> aliases (version by
weight, code by sha) -> zip_environment -> runtime (RIE + awslambdaric) in sandbox; logs (the
version's log stream), metrics (AWS/Lambda per function, alias, version), emf (what CloudWatch
Logs extracts from the function's own EMF lines: the handler's record counts).
"""
