from genart.cli import main

main()
