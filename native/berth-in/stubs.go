package main

func runSupervise(root string, args []string) error { return failed("supervise: not built yet") }
func runCtl(root string, args []string) error       { return failed("ctl: not built yet") }
