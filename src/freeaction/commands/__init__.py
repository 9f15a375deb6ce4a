"""Every ``freeaction`` subcommand, one module per command or command group, and the shared argument types
(:mod:`freeaction.commands.args`). Each module has ``add_parser(subparsers)``, which registers its subcommand(s) and
sets ``func`` on each parser; :mod:`freeaction.cli` builds the parser from them."""
