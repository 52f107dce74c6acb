"""`python -m dlviz ...`: the same commands as the `dlviz` console script."""

from dlviz.cli import main

raise SystemExit(main())
