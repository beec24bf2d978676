from patchlint.launch import main

main()
