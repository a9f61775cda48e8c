// Package devpts is the file system of pseudo-terminals, mounted at
// /dev/pts: its root directory lists ptmx (character device 5:2, which
// opens a new pair) and one node N (character device 136:N) for each pair
// whose master is open. It owns the allocation of pair numbers, the nodes'
// owners and modes (the uid=, gid=, mode= and ptmxmode= options), and
// the registration of the slave devices with the VFS; the pairs
// themselves are package tty's.
//
// One instance serves a VFS (a sandbox): every mount of devpts shows it,
// since the VFS opens device nodes by number only, so 136:N can name one
// pair. Linux gives each mount a new instance (newinstance is the
// default); a second mount here shows the same pairs, as Linux's
// pre-4.7 single instance did.
//
// Lifetime, as Linux's: opening ptmx makes pair N, with the smallest free
// number, and its node, owned by the opener (or uid=/gid=). The node goes
// when the master closes (the slave hangs up); the number is free again
// when the slave's last file closes too.
//
// Locking: FS.mu guards the table of pairs and the directory; each
// node's mu guards its attributes. FS.mu is never held while a terminal
// is called (the terminal calls back, through its hooks, on close).
package devpts
