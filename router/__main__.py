"""`python -m router`: the same as the `routerd` command."""

from router.cli import main

raise SystemExit(main())
