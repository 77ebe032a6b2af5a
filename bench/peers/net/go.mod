module goro-netbench

go 1.19
