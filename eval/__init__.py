"""Measurement of hoidap: QA datasets, pure metric functions, eval runs, reports and benchmarks.

May import every stage; nothing imports eval/.
"""
