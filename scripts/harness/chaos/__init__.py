"""Faults and hostile input for `make chaos` (and the benchmarks' latency proxy).

faults schedules outages (MariaDB kill, DynamoDB throttling; chaos.py adds a DynamoDB outage
through the same proxy); fault_proxy is the TCP/HTTP proxy
that injects them; messages builds the hostile, duplicated and shuffled bodies.
"""
