import BargeCLI
BargeMain.main()
