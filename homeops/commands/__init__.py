"""One module per subcommand: each exposes `register(subparsers)` and sets `handler` on its parser."""
