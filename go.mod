module github.com/auditshot/auditshot

go 1.26.8
