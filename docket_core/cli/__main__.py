from docket_core.cli import main

main()
