module berth.dev/berth-in

go 1.19
