"""Registration messages end to end: make them, send them, follow them, account for them.

registrations + sqs_bodies build bodies; sender + ledger send and record them; drain waits;
dlq + queue_move handle dead letters; store_readers + reconcile compare the ledger with the stores;
divergence compares (and repairs) the two stores with each other.
"""
