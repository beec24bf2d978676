from patchlint.cli import main

main()
