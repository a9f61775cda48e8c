// Package userns holds the ID maps of the sandbox's user namespace: how
// the user and group IDs the container sees relate to the host's, as an
// OCI configuration's linux.uidMappings and gidMappings give them.
//
// Inside the sandbox every ID is the container's: credentials,
// permission checks, tmpfs owners. The maps matter where the sandbox
// touches host files (the gofer file system turns host owners into the
// container's and back), where a task asks for an ID (an ID outside the
// map cannot be taken, as in a Linux user namespace) and in
// /proc/PID/uid_map and gid_map. Without a configured map the sandbox's
// IDs are the host's, one to one (Identity).
//
// A Map is immutable once made; it is shared without locks.
package userns
