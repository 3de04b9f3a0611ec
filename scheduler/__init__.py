"""Timed jobs: the chases that remind, escalate and record what people forget.

Every deadline is a database column scanned by index (no in-memory timer per ticket); a job
claims each due row with a conditional UPDATE and writes its outbox rows, with unique dedupe
keys, in the same transaction — so a crash, a restart or a second instance never sends twice.
"""
