// Package lock owns the advisory file locks of a sandbox: POSIX record
// locks (fcntl F_SETLK, F_SETLKW, F_GETLK), open-file-description record
// locks (fcntl F_OFD_SETLK, F_OFD_SETLKW, F_OFD_GETLK) and whole-file
// flock(2) locks, with Linux's semantics. It knows nothing else of the
// kernel: files are vfs.FileIDs, owners are opaque comparable values the
// system-call layer picks, and sleeping is a BlockFunc the caller provides.
//
// # Design
//
// A Table (one per sandbox) maps each file with locks or waiters to its
// entry; an entry disappears when it has neither. An entry holds two
// independent lists, as Linux's file_lock_context does: record locks and
// flock locks. The two kinds never conflict with each other.
//
// Record locks of both kinds share one list, so an OFD lock conflicts with
// the POSIX locks of every process, including the one that opened the
// description. An owner's locks are disjoint byte ranges, sorted by start,
// with touching or overlapping ranges of one type merged: setting a range
// replaces whatever the owner had there (splitting, trimming, upgrading or
// downgrading its locks) and merges with same-type neighbours, which is
// the result Linux's posix_lock_inode() produces. Each owner's locks are
// kept together, owners in the order they first took a lock, so F_GETLK
// reports the same "first" conflicting lock that Linux would.
//
// A request that conflicts waits by calling its BlockFunc with the entry's
// wake channel, taken under the table lock; anything that can unblock a
// waiter (an unlock, a downgrade, a flock being dropped) closes the channel
// under the same lock, so a wake is never lost. Woken waiters retry from
// scratch: there is no fairness and no hand-over, as in Linux.
//
// Deadlock detection covers POSIX locks only, as in Linux: a waiting POSIX
// request records edges "its process waits for the holder's process" for
// every POSIX lock it conflicts with, across all files; a new request that
// would wait for a process that (transitively) waits for the requester
// fails with EDEADLK. A wake removes the edges of the woken waiters (the
// conflict they waited for may be gone) and each retry records them anew
// and checks again, so a cycle is always found by whichever request closes
// it last.
//
// # Locking
//
// Table.mu guards everything: entries, their lists and waiters, the
// waits-for graph and the per-process index. It is a leaf: nothing else is
// taken under it, and it is released while a request sleeps in its
// BlockFunc. A caller must not hold, across Set or Flock with a BlockFunc,
// any lock that the releasing side needs (vfs.File.mu, Kernel.mu), or a
// sleeper could keep the holder from unlocking.
package lock
