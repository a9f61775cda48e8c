// Command containerd-shim-magawa-v1 is magawa's containerd shim
// (runtime type io.containerd.magawa.v1): see package shim.
package main

import (
	"context"

	"github.com/containerd/containerd/runtime/v2/shim"

	magawashim "magawa/shim"
)

func main() {
	magawashim.Register()
	shim.RunManager(context.Background(), magawashim.Manager{})
}
