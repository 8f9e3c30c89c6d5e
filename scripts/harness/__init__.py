"""Shared code of the `scripts/` commands, one package per concern.

lambda_local/  runs a function from its built zip as Lambda does: runtime, config, logs, sources
messages/      registrations and their fate: sender, ledger, DLQ, drain, queue moves, reconcile
chaos/         fault injection and hostile bodies for `make chaos`
stack/         the stack itself: Terraform, toolchain, outputs, sessions, moto, MariaDB, processes
cli.py         profile arguments and one-line errors for every command
"""
