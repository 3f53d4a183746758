from ler_plugin.cli import main

main()
