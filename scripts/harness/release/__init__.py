"""Safe releases of a function behind its `live` alias (`make release`, `make rollback`).

alias   reads and writes the alias: stable version, canary weight, the release record it carries
verdict per-version Lambda metrics and alarms -> keep baking, promote or roll back (the rule)
"""
