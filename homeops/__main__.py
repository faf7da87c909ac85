from homeops.cli import main

raise SystemExit(main())
