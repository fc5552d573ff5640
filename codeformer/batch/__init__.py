"""The batch core: what a run over many files does, with no command line in it. The batch tool (``codeformer.cli``),
the web page (``codeformer.serve``) and the Ray runner all sit on it.

Modules: ``options`` (``RunOptions``: what a run is asked to do; checked number values), ``run`` (a run from its
options: inputs, checks, jobs, the loops), ``jobs`` (what each command does to a batch of decoded images and where
its results go), ``images`` (the image loop: decode ahead, batches, atomic writes), ``videos`` (each video through
``codeformer.video``), ``crops`` (the crop command's loop), ``checks`` (what is checked before any work),
``report`` (one record per input with its status, the summary, the report file, merging shards' reports),
``exits`` (exit codes, Ctrl-C and SIGTERM, one-line messages), ``shards`` (one of N parts of a run) and
``ray_runner`` (the run on a Ray cluster).
"""
