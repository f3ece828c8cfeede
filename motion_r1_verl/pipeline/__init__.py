"""The orchestration layer: multi-stage runs built on the stages below it, used by the CLI and ``bench/``.

- ``stages``: a resumable sequence of named stages (a marker per finished stage; ``--force``, ``--only``);
- ``commands``: how a stage runs its work, as echoed ``motion-r1 ...`` commands and verl recipe scripts,
  and where the recipes are found (a checkout, ``$MOTION_R1_RECIPES``, or a wheel's ``share/``);
- ``steps``: the public shared steps, train SFT, train GRPO, generate a split, evaluate a split with a judge;
- ``quickstart``: the quickstart's configuration and its stages, declared as one table;
- ``report``: the quickstart's ``report.md`` (tables of both judges, validation curves, videos).

Nothing in the library imports this package; it imports the library.
"""
