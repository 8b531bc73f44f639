"""The benchmark run by ``make bench`` (not part of ``make test``: timings depend on the machine).

- ``rest_latency``: the run itself. Starts the stock ``rasa init`` bot and ours (one replica as
  ``make run`` serves it, then two replicas on PostgreSQL and Redis), sends each the same shape
  of load over the REST channel, reads memory from ``/proc`` and writes the results.
- ``stock_bot``: the stock bot, built once by ``rasa init --no-prompt`` in ``bench/.cache/``.
- ``tracker_store_cost``: what the encrypted conversation store adds to each turn.
- ``report``: percentiles, ratios, the targets and the tables, chart and machine description
  written to ``bench/results/`` and ``BENCHMARKS.md`` (no servers: unit-tested).
"""
