module goro-gobench

go 1.19
