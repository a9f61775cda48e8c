package syscalls

import "magawa/kernel/abi"

func abiBytes(ca *cloneArgs) []byte { return abi.Bytes(ca) }
