package gofer

import (
	"magawa/kernel/memfile"
)

const pageSize = memfile.PageSize

func pageUp(n uint64) uint64 { return (n + pageSize - 1) &^ (pageSize - 1) }
