// Command vmimage builds the micro-VM sandbox's guest image (`make
// vm-image`): the kernel and the initramfs, into a cache directory
// outside git (package internal/vm/image).
package main

import (
	"flag"
	"fmt"
	"os"

	"magawa/internal/vm/image"
)

func main() {
	var opts image.Options
	flag.StringVar(&opts.Dir, "dir", ".cache/vm", "the cache directory, where the image is written")
	flag.StringVar(&opts.KernelPackage, "kernel-package", image.DefaultKernelPackage, "the Debian package of the guest kernel")
	flag.StringVar(&opts.Agent, "agent", "bin/magawa-agent", "the static magawa-agent binary")
	flag.BoolVar(&opts.Uncompressed, "uncompressed", false, "write the initramfs as a plain cpio archive (no gzip)")
	flag.Parse()
	opts.Log = os.Stderr
	if _, err := image.Build(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
