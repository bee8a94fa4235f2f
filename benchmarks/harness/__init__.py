"""What the coverage, dispatch and survey benchmarks share; each benchmark module is its own
scenario on top of it.

- `project`: every import of GridSteward's own code the benchmarks make (one place to fix
  when a project module moves);
- `command`: signals, common options, the run's stamp, machine and versions, and the
  benchmark's own section of docs/benchmarks.md;
- `processes`: the benchmark's own database, `gridsteward serve`, `gridsteward worker` and a
  private broker, each stopped however the run ends;
- `load`: the closed loop and the steady rate (open loop), their connection pool, and the
  HTTP clients they drive;
- `cpu`: the cores each party (server, workers, PostgreSQL, the benchmark) used in a window;
- `report`: percentiles and the Markdown pieces every report prints.
"""
