// Package container is the runtime's record of its containers: one state
// directory per container under the runtime's root (--root, by default
// /run/magawa), holding state.json and the sandbox's control socket. The
// CLI keeps nothing in memory between commands: each command loads the
// state and asks the sandbox process (package boot) for the rest.
//
// Locking: commands that change a container (create, start, delete)
// hold an exclusive flock on its directory; readers (state, list) take
// none and tolerate a state directory that is being made or removed.
package container
